"""Choice-pattern RSA (2022): betas recover factorized vs linear agents; cells and curves are right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from garden.analysis.behaviour.choice_rdms import (
    group_mean_rdms,
    paired_tests,
    participant_betas,
    participant_groups,
    participant_rdms,
    pattern_rdms,
)
from garden.analysis.behaviour.choices import (
    CANONICAL_MAPS,
    analysis_trials,
    canonical_boundaries,
    canonical_cells,
    cell_table,
    predicted_cells,
    probability_matrix,
    psychometric_table,
)
from garden.core.errors import UserError
from garden.core.task import infer_rule, item_table
from garden.modeling.models import MODELS, boundary_angles, get_model
from garden.modeling.psychometric import rule_gradients, predict, simulate_choices
from garden.rsa.compare import pearson, regress_rdms
from garden.rsa.distances import choice_rdm
from garden.rsa.rdms import RDMs
from garden.rsa.model_rdms import CHOICE_MODELS, choice_model_rdm, choice_model_rdms, condition_table

PARAMS = {"factorized": {"delta_north": 0.0, "delta_south": 0.0, "slope": 3.0, "offset": 0.0, "lapse": 0.05},
          "linear": {"delta": 0.0, "slope": 3.0, "offset": 0.0, "lapse": 0.05}}


def _agents(n_per_model: int, rule_code: int, repeats: int = 8, seed: int = 0) -> pd.DataFrame:
    """Simulated agents of each choice model, each answering every item ``repeats`` times."""
    items = item_table(rule_code)
    frames = []
    for m, model in enumerate(PARAMS):
        for i in range(n_per_model):
            trials = pd.concat([items] * repeats, ignore_index=True).assign(
                participant_id=f"{model[:3]}{i}", group=model)
            trials["choice"] = simulate_choices(model, PARAMS[model], trials, rng=seed + 100 * m + i)
            frames.append(trials)
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("rule_code", [1, 3, 6])
def test_betas_recover_the_generating_model(rule_code):
    betas = participant_betas(cell_table(_agents(6, rule_code)))
    assert (betas.rule_code == rule_code).all()
    fact, lin = betas[betas.group == "factorized"], betas[betas.group == "linear"]
    assert (fact.beta_factorized > fact.beta_linear + 0.3).all()
    assert (lin.beta_linear > lin.beta_factorized + 0.3).all()
    tests = paired_tests(betas).set_index("subset")
    assert tests.loc["group=factorized", "t"] > 0 and tests.loc["group=factorized", "t_p"] < 0.01
    assert tests.loc["group=linear", "t"] < 0 and tests.loc["group=linear", "t_p"] < 0.01
    assert tests.loc["all", "n"] == 12


def _betas(p_accept: np.ndarray) -> pd.Series:
    """model -> beta of one p(accept) pattern's choice RDM on the rule-1 choice-model RDMs."""
    return regress_rdms(pattern_rdms(p_accept), choice_model_rdms()).set_index("model").beta


def test_ideal_patterns_give_their_own_model_only():
    for name, ideal in CHOICE_MODELS.items():
        betas = _betas(ideal(1))
        other = [m for m in betas.index if m != name][0]
        assert betas[name] > 0.9 and betas[name] > betas[other] + 0.5


def test_unanswered_cells_are_left_out_not_fatal():
    p = CHOICE_MODELS["factorized"](1).copy()
    p[[3, 30]] = np.nan
    full = _betas(CHOICE_MODELS["factorized"](1))
    assert _betas(p)["factorized"] == pytest.approx(full["factorized"], abs=0.05)


def test_unanswered_cells_give_the_betas_of_the_answered_conditions_alone():
    """Leaving NaN pairs out of one stack equals regressing the smaller RDMs of the answered conditions."""
    rng = np.random.default_rng(0)
    p = rng.uniform(size=50)
    p[[3, 30]] = np.nan
    keep = np.flatnonzero(np.isfinite(p))
    small = regress_rdms(RDMs(choice_rdm(p[keep]), condition_table().iloc[keep]),
                         RDMs(np.stack([choice_model_rdm(m)[np.ix_(keep, keep)] for m in CHOICE_MODELS]),
                              condition_table().iloc[keep], pd.DataFrame({"model": list(CHOICE_MODELS)})))
    np.testing.assert_allclose(_betas(p).to_numpy(), small.beta.to_numpy(), rtol=1e-12)


