"""lmfit's way of constraining a choice model, honoured by the batched fitter.

A user who knows lmfit describes constraints with ``lmfit.Parameters`` named as the model's
parameters (``parameter_names``: e.g. ``slope_north``, ``lapse``):

    >>> params = lmfit.Parameters()
    >>> params.add("lapse", value=0.0, vary=False)               # fixed at 0
    >>> params.add("slope_north", min=0.5, max=10)               # narrower bounds
    >>> params.add("slope_south", expr="slope_north")            # tied: one shared slope
    >>> ChoiceModel("factorized_full", params=params).fit(trials)

Parameters left out keep the model's bounds and vary. Bounds are intersected with the model's
(the likelihood is undefined outside them); a tied parameter's expression (any arithmetic of the
other names, evaluated by lmfit's asteval on whole arrays) is clipped to its bounds. The fit is
``optimise.search`` on the varying parameters only (starts: the best under the constraints among
the unconstrained model's grid starts projected onto them and uniform random points); standard
errors and intervals of constrained fits are left to ``lmfit_result`` (lmfit's own, per participant).
"""

from __future__ import annotations

import numpy as np

from garden.core.errors import UserError
from garden.modeling.cells import CellData
from garden.modeling.models import Model
from garden.modeling.optimise import GRID_CHUNK, Batch, BatchFit, default_start, grid_starts, search

RANDOM_STARTS = 500
"""Uniform random candidate starts looked at besides the projected grid (the best are kept)."""


