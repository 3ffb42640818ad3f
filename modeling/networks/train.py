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
CPU_CHUNK = 48   # networks trained together on the CPU (a chunk's arrays fit in the cache)


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


def _chunks(n: int, size: int) -> list[slice]:
    """Consecutive, near-equal slices of ``n`` networks of at most ``size`` each (one slice when n <= size).

    Near-equal so no slice holds a lone network (torch multiplies a batch of one with another kernel)."""
    count = -(-n // size)
    bounds = np.linspace(0, n, count + 1).round().astype(int)
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def train_batch(data: TaskData, params: dict[str, np.ndarray], config: TrainConfig = TrainConfig(),
                progress: bool = False, desc: str = "training") -> TrainResult:
    """``train`` without the pairing of a lone network (the benchmark's per-network loop uses it).

    On the CPU the networks are trained in chunks of at most ``CPU_CHUNK`` networks, each chunk for
    all its steps: a chunk's activity arrays stay in the core's cache, where the whole batch's would
    not (the step is limited by memory traffic, not arithmetic). The networks are independent and
    each one's arithmetic does not depend on the others in its chunk, so chunking changes no result.
    """
    device = resolve_device(config.device)
    n = len(params["b_output"])
    parts = _chunks(n, CPU_CHUNK) if device.type == "cpu" else [slice(0, n)]
    bar = tqdm(total=config.steps * len(parts), desc=desc, disable=not progress, mininterval=1.0, unit="step")
    results = [_train_chunk(data, {k: v[part] for k, v in params.items()}, config, device, bar) for part in parts]
    bar.close()
    if len(results) == 1:
        return results[0]
    def joined(name):
        values = [getattr(r, name) for r in results]
        if isinstance(values[0], dict):
            return {k: np.concatenate([v[k] for v in values]) for k in values[0]}
        return np.concatenate(values)
    return TrainResult(**{f.name: results[0].record_steps if f.name == "record_steps" else joined(f.name)
                          for f in fields(TrainResult)})


def _shared_cells(data: TaskData) -> bool:
    """Whether the 50 items are the same 25 stimuli shown once in each of 2 constant context codes.

    Then a hidden unit's input is (stimulus part of one of 25 cells) + (one of 2 context-and-bias
    terms), and the forward product needs 25 item rows, not 50 (the blob inputs; not image inputs
    drawn on their context's scene)."""
    half = len(data.targets) // 2
    s, c = data.stimulus, data.context
    return (len(data.targets) == 2 * half and np.array_equal(s[:half], s[half:])
            and bool((c[:half] == c[0]).all() and (c[half:] == c[half]).all()))


def _train_chunk(data: TaskData, params: dict[str, np.ndarray], config: TrainConfig, device: torch.device,
                 bar) -> TrainResult:
    """Full-batch gradient descent of the networks in ``params``, all at once (see the module docstring).

    Backward pass: with e the output errors and m = (hidden activity > 0), the gradient of W is
    w_output * (X^T diag(e) m), so the (items x hidden) arrays are read, not rewritten, after the
    forward pass: one mask pass replaces the hidden-gradient product and the ReLU backward."""
    dtype = getattr(torch, config.dtype)
    def tensor(a):
        return torch.tensor(np.ascontiguousarray(a), dtype=dtype, device=device)
    def empty(*shape, kind=dtype):
        return torch.empty(*shape, dtype=kind, device=device)
    w_np, w2_np, b2_np = pack(params)
    w, w2, b2 = tensor(w_np), tensor(w2_np), tensor(b2_np)
    n, k, h = w.shape
    x_np = augmented_inputs(data)
    p = x_np.shape[0]
    shared = _shared_cells(data)
    if shared:   # forward: 25 cells x stimulus weights, plus each context's (context, bias) row
        d, half = data.n_stimulus_units, p // 2
        cells = tensor(np.broadcast_to(x_np[:half, :d], (n, half, d)))             # (N, 25, D)
        ctx_rows = tensor(np.broadcast_to(x_np[[0, half], d:], (n, 2, k - d)))      # (N, 2, 3)
        u, r = empty(n, half, h), empty(n, 2, h)
    else:
        x = tensor(np.broadcast_to(x_np, (n, p, k)))                               # (N, P, K)
    xt = tensor(np.broadcast_to(x_np.T, (n, k, p)))       # (N, K, P)
    y = tensor(data.targets.reshape(1, p, 1))
    sign = tensor(np.sign(data.targets))
    unscored = tensor(np.where(data.targets == 0, np.inf, 0.0))
    n_scored = int(np.count_nonzero(data.targets))
    z, mask = empty(n, p, h), empty(n, p, h)
    xe, g, dw = empty(n, k, p), empty(n, k, h), empty(n, k, h)
    y_hat, e = empty(n, p, 1), empty(n, p, 1)
    dw2, margin_buf = empty(n, 1, h), empty(n, p)
    steps = config.steps
    margin = empty(steps + 1, n)   # min over scored items of y_hat * sign(y)
    rec = record_steps(steps, config.record_every)
    rec_index = {int(s): i for i, s in enumerate(rec)}
    err_norm, n_right = empty(len(rec), n), empty(len(rec), n)
    output_curve = empty(len(rec), n, p, kind=torch.float32)
    lr, decay = config.lr, 1.0 - config.lr * config.l2
    with torch.no_grad():
        for t in range(steps + 1):
            if shared:
                torch.bmm(cells, w[:, :d], out=u)
                torch.bmm(ctx_rows, w[:, d:], out=r)
                torch.ops.aten._add_relu.out(u.unsqueeze(1), r.unsqueeze(2), out=z.view(n, 2, half, h))
            else:
                torch.bmm(x, w, out=z)
                z.relu_()
            torch.mul(z, w2.transpose(1, 2), out=mask)                 # output: a product per item and
            torch.sum(mask, dim=2, keepdim=True, out=y_hat)            # unit, then a sum (a batched
            y_hat.add_(b2)                                             # matrix-vector bmm is slower)
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
            torch.gt(z, 0, out=mask)                                   # ReLU derivative
            torch.mul(xt, e.transpose(1, 2), out=xe)                   # items weighted by their error
            torch.bmm(xe, mask, out=g)
            torch.mul(g, w2.transpose(1, 2), out=dw)                   # dL/d(input, context, bias)
            if config.l2:
                w[:, :-1].mul_(decay)
                w2.mul_(decay)
            w.sub_(dw, alpha=lr)
            w2.sub_(dw2.transpose(1, 2), alpha=lr)
            b2.sub_(e.sum(dim=1, keepdim=True), alpha=lr)
            if (t + 1) % 100 == 0:
                bar.update(100)
        bar.update(steps % 100)
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
