"""Dissimilarities between conditions: RDMs from activity or choice patterns, and the RDM vector order.

Pure: arrays in, arrays out. Rows of every pattern array are conditions (for the task, the 50
items in ``garden.core.task.item_table`` order); columns are channels (voxels, units, neurons).

Conventions (they differ between toolboxes, so they are stated here once):

* ``rdm(..., "euclidean")`` is the plain Euclidean distance ``||x_i - x_j||`` (not squared, not
  divided by the number of channels). rsatoolbox's "euclidean" is ``||x_i - x_j||**2 / n_channels``;
  ``rdm(...)**2 / n_channels`` equals it.
* ``rdm(..., "correlation")`` is ``1 - Pearson r`` across channels (as in rsatoolbox and scipy).
* Cross-validated distances across runs (crossnobis, the 2022 paper's correlation distance) are in
  ``garden.rsa.crossval``.
* ``lower`` takes the strict lower triangle, row by row (``np.tril_indices(n, -1)``): the project's
  one vector order of an RDM. ``garden.rsa.rdms.RDMs.vectors`` and ``to_frame``, the comparisons in
  ``garden.rsa.compare`` and the searchlight all use it (rsatoolbox and scipy's ``squareform`` use
  the upper triangle row by row: the same pairs in another order).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist, squareform

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
