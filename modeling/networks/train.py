"""Batched full-batch training of many independent networks at once (numpy on the CPU, torch on a GPU).

Each network is exactly the published one (docs/networks.md): stimulus units + 2 context units ->
``n_hidden`` ReLU units -> 1 linear output, loss 1/2 sum over the 50 items of (y_hat - y)^2,
plain gradient descent (``TrainConfig.hidden_activation="linear"``: identity hidden units, the gating
analysis's control; full batch only, ``online_batch`` has ReLU units). The networks share their 50
items, so every step is a few matrix products of the items with all the networks' weights at once
(one GEMM each, the weights held as one (inputs, networks x hidden) matrix) and a hand-derived backward pass into preallocated
buffers, so per-step Python overhead is paid once per chunk of networks, not per network.
With the blob inputs (25 cells, each shown in both contexts) the input products use the 25
cells, not the 50 items (``_shared_cells``).

Initial weights come from ``numpy.random.default_rng(seed)`` per network (float64, drawn in the
order input, context, output weights), so a network's init does not depend on what else is in
the batch, and networks with the same seed at different scales share their standard-normal draws.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from garden.core.progress import progress_bar
from garden.modeling.networks.backend import Backend, backend
from garden.modeling.networks.config import TrainConfig
from garden.modeling.networks.data import TaskData
from garden.modeling.networks.gating import GATING_STATS, active_units, gating_stats

PARAMS = ("w_input", "w_context", "b_hidden", "w_output", "b_output")
CPU_CHUNK = 60   # networks per chunk on the CPU (measured on 2 cores: 40-60 fastest)


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
    weight_norm: np.ndarray         # (N, n_rec, 3) Frobenius norms of the input, context, output weights
    weight_distance: np.ndarray     # (N, n_rec, 3) ||W_t - W_0|| of the same matrices
    gating_curve: dict[str, np.ndarray]  # GATING_STATS -> (N, n_rec): unit overlap, context-weight r


def _first(value):
    """The first network of a per-network array (or of each array in a parameter dict)."""
    return {k: v[:1] for k, v in value.items()} if isinstance(value, dict) else value[:1]


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

    A lone network is trained beside a copy of itself: a library may compute a batch of one matrix
    product with another kernel, and the pair keeps its arithmetic identical to any larger batch.
    """
    if len(params["b_output"]) == 1:
        pair = train_batch(data, {k: np.concatenate([v, v]) for k, v in params.items()}, config, progress, desc)
        return TrainResult(**{f.name: _first(getattr(pair, f.name)) if f.name != "record_steps"
                              else pair.record_steps for f in fields(TrainResult)})
    return train_batch(data, params, config, progress, desc)


