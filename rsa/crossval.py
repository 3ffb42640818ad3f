"""Cross-validated RDMs across runs, batched over many pattern sets (ROIs or searchlights).

Pure: arrays in, arrays out. Patterns are (..., n_runs, n_conditions, n_channels): any leading
axes (e.g. one per searchlight) are a batch, computed in one go with batched linear algebra.

* ``crossval_correlation_rdm``: the 2022 paper's cross-validated correlation distance: for each
  ordered pair of different runs (r, s) the run x run RDM 1 - Pearson r(x_ri, x_sj) over channels;
  the within-run cells (r = s) are left out and the rest averaged. Its diagonal (a condition with
  itself across runs, 1 - its reliability) is returned separately by ``crossval_correlation`` and
  set to 0 in the RDM.
* ``crossnobis_rdm``: d_ij = mean over ordered run pairs r != s of (x_ri - x_rj) P (x_si - x_sj)^T /
  n_channels, P a noise precision (identity if None). On balanced runs this equals rsatoolbox's
  leave-one-run-out ``calc_rdm(..., method="crossnobis", noise=P)`` (tested to 1e-8).
* ``shrinkage_covariance``: the noise covariance from GLM residuals, shrunk as rsatoolbox's
  ``cov_from_residuals`` does ("shrinkage_diag": Schaefer & Strimmer 2005 towards the diagonal;
  "shrinkage_eye": Ledoit & Wolf 2004 towards a multiple of the identity).
"""

from __future__ import annotations

import numpy as np

SHRINKAGE = ("shrinkage_diag", "shrinkage_eye")


def _runs(patterns_per_run: np.ndarray) -> np.ndarray:
    x = np.asarray(patterns_per_run, dtype=float)
    if x.ndim < 3:
        raise ValueError(f"patterns must be (..., runs, conditions, channels), got shape {x.shape}")
    if x.shape[-3] < 2:
        raise ValueError(f"cross-validation needs at least 2 runs, got {x.shape[-3]}")
    if not np.isfinite(x).all():
        raise ValueError("patterns contain NaN or infinite values")
    return x


