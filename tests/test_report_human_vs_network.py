"""People vs networks: the known best-matching init scale is found, with seeded bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.human_vs_network import (
    best_scales,
    beta_profiles,
    bootstrap_units,
    compare_beta_profiles,
    matched_parameters,
    similarity_table,
)
from rsa.model_rdms import model_rdm

SCALES = (0.01, 0.1, 1.0, 3.0)
WEIGHTS = dict(zip(SCALES, (0.0, 0.33, 0.66, 1.0)))  # share of grid geometry; the rest is orthogonal


def _mixture(weight: float, rng: np.random.Generator, noise: float) -> np.ndarray:
    rdm = (1 - weight) * model_rdm("orthogonal") + weight * model_rdm("grid")
    jitter = np.abs(rng.normal(0, noise, rdm.shape))
    return rdm + (jitter + jitter.T) * (1 - np.eye(len(rdm)))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    networks = {s: np.stack([_mixture(w, rng, 0.2) for _ in range(5)]) for s, w in WEIGHTS.items()}
    truth = {"A": 0.1, "B": 1.0}  # group A is near-rich, group B near-lazy
    people, units = {}, {}
    for unit, scale in truth.items():
        for i in range(8):
            pid = f"{unit}{i}"
            people[pid], units[pid] = _mixture(WEIGHTS[scale], rng, 0.6), unit
    people["A0"][3, :] = people["A0"][:, 3] = np.nan  # an unanswered condition
    return networks, people, units, truth


def test_each_person_matches_the_scale_they_were_made_from(data):
    networks, people, units, truth = data
    best = best_scales(similarity_table(people, networks))
    hits = best.participant_id.map(units).map(truth) == best.best_scale
    assert hits.mean() >= 0.8


def test_group_profiles_peak_at_the_true_scale_with_seeded_intervals(data):
    networks, people, units, truth = data
    sim = similarity_table(people, networks, method="tau_a")
    profile, best, dist = bootstrap_units(sim, units, n_boot=500, seed=3)
    best = best.set_index("unit")
    for unit, scale in truth.items():
        assert best.loc[unit, "best_scale"] == scale
        assert best.loc[unit, "best_scale_ci_low"] <= scale <= best.loc[unit, "best_scale_ci_high"]
        share = dist[(dist.unit == unit) & (dist.best_scale == scale)].fraction.item()
        assert share > 0.5
    assert (profile.ci_low <= profile.similarity).all() and (profile.similarity <= profile.ci_high).all()
    np.testing.assert_allclose(dist.groupby("unit").fraction.sum(), 1.0)
    again = bootstrap_units(sim, units, n_boot=500, seed=3)[0]
    pd.testing.assert_frame_equal(profile, again)  # same seed, same intervals


def test_beta_profiles_side_by_side(data):
    networks, people, units, _ = data
    models = {m: model_rdm(m) for m in ("grid", "orthogonal")}
    mine = beta_profiles(people, models)
    nets = pd.concat([beta_profiles({f"{s}-{k}": r for k, r in enumerate(networks[s])}, models).assign(scale=s)
                      for s in SCALES])
    best = pd.DataFrame({"unit": ["A", "B"], "best_scale": [0.01, 3.0]})
    side = compare_beta_profiles(mine, nets, best, units).set_index(["unit", "model"])
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
