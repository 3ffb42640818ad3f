"""Global fitting of one model to many participants at once: start grid, Nelder-Mead, SEs.

Everything is vectorised over participants and starts (a "row" is one participant x one
parameter vector), so a whole study is fitted in a few numpy calls per iteration:

1. Starts: the published single start (boundaries on the rules, offset 0, slope 20, lapse 0),
   caller-given starts (e.g. the nested model's optimum) and the best ``n_starts`` points of a
   grid (delta x slope x offset x lapse) evaluated for every participant at once. The loss is a
   sum over contexts, so per-context parameters are minimised per context and only shared ones
   are searched jointly.
2. Derivative-free local search: a bounded, adaptive Nelder-Mead on all rows at once, with
   successive halving of the grid starts (``STAGES``; the published and caller-given starts are
   always kept), then a polish of the survivors from a fresh small simplex, restarted where it
   stalls (``RESTARTS``). The published loss
   has kinks wherever a prediction equals a cell proportion (like an L1 loss, its optima sit on
   them); gradient-based optimisers stall there, a simplex search does not.
3. Standard errors (Bernoulli objective) from the inverse observed information, the Hessian
   of the NLL at the optimum (``observed_information``; checked against numdifftools in the
   tests); NaN in a fit with any parameter at a bound (the others' SEs are then conditional on
   the bound values and kept apart, ``BatchFit.conditional``) and for the choice-matrix loss, which is not a
   likelihood (``garden.modeling.uncertainty`` gives bootstrap intervals for both).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import chdtri

from garden.modeling.cells import CellData
from garden.modeling.models import DEFAULTS, KINDS, Model, psychometric, psychometric_gradient
from garden.modeling.objectives import P_FLOOR, cell_nll

GRID = {
    "delta": np.linspace(-90.0, 90.0, 19),
    "slope": np.array([0.5, 1.5, 3.0, 6.0, 11.0, 20.0]),
    "offset": np.linspace(-1.0, 1.0, 9),
    "lapse": np.array([0.0, 0.03, 0.1, 0.25, 0.4]),
}
"""Start grid per parameter kind (delta in degrees). Slopes are mirrored for signed-slope models."""
UNIT_XTOL = 1e-6
"""Nelder-Mead stops when the simplex spans less than this (in units of each parameter's bound range)..."""
FTOL = 1e-9
"""... and its NLL values differ by less than this (nats)."""
STAGES = ((40, 4), (100, 1))
"""Successive halving of the grid starts: (Nelder-Mead iterations, grid starts kept per
participant). The published start and caller-given starts are never dropped. The survivors
are then polished ..."""
POLISH_ITER = 500
"""... for at most this many iterations; a polish that ends unconverged is ..."""
RESTARTS = 10
"""... restarted from a fresh small simplex at its best point, again and again while a restart lowers the NLL by
more than ``FTOL``, at most this many times: a simplex that has flattened along a ridge (many parameters, e.g.
factorized_full) or sits in a kink of the published loss stalls, a fresh one moves on (measured on 300 published
people: factorized_full's Bernoulli fits 33 % -> 97 % converged, NLL up to 0.48 lower)."""
PRIVATE_TOP = 3
"""Best per-context grid values kept per shared grid point when choosing starts."""
GRID_CHUNK = 48
"""Participants per vectorised grid evaluation (bounds peak memory to ~100 MB)."""


@dataclass
class BatchFit:
    """Per participant: best parameter vector (P, k), NLL (P,), Wald standard errors (P, k; NaN
    in fits with a parameter at a bound), whether the local search converged (P,), when asked
    for the 95 % profile-likelihood intervals (P, k, 2), and the conditional SEs (P, k): those
    of the parameters not at a bound with the ones at a bound held there (``standard_errors``);
    ``k``: the parameters fitted when fewer than the model's (constrained fits, ``constraints``)."""

    theta: np.ndarray
    nll: np.ndarray
    stderr: np.ndarray
    converged: np.ndarray
    profile: np.ndarray | None = None
    conditional: np.ndarray | None = None
    k: int | None = None


class Batch:
    """Participants' cells padded to one array shape per context, with one model's boundary bases.

    ``x[c]`` (P, C_c, 2), ``n[c]``, ``k[c]`` and ``real[c]`` (P, C_c) hold context c's cells;
    padding cells have n = 1, k = 0 and are masked out by ``real``; ``n_real[c]`` is n with 0 there.
    """

    def __init__(self, model: Model, data: list[CellData], objective: str):
        self.model, self.objective = model, objective
        self.base = np.array([d.rules.base_angles(model.base) for d in data])
        self.x, self.n, self.k, self.real, self.n_real = [], [], [], [], []
        for c in (0, 1):
            sizes = [int((d.context == c).sum()) for d in data]
            shape = (len(data), max(sizes))
            x, n, k, real = np.zeros(shape + (2,)), np.ones(shape), np.zeros(shape), np.zeros(shape, bool)
            for i, d in enumerate(data):
                sel = d.context == c
                x[i, :sizes[i]], n[i, :sizes[i]], k[i, :sizes[i]] = d.x[sel], d.n[sel], d.k[sel]
                real[i, :sizes[i]] = True
            n[~real] = 1.0
            self.x.append(x), self.n.append(n), self.k.append(k), self.real.append(real)
            self.n_real.append(np.where(real, n, 0.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            self.y = [k / n for k, n in zip(self.k, self.n)]  # NaN for empty cells (bernoulli only)
        self.bounds = model.bounds()
        self.column = {(kind, c): j for j, (kind, ctx) in enumerate(model.free) for c in (0, 1)
                       if ctx in (None, c)}
        self.gradient_slots = [(kind, c, j) for (kind, c), j in self.column.items()]
        """(kind, context, column in theta) of every free parameter acting on a context's cells."""
        self.cells = [n.shape[1] for n in self.n]
        """Cells per context (C_0, C_1): ``nll_and_information`` evaluates both contexts at once, the
        contexts on axis 1 of ``both_x``, ``both_n``, ``both_k`` (P, 2, max(C_0, C_1)), padded with 0."""
        self.both_n, self.both_k, *self.both_x = (
            _side_by_side(arrays) for arrays in (self.n_real, self.k, [x[..., 0] for x in self.x],
                                                 [x[..., 1] for x in self.x]))
        self.n_real, self.k = ([both[:, c, :self.cells[c]] for c in (0, 1)] for both in (self.both_n, self.both_k))
        """``n_real`` and ``k`` are views of ``both_n`` and ``both_k``: counts written into them reach both."""
        self.both_real = _side_by_side(self.real)
        self.both_y = None if objective == "bernoulli" else _side_by_side(self.y)
        """Which cells are real and (choice-matrix loss) their proportions, laid out as ``both_n``: ``nll``
        evaluates the two contexts in one call."""
        defaults = {kind: model.k + i for i, kind in enumerate(KINDS)}    # columns of DEFAULTS after theta's
        self.kind_columns = np.array([[self.column.get((kind, c), defaults[kind]) for c in (0, 1)] for kind in KINDS])
        """(4, 2): per kind (``KINDS`` order) the column of each context's parameter in theta, or past theta's
        columns its default; ``theta[:, kind_columns]`` is (R, 4, 2)."""
        self.with_defaults = bool((self.kind_columns >= model.k).any())

    def _param(self, theta: np.ndarray, kind: str, c: int) -> np.ndarray | float:
        j = self.column.get((kind, c))
        return DEFAULTS[kind] if j is None else theta[:, j:j + 1]

    def _equation_inputs(self, theta: np.ndarray, rows: np.ndarray, c: int) -> tuple:
        """Arguments of the model equation for context c's cells: (x_branchiness, x_leafiness,
        angle (rad), slope, offset, lapse), broadcastable to (R, C_c)."""
        angle = self.base[rows, c][:, None] + np.deg2rad(self._param(theta, "delta", c))
        x = self.x[c][rows]
        return (x[..., 0], x[..., 1], angle, *(self._param(theta, kind, c) for kind in ("slope", "offset", "lapse")))

    def p(self, theta: np.ndarray, rows: np.ndarray, c: int) -> np.ndarray:
        """p(accept) (R, C_c) of context c's cells for parameter vectors theta (R, k) of participants rows."""
        return psychometric(*self._equation_inputs(theta, rows, c))

    def expected_information(self, theta: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Expected (Fisher) information (R, k, k) of the Bernoulli likelihood at theta (R, k) for
        participants ``rows``: sum over cells of n dp dp^T / (p (1 - p)), analytic derivatives."""
        return self.nll_and_information(theta, rows)[1]

    def nll_and_information(self, theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bernoulli NLL (R,) and expected information (R, k, k) at once (one evaluation of p and
        its derivatives for both contexts' cells side by side: the posterior sampler needs both at
        every step)."""
        p, partial = psychometric_gradient(*self._both_inputs(theta, rows))
        n = self.both_n[rows]                                                    # padding cells: n = k = 0
        loss, scale = cell_nll("bernoulli", p, n, self.both_k[rows]), n / np.maximum(p * (1 - p), 1e-300)
        grad = np.zeros((len(rows), self.model.k, 2, p.shape[2]))               # dp / dtheta_j (R, k, 2, C)
        for kind, c, j in self.gradient_slots:
            grad[:, j, c] = partial[kind][:, c]
        grad = grad.reshape(len(rows), self.model.k, -1)
        information = np.matmul(grad * scale.reshape(len(rows), 1, -1), grad.transpose(0, 2, 1))
        return loss.reshape(len(rows), -1).sum(axis=1), information

    def _both_inputs(self, theta: np.ndarray, rows: np.ndarray) -> tuple:
        """Arguments of the model equation for both contexts' cells side by side: (x_branchiness, x_leafiness
        (R, 2, C), angle (rad), slope, offset, lapse (R, 2, 1)), C = max(C_0, C_1)."""
        if self.with_defaults:
            theta = np.concatenate([theta, np.broadcast_to([DEFAULTS[kind] for kind in KINDS], (len(theta), 4))], 1)
        delta, slope, offset, lapse = theta[:, self.kind_columns].transpose(1, 0, 2)[..., None]  # each (R, 2, 1)
        angle = self.base[rows][..., None] + np.deg2rad(delta)
        return self.both_x[0][rows], self.both_x[1][rows], angle, slope, offset, lapse

    def nll(self, theta: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """NLL (R,) of parameter vectors theta (R, k) for participants ``rows``: per context the sum over its
        cells, then context 0's plus context 1's (both evaluated in one call)."""
        p = psychometric(*self._both_inputs(theta, rows))
        loss = cell_nll(self.objective, p, self.both_n[rows], self.both_k[rows],
                        None if self.both_y is None else self.both_y[rows])
        if self.objective != "bernoulli":  # Bernoulli: padding cells (n = k = 0) give 0 as they are
            loss = np.where(self.both_real[rows], loss, 0.0)
        return loss[:, 0, :self.cells[0]].sum(axis=1) + loss[:, 1, :self.cells[1]].sum(axis=1)  # as one at a time

    def clip(self, theta: np.ndarray) -> np.ndarray:
        return np.clip(theta, self.bounds[:, 0], self.bounds[:, 1])


def _side_by_side(per_context: list[np.ndarray]) -> np.ndarray:
    """Two contexts' (P, C_c) arrays as one (P, 2, max(C_0, C_1)), each padded at the end with 0 (False)."""
    width = max(a.shape[1] for a in per_context)
    return np.stack([np.pad(a, ((0, 0), (0, width - a.shape[1]))) for a in per_context], axis=1)


# ---------------------------------------------------------------- 1. start grid

def _grid_axes(model: Model) -> dict[str, np.ndarray]:
    free_kinds = {kind for kind, _ in model.free}
    axes = {}
    for kind in KINDS:
        if kind not in free_kinds:
            axes[kind] = np.array([DEFAULTS[kind]])
        elif kind == "slope" and model.slope_bounds[0] < 0:
            axes[kind] = np.concatenate([-GRID["slope"][::-1], [0.0], GRID["slope"]])
        else:
            axes[kind] = GRID[kind]
    return axes


def _context_tables(batch: Batch, rows: np.ndarray, c: int, axes: dict[str, np.ndarray]) -> np.ndarray:
    """Loss of context c's cells at every grid point: (len(rows), n_delta, n_slope, n_offset, n_lapse).

    In float32: the grid only ranks start points."""
    axes = {kind: values.astype(np.float32) for kind, values in axes.items()}
    angle = batch.base[rows, c][:, None].astype(np.float32) + np.deg2rad(axes["delta"])[None, :]  # (P, nd)
    x = batch.x[c][rows].astype(np.float32)[:, None, None, None, None, :, :]           # (P, 1, 1, 1, 1, n, 2)
    # axes (P, delta, slope, offset, lapse, cell); the sigmoid is evaluated before the lapse axis grows
    p = psychometric(x[..., 0], x[..., 1], angle[:, :, None, None, None, None],
                     axes["slope"][None, None, :, None, None, None], axes["offset"][None, None, None, :, None, None],
                     axes["lapse"][None, None, None, None, :, None])
    n, k, y = (a[c][rows][:, None, None, None, None, :].astype(np.float32) for a in (batch.n, batch.k, batch.y))
    mask = batch.real[c][rows][:, None, None, None, None, :]
    return np.where(mask, cell_nll(batch.objective, p, n, k, y), np.float32(0)).sum(axis=-1)


def grid_starts(batch: Batch, n_starts: int) -> np.ndarray:
    """The best ``n_starts`` grid points per participant: (P, n_starts, k), best first.

    Per-context parameters keep each context's ``PRIVATE_TOP`` best values per shared grid
    point, so the starts also differ in their per-context boundaries.
    """
    model = batch.model
    axes = _grid_axes(model)
    shape = tuple(len(axes[kind]) for kind in KINDS)
    private = {kind for kind, ctx in model.free if ctx is not None}
    shared_dims = [i for i, kind in enumerate(KINDS) if kind not in private]
    private_dims = [i for i, kind in enumerate(KINDS) if kind in private]
    shared_shape = tuple(shape[i] for i in shared_dims)
    private_shape = tuple(shape[i] for i in private_dims)
    n_shared, n_private = int(np.prod(shared_shape)), int(np.prod(private_shape))
    top = min(PRIVATE_TOP, n_private)
    n_starts = min(n_starts, n_shared * top * top)
    n_part = len(batch.base)
    out = np.zeros((n_part, n_starts, model.k))
    for lo in range(0, n_part, GRID_CHUNK):
        rows = np.arange(lo, min(lo + GRID_CHUNK, n_part))
        values, indices = [], []
        for c in (0, 1):
            table = _context_tables(batch, rows, c, axes).transpose([0] + [1 + i for i in shared_dims + private_dims])
            table = table.reshape(len(rows), n_shared, n_private)
            arg = np.argsort(table, axis=2, kind="stable")[:, :, :top]                   # (P, S, top)
            values.append(np.take_along_axis(table, arg, axis=2))
            indices.append(arg)
        total = (values[0][:, :, :, None] + values[1][:, :, None, :]).reshape(len(rows), -1)
        order = np.argsort(total, axis=1, kind="stable")[:, :n_starts]                     # (P, n)
        shared_i, top0, top1 = np.unravel_index(order, (n_shared, top, top))
        index = {}
        for kind, i in zip((KINDS[i] for i in shared_dims),
                           np.unravel_index(shared_i, shared_shape) if shared_dims else ()):
            index[(kind, 0)] = index[(kind, 1)] = i
        for c, t in ((0, top0), (1, top1)):
            priv = np.take_along_axis(indices[c].reshape(len(rows), -1), shared_i * top + t, axis=1)
            for kind, i in zip((KINDS[i] for i in private_dims),
                               np.unravel_index(priv, private_shape) if private_dims else ()):
                index[(kind, c)] = i
        for j, (kind, ctx) in enumerate(model.free):
            out[rows, :, j] = axes[kind][index[(kind, 0 if ctx is None else ctx)]]
    return out


def default_start(model: Model) -> np.ndarray:
    """The published single start: boundaries on the rules, offset 0, steepest slope, no lapse."""
    values = {"delta": 0.0, "slope": model.slope_bounds[1], "offset": 0.0, "lapse": 0.0}
    return np.array([values[kind] for kind, _ in model.free])


# ---------------------------------------------------------------- 2. batched Nelder-Mead

def nelder_mead(batch: Batch, theta: np.ndarray, rows: np.ndarray, max_iter: int = 2000,
                initial_step: float = 0.05, xtol: float = UNIT_XTOL, ftol: float = FTOL
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounded adaptive Nelder-Mead (Gao & Han 2012 coefficients) run for every row at once.

    Works in unit coordinates (each parameter's bounds mapped to [0, 1]; points are clipped);
    the bounds are ``batch.bounds`` (k, 2), or per row ``batch.row_bounds`` (R, k, 2) when it has them.
    Converged when the simplex spans < ``xtol`` and its NLLs < ``ftol``. Returns
    (theta (R, k), nll (R,), converged (R,)).
    """
    n_rows, k = theta.shape
    bounds = np.broadcast_to(batch.row_bounds if hasattr(batch, "row_bounds") else batch.bounds, (n_rows, k, 2))
    lo, width = bounds[:, :, 0], bounds[:, :, 1] - bounds[:, :, 0]
    alpha, gamma, rho, sigma = 1.0, 1.0 + 2.0 / k, 0.75 - 1.0 / (2 * k), 1.0 - 1.0 / k

    def f(u: np.ndarray, r: np.ndarray) -> np.ndarray:
        return batch.nll(lo[r] + np.clip(u, 0.0, 1.0) * width[r], rows[r])

    u0 = np.clip((theta - lo) / width, 0.0, 1.0)
    inward = np.where(u0[:, :, None] + initial_step > 1.0, -initial_step, initial_step) * np.eye(k)[None]
    simplex = np.concatenate([u0[:, None, :], u0[:, None, :] + inward.transpose(0, 2, 1)], axis=1)
    simplex = np.clip(simplex, 0.0, 1.0)
    fs = f(simplex.reshape(-1, k), np.repeat(np.arange(n_rows), k + 1)).reshape(n_rows, k + 1)
    converged, every = np.zeros(n_rows, bool), np.arange(n_rows)[:, None]
    for _ in range(max_iter):
        order = np.argsort(fs, axis=1, kind="stable")
        simplex, fs = simplex[every, order], fs[every, order]
        spread = np.abs(simplex[:, 1:] - simplex[:, :1]).max(axis=(1, 2))
        converged = (spread <= xtol) & (fs[:, -1] - fs[:, 0] <= ftol)
        a = np.flatnonzero(~converged)
        if not len(a):
            break
        best, worst, second = fs[a, 0], fs[a, -1], fs[a, -2]
        xbar = simplex[a, :-1].mean(axis=1)
        xw = simplex[a, -1]
        xr = np.clip(xbar + alpha * (xbar - xw), 0.0, 1.0)
        fr = f(xr, a)
        new_x, new_f = xr.copy(), fr.copy()
        accept = fr < second
        expand = fr < best
        if expand.any():
            e = np.flatnonzero(expand)
            xe = np.clip(xbar[e] + gamma * (xr[e] - xbar[e]), 0.0, 1.0)
            fe = f(xe, a[e])
            take = fe < fr[e]
            new_x[e[take]], new_f[e[take]] = xe[take], fe[take]
        contract = np.flatnonzero(~accept)
        shrink = np.zeros(len(a), bool)
        if len(contract):
            outside = fr[contract] < worst[contract]
            target = np.where(outside[:, None], xr[contract], xw[contract])
            xc = np.clip(xbar[contract] + rho * (target - xbar[contract]), 0.0, 1.0)
            fc = f(xc, a[contract])
            ok = fc < np.where(outside, fr[contract], worst[contract])
            new_x[contract[ok]], new_f[contract[ok]] = xc[ok], fc[ok]
            accept[contract[ok]] = True
            shrink[contract[~ok]] = True
        simplex[a[accept], -1], fs[a[accept], -1] = new_x[accept], new_f[accept]
        if shrink.any():
            s = a[shrink]
            simplex[s, 1:] = simplex[s, :1] + sigma * (simplex[s, 1:] - simplex[s, :1])
            fs[s, 1:] = f(simplex[s, 1:].reshape(-1, k), np.repeat(s, k)).reshape(len(s), k)
    best = np.argmin(fs, axis=1)
    u = simplex[np.arange(n_rows), best]
    return lo + u * width, fs[np.arange(n_rows), best], converged


# ---------------------------------------------------------------- 3. standard errors

BOUND_TOL = 1e-5
"""A parameter is at a bound when it lies within this fraction of its bound range of one."""
HESSIAN_STEP = 1e-4
"""Finite-difference step of the p(accept) derivatives, as a fraction of each parameter's bound range."""


def at_bound(bounds: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """(R, k) True where a parameter sits on (within ``BOUND_TOL`` of) its lower or upper bound."""
    width = bounds[:, 1] - bounds[:, 0]
    return (theta - bounds[:, 0] <= BOUND_TOL * width) | (bounds[:, 1] - theta <= BOUND_TOL * width)


def _p_all(batch: Batch, theta: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """p(accept) of every real cell (R, m): both contexts' cells side by side (padding gives 0.5)."""
    return np.concatenate([np.where(batch.real[c][rows], batch.p(theta, rows, c), 0.5) for c in (0, 1)], axis=1)


def observed_information(batch: Batch, theta: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Observed information (R, k, k): the Hessian of the Bernoulli NLL at theta.

    Per cell NLL = -(k log p + (n - k) log(1 - p)), so
    H = sum_cells [(k / p^2 + (n - k) / (1 - p)^2) dp dp^T - (k / p - (n - k) / (1 - p)) d2p],
    with the first and second derivatives of p(accept) by central differences (steps
    ``HESSIAN_STEP`` of each bound range; p is a smooth function of theta across the bounds).
    """
    k = theta.shape[1]
    h = HESSIAN_STEP * (batch.bounds[:, 1] - batch.bounds[:, 0])
    n = np.concatenate([np.where(batch.real[c][rows], batch.n[c][rows], 0.0) for c in (0, 1)], axis=1)
    kk = np.concatenate([np.where(batch.real[c][rows], batch.k[c][rows], 0.0) for c in (0, 1)], axis=1)
    p = np.clip(_p_all(batch, theta, rows), P_FLOOR, 1 - P_FLOOR)

    def shifted(*steps: tuple[int, float]) -> np.ndarray:
        t = theta.copy()
        for j, sign in steps:
            t[:, j] += sign * h[j]
        return _p_all(batch, t, rows)

    plus = [shifted((j, 1)) for j in range(k)]
    minus = [shifted((j, -1)) for j in range(k)]
    grad = np.stack([(plus[j] - minus[j]) / (2 * h[j]) for j in range(k)], axis=-1)      # (R, m, k)
    second = np.zeros(grad.shape + (k,))
    centre = _p_all(batch, theta, rows)
    for i in range(k):
        second[..., i, i] = (plus[i] - 2 * centre + minus[i]) / h[i] ** 2
        for j in range(i + 1, k):
            mixed = (shifted((i, 1), (j, 1)) - shifted((i, 1), (j, -1)) - shifted((i, -1), (j, 1))
                     + shifted((i, -1), (j, -1))) / (4 * h[i] * h[j])
            second[..., i, j] = second[..., j, i] = mixed
    weight = kk / p ** 2 + (n - kk) / (1 - p) ** 2
    score = kk / p - (n - kk) / (1 - p)
    return (np.einsum("rm,rmi,rmj->rij", weight, grad, grad)
            - np.einsum("rm,rmij->rij", score, second))


def standard_errors(batch: Batch, theta: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Conditional Wald SEs (R, k) from the inverse observed information (Bernoulli objective only).

    Parameters at a bound get NaN: the optimum is not a stationary point in them, so they are
    held fixed and the SEs of the others come from the information of the free ones alone
    (conditional on the bound values, hence too small: ``fit_batch`` reports them as Wald SEs
    only for fits with no parameter at a bound). NaN too where that information is not
    positive definite. The choice-matrix loss is not a
    likelihood, so its fits get NaN throughout (use a parametric bootstrap instead).
    """
    out = np.full(theta.shape, np.nan)
    if batch.objective != "bernoulli":
        return out
    info = observed_information(batch, theta, rows)
    free = ~at_bound(batch.bounds, theta)
    for pattern in {tuple(f) for f in free}:
        sel = np.flatnonzero((free == pattern).all(axis=1))
        idx = np.flatnonzero(pattern)
        if not len(idx):
            continue
        sub = info[sel][:, idx][:, :, idx]
        eig = np.linalg.eigvalsh(sub)
        ok = (eig[:, 0] > 1e-10 * np.maximum(eig[:, -1], 1e-300)) & (eig[:, 0] > 0)
        if ok.any():
            cov = np.linalg.inv(sub[ok])
            out[np.ix_(sel[ok], idx)] = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
    return out


# ---------------------------------------------------------------- 4. profile-likelihood intervals

PROFILE_DROP = float(chdtri(1, 1 - 0.95) / 2)  # chdtri(df, upper tail) = scipy.stats.chi2.ppf
"""NLL rise (nats) that bounds a 95 % profile-likelihood interval: chi2(1) 95 % quantile / 2."""
PROFILE_BISECTIONS = 10
"""Bisection steps per interval end (precision: bound range / 2**10)."""
PROFILE_ITER = 200
"""Nelder-Mead iterations of each refit of the other parameters ..."""
PROFILE_XTOL, PROFILE_FTOL = 1e-4, 1e-5
"""... which stop earlier than the fits: the profile is only compared with the 1.92-nat drop."""


class _Held:
    """A batch with one parameter per row (column ``held[row]``) fixed at ``values[row]``; the
    other parameters stay free, with their bounds per row (``row_bounds``)."""

    def __init__(self, batch: Batch, held: np.ndarray, participants: np.ndarray, values: np.ndarray):
        self.batch, self.participants, self.values = batch, participants, values
        k = batch.bounds.shape[0]
        self.free = np.ones((len(held), k), bool)
        self.free[np.arange(len(held)), held] = False
        self.held = held
        self.row_bounds = np.broadcast_to(batch.bounds, self.free.shape + (2,))[self.free].reshape(len(held), k - 1, 2)

    def full(self, others: np.ndarray, rows: np.ndarray) -> np.ndarray:
        theta = np.empty((len(rows), self.free.shape[1]))
        theta[self.free[rows]] = others.ravel()
        theta[np.arange(len(rows)), self.held[rows]] = self.values[rows]
        return theta

    def nll(self, others: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return self.batch.nll(self.full(others, rows), self.participants[rows])


PROFILE_STARTS = 2
"""Besides the last point inside, each profile refit also starts from this many points of the
participant's start pool (its grid starts and optimum, with the held parameter set to the
profiled value), the best by NLL there: the profile has several local minima in the other
parameters (e.g. the slope jumping to its bound), which a local search from one start misses."""


def _pool_starts(batch: Batch, held: np.ndarray, participants: np.ndarray, values: np.ndarray,
                 pool: np.ndarray, free: np.ndarray) -> np.ndarray:
    """The ``PROFILE_STARTS`` best pool points (R, s, k - 1) of each row's participant, the held
    parameter set to ``values``, as starts for the other parameters."""
    n_rows, n_pool, k = len(held), pool.shape[1], pool.shape[2]
    candidates = pool[participants].copy()                                     # (R, s, k)
    candidates[np.arange(n_rows), :, held] = values[:, None]
    f = batch.nll(candidates.reshape(-1, k), np.repeat(participants, n_pool)).reshape(n_rows, n_pool)
    best = np.argsort(f, axis=1, kind="stable")[:, :PROFILE_STARTS]
    chosen = np.take_along_axis(candidates, best[:, :, None], axis=1)          # (R, m, k)
    return chosen[np.broadcast_to(free[:, None, :], chosen.shape)].reshape(n_rows, -1, k - 1)


def _profile(batch: Batch, held: np.ndarray, participants: np.ndarray, values: np.ndarray, others: np.ndarray,
             max_iter: int, pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Profile NLL (R,) with parameter ``held`` (R,) at ``values`` (R,), the others refitted by
    Nelder-Mead from ``others`` (R, k - 1) and from the best ``pool`` points (``_pool_starts``);
    returns the lowest NLL per row and the other parameters there."""
    n_rows, k = len(held), batch.bounds.shape[0]
    if k == 1:
        return batch.nll(values[:, None], participants), others
    free = np.ones((n_rows, k), bool)
    free[np.arange(n_rows), held] = False
    starts = np.concatenate([others[:, None, :], _pool_starts(batch, held, participants, values, pool, free)], axis=1)
    n_start = starts.shape[1]
    rep = np.repeat(np.arange(n_rows), n_start)
    held_batch = _Held(batch, held[rep], participants[rep], values[rep])
    fitted, nll, _ = nelder_mead(held_batch, starts.reshape(-1, k - 1), np.arange(len(rep)), max_iter=max_iter,
                                 initial_step=0.02, xtol=PROFILE_XTOL, ftol=PROFILE_FTOL)
    nll, fitted = nll.reshape(n_rows, n_start), fitted.reshape(n_rows, n_start, k - 1)
    best = np.argmin(nll, axis=1)
    return nll[np.arange(n_rows), best], fitted[np.arange(n_rows), best]


def profile_intervals(batch: Batch, theta: np.ndarray, nll: np.ndarray, pool: np.ndarray | None = None
                      ) -> np.ndarray:
    """95 % profile-likelihood intervals (P, k, 2) of the Bernoulli NLL, all participants and
    parameters at once.

    Each end is where the NLL, minimised over the other parameters, rises ``PROFILE_DROP`` above
    the optimum (bisection between the optimum and the bound, the others refitted by
    Nelder-Mead from the last point inside and from the best points of ``pool`` (P, s, k), the
    participants' start points; default: the optima alone); an end reaches the bound when the
    profile stays below the drop up to it, so parameters on a bound get a one-sided interval.
    Unlike Wald intervals they follow the likelihood's shape (docs/modeling.md).
    """
    n_part, k = theta.shape
    pool = theta[:, None, :] if pool is None else np.concatenate([theta[:, None, :], pool], axis=1)
    # rows: (parameter j, side, participant), j slowest
    held = np.repeat(np.arange(k), 2 * n_part)
    side = np.tile(np.repeat([0, 1], n_part), k)
    participants = np.tile(np.arange(n_part), 2 * k)
    inside = theta[participants, held]
    outside = batch.bounds[held, side]
    free = np.ones((len(held), k), bool)
    free[np.arange(len(held)), held] = False
    start = theta[participants][free].reshape(len(held), k - 1) if k > 1 else np.zeros((len(held), 0))
    target = nll[participants] + PROFILE_DROP
    at_end, _ = _profile(batch, held, participants, outside.copy(), start, 2 * PROFILE_ITER, pool)
    reaches = at_end < target
    for _ in range(PROFILE_BISECTIONS):
        mid = (inside + outside) / 2
        value, fitted = _profile(batch, held, participants, mid, start, PROFILE_ITER, pool)
        ok = value < target
        inside, outside = np.where(ok, mid, inside), np.where(ok, outside, mid)
        start = np.where(ok[:, None], fitted, start)
    end = np.where(reaches, batch.bounds[held, side], (inside + outside) / 2)
    out = np.zeros((n_part, k, 2))
    out[participants, held, side] = end
    return out


def fit_batch(model: Model, data: list[CellData], objective: str, n_starts: int = 30,
              extra_starts: np.ndarray | None = None, profile: bool = False) -> BatchFit:
    """Fit ``model`` to every participant in ``data``; ``extra_starts`` (P, s, k) are tried too.
    ``profile``: also the 95 % profile-likelihood intervals (Bernoulli objective; NaN otherwise)."""
    batch = Batch(model, data, objective)
    protected = np.broadcast_to(default_start(model), (len(data), 1, model.k))
    if extra_starts is not None:
        protected = np.concatenate([protected, extra_starts], axis=1)
    grid = grid_starts(batch, n_starts)
    theta, nll, converged = search(batch, protected, grid)
    rows = np.arange(len(data))
    conditional = standard_errors(batch, theta, rows)
    stderr = np.where(at_bound(batch.bounds, theta).any(axis=1, keepdims=True), np.nan, conditional)
    intervals = None
    if profile:
        intervals = profile_intervals(batch, theta, nll, grid) if objective == "bernoulli" \
            else np.full(theta.shape + (2,), np.nan)
    return BatchFit(theta, nll, stderr, converged, intervals, conditional)


def search(batch, protected: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 2 for every participant of ``batch`` (anything with ``bounds`` and ``nll``, e.g. a
    ``Batch``): Nelder-Mead from the ``protected`` starts (P, s, k; always kept) and the ``grid``
    starts (P, g, k; successively halved, ``STAGES``), then the polish and its restarts. Returns the best
    (theta (P, k), nll (P,), converged (P,))."""
    n_part, n_protected = protected.shape[:2]
    starts = np.concatenate([protected, grid], axis=1)
    for max_iter, keep in STAGES + ((POLISH_ITER, 0),):
        n_start = starts.shape[1]
        rows = np.repeat(np.arange(n_part), n_start)
        theta, f, converged = nelder_mead(batch, starts.reshape(n_part * n_start, -1), rows, max_iter=max_iter,
                                          initial_step=0.02 if keep == 0 else 0.05)
        theta, f = theta.reshape(n_part, n_start, -1), f.reshape(n_part, n_start)
        best = n_protected + np.argsort(f[:, n_protected:], axis=1, kind="stable")[:, :keep]
        keep_index = np.concatenate([np.broadcast_to(np.arange(n_protected), (n_part, n_protected)), best], axis=1)
        starts = np.take_along_axis(theta, keep_index[:, :, None], axis=1)
    best = np.argmin(f, axis=1)
    rows = np.arange(n_part)
    return restarted(batch, theta[rows, best], f[rows, best], converged.reshape(n_part, -1)[rows, best])


def restarted(batch, theta: np.ndarray, f: np.ndarray, converged: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The polished fits (theta (P, k), nll (P,), converged (P,)) of every participant, those not converged
    polished again from a fresh simplex at their best point while that lowers their NLL by more than ``FTOL``
    (at most ``RESTARTS`` times; a restart ends no higher than it starts, up to the rounding of the unit
    coordinates: its start is a vertex of its simplex)."""
    theta, f, converged = theta.copy(), f.copy(), converged.copy()
    going = ~converged
    for _ in range(RESTARTS):
        rows = np.flatnonzero(going)
        if rows.size == 0:
            break
        theta[rows], f_new, converged[rows] = nelder_mead(batch, theta[rows], rows, max_iter=POLISH_ITER,
                                                          initial_step=0.02)
        going[rows] = ~converged[rows] & (f[rows] - f_new > FTOL)
        f[rows] = f_new
    return theta, f, converged
