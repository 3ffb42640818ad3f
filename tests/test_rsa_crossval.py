"""Cross-validated RDMs: equal to rsatoolbox's crossnobis and noise estimates, batched = one by one,
unbiased for identical conditions, and the paper's run x run correlation distance by its definition."""

from __future__ import annotations

import numpy as np
import pytest
import rsatoolbox
from rsatoolbox.data.noise import cov_from_residuals

from garden.rsa.crossval import (
    SHRINKAGE,
    crossnobis_rdm,
    crossval_correlation,
    crossval_correlation_rdm,
    precision_from_residuals,
    shrinkage_covariance,
)

R, C, V = 5, 12, 20


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    patterns = rng.standard_normal((R, C, V)) + rng.standard_normal((C, V))
    residuals = rng.standard_normal((300, V)) @ rng.standard_normal((V, V))
    return patterns, residuals


@pytest.mark.parametrize("method", SHRINKAGE)
def test_shrinkage_covariance_equals_rsatoolbox(data, method):
    _, residuals = data
    ours = shrinkage_covariance(residuals, dof=270, method=method)
    theirs = cov_from_residuals(residuals.copy(), dof=270, method=method)
    assert np.abs(ours - theirs).max() < 1e-10
    assert not np.allclose(ours, np.cov(residuals.T))  # it did shrink


@pytest.mark.parametrize("method", SHRINKAGE)
def test_crossnobis_equals_rsatoolbox(data, method):
    patterns, residuals = data
    precision = precision_from_residuals(residuals, dof=270, method=method)
    # float labels: rsatoolbox fills NaN into the labels' dtype (int: numpy RuntimeWarning)
    dataset = rsatoolbox.data.Dataset(patterns.reshape(-1, V), obs_descriptors={
        "condition": np.tile(np.arange(C), R).astype(float), "run": np.repeat(np.arange(R), C).astype(float)})
    theirs = rsatoolbox.rdm.calc_rdm(dataset, descriptor="condition", method="crossnobis", noise=precision,
                                     cv_descriptor="run").dissimilarities[0]
    ours = crossnobis_rdm(patterns, precision)
    assert np.abs(ours[np.triu_indices(C, 1)] - theirs).max() < 1e-8
    assert np.allclose(ours, ours.T) and np.all(np.diag(ours) == 0)


def test_batched_equals_one_by_one(data):
    patterns, residuals = data
    rng = np.random.default_rng(4)
    batch = np.stack([patterns, rng.standard_normal((R, C, V)), patterns * 2])
    noise = np.stack([residuals, rng.standard_normal((300, V)), residuals[::-1]])
    precisions = precision_from_residuals(noise, dof=250)
    together = crossnobis_rdm(batch, precisions)
    for k in range(3):
        assert np.abs(together[k] - crossnobis_rdm(batch[k], precision_from_residuals(noise[k], dof=250))).max() < 1e-12
    assert np.abs(crossval_correlation_rdm(batch)[1] - crossval_correlation_rdm(batch[1])).max() < 1e-14


def test_crossnobis_is_unbiased_for_identical_conditions():
    rng = np.random.default_rng(5)
    true = np.repeat(rng.standard_normal((1, V)), C, axis=0)  # every condition the same pattern
    distances = [crossnobis_rdm(true + rng.standard_normal((R, C, V)))[np.triu_indices(C, 1)].mean()
                 for _ in range(200)]
    noisy_euclidean = ((rng.standard_normal((C, V)) - rng.standard_normal((C, V))) ** 2).mean()
    assert abs(np.mean(distances)) < 0.01 < noisy_euclidean  # plain distances would be ~2


def test_crossval_correlation_is_the_run_by_run_definition(data):
    patterns, _ = data
    reference = np.mean([1 - np.corrcoef(patterns[r], patterns[s])[:C, C:]
                         for r in range(R) for s in range(R) if r != s], axis=0)
    assert np.abs(crossval_correlation(patterns) - reference).max() < 1e-12
    rdm = crossval_correlation_rdm(patterns)
    assert np.all(np.diag(rdm) == 0) and np.allclose(rdm[~np.eye(C, dtype=bool)], reference[~np.eye(C, dtype=bool)])


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="at least 2 runs"):
        crossnobis_rdm(np.ones((1, 3, 4)))
    with pytest.raises(ValueError, match="precision must be 4 x 4"):
        crossnobis_rdm(np.random.default_rng(0).standard_normal((2, 3, 4)), np.eye(3))
    with pytest.raises(ValueError, match="constant pattern"):
        crossval_correlation(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="unknown shrinkage"):
        shrinkage_covariance(np.ones((5, 3)), method="oas")


def test_whitening_by_noise_covariance_equals_the_precision_metric(data):
    patterns, residuals = data
    cov = shrinkage_covariance(residuals, dof=270)
    by_cov = crossnobis_rdm(patterns, noise_cov=cov)
    assert np.abs(by_cov - crossnobis_rdm(patterns, np.linalg.inv(cov))).max() < 1e-12
    with pytest.raises(ValueError, match="not positive definite"):
        crossnobis_rdm(patterns, noise_cov=-np.eye(V))
