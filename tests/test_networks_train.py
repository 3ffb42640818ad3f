"""The batched trainer: exact published network, hand-derived gradients, batch independence."""

from __future__ import annotations

import numpy as np
import pytest
from optional import skip_module_without

skip_module_without("torch", "[gpu]")

from garden.modeling.networks.config import TrainConfig  # noqa: E402
from garden.modeling.networks.data import task_data  # noqa: E402
from garden.modeling.networks.measures import forward  # noqa: E402
from garden.modeling.networks.train import init_params, train  # noqa: E402

SCALES, CTX = [0.01, 0.3, 3.0, 1.0, 0.01], [0.5, 0.5, 1.5, 0.8, 0.5]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    return task_data()


def test_init_is_seeded_per_network_and_has_the_published_sds():
    a = init_params(25, [0.01, 3.0], [0.5, 1.5], [7, 8])
    b = init_params(25, [3.0, 0.01, 0.2], [1.5, 0.5, 0.5], [8, 7, 7])
    assert np.array_equal(a["w_input"][0], b["w_input"][1]) and np.array_equal(a["w_input"][1], b["w_input"][0])
    assert np.allclose(b["w_input"][2] / 0.2, a["w_input"][0] / 0.01)  # same seed, same draws, scaled
    big = init_params(25, [3.0], [1.5], [0], n_hidden=4000)
    assert big["w_input"].std() == pytest.approx(3.0, rel=0.02)
    assert big["w_context"].std() == pytest.approx(1.5, rel=0.05)
    assert big["w_output"].std() == pytest.approx(0.01, rel=0.05)
    assert np.all(big["b_hidden"] == 0.1) and np.all(big["b_output"] == 0.1)


@pytest.mark.parametrize("l2", [0.0, 0.5])
def test_one_step_equals_gradient_descent_with_autograd(data, l2):
    import torch

    params = init_params(25, SCALES, CTX, range(5))
    config = TrainConfig(steps=1, lr=0.01, l2=l2, dtype="float64")
    stepped = train(data, params, config).params_final
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    x, c, y = (torch.tensor(a) for a in (data.stimulus, data.context, data.targets))
    hidden = torch.relu(torch.einsum("pd,nhd->nph", x, t["w_input"]) + torch.einsum("pc,nhc->nph", c, t["w_context"])
                        + t["b_hidden"][:, None])
    out = torch.einsum("nph,nh->np", hidden, t["w_output"]) + t["b_output"][:, None]
    loss = 0.5 * ((out - y) ** 2).sum() + 0.5 * l2 * sum((t[k] ** 2).sum() for k in ("w_input", "w_context", "w_output"))
    loss.backward()
    for key, value in t.items():
        np.testing.assert_allclose(stepped[key], (value - 0.01 * value.grad).detach().numpy(), rtol=1e-12, atol=1e-14)


def test_a_batched_network_trains_exactly_as_alone(data):
    params = init_params(25, SCALES, CTX, [3, 4, 5, 6, 7])
    config = TrainConfig(steps=200, record_every=1)
    batched = train(data, params, config)
    for i in (0, 2):
        alone = train(data, {k: v[i:i + 1] for k, v in params.items()}, config)
        np.testing.assert_allclose(alone.loss[0], batched.loss[i], rtol=1e-6)
        assert alone.steps_to_criterion[0] == batched.steps_to_criterion[i]


def test_curves_start_and_end_at_the_networks_own_loss(data):
    params = init_params(25, [0.01, 3.0], [0.5, 1.5], [0, 1])
    result = train(data, params, TrainConfig(steps=120, record_every=7, dtype="float64"))
    assert result.record_steps[0] == 0 and result.record_steps[-1] == 120 and result.record_steps[1] == 7
    for p, column in ((params, 0), (result.params_final, -1)):
        _, out = forward(p, data.stimulus, data.context)
        np.testing.assert_allclose(result.loss[:, column], 0.5 * ((out - data.targets) ** 2).sum(1), rtol=1e-10)
    np.testing.assert_allclose(result.outputs, forward(result.params_final, data.stimulus, data.context)[1], atol=1e-12)


def test_steps_to_criterion_is_the_first_step_at_full_accuracy(data):
    params = init_params(25, [3.0, 2.0, 0.01], [1.5, 1.35, 0.5], [0, 1, 2])
    result = train(data, params, TrainConfig(steps=150, record_every=1))
    for i in range(3):
        hits = np.flatnonzero(result.accuracy[i] == 1.0)
        assert result.steps_to_criterion[i] == (hits[0] if hits.size else -1)
    assert 10 < result.steps_to_criterion[0] < 100      # lazy nets learn in tens of steps
    assert result.steps_to_criterion[2] == -1            # the rich net is still on its plateau


def test_l2_shrinks_the_weights(data):
    params = init_params(25, [1.0], [0.8], [0])
    plain = train(data, params, TrainConfig(steps=300)).params_final
    decayed = train(data, params, TrainConfig(steps=300, l2=1.0)).params_final
    assert np.linalg.norm(decayed["w_input"]) < 0.5 * np.linalg.norm(plain["w_input"])


def test_float32_follows_float64(data):
    params = init_params(25, SCALES, CTX, range(5))
    a = train(data, params, TrainConfig(steps=150, dtype="float32"))
    b = train(data, params, TrainConfig(steps=150, dtype="float64"))
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-4)


def test_image_inputs_train(data):
    images = task_data("images", image_size_px=12)
    assert images.stimulus.shape == (50, 144) and np.linalg.norm(images.stimulus) == pytest.approx(1.0)
    params = init_params(144, [1.0], [0.8], [0], n_hidden=50)
    result = train(images, params, TrainConfig(steps=300, n_hidden=50))
    assert result.loss[0, -1] < 0.5 * result.loss[0, 0] and result.accuracy[0, -1] >= 0.75


def test_weight_norm_trajectories_match_the_recorded_parameters(data):
    from garden.modeling.networks.measures import relative_changes

    params = init_params(25, [0.01, 3.0], [0.5, 1.5], [0, 1])
    result = train(data, params, TrainConfig(steps=200, record_every=50, dtype="float64"))
    assert result.weight_norm.shape == (2, 5, 3) and result.weight_distance.shape == (2, 5, 3)
    np.testing.assert_allclose(result.weight_distance[:, 0], 0.0)
    changes = relative_changes(result.params_init, result.params_final)
    start = result.weight_norm[:, 0]
    for j, name in enumerate(("input", "context", "output")):
        np.testing.assert_allclose(result.weight_distance[:, -1, j] / start[:, j], changes[f"rel_change_{name}"])
        np.testing.assert_allclose((result.weight_norm[:, -1, j] - start[:, j]) / start[:, j],
                                   changes[f"rel_norm_change_{name}"], atol=1e-12)
