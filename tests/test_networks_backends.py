"""numpy (the CPU trainer) and torch (the GPU trainer, here forced onto the CPU) train the same networks:
the same curves, final weights and gating statistics within 1e-10 (float64), full batch and online."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from optional import skip_module_without

skip_module_without("torch", "[gpu]")

from garden.modeling.networks import backend
from garden.modeling.networks.config import (
    ONLINE_LRS,
    PUBLISHED_CTX_SCALES,
    PUBLISHED_SCALES,
    TrainConfig,
)
from garden.modeling.networks.data import task_data
from garden.modeling.networks.train import (
    augmented_inputs,
    init_params,
    online_batch,
    train,
)

TOL = 1e-10
CURVES = ("loss", "accuracy", "outputs", "hidden", "weight_norm", "weight_distance")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def on_both(run, monkeypatch):
    """``run()`` on numpy, then on torch on the CPU."""
    first = run()
    monkeypatch.setattr(backend, "TORCH_ON_CPU", True)
    return first, run()


def close(a, b) -> None:
    np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)


def test_the_cpu_runs_on_numpy_unless_told(monkeypatch):
    assert backend.backend("cpu").xp is np
    monkeypatch.setattr(backend, "TORCH_ON_CPU", True)
    assert backend.backend("cpu").xp.__name__ == "torch"


AUTO_IN_A_FRESH_PROCESS = """
import sys
from garden.modeling.networks.backend import backend, no_gpu_here
chosen = backend("auto")
print(no_gpu_here(), chosen.xp.__name__, "torch" in sys.modules)
"""


def test_auto_imports_torch_only_where_a_gpu_could_be():
    """``--device auto`` (every command's default) on a machine without a GPU trains on numpy without the ~3.5 s
    CPU of importing torch; where a GPU driver is present it asks torch."""
    done = subprocess.run([sys.executable, "-c", AUTO_IN_A_FRESH_PROCESS], capture_output=True, text=True,
                          timeout=120, check=True)
    no_gpu, library, torch_loaded = done.stdout.split()
    if no_gpu == "True":
        assert (library, torch_loaded) == ("numpy", "False")
    else:
        assert torch_loaded == "True"


def test_a_gpu_driver_file_sends_auto_to_torch(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(backend, "GPU_DEVICE_FILES", (str(tmp_path / "nvidiactl"),))
    assert backend.no_gpu_here()
    (tmp_path / "nvidiactl").touch()
    assert not backend.no_gpu_here()
    import torch

    assert backend._cuda_available() == torch.cuda.is_available()
    monkeypatch.setattr(sys, "platform", "darwin")
    assert backend.no_gpu_here()


PUBLISHED = (PUBLISHED_SCALES, PUBLISHED_CTX_SCALES, range(8))   # one seed per published scale
GATING_CONTROL = ((0.01, 3.0) * 3, (0.5, 1.5) * 3, (0, 0, 1, 1, 2, 2))  # tests/test_networks_gating.py's sweep


@pytest.mark.parametrize(("inputs", "activation", "lr", "l2", "networks"), [
    ("blobs", "relu", TrainConfig.lr, 0.0, PUBLISHED), ("blobs", "relu", TrainConfig.lr, 0.01, PUBLISHED),
    ("blobs", "linear", 2.5e-3, 0.0, GATING_CONTROL), ("images", "relu", TrainConfig.lr, 0.0, PUBLISHED)])
def test_full_batch_training_is_the_same_on_numpy_and_torch(monkeypatch, inputs, activation, lr, l2, networks):
    """600 steps: blob inputs (the 25 shared cells), with and without L2; the linear-hidden control
    as the gating analysis trains it; image inputs (the plain 50-item products)."""
    data = task_data(inputs, image_size_px=8)
    params = init_params(data.n_stimulus_units, *networks)
    config = TrainConfig(steps=600, lr=lr, record_every=20, dtype="float64", l2=l2, hidden_activation=activation)
    a, b = on_both(lambda: train(data, params, config), monkeypatch)
    for name in CURVES:
        close(getattr(a, name), getattr(b, name))
    np.testing.assert_allclose(a.output_curve, b.output_curve, rtol=1e-6)   # kept as float32
    np.testing.assert_array_equal(a.steps_to_criterion, b.steps_to_criterion)
    for name, value in a.params_final.items():
        close(value, b.params_final[name])
    for name, value in a.gating_curve.items():
        close(value, b.gating_curve[name])


def test_online_training_is_the_same_on_numpy_and_torch(monkeypatch):
    """Three participants' own 300-trial sequences (one shorter, padded), the published scales at
    their tuned online rates, with L2, in chunks of two participants: outputs and final weights."""
    data = task_data()
    params = init_params(25, PUBLISHED_SCALES, PUBLISHED_CTX_SCALES, range(8))
    lr = np.array([ONLINE_LRS[s] for s in PUBLISHED_SCALES])
    rng = np.random.default_rng(0)
    items = rng.integers(0, 50, size=(3, 300))
    items[2, 250:] = -1
    targets, learn = data.targets[items], rng.random((3, 300)) < 0.7
    def run():
        return online_batch(augmented_inputs(data), items, targets, learn, params, lr, l2=0.01, dtype="float64",
                            device="cpu", chunk=2, final=True)
    (out_a, final_a), (out_b, final_b) = on_both(run, monkeypatch)
    close(out_a, out_b)
    for name, value in final_a.items():
        close(value, final_b[name])
