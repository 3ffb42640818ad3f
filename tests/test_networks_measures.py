"""Measures that need a network's weights: forward pass, ablation, noise, weight changes, geometry."""

from __future__ import annotations

import numpy as np
import pytest

from garden.core.errors import UserError
from garden.core.task import congruency, item_congruency, item_table
from garden.modeling.networks.config import SweepConfig
from garden.modeling.networks.data import task_data
from garden.modeling.networks.measures import (
    forward,
    geometry_measures,
    readout_measures,
    relative_changes,
)
from garden.rsa.model_rdms import model_coordinates


@pytest.fixture(scope="module")
def data():
    return task_data()


def _params(seed=0, n=3, h=20):
    rng = np.random.default_rng(seed)
    return {"w_input": rng.normal(size=(n, h, 25)), "w_context": rng.normal(size=(n, h, 2)),
            "b_hidden": rng.normal(size=(n, h)) * 0.1, "w_output": rng.normal(size=(n, h)),
            "b_output": np.array([0.3, -0.2, 0.1])}


def test_forward_is_the_published_network_and_ablation_silences_units(data):
    p = _params()
    hidden, out = forward(p, data.stimulus, data.context)
    x = np.column_stack([data.stimulus, data.context])
    w = np.concatenate([p["w_input"][1], p["w_context"][1]], axis=1)
    expected = np.maximum(x @ w.T + p["b_hidden"][1], 0)
    np.testing.assert_allclose(hidden[1], expected)
    np.testing.assert_allclose(out[1], expected @ p["w_output"][1] + p["b_output"][1])
    _, silent = forward(p, data.stimulus, data.context, keep=np.zeros((3, 20), bool))
    np.testing.assert_allclose(silent, np.broadcast_to(p["b_output"][:, None], (3, 50)))
    noisy = np.stack([np.stack([data.stimulus] * 2)] * 3)  # (N, R, P, D) copies give the same outputs
    np.testing.assert_allclose(forward(p, noisy, data.context)[1][:, 1], out)


def test_relative_changes():
    p = _params()
    q = {k: v.copy() for k, v in p.items()}
    q["w_input"] = p["w_input"] * 3
    changes = relative_changes(p, q)
    np.testing.assert_allclose(changes["rel_change_input"], 2.0)
    np.testing.assert_allclose(changes[["rel_change_context", "rel_change_output"]], 0.0)


def test_geometry_of_a_known_orthogonal_representation(data):
    coords = model_coordinates("orthogonal", context_offset=1.0)           # (50, 3)
    basis = np.linalg.qr(np.random.default_rng(1).normal(size=(30, 3)))[0]  # isometric embedding
    hidden = (coords @ basis.T)[None]
    w_context = np.column_stack([np.arange(30.0), -np.arange(30.0) + np.random.default_rng(2).normal(size=30) * 0.1])
    table, arrays = geometry_measures(data, hidden, w_context[None], context_offset=1.0)
    row = table.iloc[0]
    assert row.beta_orthogonal == pytest.approx(1.0, abs=1e-9)
    assert row.beta_grid == pytest.approx(0.0, abs=1e-9) and row.beta_parallel == pytest.approx(0.0, abs=1e-9)
    assert row.dim_90 <= 3 and arrays["spectrum"].shape == (1, 30)
    assert row.n_task_selective + row.n_mixed + row.n_dead == 30
    assert row.context_weight_corr_all < -0.99


def test_readouts_are_seeded_and_noise_free_accuracy_is_the_accuracy(data):
    p = _params()
    classes = np.zeros((3, 20), np.int8)
    a = readout_measures(data, p, classes, seeds=[0, 1, 2], noise_sds=(0.0, 0.1), noise_repeats=5)
    b = readout_measures(data, p, classes, seeds=[0, 1, 2], noise_sds=(0.0, 0.1), noise_repeats=5)
    assert a.equals(b)
    _, out = forward(p, data.stimulus, data.context)
    scored = data.targets != 0
    acc = ((np.sign(out) == np.sign(data.targets)) & scored).sum(1) / scored.sum()
    np.testing.assert_allclose(a["acc_noise_0"], acc)
    # every unit is "task-selective" here: ablating them leaves only the output bias
    np.testing.assert_allclose(a["acc_ablate_task_selective"], 0.5)
    np.testing.assert_allclose(a["acc_ablate_mixed"], acc)


