"""Networks: the full published sweep (240 networks x 10 000 steps) with the batched trainer.

Measured side by side in one run, on 2 threads (``torch.set_num_threads(2)``):

* ``sweep_s``: the batched trainer on all 240 networks (float32, on numpy: the CPU trainer), training only
  (no measures); ``sweep_cpu_s`` its CPU seconds (both threads: what the load does not inflate);
* ``torch_sweep_s``, ``torch_sweep_cpu_s``: the same sweep with the same step on torch on the CPU
  (``backend.TORCH_ON_CPU``: the trainer's CPU library before numpy); ``numpy_over_torch_cpu_s``: the
  CPU-second ratio (> 1: numpy slower);
* ``loop_s_extrapolated``: the same trainer's step, one network at a time (``train_batch`` with a
  batch of one: the same arithmetic, no batching), timed on ``LOOP_NETWORKS`` networks for
  ``LOOP_STEPS`` steps and extrapolated linearly to 240 networks x 10 000 steps (said in the JSON);
* ``speedup``: loop / batched;
* ``autograd_loop_s_extrapolated``: a second, plainer baseline: each network as a
  ``torch.nn.Sequential`` trained alone with autograd and ``torch.optim.SGD`` (the same loss,
  learning rate and initial weights), timed on ``LOOP_NETWORKS`` networks for ``AUTOGRAD_STEPS``
  steps and extrapolated the same way; ``speedup_vs_autograd_loop``: that loop / batched;
* ``achieved_gflops``: the multiply-adds (2 flops each) of the plain 50-item step per second
  (the trainer does fewer: it uses the 25 cells shared by the two contexts), against
  ``matmul_gflops``, a 2048 x 2048 float32 matrix product in the same run;
* ``float64_over_float32``: time ratio of the two precisions on all 240 networks for a few steps;
* ``peak_rss_mb``: the process's peak resident memory after the sweep (includes torch itself);
* ``load_average``: the machine's 1-minute load average before the sweep (the machine is shared).
"""

from __future__ import annotations

import os
import resource
import time

import numpy as np

N_THREADS = 2
LOOP_NETWORKS = 4
LOOP_STEPS = 2000
AUTOGRAD_STEPS = 1000
PRECISION_STEPS = 300


def _flops_per_step(n: int, p: int = 50, k: int = 28, h: int = 100) -> float:
    """Multiply-adds x 2 of one step: forward (x W), output, output grad, hidden grad, input grad."""
    return 2.0 * n * (p * k * h + p * h + p * h + p * k * h)


def _matmul_gflops(torch) -> float:
    a = torch.randn(2048, 2048)
    torch.mm(a, a)
    start = time.perf_counter()
    for _ in range(3):
        torch.mm(a, a)
    return 3 * 2 * 2048**3 / (time.perf_counter() - start) / 1e9


def _autograd_loop(torch, data, params: dict, index: int, steps: int, lr: float) -> float:
    """Train network ``index`` alone the textbook way (nn.Sequential, autograd, torch.optim.SGD); final loss."""
    x = torch.tensor(np.column_stack([data.stimulus, data.context]), dtype=torch.float32)
    y = torch.tensor(data.targets, dtype=torch.float32)[:, None]
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], params["w_output"].shape[1]), torch.nn.ReLU(),
                              torch.nn.Linear(params["w_output"].shape[1], 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(np.concatenate([params["w_input"][index], params["w_context"][index]], 1)))
        net[0].bias.copy_(torch.tensor(params["b_hidden"][index]))
        net[2].weight.copy_(torch.tensor(params["w_output"][index][None]))
        net[2].bias.fill_(float(params["b_output"][index]))
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = 0.5 * ((net(x) - y) ** 2).sum()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return float(0.5 * ((net(x) - y) ** 2).sum())


def main() -> dict:
    import torch

    from garden.modeling.networks import backend
    from garden.modeling.networks.config import PUBLISHED_CTX_SCALES, PUBLISHED_SCALES, TrainConfig
    from garden.modeling.networks.data import task_data
    from garden.modeling.networks.train import init_params, train_batch

    torch.set_num_threads(N_THREADS)
    data = task_data()
    scales = np.repeat(PUBLISHED_SCALES, 30)
    ctx = np.repeat(PUBLISHED_CTX_SCALES, 30)
    seeds = np.tile(np.arange(30), 8)
    params = init_params(25, scales, ctx, seeds)
    n, steps = len(seeds), 10_000
    result = {"threads": N_THREADS, "networks": n, "steps": steps, "load_average": os.getloadavg()[0],
              "matmul_gflops": round(_matmul_gflops(torch), 1)}

    start, cpu = time.perf_counter(), time.process_time()
    sweep = train_batch(data, params, TrainConfig(steps=steps))
    result["sweep_s"] = round(time.perf_counter() - start, 2)
    result["sweep_cpu_s"] = round(time.process_time() - cpu, 2)  # both threads: the load-independent cost
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["achieved_gflops"] = round(_flops_per_step(n) * steps / result["sweep_s"] / 1e9, 2)
    result["all_networks_at_100pct"] = bool((sweep.accuracy[:, -1] == 1).all())

    backend.TORCH_ON_CPU = True
    start, cpu = time.perf_counter(), time.process_time()
    train_batch(data, params, TrainConfig(steps=steps))
    result["torch_sweep_s"] = round(time.perf_counter() - start, 2)
    result["torch_sweep_cpu_s"] = round(time.process_time() - cpu, 2)
    backend.TORCH_ON_CPU = False
    result["numpy_over_torch_cpu_s"] = round(result["sweep_cpu_s"] / result["torch_sweep_cpu_s"], 2)

    picks = np.linspace(0, n - 1, LOOP_NETWORKS).astype(int)
    start = time.perf_counter()
    for i in picks:
        train_batch(data, {k: v[i:i + 1] for k, v in params.items()}, TrainConfig(steps=LOOP_STEPS))
    loop = time.perf_counter() - start
    result["loop_s_extrapolated"] = round(loop * (n / LOOP_NETWORKS) * (steps / LOOP_STEPS), 1)
    result["loop_note"] = (f"per-network loop timed on {LOOP_NETWORKS} networks x {LOOP_STEPS} steps "
                           f"({loop:.2f} s), extrapolated linearly to {n} x {steps}")
    result["speedup"] = round(result["loop_s_extrapolated"] / result["sweep_s"], 1)

    start = time.perf_counter()
    for i in picks:
        _autograd_loop(torch, data, params, i, AUTOGRAD_STEPS, TrainConfig().lr)
    loop = time.perf_counter() - start
    result["autograd_loop_s_extrapolated"] = round(loop * (n / LOOP_NETWORKS) * (steps / AUTOGRAD_STEPS), 1)
    result["autograd_loop_note"] = (f"nn.Sequential + autograd + SGD, {LOOP_NETWORKS} networks x {AUTOGRAD_STEPS} "
                                    f"steps ({loop:.2f} s), extrapolated linearly to {n} x {steps}")
    result["speedup_vs_autograd_loop"] = round(result["autograd_loop_s_extrapolated"] / result["sweep_s"], 1)

    times = {}
    for dtype in ("float32", "float64"):
        start = time.perf_counter()
        train_batch(data, params, TrainConfig(steps=PRECISION_STEPS, dtype=dtype))
        times[dtype] = time.perf_counter() - start
    result["float64_over_float32"] = round(times["float64"] / times["float32"], 2)
    result["targets"] = {"sweep_s_under": 60, "speedup_at_least": 20, "peak_rss_mb_under": 2048}
    return result
