"""Networks fitted to people by likelihood (``garden networks fit`` / ``recover``): feedback, the
likelihood itself, resume, and the known-answer comparison of network people with factorized and
linear agents through a shipped protocol."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from garden.analysis.networks import person_fits as pf
from garden.analysis.networks.recovery import simulate_people
from garden.cli import main
from garden.core.trials import write_table
from garden.modeling.networks import likelihood as lk
from garden.modeling.networks.curriculum import sequences

SMALL = ("--scales", "0.01,3", "--ctx-scales", "0.5,1.5", "--seeds", "2", "--lrs", "0.05,0.1")
GRID = lk.FitGrid(scales=(0.01, 3.0), ctx_scales=(0.5, 1.5), seeds=(0, 1), lrs=(0.05, 0.1))


@pytest.fixture(scope="module")
def simulated():
    """2 network people (σ 0.01 and 3), 2 factorized and 2 linear agents through the 2018 interleaved curriculum."""
    return simulate_people("flesch2018", ["interleaved"], 2, seed=3, scales=GRID.scales, ctx_scales=GRID.ctx_scales)


def test_item_norm_starts_from_the_published_network():
    """Per-item unit-norm inputs with init SDs / sqrt(50): the same initial pre-activations (context
    units exactly; stimulus units within the blobs' spread of item norms, 0.134..0.152 x sqrt(50))."""
    from garden.modeling.networks.config import SweepConfig
    from garden.modeling.networks.data import task_data
    from garden.modeling.networks.train import init_params

    pre = {}
    for norm in ("published", "item"):
        config = SweepConfig(scales=(0.01, 3.0), ctx_scales=(0.5, 1.5), seeds=(7,), input_norm=norm)
        data = task_data(input_norm=norm)
        scales, ctx_scales = config.init_sds()
        p = init_params(25, scales, ctx_scales, config.networks().seed)
        pre[norm] = (np.einsum("nhd,id->nih", p["w_input"], data.stimulus),
                     np.einsum("nhc,ic->nih", p["w_context"], data.context))
        if norm == "item":
            np.testing.assert_allclose(np.linalg.norm(data.stimulus, axis=1), 1.0)
    np.testing.assert_allclose(pre["item"][1], pre["published"][1], rtol=1e-12)
    ratio = np.linalg.norm(pre["item"][0], axis=2) / np.linalg.norm(pre["published"][0], axis=2)
    assert 0.92 < ratio.min() and ratio.max() < 1.07


def test_networks_learn_only_on_feedback_trials(simulated):
    trials, _ = simulated
    person = trials[trials.participant_id == "N0x001"]
    seqs = sequences(person)
    out = lk.network_outputs(seqs, GRID)[0]                           # (T, L, S, K)
    test = np.flatnonzero(~seqs.learn[0])
    assert len(test) == 200 and test.min() == 400                     # the 2018 test phase: no feedback
    # no step on test trials: the same tree gives the same output on every test trial
    items = seqs.items[0, test]
    repeated = items == items[0]
    assert repeated.sum() >= 2
    np.testing.assert_allclose(out[test][repeated], np.broadcast_to(out[test][repeated][0], out[test][repeated].shape))
    # but it changes between the training trials of one tree
    train = np.flatnonzero(seqs.items[0, :400] == items[0])
    assert np.abs(np.diff(out[train], axis=0)).max() > 1e-3


def test_likelihood_at_full_lapse_is_chance_and_profile_interval():
    rng = np.random.default_rng(0)
    outputs = rng.normal(size=(3, 10, 2, 2, 2))
    choices = (rng.random((3, 10)) < 0.5).astype(float)
    scored = np.ones((3, 10), bool)
    scored[0, :4] = False
    ll = lk.log_likelihoods(outputs, choices, scored, GRID)
    np.testing.assert_allclose(ll[..., -1], np.broadcast_to(np.log(0.5) * scored.sum(axis=1)[:, None, None, None],
                                                            ll[..., -1].shape))   # lapse 1: chance
    # direct check of one grid point: lapse 0.1, T 0.2, lr index 1, scale index 0
    q = (1 / (1 + np.exp(-outputs[1, :, 1, 0, :] / 0.2))).mean(axis=1)
    p = 0.05 + 0.9 * np.where(choices[1] == 1, q, 1 - q)
    assert ll[1, 0, 1, GRID.temperatures.index(0.2), GRID.lapses.index(0.1)] == pytest.approx(np.log(p).sum())
    lo, hi = lk.profile_interval(np.array([[-10.0, -11.0, -20.0], [-10.0, -12.0, -10.5]]), (0.1, 1.0, 3.0))
    assert lo.tolist() == [0.1, 0.1] and hi.tolist() == [1.0, 3.0]


def test_fit_refuses_a_table_without_feedback(simulated, tmp_path, capsys):
    trials, _ = simulated
    path = write_table(trials.drop(columns=["feedback"]), tmp_path / "t.tsv")
    assert main(["networks", "fit", str(path), "--out", str(tmp_path / "fit"), *SMALL]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "column 'feedback' is missing" in err[0] and "garden import" in err[0]
    assert not (tmp_path / "fit").exists()


def test_fit_resumes_and_gives_the_same_answer(simulated, tmp_path, capsys):
    trials, _ = simulated
    path = write_table(trials[trials.participant_id.isin(["N0x001", "N0x002", "L0x001"])], tmp_path / "t.tsv")
    out = tmp_path / "fit"
    args = ["networks", "fit", str(path), "--out", str(out), *SMALL]
    assert main(args) == 0
    first = pd.read_csv(out / "people.tsv", sep="\t")
    group = pd.read_csv(out / "group_bms.tsv", sep="\t")
    assert group.scale.tolist() == [0.01, 3.0] and group.people.tolist() == [3, 3]
    assert group.expected_frequency.sum() == pytest.approx(1.0)
    # as if killed after two people: the merged tables and one person's file are gone
    for name in ("people.tsv", "people.json", "scales.tsv", "scales.json", "group_bms.tsv", "group_bms.json",
                 "people/L0x001.json"):
        (out / name).unlink()
    kept = (out / "people" / "N0x001.json").stat().st_mtime_ns
    assert main(args) == 0
    assert (out / "people" / "N0x001.json").stat().st_mtime_ns == kept   # finished people are skipped
    pd.testing.assert_frame_equal(pd.read_csv(out / "people.tsv", sep="\t"), first)
    assert main([*args[:-2], "--seeds", "3"]) == 2                         # other settings: refused
    assert "other settings" in capsys.readouterr().err


@pytest.mark.slow
def test_known_answer_network_people_and_agents_through_the_command(tmp_path, capsys):
    """Network people of σ 0.01 / 3 are classified rich / lazy; factorized and linear agents, and agents that
    learn gradually (not as a network does), are described by no network better than the choice models (2018
    protocol, B200 and interleaved)."""
    out = tmp_path / "recover"
    assert main(["networks", "recover", "--protocol", "flesch2018", "--curricula", "B200,interleaved",
                 "--people", "2", "--seed", "0", "--agents", "factorized,linear,learner", *SMALL,
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    recovery = pd.read_csv(out / "recovery.tsv", sep="\t").set_index("curriculum")
    assert recovery.rich_vs_lazy_accuracy.tolist() == [1.0, 1.0]
    assert recovery.confident.tolist() == [2, 2]
    assert recovery.factorized_no_network.tolist() == [1.0, 1.0]
    assert recovery.linear_no_network.tolist() == [1.0, 1.0]
    assert recovery.learner_no_network.tolist() == [1.0, 1.0]
    assert recovery.identifiable.all() and "B200: rich vs lazy 1.00" in printed
    people = pd.read_csv(out / "fit" / "people.tsv", sep="\t").merge(pd.read_csv(out / "truth.tsv", sep="\t"))
    nets = people[people.kind == "network"]
    assert (nets.classification == np.where(nets.scale <= 0.1, "rich", "lazy")).all()
    assert (people[people.kind != "network"].verdict == pf.NO_NETWORK).all()
    # the curriculum verdict: a recovery table that finds a curriculum blind turns its people's scale into that
    blind = recovery.reset_index().assign(identifiable=lambda t: t.curriculum != "B200")
    blind.to_csv(tmp_path / "blind.tsv", sep="\t", index=False)
    again = pf.verdicts(pd.read_csv(out / "fit" / "people.tsv", sep="\t").assign(bic_choice=lambda t: [
        {m: r[f"bic_{m}"] for m in pf.BASELINES} for _, r in t.iterrows()]),
        pf.unidentifiable_curricula(tmp_path / "blind.tsv"))
    assert set(again[again.curriculum == "B200"].verdict) == {pf.NOT_IDENTIFIABLE, pf.NO_NETWORK}
    assert pf.NOT_IDENTIFIABLE not in set(again[again.curriculum == "interleaved"].verdict)
    # the published data's labels (b200, int) match the protocol's (B200, interleaved)
    relabelled = pf.verdicts(again.assign(curriculum=again.curriculum.map({"B200": "b200", "interleaved": "int"}),
                                          bic_choice=lambda t: [{m: r[f"bic_{m}"] for m in pf.BASELINES}
                                                                for _, r in t.iterrows()])
                             .drop(columns=["best_choice_model", "bic_choice_best", "network_better", "classification",
                                            "verdict", *[f"bic_{m}" for m in pf.BASELINES]]), ["B200"])
    assert (relabelled.verdict.to_numpy() == again.verdict.to_numpy()).all()
