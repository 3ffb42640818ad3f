"""Measures that need a network's weights: forward pass, ablation, noise, weight changes, geometry."""

from __future__ import annotations

import numpy as np
import pytest

from modeling.networks.data import task_data
from modeling.networks.measures import forward, geometry_measures, readout_measures, relative_changes
from rsa.model_rdms import model_coordinates


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
