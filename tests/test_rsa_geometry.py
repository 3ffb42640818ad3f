"""Geometry read-outs: dimensionality of known spectra, unit classes, accuracy helpers."""

from __future__ import annotations

import numpy as np
import pytest

from garden.rsa.geometry import (
    class_counts,
    classify_units,
    context_weight_correlation,
    dimensionality,
    explained_variance,
    first_step_at,
    sign_accuracy,
)


def test_dimensionality_of_a_known_two_component_spectrum():
    u = np.array([1.0, -1.0, 1.0, -1.0])
    v = np.array([1.0, 1.0, -1.0, -1.0])
    activity = np.column_stack([3 * u, v, np.zeros(4)]) + 7.0  # variance 9 : 1, offset removed
    n, ratio = dimensionality(activity, threshold=0.9)
    assert n == 1
    np.testing.assert_allclose(ratio, [0.9, 0.1, 0.0], atol=1e-12)
    assert dimensionality(activity, threshold=0.95)[0] == 2


def test_dimensionality_is_invariant_to_rotating_the_units():
    rng = np.random.default_rng(0)
    activity = rng.normal(size=(50, 3)) @ rng.normal(size=(3, 20))  # rank 3
    rotation = np.linalg.qr(rng.normal(size=(20, 20)))[0]
    np.testing.assert_allclose(explained_variance(activity @ rotation), explained_variance(activity), atol=1e-12)
    assert dimensionality(activity, threshold=1.0)[0] == 3


def test_dead_activity_has_dimensionality_zero_and_bad_thresholds_are_rejected():
    assert dimensionality(np.zeros((5, 4)))[0] == 0
    with pytest.raises(ValueError, match="threshold"):
        dimensionality(np.ones((3, 3)), threshold=90)


def test_classify_units_by_mean_activity_per_context():
    ctx = np.array([0, 0, 1, 1])
    hidden = np.array([[1.0, 0.0, 2.0, 0.0],
                       [1.0, 0.0, 0.0, 0.0],
                       [0.0, 3.0, 1.0, 0.0],
                       [0.0, 0.0, 1.0, 0.0]])
    classes = classify_units(hidden, ctx)
    assert classes.tolist() == ["task_selective", "task_selective", "mixed", "dead"]
    assert class_counts(classes) == {"task_selective": 2, "mixed": 1, "dead": 1}
    with pytest.raises(ValueError, match="0 and 1"):
        classify_units(hidden, np.zeros(4, int))


def test_sign_accuracy_ignores_zero_targets_and_works_per_run():
    targets = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    outputs = np.array([[-0.1, 0.3, 5.0, 0.2, 0.4], [-1.0, -1.0, -1.0, 1.0, 2.0]])
    np.testing.assert_allclose(sign_accuracy(outputs, targets), [0.75, 1.0])
    with pytest.raises(ValueError, match="every target is 0"):
        sign_accuracy(np.ones(3), np.zeros(3))


def test_first_step_at_and_context_weight_correlation():
    assert first_step_at([0.5, 0.9, 1.0, 1.0]) == 2
    assert first_step_at([0.5, 0.9]) is None
    w = np.array([[1.0, -1.0], [2.0, -2.0], [-1.0, 1.0]])
    assert context_weight_correlation(w) == pytest.approx(-1.0)
    assert np.isnan(context_weight_correlation(np.ones((3, 2))))


def test_uncentred_dimensionality_counts_the_mean_as_a_component():
    """Points on a line away from the origin: one dimension centred (ours), two uncentred (the
    published SVD: the mean direction and the line)."""
    t = np.linspace(-1, 1, 11)
    activity = np.column_stack([t, np.full_like(t, 3.0)])
    assert dimensionality(activity, 0.99)[0] == 1
    n, ratio = dimensionality(activity, 0.99, centre=False)
    assert n == 2 and ratio[0] == pytest.approx(9 * 11 / (9 * 11 + (t ** 2).sum()))
