"""Compression-model fits per network and paired statistics across init scales."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from garden.analysis.networks.stats import compression_fits, paired_scale_tests
from garden.rsa.model_rdms import compression_maps, mapped_coordinates


def _network(irrelevant: float, rng: np.random.Generator, h: int = 12) -> np.ndarray:
    """Hidden activity (50 items x h units) whose geometry is the compression model with both
    contexts' irrelevant gain ``irrelevant`` (relevant gain 1), isometrically embedded."""
    points = mapped_coordinates(compression_maps(1.0, irrelevant, 1.0, irrelevant, 0.0), 1.0)
    basis = np.linalg.qr(rng.normal(size=(h, 3)))[0]
    return points @ basis.T


def test_compression_fits_recover_the_irrelevant_gain_and_the_paired_test_finds_the_trend():
    rng = np.random.default_rng(0)
    scales, seeds = (0.01, 0.1, 1.0, 3.0), range(8)
    gain = {s: g for s, g in zip(scales, (0.05, 0.2, 0.6, 0.9))}
    summary = pd.DataFrame([{"scale": s, "seed": k} for s in scales for k in seeds])
    hidden = np.stack([_network(gain[s] * rng.uniform(0.9, 1.1), rng) for s, _ in summary.to_numpy()])
    fits = compression_fits(summary, {"hidden": hidden}, n_restarts=3)
    means = fits.groupby("scale")[["north_irrelevant", "south_irrelevant"]].mean()
    np.testing.assert_allclose(means.north_irrelevant, list(gain.values()), rtol=0.15)
    assert (fits.rmse < 1e-3).all()
    tests = paired_scale_tests(fits, {"log_irrelevant_gain": "greater"}).iloc[0]
    assert tests.n_seeds == 8 and tests.slope_median > 0
    assert tests.slope_wilcoxon_p == pytest.approx(1 / 2**8)          # every seed's slope positive
    assert tests.rich_vs_lazy_wilcoxon_p == pytest.approx(2 / 2**8)
    flipped = paired_scale_tests(fits, {"log_irrelevant_gain": "less"}).iloc[0]
    assert flipped.slope_wilcoxon_p > 0.99


def test_paired_tests_pair_by_seed():
    """A seed effect far larger than the scale effect: unpaired it would hide the difference,
    paired every seed shows it."""
    rows = [{"scale": s, "seed": k, "m": 100.0 * k + (1.0 if s == 3.0 else 0.0)} for s in (0.01, 3.0) for k in range(10)]
    tests = paired_scale_tests(pd.DataFrame(rows), ["m"]).iloc[0]
    assert tests.slope_median == pytest.approx(1 / np.log10(300))
    assert tests.rich_vs_lazy_wilcoxon_p == pytest.approx(2 / 2**10)


def test_compression_fits_by_the_papers_model_name_it_and_read_the_same_gain_ratio():
    """The paper's version (gains 1 - c of max-scaled RDMs, mean of restarts) gives the same
    irrelevant / relevant gain ratio as ours on a noise-free compression geometry, and says which it is."""
    rng = np.random.default_rng(1)
    summary = pd.DataFrame([{"scale": s, "seed": 0} for s in (0.01, 3.0)])
    hidden = np.stack([_network(g, rng) for g in (0.1, 0.8)])
    paper = compression_fits(summary, {"hidden": hidden}, n_restarts=10, model="paper")
    ours = compression_fits(summary, {"hidden": hidden}, n_restarts=3)
    assert (paper.compression_model == "paper").all() and (ours.compression_model == "ours").all()
    assert {"paper_c_rel_north", "paper_c_irrel_south"} <= set(paper.columns) and "paper_c_rel_north" not in ours
    np.testing.assert_allclose(paper.log_irrelevant_gain, np.log([0.1, 0.8]), atol=0.1)
    np.testing.assert_allclose(paper.log_irrelevant_gain, ours.log_irrelevant_gain, atol=0.1)
    np.testing.assert_allclose(paper.north_relevant, 1 - paper.paper_c_rel_north)
