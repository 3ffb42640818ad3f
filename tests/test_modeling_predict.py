"""predict / simulate_choices: the published model equations, counterbalancing invariance, seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from garden.core.task import item_table
from garden.modeling.psychometric import MODELS, parameter_names, predict, simulate_choices


def _published(phi_deg, b, l, offset, slope, lapse):
    """The published freeBoundaryModelTT on canonical coordinates (x1 = b - 3, x2 = l - 3)."""
    a = np.deg2rad(phi_deg - 90.0)
    d = (b - 3) * np.cos(a) + (l - 3) * np.sin(a)
    return lapse + (1 - 2 * lapse) / (1 + np.exp(-slope * (d - offset)))


def test_factorized_matches_published_equation_for_code_1():
    items = item_table(1)
    params = dict(delta_north=-12.0, delta_south=7.0, slope=6.0, offset=0.3, lapse=0.04)
    p = predict("factorized", params, items)
    north = items.context == "north"
    phi = np.where(north, 180.0 - 12.0, 90.0 + 7.0)  # optimal north 180, south 90 deg
    expected = _published(phi, items.branchiness.to_numpy(float), items.leafiness.to_numpy(float), 0.3, 6.0, 0.04)
    np.testing.assert_allclose(p, expected, atol=1e-12)


def test_linear_matches_published_equation_for_diagonal_code_5():
    items = item_table(5)
    p = predict("linear", dict(delta=20.0, slope=4.0, offset=-0.2, lapse=0.1), items)
    expected = _published(90.0 + 20.0, items.branchiness.to_numpy(float), items.leafiness.to_numpy(float),
                          -0.2, 4.0, 0.1)  # diagonal one-bound optimum 90 deg
    np.testing.assert_allclose(p, expected, atol=1e-12)


@pytest.mark.parametrize("code", range(1, 9))
def test_rule_following_agent_is_correct_under_every_code(code):
    items = item_table(code)
    p = predict("factorized", dict(delta_north=0, delta_south=0, slope=20, offset=0, lapse=0), items)
    value = items.reward_value.to_numpy()
    assert p[value > 0].min() > 0.99 and p[value < 0].max() < 0.01
    np.testing.assert_allclose(p[value == 0], 0.5)


@pytest.mark.parametrize("code", [2, 3, 4])
def test_zero_delta_is_invariant_to_counterbalancing(code):
    """The same parameters mean the same behaviour relative to the rules under any code."""
    params = dict(delta_north=0.0, delta_south=0.0, slope=3.0, offset=0.0, lapse=0.05)
    ref = predict("factorized", params, item_table(1))
    other = predict("factorized", params, item_table(code))
    np.testing.assert_allclose(np.sort(ref), np.sort(other), atol=1e-12)


def test_any_context_labels_work():
    items = item_table(1, contexts=("blue", "orange"))
    names = parameter_names("factorized_full", ("blue", "orange"))
    assert names[:2] == ["delta_blue", "delta_orange"] and "lapse_orange" in names
    params = dict.fromkeys(names, 0.0) | {"slope_blue": 5.0, "slope_orange": 5.0}
    p = predict("factorized_full", params, items)
    assert p.shape == (50,) and np.all((p >= 0) & (p <= 1))
    with pytest.raises(KeyError, match="delta_orange"):
        predict("factorized", {"delta_blue": 0, "slope": 1, "offset": 0, "lapse": 0}, items)


def test_simulate_choices_is_seeded_and_follows_p():
    items = pd.concat([item_table(1)] * 40, ignore_index=True)
    params = dict(delta=0.0, slope=1.0, offset=0.0, lapse=0.0)
    a = simulate_choices("linear", params, items, 3)
    b = simulate_choices("linear", params, items, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, 1.0}
    p = predict("linear", params, items)
    assert abs(a.mean() - p.mean()) < 0.03


def test_registry_parameter_counts():
    assert {n: m.k for n, m in MODELS.items()} == {"factorized": 5, "factorized_full": 8, "linear": 4,
                                                   "sigmoid_relevant": 1, "sigmoid_irrelevant": 1}
