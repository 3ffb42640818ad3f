"""Batched full-batch training of many independent networks at once (torch; GPU when present).

Each network is exactly the published one (paradigm §4): stimulus units + 2 context units ->
``n_hidden`` ReLU units -> 1 linear output, loss 1/2 sum over the 50 items of (y_hat - y)^2,
plain gradient descent. The networks are stacked along a leading network dimension and every
step is a handful of batched matmuls (``torch.bmm``) with a hand-derived backward pass into
preallocated buffers, so per-step Python overhead is paid once for all networks, not per network.

Parameters are kept as one augmented matrix per network, W (inputs + 2 context + 1 bias, hidden),
against items augmented with a constant 1, so the forward pass is one bmm and the input, context
and bias gradients are one bmm.

Initial weights come from ``numpy.random.default_rng(seed)`` per network (float64, drawn in the
order input, context, output weights), so a network's init does not depend on what else is in
the batch, and networks with the same seed at different scales share their standard-normal draws.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch
from tqdm.auto import tqdm

from modeling.networks.config import TrainConfig
from modeling.networks.data import TaskData

PARAMS = ("w_input", "w_context", "b_hidden", "w_output", "b_output")


def init_params(n_stimulus: int, scales, ctx_scales, seeds, n_hidden: int = 100,
                output_sd: float = 0.01, bias: float = 0.1) -> dict[str, np.ndarray]:
    """Seeded initial parameters of N networks (float64): w_input (N, H, D), w_context (N, H, 2),
    b_hidden (N, H), w_output (N, H), b_output (N,). Weight SDs: scale, ctx_scale, output_sd."""
    scales, ctx_scales, seeds = (np.atleast_1d(np.asarray(a)) for a in (scales, ctx_scales, seeds))
    n = len(seeds)
    out = {"w_input": np.empty((n, n_hidden, n_stimulus)), "w_context": np.empty((n, n_hidden, 2)),
           "w_output": np.empty((n, n_hidden))}
    for i, (scale, ctx_scale, seed) in enumerate(zip(scales, ctx_scales, seeds)):
        rng = np.random.default_rng(int(seed))
        out["w_input"][i] = rng.standard_normal((n_hidden, n_stimulus)) * scale
        out["w_context"][i] = rng.standard_normal((n_hidden, 2)) * ctx_scale
        out["w_output"][i] = rng.standard_normal(n_hidden) * output_sd
    out["b_hidden"] = np.full((n, n_hidden), float(bias))
    out["b_output"] = np.full(n, float(bias))
    return {k: out[k] for k in PARAMS}


@dataclass(frozen=True)
class TrainResult:
    """Curves and final state of N networks (numpy; curves sampled at ``record_steps``)."""

    params_init: dict[str, np.ndarray]
    params_final: dict[str, np.ndarray]
    record_steps: np.ndarray        # (n_rec,) steps (number of updates made) of the curves
    loss: np.ndarray                # (N, n_rec) 1/2 sum of squared errors
    accuracy: np.ndarray            # (N, n_rec) sign accuracy on non-zero targets
    steps_to_criterion: np.ndarray  # (N,) first step with every non-zero target's sign right; -1 never
    outputs: np.ndarray             # (N, 50) final outputs
    output_curve: np.ndarray        # (N, n_rec, 50) outputs at the recorded steps (float32)
    hidden: np.ndarray              # (N, 50, H) final hidden activity


def _first(value):
    """The first network of a per-network array (or of each array in a parameter dict)."""
    return {k: v[:1] for k, v in value.items()} if isinstance(value, dict) else value[:1]


def resolve_device(device: str = "auto") -> torch.device:
    """'auto' -> cuda when available, else cpu."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def augmented_inputs(data: TaskData) -> np.ndarray:
    """(50, D + 3) items: stimulus units, 2 context units, constant 1 (the bias input)."""
    return np.column_stack([data.stimulus, data.context, np.ones(len(data.targets))])


