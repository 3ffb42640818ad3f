"""People vs networks: the known best-matching init scale is found, with seeded bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from garden.analysis.networks.people_vs_networks import beta_profiles, compare_beta_profiles, matched_parameters
from garden.rsa.candidates import best_scales, bootstrap_profiles, similarity_table
from garden.rsa.compare import regress_rdms
from garden.rsa.model_rdms import choice_model_rdms, condition_table, model_rdm, model_rdms
from garden.rsa.rdms import RDMs

SCALES = (0.01, 0.1, 1.0, 3.0)
WEIGHTS = dict(zip(SCALES, (0.0, 0.33, 0.66, 1.0)))  # share of grid geometry; the rest is orthogonal


def _stack(named: dict, by: str = "participant_id") -> RDMs:
    """RDMs from name -> (n, n) RDM or (k, n, n) stack; rdm descriptor ``by`` = the name."""
    matrices = [np.asarray(m, float).reshape(-1, 50, 50) for m in named.values()]
    labels = [name for name, m in zip(named, matrices) for _ in m]
    return RDMs(np.concatenate(matrices), condition_table(), pd.DataFrame({by: labels}))


def _mixture(weight: float, rng: np.random.Generator, noise: float) -> np.ndarray:
    rdm = (1 - weight) * model_rdm("orthogonal") + weight * model_rdm("grid")
    jitter = np.abs(rng.normal(0, noise, rdm.shape))
    return rdm + (jitter + jitter.T) * (1 - np.eye(len(rdm)))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    networks = _stack({s: np.stack([_mixture(w, rng, 0.2) for _ in range(5)]) for s, w in WEIGHTS.items()}, "scale")
    truth = {"A": 0.1, "B": 1.0}  # group A is near-rich, group B near-lazy
    people, groups = {}, {}
    for group, scale in truth.items():
        for i in range(8):
            pid = f"{group}{i}"
            people[pid], groups[pid] = _mixture(WEIGHTS[scale], rng, 0.6), group
    people["A0"][3, :] = people["A0"][:, 3] = np.nan  # an unanswered condition
    people["A0"][3, 3] = 0.0
    return networks, _stack(people), groups, truth


def test_each_person_matches_the_scale_they_were_made_from(data):
    networks, people, groups, truth = data
    best = best_scales(similarity_table(people, networks))
    hits = best.participant_id.map(groups).map(truth) == best.best_scale
    assert hits.mean() >= 0.8


def test_group_profiles_peak_at_the_true_scale_with_seeded_intervals(data):
    networks, people, groups, truth = data
    sim = similarity_table(people, networks, method="tau_a")
    profile, best, dist = bootstrap_profiles(sim, groups, n_boot=500, seed=3)
    best = best.set_index("group")
    for group, scale in truth.items():
        assert best.loc[group, "best_scale"] == scale
        assert best.loc[group, "best_scale_ci_low"] <= scale <= best.loc[group, "best_scale_ci_high"]
        share = dist[(dist.group == group) & (dist.best_scale == scale)].fraction.item()
        assert share > 0.5
    assert (profile.ci_low <= profile.similarity).all() and (profile.similarity <= profile.ci_high).all()
    np.testing.assert_allclose(dist.groupby("group").fraction.sum(), 1.0)
    again = bootstrap_profiles(sim, groups, n_boot=500, seed=3)[0]
    pd.testing.assert_frame_equal(profile, again)  # same seed, same intervals


def test_beta_profiles_side_by_side(data):
    networks, people, groups, _ = data
    models = model_rdms(["grid", "orthogonal"])
    mine = beta_profiles(people, models)
    nets = beta_profiles(networks, models)
    assert list(mine.columns) == ["participant_id", "beta_grid", "beta_orthogonal"] and len(nets) == 20
    best = pd.DataFrame({"group": ["A", "B"], "best_scale": [0.01, 3.0]})
    side = compare_beta_profiles(mine, nets, best, groups).set_index(["group", "model"])
    assert side.loc[("A", "orthogonal"), "beta_people"] > side.loc[("A", "grid"), "beta_people"]
    assert side.loc[("A", "orthogonal"), "beta_networks"] > 0.8 > side.loc[("B", "orthogonal"), "beta_networks"]
    assert side.loc[("B", "grid"), "beta_networks"] > 0.8


def test_matched_parameters_average_the_networks_of_the_matched_scale():
    best = pd.DataFrame({"participant_id": ["P1", "P2"], "best_scale": [0.01, 3.0]})
    people = pd.DataFrame({"participant_id": ["P1", "P2"], "model": "factorized", "slope": [5.0, 9.0]})
    nets = pd.DataFrame({"scale": [0.01, 0.01, 3.0], "model": "factorized", "slope": [2.0, 4.0, 20.0]})
    table = matched_parameters(best, people, nets, ["slope"]).set_index("participant_id")
    assert table.loc["P1", "person"] == 5.0 and table.loc["P1", "networks"] == 3.0
    assert table.loc["P1", "n_networks"] == 2 and table.loc["P2", "networks"] == 20.0


def test_matched_parameters_keep_the_networks_run_through_that_person():
    best = pd.DataFrame({"participant_id": ["P1", "P2"], "best_scale": [0.01, 0.01]})
    people = pd.DataFrame({"participant_id": ["P1", "P2"], "model": "factorized", "lapse": [0.1, 0.2]})
    nets = pd.DataFrame({"scale": 0.01, "model": "factorized", "source_participant_id": ["P1", "P1", "P2"],
                         "lapse": [0.0, 0.2, 0.4]})
    table = matched_parameters(best, people, nets, ["lapse"]).set_index("participant_id")
    assert table.loc["P1", "networks"] == pytest.approx(0.1) and table.loc["P1", "n_networks"] == 2
    assert table.loc["P2", "networks"] == pytest.approx(0.4) and table.loc["P2", "n_networks"] == 1


def _simulated_people(n_each: int = 6, reps: int = 4, seed: int = 0) -> tuple[dict, dict]:
    """Factorized and linear agents (``garden.modeling.agents``, parameters drawn as in the demo): the
    choice RDM of ``reps`` sampled choices per condition (a 200-trial test phase), and the truth."""
    from garden.core.task import item_table
    from garden.modeling.agents import get_agent, population_params
    from garden.rsa.distances import choice_rdm

    rng = np.random.default_rng(seed)
    items = item_table(1).assign(trial=1)
    people, truth = {}, {}
    for model in ("factorized", "linear"):
        for i in range(n_each):
            p = get_agent(model, population_params(rng), seed=i).p_accept(items)
            people[f"{model}{i}"] = choice_rdm(rng.binomial(reps, p) / reps)
            truth[f"{model}{i}"] = model
    return people, truth


def test_people_are_matched_to_networks_whose_choices_are_like_theirs():
    """Acceptance: networks trained with their context input give factorized choices; the same
    networks with the context units silenced can only learn one boundary for both gardens (linear
    choices). Compared behaviour with behaviour (choice RDMs), factorized agents match the first
    and linear agents the second."""
    from dataclasses import replace

    from garden.analysis.behaviour.choice_rdms import pattern_rdms
    from garden.analysis.networks.people_vs_networks import network_choice_rdms
    from garden.modeling.networks.config import TrainConfig
    from garden.modeling.networks.curriculum import choice_probability
    from garden.modeling.networks.data import task_data
    from garden.modeling.networks.train import init_params, train

    data = task_data()
    params = init_params(25, [3.0] * 4, [1.5] * 4, range(4))
    kinds = {"factorized-choice networks": data, "linear-choice networks": replace(data, context=0 * data.context)}
    outputs = {kind: train(d, params, TrainConfig(steps=400)).outputs for kind, d in kinds.items()}
    for kind, out in outputs.items():   # the networks' own choices are of the kind they are named for
        betas = regress_rdms(pattern_rdms(choice_probability(out)), choice_model_rdms())
        betas = betas.assign(network=np.repeat(np.arange(len(out)), 2)).pivot(index="network", columns="model",
                                                                              values="beta")
        assert ((betas.factorized > betas.linear) == kind.startswith("factorized")).all()
    labels = np.repeat(list(outputs), 4)
    networks = network_choice_rdms(np.vstack(list(outputs.values())), labels)
    people, truth = _simulated_people()
    best = best_scales(similarity_table(_stack(people), networks)).set_index("participant_id").best_scale
    assert (best.index.map(truth) == best.str.removesuffix("-choice networks")).all()


def test_matched_similarity_compares_each_person_with_their_own_networks_only():
    from garden.analysis.networks.people_vs_networks import matched_similarity

    rng = np.random.default_rng(0)
    a, b = (_mixture(w, rng, 0.05) for w in (0.0, 1.0))
    people = _stack({"P1": a, "P2": b})
    networks = _stack({"P1N0": a, "P1N1": b, "P2N0": a, "P2N1": b, "P3N0": a})
    sources = {"P1N0": ("P1", 0.01), "P1N1": ("P1", 3.0), "P2N0": ("P2", 0.01), "P2N1": ("P2", 3.0),
               "P3N0": ("P3", 3.0)}
    table = matched_similarity(people, networks, sources)
    assert len(table) == 4 and (table.n_networks == 1).all()
    best = best_scales(table).set_index("participant_id").best_scale
    assert best.to_dict() == {"P1": 0.01, "P2": 3.0}