@pytest.mark.parametrize("code", range(1, 9))
def test_item_congruency_follows_the_rule_code(code):
    items = item_table(code)
    kind = item_congruency(items)
    np.testing.assert_array_equal(kind, congruency(items.branchiness, items.leafiness, code))
    value = items.reward_value.to_numpy().reshape(2, 25)
    both = np.sign(value[0]) * np.sign(value[1])
    np.testing.assert_array_equal(kind[:25] == "congruent", both > 0)
    np.testing.assert_array_equal(kind[25:] == "incongruent", both < 0)


def test_congruent_accuracy_uses_the_sweeps_rule_code():
    """Under rule 3 (north falls with leafiness, south rises with branchiness) the trees congruent
    under rule 1 are the incongruent ones: a network right exactly on rule 1's congruent trees
    scores (1, 0) on (congruent, incongruent) items under rule 1 and (0, 1) under rule 3."""
    for code, expected in ((1, (1.0, 0.0)), (3, (0.0, 1.0))):
        data = task_data(rule_code=code)
        target = np.sign(data.targets)
        rule1 = congruency(data.items.branchiness, data.items.leafiness, 1)
        out = np.where(rule1 == "congruent", target, -target)
        table = readout_measures(data, _network_with_outputs(data, out), np.full((1, 400), 2, np.int8), [0],
                                 noise_sds=(0.0,), noise_repeats=1)
        assert (table.acc_congruent[0], table.acc_incongruent[0]) == expected


def _network_with_outputs(data, out, h=400):
    """One network whose outputs on the 50 items are ``out``: random ReLU features of the 27 inputs
    (rank 50 after the ReLU), output weights by least squares."""
    rng = np.random.default_rng(0)
    params = {"w_input": rng.normal(size=(1, h, 25)) * 20, "w_context": rng.normal(size=(1, h, 2)) * 20,
              "b_hidden": rng.normal(size=(1, h)), "w_output": np.zeros((1, h)), "b_output": np.zeros(1)}
    hidden, _ = forward(params, data.stimulus, data.context)
    params["w_output"] = np.linalg.lstsq(hidden[0], out, rcond=None)[0][None]
    scored = out != 0
    np.testing.assert_array_equal(np.sign(forward(params, data.stimulus, data.context)[1][0])[scored], out[scored])
    return params


def test_sweeps_refuse_diagonal_rule_codes():
    with pytest.raises(UserError, match="^rule_code: 5 is diagonal: .*cardinal code 1..4"):
        SweepConfig(rule_code=5)


def test_norm_change_and_distance_moved_are_both_reported():
    """A sign flip of the input weights keeps their norm (paper's measure 0) but moves them by 2 ||W0||."""
    p = _params()
    q = {**p, "w_input": -p["w_input"], "w_output": p["w_output"] * 2}
    changes = relative_changes(p, q)
    np.testing.assert_allclose(changes["rel_norm_change_input"], 0.0, atol=1e-12)
    np.testing.assert_allclose(changes["rel_change_input"], 2.0)
    np.testing.assert_allclose(changes[["rel_norm_change_output", "rel_change_output"]], 1.0)


def test_context_weight_correlation_at_initialisation_on_the_same_units(data):
    rng = np.random.default_rng(3)
    hidden = np.abs(rng.normal(size=(1, 50, 30)))
    hidden[0, 25:, :10] = 0                                   # units 0-9: active in north only
    w0 = np.column_stack([np.arange(30.0), np.arange(30.0)])  # r = +1 at init
    w1 = np.column_stack([np.arange(30.0), -np.arange(30.0)])
    table, _ = geometry_measures(data, hidden, w1[None], w_context_init=w0[None])
    row = table.iloc[0]
    assert row.n_task_selective == 10
    assert row.context_weight_corr == pytest.approx(-1) and row.context_weight_corr_init == pytest.approx(1)
    assert row.context_weight_corr_all_init == pytest.approx(1)
    assert row.dim_90_uncentred >= 1


def test_noise_on_all_inputs_reaches_the_context_units(data):
    """A network that reads only its context units (output = north - south context drive) is
    untouched by stimulus noise and disturbed by noise on all inputs."""
    n, h = 1, 2
    params = {"w_input": np.zeros((n, h, 25)), "w_context": np.array([[[10.0, 0.0], [0.0, 10.0]]]),
              "b_hidden": np.zeros((n, h)), "w_output": np.array([[1.0, -1.0]]), "b_output": np.zeros(n)}
    table = readout_measures(data, params, np.full((n, h), 2, np.int8), [0], noise_sds=(0.0, 0.1), noise_repeats=20)
    assert table["acc_noise_0.1"][0] == table["acc_noise_0"][0]
    assert table["acc_noise_all_0.1"][0] < table["acc_noise_all_0"][0]
    assert table["acc_noise_all_0"][0] == table["acc_noise_0"][0]
