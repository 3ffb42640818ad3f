"""Parametric-bootstrap intervals of fitted choice-model parameters (either objective).

Why: Wald SEs (``modeling.optimise.standard_errors``) exist only for the Bernoulli likelihood and
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

from modeling.cells import CellData
from modeling.models import MODELS, p_accept
from modeling.optimise import BatchFit

LEVEL = 0.95
"""Coverage of the bootstrap percentile intervals."""


def resample(model: str, theta: np.ndarray, data: CellData, n_boot: int, rng: np.random.Generator
             ) -> list[CellData]:
    """``n_boot`` copies of ``data`` with accept counts redrawn from ``model`` at ``theta`` (k,)."""
    p = p_accept(MODELS[model], theta[None, :], data.geometry, data.context, data.x)[0]
    draws = rng.binomial(data.n.astype(int)[None, :], p[None, :], size=(n_boot, len(p))).astype(float)
    return [CellData(f"{data.participant_id}#boot{b}", data.geometry, data.context, data.x, data.n, k)
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
