"""RDM comparisons: regression recovery, orthogonalisation, tau_a with ties, rsatoolbox agreement."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from garden.rsa.compare import COMPARISONS, kendall_tau_a, regress_rdm, spearman, zscore
from garden.rsa.model_rdms import model_rdms
from garden.rsa.rdm import lower

MODELS = model_rdms(["grid", "orthogonal", "parallel"])


def brute_force_tau_a(a, b):
    pairs = list(itertools.combinations(range(len(a)), 2))
    return sum(np.sign(a[i] - a[j]) * np.sign(b[i] - b[j]) for i, j in pairs) / len(pairs)


def test_regression_recovers_known_betas_of_a_model_mixture():
    z = {k: zscore(lower(v)) for k, v in MODELS.items()}
    data = 2.0 * z["grid"] + 0.5 * z["orthogonal"] - 0.0 * z["parallel"]
    betas = regress_rdm(data, MODELS)
    scale = data.std()  # the data vector is z-scored too
    assert betas["grid"] * scale == pytest.approx(2.0)
    assert betas["orthogonal"] * scale == pytest.approx(0.5)
    assert betas["parallel"] == pytest.approx(0.0, abs=1e-10)
    with_intercept = regress_rdm(data, MODELS, intercept=True)
    assert with_intercept["intercept"] == pytest.approx(0.0, abs=1e-10)
    assert with_intercept["grid"] == pytest.approx(betas["grid"])


def test_regression_with_noise_ranks_the_true_model_first():
    rng = np.random.default_rng(0)
    data = lower(MODELS["orthogonal"]) + rng.normal(0, 0.5, size=1225)
    betas = regress_rdm(data, MODELS)
    assert betas["orthogonal"] > 0.5 > max(abs(betas["grid"]), abs(betas["parallel"]))


def test_sequential_orthogonalisation_gives_the_first_model_all_shared_variance():
    rng = np.random.default_rng(1)
    data = lower(MODELS["grid"]) + lower(MODELS["orthogonal"]) + rng.normal(size=1225)
    betas = regress_rdm(data, MODELS, orthogonalise=True)
    r_first = np.corrcoef(data, lower(MODELS["grid"]))[0, 1]
    assert betas["grid"] == pytest.approx(r_first)  # as if it were the only model
    plain = regress_rdm(data, MODELS)
    assert betas["grid"] > plain["grid"]


def test_regression_rejects_collinear_and_constant_models():
    grid = MODELS["grid"]
    with pytest.raises(ValueError, match="collinear"):
        regress_rdm(grid, {"a": grid, "b": 2 * grid + 1})
    with pytest.raises(ValueError, match="model 'flat' is constant"):
        regress_rdm(grid, {"flat": np.ones_like(grid)})
    with pytest.raises(ValueError, match="differ in size"):
        regress_rdm(grid, {"small": np.ones((3, 3))})
    with pytest.raises(ValueError, match="NaN"):
        regress_rdm(np.full_like(grid, np.nan), {"grid": grid})


def test_tau_a_counts_ties_as_neither_concordant_nor_discordant():
    assert kendall_tau_a(np.array([1.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0])) == pytest.approx(2 / 3)
    assert kendall_tau_a(np.array([1.0, 1.0, 1.0]), np.array([1.0, 2.0, 3.0])) == 0.0
    assert kendall_tau_a(np.array([3.0, 2.0, 1.0]), np.array([1.0, 2.0, 3.0])) == pytest.approx(-1.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=2, max_size=30))
def test_tau_a_equals_its_definition_on_tied_data(pairs):
    a, b = (np.array(v, dtype=float) for v in zip(*pairs))
    assert kendall_tau_a(a, b) == pytest.approx(brute_force_tau_a(a, b), abs=1e-12)


def test_spearman_of_monotone_transforms_is_one():
    x = np.random.default_rng(2).normal(size=40)
    assert spearman(x, np.exp(x)) == pytest.approx(1.0)
    assert set(COMPARISONS) == {"tau_a", "spearman", "pearson"}


def test_comparisons_agree_with_rsatoolbox():
    rsatoolbox = pytest.importorskip("rsatoolbox")
    rng = np.random.default_rng(3)
    cases = [(lower(MODELS["grid"]), lower(MODELS["orthogonal"])),  # many ties
             (rng.integers(0, 4, 300).astype(float), rng.integers(0, 3, 300).astype(float)),
             (rng.normal(size=190), rng.normal(size=190))]
    for a, b in cases:
        ours = {"tau-a": kendall_tau_a(a, b), "spearman": spearman(a, b)}
        for method, value in ours.items():
            theirs = rsatoolbox.rdm.compare(rsatoolbox.rdm.RDMs(a[None]), rsatoolbox.rdm.RDMs(b[None]),
                                            method=method)
            assert value == pytest.approx(float(theirs[0, 0]), abs=1e-10), method
