"""Fitting objectives on cell data: the trial-level Bernoulli likelihood and the published loss.

* ``bernoulli`` (default): NLL = -sum over trials of log p(choice); cells pool trials with the same
  prediction, so it is -sum_cells [k log p + (n - k) log(1 - p)]. n_obs = number of trials.
* ``choice-matrix`` (Flesch et al. 2018): -sum_cells log(1 - |y - p| + 1e-10) with y the cell's
  accept proportion; n_obs = number of cells (50 for the published design).

Only the Bernoulli NLL is a likelihood: standard errors, likelihood-ratio tests and AIC/BIC as
evidence are meaningful for it; the choice-matrix loss gets bootstrap intervals only.
"""

from __future__ import annotations

import numpy as np

from garden.modeling.cells import CellData

OBJECTIVES = ("bernoulli", "choice-matrix")
PUBLISHED_EPSILON = 1e-10
P_FLOOR = 1e-12
"""p is kept in [P_FLOOR, 1 - P_FLOOR] in the Bernoulli log-likelihood (lapse may be 0)."""


def check_objective(objective: str) -> str:
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}: choose from {', '.join(OBJECTIVES)}")
    return objective


def cell_nll(objective: str, p: np.ndarray, n: np.ndarray, k: np.ndarray, y: np.ndarray | None = None
             ) -> np.ndarray:
    """Negative log-likelihood per cell for predictions p and counts n (trials), k (accepts),
    all broadcastable (..., n_cells); ``y`` = k / n may be passed precomputed.
    Cells with n = 0 give 0 (bernoulli) or NaN (choice-matrix)."""
    if objective == "bernoulli":
        floor = max(P_FLOOR, float(np.finfo(p.dtype).eps))  # float32 start grids need a larger floor
        p = np.minimum(np.maximum(p, floor), 1 - floor)     # np.clip's values, without its wrapper's overhead
        return -(k * np.log(p) + (n - k) * np.log1p(-p))
    if y is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            y = k / n
    return -np.log(1 - np.abs(y - p) + PUBLISHED_EPSILON)


def n_obs(objective: str, data: CellData) -> int:
    """Number of observations for AIC/BIC: trials (bernoulli) or cells (choice-matrix)."""
    return data.n_trials if objective == "bernoulli" else len(data.n)


def usable(objective: str, data: CellData) -> str | None:
    """Why this objective cannot use the data (None if it can)."""
    if objective == "choice-matrix" and (data.n == 0).any():
        empty = int((data.n == 0).sum())
        return f"{empty} cell(s) have no trial with a choice; the choice-matrix objective needs every cell"
    return None