def pack(params: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(W (N, D + 3, H), w_output (N, H, 1), b_output (N, 1, 1)) from named parameters."""
    w = np.concatenate([params["w_input"], params["w_context"], params["b_hidden"][..., None]], axis=2)
    return w.transpose(0, 2, 1), params["w_output"][..., None], params["b_output"][:, None, None]


def unpack(w: np.ndarray, w_out: np.ndarray, b_out: np.ndarray) -> dict[str, np.ndarray]:
    """Inverse of ``pack`` (float64 copies)."""
    w = np.asarray(w, float).transpose(0, 2, 1)
    return {"w_input": w[..., :-3].copy(), "w_context": w[..., -3:-1].copy(), "b_hidden": w[..., -1].copy(),
            "w_output": np.asarray(w_out, float)[..., 0].copy(), "b_output": np.asarray(b_out, float)[:, 0, 0].copy()}


def record_steps(steps: int, every: int) -> np.ndarray:
    """Steps at which curves are kept: 0, every, 2*every, ... and always the last step."""
    return np.unique(np.r_[np.arange(0, steps + 1, every), steps])


def train(data: TaskData, params: dict[str, np.ndarray], config: TrainConfig = TrainConfig(),
          progress: bool = False, desc: str = "training") -> TrainResult:
    """Train every network in ``params`` on the 50 items with full-batch gradient descent.

    A lone network is trained beside a copy of itself: torch computes a batch of one matrix
    product with another kernel, and the pair keeps its arithmetic identical to any larger batch.
    """
    if len(params["b_output"]) == 1:
        pair = train_batch(data, {k: np.concatenate([v, v]) for k, v in params.items()}, config, progress, desc)
        return TrainResult(**{f.name: _first(getattr(pair, f.name)) if f.name != "record_steps"
                              else pair.record_steps for f in fields(TrainResult)})
    return train_batch(data, params, config, progress, desc)


def train_batch(data: TaskData, params: dict[str, np.ndarray], config: TrainConfig = TrainConfig(),
                progress: bool = False, desc: str = "training") -> TrainResult:
    """``train`` without the pairing of a lone network (the benchmark's per-network loop uses it)."""
    dtype, device = getattr(torch, config.dtype), resolve_device(config.device)
    def tensor(a):
        return torch.tensor(np.ascontiguousarray(a), dtype=dtype, device=device)
    w_np, w2_np, b2_np = pack(params)
    w, w2, b2 = tensor(w_np), tensor(w2_np), tensor(b2_np)
    n, k, h = w.shape
    x_np = augmented_inputs(data)
    p = x_np.shape[0]
    x = tensor(np.broadcast_to(x_np, (n, p, k)))          # (N, P, K)
    xt = tensor(np.broadcast_to(x_np.T, (n, k, p)))       # (N, K, P)
    y = tensor(data.targets.reshape(1, p, 1))
    sign = tensor(np.sign(data.targets))
    unscored = tensor(np.where(data.targets == 0, np.inf, 0.0))
    n_scored = int(np.count_nonzero(data.targets))
    z, dz = torch.empty(n, p, h, dtype=dtype, device=device), torch.empty(n, p, h, dtype=dtype, device=device)
    dw = torch.empty(n, k, h, dtype=dtype, device=device)
    y_hat, e = torch.empty(n, p, 1, dtype=dtype, device=device), torch.empty(n, p, 1, dtype=dtype, device=device)
    dw2, margin_buf = torch.empty(n, 1, h, dtype=dtype, device=device), torch.empty(n, p, dtype=dtype, device=device)
    steps = config.steps
    margin = torch.empty(steps + 1, n, dtype=dtype, device=device)   # min over scored items of y_hat * sign(y)
    rec = record_steps(steps, config.record_every)
    rec_index = {int(s): i for i, s in enumerate(rec)}
    err_norm = torch.empty(len(rec), n, dtype=dtype, device=device)
    n_right = torch.empty(len(rec), n, dtype=dtype, device=device)
    output_curve = torch.empty(len(rec), n, p, dtype=torch.float32, device=device)
    lr, decay = config.lr, 1.0 - config.lr * config.l2
    bar = tqdm(total=steps, desc=desc, disable=not progress, mininterval=1.0, unit="step")
    with torch.no_grad():
        for t in range(steps + 1):
            torch.bmm(x, w, out=z)
            z.relu_()
            torch.baddbmm(b2, z, w2, out=y_hat)
            torch.sub(y_hat, y, out=e)
            torch.addcmul(unscored, y_hat.view(n, p), sign, out=margin_buf)
            torch.amin(margin_buf, dim=1, out=margin[t])
            if t in rec_index:
                i = rec_index[t]
                torch.linalg.vector_norm(e.view(n, p), dim=1, out=err_norm[i])
                n_right[i] = (y_hat.view(n, p) * sign > 0).sum(dim=1)
                output_curve[i] = y_hat.view(n, p)
            if t == steps:
                break
            torch.bmm(e.transpose(1, 2), z, out=dw2)                   # dL/dw_output
            torch.mul(e, w2.transpose(1, 2), out=dz)                   # dL/d(hidden activity)
            torch.ops.aten.threshold_backward.grad_input(dz, z, 0.0, grad_input=dz)  # through ReLU
            torch.bmm(xt, dz, out=dw)                                  # dL/d(input, context, bias)
            if config.l2:
                w[:, :-1].mul_(decay)
                w2.mul_(decay)
            w.sub_(dw, alpha=lr)
            w2.sub_(dw2.transpose(1, 2), alpha=lr)
            b2.sub_(e.sum(dim=1, keepdim=True), alpha=lr)
            if (t + 1) % 100 == 0:
                bar.update(100)
        bar.update(steps - bar.n)
    bar.close()
    reached = (margin > 0).cpu().numpy()
    first = np.where(reached.any(axis=0), reached.argmax(axis=0), -1)
    return TrainResult(
        params_init={key: np.array(v, float) for key, v in params.items()},
        params_final=unpack(w.cpu().numpy(), w2.cpu().numpy(), b2.cpu().numpy()),
        record_steps=rec,
        loss=(0.5 * err_norm.double() ** 2).T.cpu().numpy(),
        accuracy=(n_right.double() / n_scored).T.cpu().numpy(),
        steps_to_criterion=first.astype(np.int64),
        outputs=y_hat[..., 0].double().cpu().numpy(),
        output_curve=output_curve.transpose(0, 1).cpu().numpy(),
        hidden=z.double().cpu().numpy(),
    )
