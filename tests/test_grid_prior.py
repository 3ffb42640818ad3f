"""The grid prior: Kendall tau_a of arrangement RDMs with the 25-tree grid model, and its change."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from garden.analysis.behaviour.grid_prior import GRID_RDM, change_test, grid_priors, prior_change
from garden.experiment.arrangement import data as ad
from garden.experiment.arrangement.simulate import simulate_arrangements
from garden.rsa.compare import kendall_tau_a
from garden.rsa.distances import lower
from garden_cli import run_garden

GRID_LAYOUT = (ad.CELLS[:, ::-1] - 3) * 0.2  # leafiness on x, branchiness on y: the 5 x 5 grid in the arena


def _arrange(root: Path, pid: str, phase: str, finals: list[np.ndarray]) -> None:
    files = ad.arrangement_files(root, pid, 1, phase)
    writer = ad.ArrangementWriter(files, participant_id=pid, session=1, phase=phase, exemplars=["1"] * 25,
                                  config={}, seed=0)
    for final in finals:
        writer.add(ad.start_layouts(0, 1)[0], final, np.ones(25, int), 10.0)
    writer.finish()


def test_grid_model_is_the_distance_between_tree_levels():
    levels = ad.CELLS.astype(float)
    expected = np.hypot(*(levels[:, None, :] - levels[None, :, :]).transpose(2, 0, 1))
    np.testing.assert_allclose(GRID_RDM, expected)


def test_a_grid_arrangement_has_the_highest_prior_and_a_scrambled_one_loses_it(tmp_path):
    rng = np.random.default_rng(3)
    _arrange(tmp_path, "P1", "pre", [GRID_LAYOUT])
    _arrange(tmp_path, "P1", "post", [rng.permutation(GRID_LAYOUT) for _ in range(6)])
    _arrange(tmp_path, "P2", "pre", [ad.clamp_to_disc(rng.uniform(-0.7, 0.7, (25, 2)), 0.9)])
    priors = grid_priors(tmp_path)
    p1_pre = priors.query("participant_id == 'P1' and phase == 'pre'").grid_prior_tau_a.item()
    # the arrangement RDM of the grid layout is the grid model scaled: tau_a = 1 - the model's tied pairs
    ties = sum(n * (n - 1) / 2 for n in np.unique(lower(GRID_RDM), return_counts=True)[1])
    assert p1_pre == pytest.approx(1 - ties / (300 * 299 / 2)) == pytest.approx(kendall_tau_a(GRID_RDM, GRID_RDM))
    change = prior_change(priors).set_index("participant_id")
    assert change.loc["P1", "change"] < -0.5 and abs(change.loc["P1", "grid_prior_post"]) < 0.15
    assert np.isnan(change.loc["P2", "change"])  # no post arrangement yet


def test_the_command_writes_both_tables_and_refuses_to_overwrite(tmp_path):
    _arrange(tmp_path / "participants", "P1", "pre", [GRID_LAYOUT])
    _arrange(tmp_path / "participants", "P1", "post", [GRID_LAYOUT[::-1]])
    out = tmp_path / "priors.tsv"
    command = ["grid-prior", str(tmp_path / "participants"), "--out", str(out)]
    result = run_garden(*command)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out, sep="\t")
    assert table.columns.tolist() == ["participant_id", "grid_prior_pre", "grid_prior_post", "change"]
    assert table.change.item() == pytest.approx(table.grid_prior_post.item() - table.grid_prior_pre.item())
    assert len(pd.read_csv(tmp_path / "priors_sessions.tsv", sep="\t")) == 2 and out.with_suffix(".json").exists()
    again = run_garden(*command)
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr


def test_simulated_arrangers_lose_grid_prior_with_noise(tmp_path):
    for i, noise in enumerate((0.0, 0.1, 0.3, 0.8)):
        simulate_arrangements(tmp_path, f"P{i}", 1, "pre", noise=noise, seed=i)
    priors = grid_priors(tmp_path).sort_values("participant_id").grid_prior_tau_a.to_numpy()
    assert priors[0] == pytest.approx(kendall_tau_a(GRID_RDM, GRID_RDM))  # rotation keeps the distances
    assert np.all(np.diff(priors) < 0) and priors[-1] < 0.5
    files = ad.arrangement_files(tmp_path, "P0", 1, "pre")
    assert len(ad.read_arrangements(files.trees)) == 6 * 25 and files.rdm_npy.exists()


def test_the_group_test_is_scipys_signed_rank_test_of_the_change():
    change = pd.DataFrame({"participant_id": list("abcdef"), "grid_prior_pre": [0.1, 0.2, 0.3, 0.2, 0.5, np.nan],
                           "grid_prior_post": [0.4, 0.3, 0.2, 0.6, 0.9, 0.3]})
    change["change"] = change.grid_prior_post - change.grid_prior_pre
    row = change_test(change).iloc[0]
    expected = stats.wilcoxon([0.3, 0.1, -0.1, 0.4, 0.4])
    assert row.n == 5 and row.n_increased == 4 and row.median_change == pytest.approx(0.3)
    assert row.wilcoxon_statistic == expected.statistic and row.wilcoxon_p == pytest.approx(expected.pvalue)
    assert np.isnan(change_test(change.iloc[:1]).wilcoxon_p.item())
