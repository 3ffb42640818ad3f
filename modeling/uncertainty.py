"""Intervals of fitted choice-model parameters: Wald intervals on a transformed scale (Bernoulli
objective) and parametric-bootstrap intervals (either objective).

Transformed-scale Wald intervals (``wald_intervals``): the slope (lower bound 0) is taken on the
log scale and the lapse rate on the logit scale of lapse / 0.5 (its range is (0, 0.5)); delta and
offset stay on their natural scale. The SE on the transformed scale is the delta-method one,
se_g = se * |g'(theta)| (exact at an interior optimum: there the observed information transforms
with the Jacobian), the interval g(theta) +- z se_g is mapped back (asymmetric on the natural
scale) and clipped to the parameter's bounds. NaN where the Wald SE is NaN.

Why: Wald SEs (``garden.modeling.optimise.standard_errors``) exist only for the Bernoulli likelihood and
only for parameters inside their bounds; the choice-matrix loss is not a likelihood, and a
parameter on a bound (lapse 0, slope 20) has no symmetric interval. A parametric bootstrap covers
both: each participant's choices are redrawn from the fitted model at the same cells and trial
counts (k ~ Binomial(n, p)), every replicate is refitted with the same objective, and the
2.5/97.5 percentiles of the refits are the 95 % interval (seeded: the same seed gives the same
intervals).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import expit, logit, ndtri

from garden.modeling.cells import CellData
from garden.modeling.models import MODELS, Model, p_accept
from garden.modeling.optimise import BatchFit

LEVEL = 0.95
"""Coverage of the bootstrap percentile and the Wald intervals."""
LAPSE_MAX = 0.5
"""Upper end of the lapse range: the logit scale of the Wald intervals is that of lapse / LAPSE_MAX."""


def _scale(kind: str, lower: float) -> tuple[Callable, Callable, Callable]:
    """(g, g inverse, g') of the Wald scale of a parameter kind with lower bound ``lower``."""
    if kind == "slope" and lower == 0.0:
        return np.log, np.exp, lambda x: 1.0 / x
    if kind == "lapse":
        return (lambda x: logit(x / LAPSE_MAX), lambda y: LAPSE_MAX * expit(y),
                lambda x: 1.0 / (x * (1.0 - x / LAPSE_MAX)))
    return (lambda x: x), (lambda y: y), np.ones_like


def wald_intervals(model: Model, theta: np.ndarray, stderr: np.ndarray) -> np.ndarray:
    """``LEVEL`` Wald intervals (P, k, 2) on the transformed scale (module docstring), mapped back
    to the natural scale, for parameter vectors theta (P, k) with Wald SEs stderr (P, k)."""
    z = ndtri(0.5 + LEVEL / 2)  # the standard normal quantile (scipy.stats.norm.ppf)
    bounds = model.bounds()
    out = np.full(theta.shape + (2,), np.nan)
    for j, (kind, _) in enumerate(model.free):
        g, inverse, slope = _scale(kind, bounds[j, 0])
        ok = np.isfinite(stderr[:, j])
        centre, half = g(theta[ok, j]), z * stderr[ok, j] * np.abs(slope(theta[ok, j]))
        out[ok, j] = np.clip(np.stack([inverse(centre - half), inverse(centre + half)], axis=-1), *bounds[j])
    return out


def resample(model: str, theta: np.ndarray, data: CellData, n_boot: int, rng: np.random.Generator
             ) -> list[CellData]:
    """``n_boot`` copies of ``data`` with accept counts redrawn from ``model`` at ``theta`` (k,)."""
    p = p_accept(MODELS[model], theta[None, :], data.rules, data.context, data.x)[0]
    draws = rng.binomial(data.n.astype(int)[None, :], p[None, :], size=(n_boot, len(p))).astype(float)
    return [CellData(f"{data.participant_id}#boot{b}", data.rules, data.context, data.x, data.n, k)
            for b, k in enumerate(draws)]


def bootstrap_intervals(data: list[CellData], fits: dict[str, BatchFit], *, n_boot: int, seed: int,
                        refit: Callable[[list[CellData], str], BatchFit], stream: int = 0
                        ) -> dict[str, np.ndarray]:
    """Per model, (P, k, 2) lower/upper ``LEVEL`` percentile bounds from ``n_boot`` parametric
    bootstrap refits per participant. ``refit(cells, model)`` fits one model to a list of cells
    (the caller's fitting function, so replicates are fitted exactly like the data). Random
    numbers come from numpy's generator seeded with (seed, stream, model position)."""
    out = {}
    for offset, (name, fit) in enumerate(fits.items()):
        rng = np.random.default_rng([seed, stream, offset])
        replicates = [c for i, d in enumerate(data) for c in resample(name, fit.theta[i], d, n_boot, rng)]
        theta = refit(replicates, name).theta.reshape(len(data), n_boot, -1)
        tail = 100 * (1 - LEVEL) / 2
        out[name] = np.stack([np.percentile(theta, tail, axis=1), np.percentile(theta, 100 - tail, axis=1)], axis=-1)
    return out