def _chunks(n: int, size: int) -> list[slice]:
    """Consecutive, near-equal slices of ``n`` networks of at most ``size`` each (one slice when n <= size).

    Near-equal so the threads get even work and no slice holds a lone network."""
    count = -(-n // size)
    bounds = np.linspace(0, n, count + 1).round().astype(int)
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def train_batch(data: TaskData, params: dict[str, np.ndarray], config: TrainConfig = TrainConfig(),
                progress: bool = False, desc: str = "training") -> TrainResult:
    """``train`` without the pairing of a lone network (the benchmark's per-network loop uses it).

    On the CPU the networks are trained in chunks of at most ``CPU_CHUNK`` networks, each chunk for
    all its steps, the chunks in parallel on ``config.threads`` threads (default: the BLAS's; one
    thread per chunk): a chunk's arrays stay in cache, and the threads do not meet at every small
    operation. A network's arithmetic does not depend on the others in its chunk, so chunking
    changes no result (the sweep's sharded == unsharded test checks this byte for byte).
    """
    b = backend(config.device)
    if config.threads:
        b.set_threads(config.threads)
    n = len(params["b_output"])
    parts = _chunks(n, CPU_CHUNK) if b.on_cpu else [slice(0, n)]
    bar = progress_bar(total=config.steps * len(parts), desc=desc, enabled=progress, mininterval=1.0, unit="step")
    def run(part: slice) -> TrainResult:
        return _train_chunk(data, {k: v[part] for k, v in params.items()}, config, b, bar)
    results = b.run_chunks(run, parts, config.threads)
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


@np.errstate(over="ignore", invalid="ignore")   # a diverging network runs to inf/NaN, as it did on torch
def _train_chunk(data: TaskData, params: dict[str, np.ndarray], config: TrainConfig, b: Backend,
                 bar) -> TrainResult:
    """Full-batch gradient descent of the networks in ``params``, all at once (see the module docstring).

    The items are the same for every network, so the weights are held as one (inputs, networks,
    hidden) array W and the input products are ``Backend.mm`` (the items times every network's
    weights). Backward pass: with e the output errors and m = (hidden activity > 0), G = X^T (e m);
    dL/dW = w_output * G and dL/dw_output = sum over inputs of W * G (the hidden activity is X W
    where it is positive). A network's arithmetic does not depend on which networks share its
    chunk: ``mm`` multiplies each network alone on the CPU, and the sums run along one network's
    own axis (an item's or input's row is added to the running sum in turn)."""
    xp = b.xp
    def array(a):
        return b.asarray(a, config.dtype)
    def empty(*shape):
        return b.empty(*shape, dtype=config.dtype)
    w_np, w2_np, b2_np = pack(params)
    # W (K, N, H), w_output (N, H), b_output (N,)
    w, w2, b2 = array(w_np.transpose(1, 0, 2)), array(w2_np[..., 0]), array(b2_np[:, 0, 0])
    k, n, h = w.shape
    x_np = augmented_inputs(data)
    p = x_np.shape[0]
    shared = _shared_cells(data)
    if shared:   # forward: 25 cells x stimulus weights, plus each context's (context, bias) row
        d, half = data.n_stimulus_units, p // 2
        cells, ctx_rows = array(x_np[:half, :d]), array(x_np[[0, half], d:])   # (25, D), (2, 3)
        cells_t, u, r, em_cells = array(x_np[:half, :d].T), empty(half, n, h), empty(2, n, h), empty(half, n, h)
        ctx_rows_t, em_sums = array(x_np[[0, half], d:].T), empty(2, n, h)
    else:
        x = array(x_np)                                    # (P, K)
    xt = array(x_np.T)                                     # (K, P)
    y = array(data.targets.reshape(p, 1))
    sign = array(np.sign(data.targets).reshape(p, 1))
    unscored = array(np.where(data.targets == 0, np.inf, 0.0).reshape(p, 1))
    n_scored = int(np.count_nonzero(data.targets))
    z, em, active = empty(p, n, h), empty(p, n, h), b.empty(p, n, h, dtype="bool")
    g, wg = empty(k, n, h), empty(k, n, h)
    y_hat, e, margin_buf, dw2, db2 = empty(p, n), empty(p, n), empty(p, n), empty(n, h), empty(n)
    steps = config.steps
    margin = empty(steps + 1, n)   # min over scored items of y_hat * sign(y)
    rec = record_steps(steps, config.record_every)
    rec_index = {int(s): i for i, s in enumerate(rec)}
    err_norm, n_right = empty(len(rec), n), empty(len(rec), n)
    output_curve = b.empty(len(rec), p, n, dtype="float32")
    d_in = data.n_stimulus_units
    linear = config.hidden_activation == "linear"
    context_index = data.items["context_index"].to_numpy()
    gating = {name: np.empty((len(rec), n)) for name in GATING_STATS}
    w_start, w2_start = b.clone(w), b.clone(w2)
    norms, distances = empty(len(rec), 3, n), empty(len(rec), 3, n)
    def matrices(a, a2):   # input rows, context rows (without the bias row), output weights
        return a[:d_in], a[d_in:-1], a2
    lr, decay = config.lr, 1.0 - config.lr * config.l2
    for t in range(steps + 1):
        if shared:
            b.mm(cells, w[:d], out=u)
            b.mm(ctx_rows, w[d:], out=r)
            xp.add(u[None], r[:, None], out=z.reshape(2, half, n, h))
        else:
            b.mm(x, w, out=z)
        if not linear:
            b.relu_(z)
        xp.multiply(z, w2, out=em)                                 # output: a product per item and
        xp.sum(em, axis=2, out=y_hat)                              # unit, then a sum
        xp.add(y_hat, b2, out=y_hat)
        xp.subtract(y_hat, y, out=e)
        xp.multiply(y_hat, sign, out=margin_buf)
        xp.add(margin_buf, unscored, out=margin_buf)
        xp.amin(margin_buf, axis=0, out=margin[t])
        if t in rec_index:
            i = rec_index[t]
            err_norm[i] = b.norm(e.T, axis=(1,))
            xp.multiply(y_hat, sign, out=margin_buf)   # its minimum is kept; now the signs right
            n_right[i] = xp.sum(margin_buf > 0, axis=0)
            output_curve[i] = y_hat
            for j, (now, start) in enumerate(zip(matrices(w, w2), matrices(w_start, w2_start))):
                axes = (0, 2) if now.ndim == 3 else (1,)
                norms[i, j] = b.norm(now, axis=axes)
                distances[i, j] = b.norm(now - start, axis=axes)
            _record_gating(gating, i, b.to_numpy(z > 0, "bool"), b.to_numpy(w[d_in:d_in + 2]), context_index)
        if t == steps:
            break
        if linear:   # m = 1: every unit passes its error
            em[...] = e[..., None]
        else:        # e m
            xp.greater(z, 0, out=active)
            xp.multiply(e[..., None], active, out=em)
        if shared:   # the two contexts' e m summed per cell, then 25 cells x 25 inputs
            xp.add(em[:half], em[half:], out=em_cells)
            b.mm(cells_t, em_cells, out=g[:d])
            xp.sum(em.reshape(2, half, n, h), axis=1, out=em_sums)  # per context
            b.mm(ctx_rows_t, em_sums, out=g[d:])
        else:
            b.mm(xt, em, out=g)
        xp.multiply(w, g, out=wg)
        xp.sum(wg, axis=0, out=dw2)                                # dL/dw_output
        if config.l2:
            xp.multiply(w[:-1], decay, out=w[:-1])
        xp.multiply(g, w2, out=wg)                                 # dL/dW = w_output * G
        xp.multiply(wg, lr, out=wg)
        xp.subtract(w, wg, out=w)
        if config.l2:
            xp.multiply(w2, decay, out=w2)
        xp.multiply(dw2, lr, out=dw2)
        xp.subtract(w2, dw2, out=w2)
        xp.sum(e, axis=0, out=db2)
        xp.multiply(db2, lr, out=db2)
        xp.subtract(b2, db2, out=b2)
        if (t + 1) % 100 == 0:
            bar.update(100)
    bar.update(steps % 100)
    reached = b.to_numpy(margin > 0, "bool")
    first = np.where(reached.any(axis=0), reached.argmax(axis=0), -1)
    return TrainResult(
        params_init={key: np.array(v, float) for key, v in params.items()},
        params_final=unpack(b.to_numpy(w).transpose(1, 0, 2), b.to_numpy(w2)[..., None], b.to_numpy(b2)[:, None, None]),
        record_steps=rec,
        loss=(0.5 * b.to_numpy(err_norm) ** 2).T,
        accuracy=(b.to_numpy(n_right) / n_scored).T,
        steps_to_criterion=first.astype(np.int64),
        outputs=b.to_numpy(y_hat).T,
        output_curve=b.to_numpy(output_curve, "float32").transpose(2, 0, 1),
        hidden=b.to_numpy(z).transpose(1, 0, 2),
        weight_norm=b.to_numpy(norms).transpose(2, 0, 1),
        weight_distance=b.to_numpy(distances).transpose(2, 0, 1),
        gating_curve={name: values.T.copy() for name, values in gating.items()},
    )


def _record_gating(gating: dict[str, np.ndarray], i: int, active: np.ndarray, w_context: np.ndarray,
                   context_index: np.ndarray) -> None:
    """Row ``i`` of the gating curves from the active hidden units (P, N, H) and the context rows of
    the weights (2, N, H), with ``garden.modeling.networks.gating`` (units active on any item of a context)."""
    stats = gating_stats(active_units(active.transpose(1, 0, 2), context_index), w_context.transpose(1, 2, 0))
    for name, values in stats.items():
        gating[name][i] = values


ONLINE_CHUNK_BYTES = 2 << 20
"""Bytes of input-side weights per chunk of participants in ``online_batch`` on the CPU (a chunk's
weights stay in a core's 4 MiB L2 cache while it runs through its trials)."""


def online_batch(inputs: np.ndarray, rows: np.ndarray, targets: np.ndarray, learn: np.ndarray,
                 params: dict[str, np.ndarray], lr: np.ndarray, *, l2: float = 0.0, dtype: str = "float32",
                 device: str = "auto", threads: int = 0, chunk: int = 0, final: bool = False):
    """Online SGD of M networks per participant through P participants' own trial sequences, all at once.

    ``inputs`` (I, K): the items' input rows (stimulus, context, constant 1); ``rows`` (P, T): the
    item shown on each trial (-1 = padding after a shorter sequence: no output, no step);
    ``targets`` (P, T): value / 25; ``learn`` (P, T): whether the trial gives a gradient step
    (feedback); ``params``: the M networks' initial parameters (``init_params``), copied for every
    participant; ``lr`` (M,): each network's learning rate. On every trial each network's output is
    read first (returned), then, where ``learn``, one step on 1/2 (output - target)^2 (L2 penalty as
    in ``train``). Returns (P, T, M) outputs (float64; NaN on padding); with ``final`` also the
    parameters after the last trial, named as ``init_params`` with leading axes (P, M).

    Layout: per chunk of participants the weights are one (chunk, K, M x H) array, so each trial is
    a batched vector-matrix product and a batched rank-1 update for every network of the chunk;
    chunks (``chunk`` participants, default from ``ONLINE_CHUNK_BYTES``) run in parallel on
    ``threads`` threads (default: the BLAS's), each single-threaded. A network's arithmetic does
    not depend on the other networks of its chunk: chunking changes results only by rounding
    (batched kernels may order a sum differently; < 1e-12 in float64, tested)
    """
    b = backend(device)
    if threads:
        b.set_threads(threads)
    rows, targets, learn = np.asarray(rows), np.asarray(targets, float), np.asarray(learn, bool)
    p_count, m = len(rows), len(params["b_output"])
    k, h = inputs.shape[1], params["w_output"].shape[1]
    size = chunk or (max(1, ONLINE_CHUNK_BYTES // (4 * k * m * h)) if b.on_cpu else p_count)
    parts = [slice(a, min(a + size, p_count)) for a in range(0, p_count, size)]
    def run(part: slice) -> tuple[np.ndarray, dict]:
        return _online_chunk(inputs, rows[part], targets[part], learn[part], params, lr, l2, dtype, b)
    results = b.run_chunks(run, parts, threads)
    outputs = np.concatenate([r[0] for r in results]) if results else np.empty((0, rows.shape[1], m))
    if not final:
        return outputs
    return outputs, {name: np.concatenate([r[1][name] for r in results]) for name in PARAMS}


@np.errstate(over="ignore", invalid="ignore")   # a diverging network runs to inf/NaN, as it did on torch
def _online_chunk(inputs, rows, targets, learn, params, lr, l2, dtype: str, b: Backend) -> tuple[np.ndarray, dict]:
    """``online_batch`` for one chunk of C participants (weights (C, K, M x H))."""
    xp = b.xp
    c, t_count = rows.shape
    w0, w2_0, b2_0 = pack(params)                              # (M, K, H), (M, H, 1), (M, 1, 1)
    m, k, h = w0.shape
    def array(a):
        return b.asarray(a, dtype)
    w = array(np.broadcast_to(w0.transpose(1, 0, 2).reshape(1, k, m * h), (c, k, m * h)))
    w2 = array(np.broadcast_to(w2_0[..., 0].reshape(1, m * h), (c, m * h)))
    b2 = array(np.broadcast_to(b2_0[:, 0, 0], (c, m)))
    x = array(np.vstack([inputs, np.zeros((1, k))])[rows.T])  # (T, C, K): padding -> zeros
    y = array(targets.T)                                      # (T, C)
    gate = array((learn & (rows >= 0)).T)                     # (T, C)
    rate = array(np.asarray(lr, float)).reshape(1, m, 1)
    decay = None if not l2 else 1.0 - array(np.asarray(lr, float) * l2).reshape(1, 1, m, 1)
    out = b.empty(t_count, c, m, dtype=dtype)
    a, dz, step = b.empty(c, m * h, dtype=dtype), b.empty(c, m, h, dtype=dtype), b.empty(c, m, h, dtype=dtype)
    e, active, update = b.empty(c, m, dtype=dtype), b.empty(c, m, h, dtype="bool"), b.empty(c, k, m * h, dtype=dtype)
    am, w2m, wm = a.reshape(c, m, h), w2.reshape(c, m, h), w.reshape(c, k, m, h)
    any_learn = (learn & (rows >= 0)).any(axis=0)
    for t in range(t_count):
        xp.matmul(x[t][:, None], w, out=a[:, None])                # (C, 1, M*H)
        b.relu_(a)
        xp.multiply(am, w2m, out=step)
        xp.sum(step, axis=2, out=out[t])
        xp.add(out[t], b2, out=out[t])
        if not any_learn[t]:
            continue
        xp.subtract(out[t], y[t][:, None], out=e)
        xp.multiply(e, gate[t][:, None], out=e)                     # (C, M), 0 where no step
        xp.multiply(e[..., None], w2m, out=dz)
        xp.greater(am, 0, out=active)
        xp.multiply(dz, active, out=dz)
        xp.multiply(dz, rate, out=dz)
        if decay is not None:   # only where this participant's network takes a step
            keep = 1.0 - (1.0 - decay) * gate[t].reshape(c, 1, 1, 1)
            xp.multiply(wm[:, :-1], keep, out=wm[:, :-1])
            xp.multiply(w2m, keep[:, 0], out=w2m)
        xp.multiply(e[..., None], am, out=step)
        xp.multiply(step, rate, out=step)
        xp.subtract(w2m, step, out=w2m)
        xp.subtract(b2, e * rate[..., 0], out=b2)
        xp.multiply(x[t][:, :, None], dz.reshape(c, 1, m * h), out=update)
        xp.subtract(w, update, out=w)
    result = b.to_numpy(out).transpose(1, 0, 2)
    result[rows < 0] = np.nan
    w_final = b.to_numpy(wm).transpose(0, 2, 1, 3)                      # (C, M, K, H)
    named = unpack(w_final.reshape(c * m, k, h), b.to_numpy(w2).reshape(c * m, h, 1), b.to_numpy(b2).reshape(c * m, 1, 1))
    return result, {name: a.reshape(c, m, *a.shape[1:]) for name, a in named.items()}