def test_cells_follow_the_condition_order_and_count_trials():
    trials = _agents(1, 1, repeats=3)
    trials.loc[0, "choice"] = np.nan  # one missed response
    cells = cell_table(trials)
    first = cells[cells.participant_id == "fac0"]
    items = item_table(1)
    np.testing.assert_array_equal(first[["branchiness", "leafiness", "reward_value"]].to_numpy(),
                                  items[["branchiness", "leafiness", "reward_value"]].to_numpy())
    assert first.n_trials.iloc[0] == 2 and (first.n_trials.iloc[1:] == 3).all()
    assert probability_matrix(cells).shape == (2, 50)
    assert set(cells.group) == {"factorized", "linear"}


def test_rule_and_context_roles_are_inferred_from_values():
    items = item_table(4, contexts=("blue", "orange")).assign(participant_id="X1", choice=1.0)
    assert infer_rule(items) == (4, ("blue", "orange"))
    swapped = item_table(2, contexts=("orange", "blue")).assign(participant_id="X2", choice=1.0)
    assert infer_rule(swapped) == (2, ("orange", "blue"))
    bad = items.assign(reward_value=7.0)
    with pytest.raises(UserError, match="participant X1"):
        infer_rule(bad)


def test_psychometric_curves_rise_along_the_relevant_feature_only_for_factorized_agents():
    curves = psychometric_table(cell_table(_agents(3, 3, repeats=20)))
    mean = curves.groupby(["group", "feature", "level"])["p_accept"].mean()
    assert mean["factorized", "relevant", 2.0] - mean["factorized", "relevant", -2.0] > 0.7
    assert abs(mean["factorized", "irrelevant", 2.0] - mean["factorized", "irrelevant", -2.0]) < 0.2
    assert mean["linear", "irrelevant", 2.0] - mean["linear", "irrelevant", -2.0] > 0.3


def test_canonical_cells_map_every_rule_onto_rule_1_or_5():
    codes = range(1, 9)
    frames = [_agents(1, code, repeats=1, seed=code).assign(participant_id=lambda t, c=code: t.participant_id + f"r{c}")
              for code in codes]
    cells = cell_table(pd.concat(frames, ignore_index=True))
    canon = canonical_cells(cells)
    columns = ["context", "branchiness", "leafiness", "reward_value"]
    for pid, part in canon.groupby("participant_id"):
        target = 1 if int(pid[-1]) <= 4 else 5
        assert (part.rule_code == target).all()
        np.testing.assert_array_equal(part[columns].to_numpy(), item_table(target)[columns].to_numpy())
    # each cell's p(accept) moves with it to where the symmetry sends the tree
    keys = ["participant_id", "context_index", "branchiness", "leafiness"]
    for code in codes:
        own = cells[cells.rule_code == code]
        b, l = CANONICAL_MAPS[code][1](own.branchiness, own.leafiness)
        moved = own.assign(branchiness=b, leafiness=l).merge(canon, on=keys, suffixes=("", "_canonical"))
        assert len(moved) == len(own) == 2 * 50
        np.testing.assert_array_equal(moved.p_accept, moved.p_accept_canonical)


