"""Representational dissimilarity matrices (RDMs) from activity or choice patterns.

Pure: arrays in, arrays out. Rows of every pattern array are conditions (for the task, the 50
items in ``garden.core.task.item_table`` order); columns are channels (voxels, units, neurons).

Conventions (they differ between toolboxes, so they are stated here once):

* ``rdm(..., "euclidean")`` is the plain Euclidean distance ``||x_i - x_j||`` (not squared, not
  divided by the number of channels). rsatoolbox's "euclidean" is ``||x_i - x_j||**2 / n_channels``;
  ``rdm(...)**2 / n_channels`` equals it.
* ``rdm(..., "correlation")`` is ``1 - Pearson r`` across channels (as in rsatoolbox and scipy).
* ``crossvalidated_rdm`` is the crossnobis distance divided by the number of channels, averaged
  over all pairs of runs (equal to rsatoolbox's leave-one-run-out "crossnobis" on balanced data).
  It is unbiased: its expectation is 0 for conditions that do not differ, so it can be negative.
* ``lower`` takes the strict lower triangle, row by row (``np.tril_indices(n, -1)``); all
  comparisons in ``garden.rsa.compare`` use it, so the order never needs to match anything else.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, cholesky, solve_triangular
from scipy.spatial.distance import pdist, squareform
from sklearn.covariance import ledoit_wolf

METRICS = ("euclidean", "correlation")


def _patterns(patterns: np.ndarray, ndim: int, what: str) -> np.ndarray:
    """Float array with ``ndim`` dimensions and only finite values, else ValueError naming ``what``."""
    array = np.asarray(patterns, dtype=float)
    if array.ndim != ndim:
        raise ValueError(f"{what} must have {ndim} dimensions, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return array


def rdm(patterns: np.ndarray, metric: str = "euclidean") -> np.ndarray:
    """Square (n_conditions, n_conditions) RDM of a (n_conditions, n_channels) pattern array.

    ``metric`` is "euclidean" (plain distance in the patterns' units) or "correlation"
    (1 - Pearson r across channels; a condition whose pattern is constant gives ValueError).
    """
    x = _patterns(patterns, 2, "patterns (conditions x channels)")
    if metric not in METRICS:
        raise ValueError(f"unknown RDM metric {metric!r}: use one of {METRICS}")
    if metric == "correlation" and (np.ptp(x, axis=1) == 0).any():
        bad = np.flatnonzero(np.ptp(x, axis=1) == 0).tolist()
        raise ValueError(f"correlation distance is undefined for constant pattern rows {bad}")
    return squareform(pdist(x, metric=metric))


def noise_covariance(patterns_per_run: np.ndarray) -> np.ndarray:
    """Ledoit-Wolf shrinkage estimate of the (n_channels, n_channels) noise covariance.

    The noise samples are each run's deviation from the condition's mean over runs, so the
    estimate needs no separate residuals; it is scaled by R/(R-1) for the degree of freedom the
    mean takes out of R runs.
    """
    x = _patterns(patterns_per_run, 3, "patterns_per_run (runs x conditions x channels)")
    n_runs = x.shape[0]
    if n_runs < 2:
        raise ValueError("a noise covariance needs at least 2 runs")
    residuals = (x - x.mean(axis=0)).reshape(-1, x.shape[2])
    estimate = ledoit_wolf(residuals, assume_centered=True)[0]
    return estimate * n_runs / (n_runs - 1)


def crossvalidated_rdm(patterns_per_run: np.ndarray,
                       noise_cov: np.ndarray | str | None = None) -> np.ndarray:
    """Cross-validated (crossnobis) RDM from (n_runs, n_conditions, n_channels) patterns.

    For every pair of different runs (r, s): d_ij = (x_ri - x_rj) W (x_si - x_sj) / n_channels,
    averaged over all pairs; W is the identity (cross-validated squared Euclidean distance) or,
    with ``noise_cov``, the inverse noise covariance (crossnobis). ``noise_cov`` is a covariance
    matrix (channels x channels), "ledoit_wolf" to estimate it with ``noise_covariance``, or None.
    Noise independent across runs cancels, so the expected distance of identical conditions is 0.
    """
    x = _patterns(patterns_per_run, 3, "patterns_per_run (runs x conditions x channels)")
    n_runs, _, n_channels = x.shape
    if n_runs < 2:
        raise ValueError(f"cross-validation needs at least 2 runs, got {n_runs}")
    if isinstance(noise_cov, str):
        if noise_cov != "ledoit_wolf":
            raise ValueError(f"unknown noise_cov {noise_cov!r}: give a matrix, 'ledoit_wolf' or None")
        noise_cov = noise_covariance(x)
    if noise_cov is not None:
        x = _whiten(x, np.asarray(noise_cov, dtype=float))
    total = x.sum(axis=0)
    # sum over ordered pairs r != s of X_r X_s^T, without the same-run terms that carry the noise
    kernel = total @ total.T - np.einsum("rik,rjk->ij", x, x, optimize=True)
    kernel /= n_runs * (n_runs - 1) * n_channels
    diagonal = np.diag(kernel)
    out = diagonal[:, None] + diagonal[None, :] - kernel - kernel.T
    np.fill_diagonal(out, 0.0)
    return out


def _whiten(x: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Patterns times L^-T, where L L^T = cov (Cholesky), so that whitened dot products are
    x_i cov^-1 x_j: the Mahalanobis metric of crossnobis."""
    n_channels = x.shape[-1]
    if cov.shape != (n_channels, n_channels) or not np.allclose(cov, cov.T):
        raise ValueError(f"noise_cov must be a symmetric {n_channels} x {n_channels} matrix, got {cov.shape}")
    try:
        factor = cholesky(cov, lower=True)
    except LinAlgError:
        raise ValueError("noise_cov must be positive definite (use 'ledoit_wolf' for a shrunk estimate)") from None
    flat = solve_triangular(factor, x.reshape(-1, n_channels).T, lower=True).T
    return flat.reshape(x.shape)


def choice_rdm(p_accept: np.ndarray) -> np.ndarray:
    """RDM |p_i - p_j| of a per-condition choice-probability vector (2022 choice-pattern RSA).

    NaN (a condition never shown) propagates to that condition's row and column.
    """
    p = np.asarray(p_accept, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"choice probabilities must be one value per condition, got shape {p.shape}")
    return np.abs(p[:, None] - p[None, :])


def lower(square: np.ndarray) -> np.ndarray:
    """Strict lower triangle of a square RDM as a vector (row by row), n(n-1)/2 values."""
    matrix = np.asarray(square, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"an RDM must be square, got shape {matrix.shape}")
    return matrix[np.tril_indices(matrix.shape[0], -1)]


def square(vector: np.ndarray) -> np.ndarray:
    """Symmetric zero-diagonal RDM from its ``lower`` vector (the inverse of ``lower``)."""
    v = np.asarray(vector, dtype=float)
    n = int(round((1 + np.sqrt(1 + 8 * v.size)) / 2))
    if v.ndim != 1 or n * (n - 1) // 2 != v.size:
        raise ValueError(f"{v.size} values are not the lower triangle of a square RDM")
    out = np.zeros((n, n))
    out[np.tril_indices(n, -1)] = v
    return out + out.T
