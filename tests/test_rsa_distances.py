"""RDMs from patterns: known answers, crossnobis properties, the vector order, agreement with rsatoolbox."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from garden.rsa.crossval import crossnobis_rdm, shrinkage_covariance
from garden.rsa.distances import choice_rdm, lower, rdm, square


def test_euclidean_rdm_of_a_3_4_5_triangle():
    points = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 4.0]])
    expected = np.array([[0, 3, 5], [3, 0, 4], [5, 4, 0]], dtype=float)
    np.testing.assert_allclose(rdm(points), expected)


def test_correlation_distance_is_0_for_scaled_copies_and_2_for_negated_ones():
    x = np.array([1.0, 2.0, 4.0, 3.0])
    d = rdm(np.stack([x, 3 * x + 5, -x]), "correlation")
    np.testing.assert_allclose(d[0, 1], 0.0, atol=1e-12)
    np.testing.assert_allclose(d[0, 2], 2.0)


def test_rdm_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown RDM metric"):
        rdm(np.eye(3), "cosine-ish")
    with pytest.raises(ValueError, match="NaN"):
        rdm(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="constant pattern rows \\[1\\]"):
        rdm(np.array([[0.0, 1.0], [2.0, 2.0]]), "correlation")
    with pytest.raises(ValueError, match="2 dimensions"):
        rdm(np.zeros(4))


def test_crossnobis_without_noise_is_squared_distance_per_channel():
    rng = np.random.default_rng(1)
    signal = rng.normal(size=(6, 20))
    runs = np.stack([signal] * 4)
    np.testing.assert_allclose(crossnobis_rdm(runs), rdm(signal) ** 2 / 20, atol=1e-12)


def test_crossnobis_is_unbiased_where_plain_distances_are_not():
    rng = np.random.default_rng(2)
    noise_only = rng.normal(size=(6, 10, 500))  # 10 identical conditions, independent noise per run
    cv = lower(crossnobis_rdm(noise_only))
    plain = lower(rdm(noise_only.mean(axis=0)) ** 2 / 500)
    assert abs(cv.mean()) < 0.01  # expectation 0
    assert plain.mean() > 0.3  # 2 * noise variance / 6 runs = 0.33


def test_crossnobis_is_invariant_to_a_linear_mixing_of_channels_given_its_covariance():
    rng = np.random.default_rng(3)
    patterns = rng.normal(size=(5, 8, 6))
    mixing = rng.normal(size=(6, 6)) + 3 * np.eye(6)
    mixed = patterns @ mixing.T
    np.testing.assert_allclose(crossnobis_rdm(mixed, noise_cov=mixing @ mixing.T), crossnobis_rdm(patterns),
                               atol=1e-10)


def test_ledoit_wolf_noise_covariance_from_run_residuals_recovers_a_known_diagonal_covariance():
    rng = np.random.default_rng(4)
    sd = np.array([1.0, 2.0, 0.5])
    signal = rng.normal(size=(1, 40, 3))
    runs = signal + rng.normal(size=(8, 40, 3)) * sd
    residuals = (runs - runs.mean(axis=0)).reshape(-1, 3)
    cov = shrinkage_covariance(residuals, dof=7 * 40, method="shrinkage_eye", centred=True)
    np.testing.assert_allclose(np.diag(cov), sd**2, rtol=0.2)
    whitened = crossnobis_rdm(runs, noise_cov=cov)
    assert np.allclose(whitened, whitened.T) and np.all(np.diag(whitened) == 0)


def test_crossnobis_rejects_one_run_and_a_bad_covariance():
    with pytest.raises(ValueError, match="at least 2 runs"):
        crossnobis_rdm(np.zeros((1, 3, 4)))
    with pytest.raises(ValueError, match="positive definite"):
        crossnobis_rdm(np.ones((2, 3, 2)), noise_cov=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="2 x 2"):
        crossnobis_rdm(np.ones((2, 3, 2)), noise_cov=np.eye(3))


def test_choice_rdm_is_absolute_difference_and_propagates_missing_conditions():
    d = choice_rdm(np.array([0.0, 0.25, 1.0, np.nan]))
    np.testing.assert_allclose(d[:3, :3], [[0, 0.25, 1], [0.25, 0, 0.75], [1, 0.75, 0]])
    assert np.isnan(d[3]).all() and np.isnan(d[:, 3]).all()


@settings(max_examples=50, deadline=None)
@given(arrays(float, st.integers(2, 12).map(lambda n: n * (n - 1) // 2), elements=st.floats(-1e6, 1e6)))
def test_square_inverts_lower(vector):
    matrix = square(vector)
    np.testing.assert_array_equal(lower(matrix), vector)
    np.testing.assert_array_equal(matrix, matrix.T)


def test_lower_takes_the_strict_lower_triangle_row_by_row():
    matrix = np.arange(16.0).reshape(4, 4)
    np.testing.assert_array_equal(lower(matrix), [4, 8, 9, 12, 13, 14])
    with pytest.raises(ValueError, match="square"):
        lower(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="not the lower triangle"):
        square(np.zeros(4))


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")  # inside rsatoolbox
def test_rdms_agree_with_rsatoolbox():
    rsatoolbox = pytest.importorskip("rsatoolbox")
    rng = np.random.default_rng(5)
    n_runs, n_cond, n_chan = 4, 9, 7
    patterns = rng.normal(size=(n_runs, n_cond, n_chan))
    flat = rsatoolbox.data.Dataset(patterns[0], obs_descriptors={"conds": np.arange(n_cond)})

    def theirs(dataset, method, **kwargs):
        return rsatoolbox.rdm.calc_rdm(dataset, method=method, descriptor="conds", **kwargs).get_matrices()[0]

    # rsatoolbox's "euclidean" is the squared distance divided by the number of channels
    np.testing.assert_allclose(theirs(flat, "euclidean"), rdm(patterns[0]) ** 2 / n_chan, atol=1e-12)
    np.testing.assert_allclose(theirs(flat, "correlation"), rdm(patterns[0], "correlation"), atol=1e-12)
    # float labels: rsatoolbox fills NaN into the labels' dtype (int: numpy RuntimeWarning)
    runs = rsatoolbox.data.Dataset(patterns.reshape(-1, n_chan), obs_descriptors={
        "conds": np.tile(np.arange(n_cond), n_runs).astype(float),
        "runs": np.repeat(np.arange(n_runs), n_cond).astype(float)})
    cov = np.cov(rng.normal(size=(30, n_chan)).T)
    np.testing.assert_allclose(theirs(runs, "crossnobis", cv_descriptor="runs"), crossnobis_rdm(patterns),
                               atol=1e-12)
    np.testing.assert_allclose(theirs(runs, "crossnobis", cv_descriptor="runs", noise=np.linalg.inv(cov)),
                               crossnobis_rdm(patterns, noise_cov=cov), atol=1e-10)