@pytest.mark.parametrize("rule_code", range(1, 9))
def test_boundaries_map_onto_the_canonical_rule_turned_by_the_symmetry(rule_code):
    params = {"delta_north": 20.0, "delta_south": -10.0, "slope": 3.0, "offset": 0.3, "lapse": 0.05}
    items = item_table(rule_code).assign(participant_id="P1", rule_code=rule_code)
    cells = items.assign(p_accept=predict("factorized", params, items),
                         other_value=0.0)  # other_value is recomputed by canonical_cells
    canon = canonical_cells(cells)
    target, _, determinant = CANONICAL_MAPS[rule_code]
    mapped = {**params, "delta_north": determinant * 20.0, "delta_south": determinant * -10.0}
    np.testing.assert_allclose(canon.p_accept, predict("factorized", mapped, canon))
    fit = pd.DataFrame([{"participant_id": "P1", "model": "factorized", "context_a": "north", "context_b": "south",
                         "rule_code": rule_code, **params}])
    angles = canonical_boundaries(fit).set_index("context").angle_deg
    # the same boundaries as modeling reports for a participant of the canonical rule with those deltas
    expected = boundary_angles(MODELS["factorized"], get_model("factorized").theta(mapped, ("north", "south")),
                               rule_gradients(item_table(target)))
    np.testing.assert_allclose(angles[["north", "south"]], np.asarray(expected) % 360)


def test_predicted_cells_use_each_participants_own_fit():
    cells = cell_table(_agents(1, 2, repeats=2))
    fits = pd.DataFrame([{"participant_id": pid, "model": "linear", "context_a": "north", "context_b": "south",
                          "delta": 0.0, "slope": 5.0, "offset": 0.0, "lapse": lapse}
                         for pid, lapse in (("fac0", 0.1), ("lin0", 0.2))])
    predicted = predicted_cells(cells, fits, "linear")
    lowest = predicted.groupby("participant_id").p_model.min()
    assert lowest["fac0"] == pytest.approx(0.1, abs=1e-3) and lowest["lin0"] == pytest.approx(0.2, abs=1e-3)


def test_participant_rdms_are_in_the_canonical_frame_of_their_kind_of_rule():
    cells = cell_table(pd.concat([_agents(2, 3).assign(rule_code=3),
                                  _agents(2, 6, seed=7).assign(rule_code=6,
                                                                participant_id=lambda t: "d" + t.participant_id)]))
    cardinal, diagonal = participant_rdms(cells, 1), participant_rdms(cells, 5)
    assert sorted(cardinal) == ["fac0", "fac1", "lin0", "lin1"] and sorted(diagonal) == ["dfac0", "dfac1", "dlin0", "dlin1"]
    assert len(participant_rdms(cells, None)) == 8
    for pid, rdm in cardinal.items():  # a rule-3 agent's pattern looks like rule 1's ideal one of its model
        own, other = ("factorized", "linear") if pid.startswith("fac") else ("linear", "factorized")
        assert pearson(rdm, choice_model_rdm(own, 1)) > max(0.8, pearson(rdm, choice_model_rdm(other, 1)) + 0.1)
    assert participant_groups(cells)["dlin1"] == "linear"


def test_group_means_average_members_and_drop_groups_with_unanswered_conditions():
    values = [1.0, 3.0, np.nan, 5.0, np.nan]
    rdms = RDMs(np.stack([np.array([[0.0, v], [v, 0.0]]) for v in values]), pd.DataFrame({"condition": [0, 1]}),
                pd.DataFrame({"participant_id": ["p1", "p2", "p3", "p4", "p5"], "group": ["y", "y", "x", "x", "z"]}))
    means = group_mean_rdms(rdms)
    assert list(means.rdm_descriptors.group) == ["x", "y"]  # sorted; z answered nothing
    np.testing.assert_array_equal(means.vectors()[:, 0], [5.0, 2.0])  # NaN-aware: x is p4 alone


def test_analysis_trials_keep_the_test_phase_and_name_groups_by_curriculum():
    trials = pd.DataFrame({"participant_id": "P1", "phase": ["training"] * 3 + ["test"] * 2,
                           "feedback": [1, 1, 1, 0, 0], "curriculum": "B2", "choice": [1, 0, 1, 0, 1]})
    chosen = analysis_trials(trials)
    assert chosen.phase.tolist() == ["test", "test"] and chosen.group.eq("B2").all()
    assert "feedback" not in chosen  # constant in the test phase only: not taken for a participant column
    assert analysis_trials(trials.assign(phase="main")).shape[0] == 5  # no analysed phase: every trial