class Constrained:
    """A ``Batch`` seen through ``lmfit.Parameters``: ``bounds`` and ``nll`` of the varying
    parameters only (what ``optimise.search`` needs), ``full`` maps them to the model's vector."""

    def __init__(self, batch: Batch, names: list[str], params) -> None:
        from asteval import Interpreter  # deferred: start-up (lmfit's expression engine)

        unknown = sorted(set(params) - set(names))
        if unknown:
            raise UserError(f"lmfit Parameters {unknown} are not parameters of {batch.model.name} "
                            f"(it has {names}); name them as the model does")
        self.batch, self.names = batch, names
        bounds = batch.bounds.copy()
        self.fixed = default_start(batch.model).astype(float)
        self.tied: list[tuple[int, str]] = []
        varying = []
        for j, name in enumerate(names):
            p = params.get(name)
            if p is not None:
                bounds[j] = max(bounds[j, 0], p.min), min(bounds[j, 1], p.max)
                if bounds[j, 0] > bounds[j, 1]:
                    raise UserError(f"lmfit Parameter {name}: bounds [{p.min}, {p.max}] miss the model's "
                                    f"{batch.bounds[j].tolist()}; give bounds that overlap them")
            if p is not None and p.expr:
                self.tied.append((j, p.expr))
            elif p is not None and not p.vary:
                if not bounds[j, 0] <= p.value <= bounds[j, 1]:
                    raise UserError(f"lmfit Parameter {name}: fixed value {p.value} is outside the model's "
                                    f"bounds {batch.bounds[j].tolist()}")
                self.fixed[j] = p.value
            else:
                varying.append(j)
                if p is not None and np.isfinite(p.value):
                    self.fixed[j] = np.clip(p.value, *bounds[j])
        if not varying:
            raise UserError(f"lmfit Parameters fix or tie every parameter of {batch.model.name}; let one vary")
        self.varying, self.full_bounds = np.array(varying), bounds
        self.bounds = bounds[self.varying]
        self._interpreter = Interpreter()
        self.full(self.fixed[None, self.varying])  # an expression that does not evaluate fails here

    def full(self, theta: np.ndarray) -> np.ndarray:
        """Model parameter vectors (R, k) from vectors of the varying parameters (R, v)."""
        out = np.tile(self.fixed, (len(theta), 1))
        out[:, self.varying] = theta
        for j, name in enumerate(self.names):
            self._interpreter.symtable[name] = out[:, j]
        for j, expr in self.tied:
            value = self._interpreter.eval(expr, show_errors=False, raise_errors=False)
            if value is None or self._interpreter.error:
                raise UserError(f"lmfit Parameter {self.names[j]}: expression {expr!r} does not evaluate over "
                                f"the parameters {self.names}; use their names and arithmetic")
            out[:, j] = np.clip(value, *self.full_bounds[j])
            self._interpreter.symtable[self.names[j]] = out[:, j]
        return out

    def nll(self, theta: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """NLL (R,) of the varying parameters theta (R, v) for participants ``rows``."""
        return self.batch.nll(self.full(theta), rows)


def fit_constrained(model: Model, data: list[CellData], objective: str, params, n_starts: int = 30) -> BatchFit:
    """Fit ``model`` to every participant under ``lmfit.Parameters`` ``params``; the result in the
    model's parameters (tied and fixed ones filled in), standard errors NaN."""
    contexts = {d.rules.contexts for d in data}
    if len(contexts) > 1:
        raise UserError(f"lmfit Parameters name parameters by context, but these participants have different "
                        f"context labels {sorted(contexts)}; fit them separately")
    batch = Batch(model, data, objective)
    view = Constrained(batch, model.names(next(iter(contexts))), params)
    protected = np.broadcast_to(view.fixed[view.varying], (len(data), 1, len(view.varying)))
    reduced, nll, converged = search(view, protected, _starts(view, batch, n_starts))
    theta = view.full(reduced)
    unknown = np.full(theta.shape, np.nan)
    return BatchFit(theta, nll, unknown, converged, conditional=unknown, k=len(view.varying))


def _starts(view: Constrained, batch: Batch, n_starts: int) -> np.ndarray:
    """The best ``n_starts`` (P, n_starts, v) under the constraints among the unconstrained model's
    grid starts projected onto the varying parameters and ``RANDOM_STARTS`` points drawn uniformly
    within their bounds (seeded: the same for every participant)."""
    projected = np.clip(grid_starts(batch, n_starts)[..., view.varying], view.bounds[:, 0], view.bounds[:, 1])
    uniform = np.random.default_rng(0).uniform(view.bounds[:, 0], view.bounds[:, 1],
                                               (RANDOM_STARTS, len(view.varying)))
    n_part = projected.shape[0]
    candidates = np.concatenate([projected, np.broadcast_to(uniform, (n_part,) + uniform.shape)], axis=1)
    n_cand, v = candidates.shape[1:]
    kept = []
    for first in range(0, n_part, GRID_CHUNK):
        part = candidates[first:first + GRID_CHUNK]
        rows = np.repeat(np.arange(first, first + len(part)), n_cand)
        f = view.nll(part.reshape(-1, v), rows).reshape(len(part), n_cand)
        best = np.argsort(f, axis=1, kind="stable")[:, :n_starts]
        kept.append(np.take_along_axis(part, best[:, :, None], axis=1))
    return np.concatenate(kept)


def lmfit_result(model: Model, data: CellData, objective: str, params=None, start: np.ndarray | None = None):
    """lmfit's own fit of one participant (``lmfit.minimize``, Nelder-Mead on the deviance -2 log L,
    its covariance lmfit's numdifftools Hessian: the inverse observed information), from ``start``
    (the model's vector, e.g. the batched optimum) or the published start; ``params``
    (lmfit.Parameters) constrain it as above. Returns the ``lmfit.MinimizerResult``
    (``lmfit.fit_report(result)`` prints the report)."""
    import lmfit  # deferred: start-up

    batch = Batch(model, [data], objective)
    names = model.names(data.rules.contexts)
    start = default_start(model) if start is None else np.asarray(start, float)
    full = lmfit.Parameters()
    for j, name in enumerate(names):
        full.add(name, value=float(np.clip(start[j], *batch.bounds[j])), min=batch.bounds[j, 0],
                 max=batch.bounds[j, 1])
    Constrained(batch, names, params or {})  # the same checks as the batched fit
    for name, p in (params or {}).items():
        full[name].set(min=max(full[name].min, p.min), max=min(full[name].max, p.max), vary=p.vary,
                       expr=p.expr or None)
        if not p.vary and not p.expr:
            full[name].set(value=p.value)
    row = np.zeros(1, int)

    def deviance(p) -> float:
        """-2 log likelihood: lmfit takes a scalar objective as a chi-square, whose covariance
        2 H^-1 is then the inverse observed information of the NLL (scale_covar off)."""
        return 2.0 * float(batch.nll(np.array([[p[name].value for name in names]]), row)[0])

    return lmfit.minimize(deviance, full, method="nelder", calc_covar=True, scale_covar=False,
                          options={"xatol": 1e-8, "fatol": 1e-10, "maxfev": 20_000})