def _cross_run_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sum over ordered run pairs r != s of x_r y_s^T, shape (..., conditions, conditions)."""
    total = x.sum(axis=-3) @ np.swapaxes(y.sum(axis=-3), -1, -2)
    return total - (x @ np.swapaxes(y, -1, -2)).sum(axis=-3)


def crossval_correlation(patterns_per_run: np.ndarray) -> np.ndarray:
    """(..., C, C) mean over ordered pairs of different runs of 1 - Pearson r(x_ri, x_sj), diagonal
    included (a condition's cross-run dissimilarity with itself)."""
    x = _runs(patterns_per_run)
    centred = x - x.mean(axis=-1, keepdims=True)
    norms = np.linalg.norm(centred, axis=-1, keepdims=True)
    if (norms == 0).any():
        raise ValueError("correlation distance is undefined for a constant pattern")
    z = centred / norms
    n_runs = x.shape[-3]
    return 1.0 - _cross_run_kernel(z, z) / (n_runs * (n_runs - 1))


def crossval_correlation_rdm(patterns_per_run: np.ndarray) -> np.ndarray:
    """(..., C, C) cross-validated correlation-distance RDM (see the module docstring), zero diagonal."""
    out = crossval_correlation(patterns_per_run)
    index = np.arange(out.shape[-1])
    out[..., index, index] = 0.0
    return out


def crossnobis_rdm(patterns_per_run: np.ndarray, precision: np.ndarray | None = None) -> np.ndarray:
    """(..., C, C) crossnobis RDM (module docstring); ``precision`` (..., channels, channels) or None."""
    x = _runs(patterns_per_run)
    n_runs, n_channels = x.shape[-3], x.shape[-1]
    if precision is None:
        weighted = x
    else:
        p = np.asarray(precision, dtype=float)
        if p.shape[-2:] != (n_channels, n_channels):
            raise ValueError(f"precision must be {n_channels} x {n_channels} per pattern set, got {p.shape}")
        weighted = x @ p[..., None, :, :]
    kernel = _cross_run_kernel(weighted, x) / (n_runs * (n_runs - 1) * n_channels)
    diagonal = np.diagonal(kernel, axis1=-2, axis2=-1)
    out = diagonal[..., :, None] + diagonal[..., None, :] - kernel - np.swapaxes(kernel, -1, -2)
    index = np.arange(out.shape[-1])
    out[..., index, index] = 0.0
    return out


def shrinkage_covariance(residuals: np.ndarray, *, dof: int | None = None,
                         method: str = "shrinkage_diag") -> np.ndarray:
    """(..., V, V) shrunk noise covariance of (..., n_samples, V) residuals (columns demeaned
    first, as rsatoolbox does); ``dof`` defaults to n_samples - 1 (give the GLM's residual dof)."""
    if method not in SHRINKAGE:
        raise ValueError(f"unknown shrinkage {method!r}: use one of {SHRINKAGE}")
    x = np.asarray(residuals, dtype=float)
    if x.ndim < 2 or x.shape[-2] < 2:
        raise ValueError(f"residuals must be (..., samples >= 2, channels), got shape {x.shape}")
    x = x - x.mean(axis=-2, keepdims=True)
    n = x.shape[-2]
    dof = n - 1 if dof is None else int(dof)
    gram = np.swapaxes(x, -1, -2) @ x
    if method == "shrinkage_eye":
        return _shrink_eye(x, gram, n, dof)
    return _shrink_diag(x, gram, n, dof)


def _shrink_eye(x: np.ndarray, gram: np.ndarray, n: int, dof: int) -> np.ndarray:
    """Ledoit-Wolf shrinkage towards m I; sum_ij of the squared outer products is sum_t |x_t|^4."""
    v = x.shape[-1]
    s = gram / n
    fourth = ((x**2).sum(axis=-1) ** 2).sum(axis=-1) / n
    b2 = (fourth - (s**2).sum(axis=(-2, -1))) / n
    m = np.trace(s, axis1=-2, axis2=-1) / v
    eye = np.eye(v)
    d2 = ((s - m[..., None, None] * eye) ** 2).sum(axis=(-2, -1))
    b2 = np.minimum(d2, b2)
    shrunk = (b2 / d2 * m)[..., None, None] * eye + ((d2 - b2) / d2)[..., None, None] * s
    return shrunk * n / dof


def _shrink_diag(x: np.ndarray, gram: np.ndarray, n: int, dof: int) -> np.ndarray:
    """Schaefer-Strimmer shrinkage of the correlations towards 0 (variances kept)."""
    squares = x**2
    gram2 = np.swapaxes(squares, -1, -2) @ squares
    s = gram / dof
    var = np.diagonal(s, axis1=-2, axis2=-1)
    std = np.sqrt(var)
    s_mean = gram / std[..., None, :] / std[..., :, None] / (n - 1)
    s2_mean = gram2 / var[..., None, :] / var[..., :, None] / (n - 1)
    var_hat = n / dof**2 * (s2_mean - s_mean**2)
    off = ~np.eye(x.shape[-1], dtype=bool)
    lamb = var_hat[..., off].sum(axis=-1) / (s_mean[..., off] ** 2).sum(axis=-1)
    lamb = np.clip(lamb, 0.0, 1.0)
    return s * np.where(off, (1.0 - lamb)[..., None, None], 1.0)


def precision_from_residuals(residuals: np.ndarray, *, dof: int | None = None,
                             method: str = "shrinkage_diag") -> np.ndarray:
    """(..., V, V) inverse of ``shrinkage_covariance`` (the crossnobis metric)."""
    return np.linalg.inv(shrinkage_covariance(residuals, dof=dof, method=method))
