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
from scipy.linalg import lapack

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


def whitener(noise_cov: np.ndarray) -> np.ndarray:
    """(..., V, V) inverse Cholesky factors L^-1 of covariances (L L^T = cov): patterns times
    L^-T have the metric cov^-1 (x cov^-1 y^T = (x L^-T)(y L^-T)^T). ValueError when a covariance
    is not positive definite."""
    cov = np.asarray(noise_cov, dtype=float)
    try:
        factors = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError("a noise covariance is not positive definite (use a shrinkage estimate)") from None
    flat = factors.reshape(-1, *cov.shape[-2:])
    out = np.empty_like(flat)
    for k, factor in enumerate(flat):  # LAPACK triangular inverse, one small matrix at a time
        out[k], info = lapack.dtrtri(factor, lower=1)
        if info != 0:
            raise ValueError("a noise covariance is singular")
    return out.reshape(cov.shape)


def crossnobis_rdm(patterns_per_run: np.ndarray, precision: np.ndarray | None = None, *,
                   noise_cov: np.ndarray | None = None) -> np.ndarray:
    """(..., C, C) crossnobis RDM (module docstring). The metric is ``precision`` (..., channels,
    channels), or the inverse of ``noise_cov`` (applied by Cholesky whitening, no inverse formed),
    or the identity when both are None."""
    x = _runs(patterns_per_run)
    n_runs, n_channels = x.shape[-3], x.shape[-1]
    if precision is not None and noise_cov is not None:
        raise ValueError("give precision or noise_cov, not both")
    metric = precision if precision is not None else noise_cov
    if metric is not None and np.shape(metric)[-2:] != (n_channels, n_channels):
        raise ValueError(f"precision must be {n_channels} x {n_channels} per pattern set, got {np.shape(metric)}")
    if noise_cov is not None:
        flat = x.reshape(*x.shape[:-3], -1, n_channels)  # all runs' patterns: one product per set
        x = (flat @ np.swapaxes(whitener(noise_cov), -1, -2)).reshape(x.shape)
        weighted = x
    elif precision is not None:
        weighted = x @ np.asarray(precision, dtype=float)[..., None, :, :]
    else:
        weighted = x
    kernel = _cross_run_kernel(weighted, x) / (n_runs * (n_runs - 1) * n_channels)
    diagonal = np.diagonal(kernel, axis1=-2, axis2=-1)
    out = diagonal[..., :, None] + diagonal[..., None, :] - kernel - np.swapaxes(kernel, -1, -2)
    index = np.arange(out.shape[-1])
    out[..., index, index] = 0.0
    return out


def shrinkage_covariance(residuals: np.ndarray, *, dof: int | None = None, method: str = "shrinkage_diag",
                         centred: bool = False) -> np.ndarray:
    """(..., V, V) shrunk noise covariance of (..., n_samples, V) residuals (columns demeaned
    first, as rsatoolbox does, unless ``centred`` says they already are); ``dof`` defaults to
    n_samples - 1 (give the GLM's residual dof)."""
    if method not in SHRINKAGE:
        raise ValueError(f"unknown shrinkage {method!r}: use one of {SHRINKAGE}")
    x = np.asarray(residuals, dtype=float)
    if x.ndim < 2 or x.shape[-2] < 2:
        raise ValueError(f"residuals must be (..., samples >= 2, channels), got shape {x.shape}")
    channels = np.ascontiguousarray(np.swapaxes(x, -1, -2))  # (..., V, n): samples contiguous
    if not centred:
        channels = channels - channels.mean(axis=-1, keepdims=True)
    n = x.shape[-2]
    dof = n - 1 if dof is None else int(dof)
    gram = channels @ np.swapaxes(channels, -1, -2)
    squares = channels**2
    if method == "shrinkage_eye":
        return _shrink_eye(squares, gram, n, dof)
    return _shrink_diag(squares, gram, n, dof)


def _shrink_eye(squares: np.ndarray, gram: np.ndarray, n: int, dof: int) -> np.ndarray:
    """Ledoit-Wolf shrinkage towards m I (rsatoolbox's ``_covariance_eye``); ``squares`` are the
    (..., V, n) squared residuals: sum_ij of the squared outer products is sum_t |x_t|^4."""
    v = gram.shape[-1]
    s = gram / n
    fourth = (squares.sum(axis=-2) ** 2).sum(axis=-1) / n
    b2 = (fourth - (s**2).sum(axis=(-2, -1))) / n
    m = np.trace(s, axis1=-2, axis2=-1) / v
    d2 = (s**2).sum(axis=(-2, -1)) - 2 * m * np.trace(s, axis1=-2, axis2=-1) + v * m**2  # ||s - m I||^2
    b2 = np.minimum(d2, b2)
    shrunk = s * ((d2 - b2) / d2)[..., None, None]
    index = np.arange(v)
    shrunk[..., index, index] += (b2 / d2 * m)[..., None]
    return shrunk * n / dof


def _shrink_diag(squares: np.ndarray, gram: np.ndarray, n: int, dof: int) -> np.ndarray:
    """Schaefer-Strimmer shrinkage of the correlations towards 0 (variances kept), as rsatoolbox's
    ``_covariance_diag``. Its sums over the squared outer products need no second Gram matrix:
    sum_ij sum_t x_ti^2 x_tj^2 / (v_i v_j) = sum_t (sum_i x_ti^2 / v_i)^2, v the variances."""
    s = gram / dof
    var = np.diagonal(s, axis1=-2, axis2=-1)
    inv_var = 1.0 / var
    # r_ij = gram_ij / (sd_i sd_j): s_mean = r / (n - 1); sums of r^2 over off-diagonal cells
    scaled = gram * inv_var[..., :, None]
    r2_all = np.einsum("...ij,...ij->...", scaled, np.swapaxes(scaled, -1, -2))  # sum_ij g_ij^2 / (v_i v_j)
    r2_off = r2_all - (np.diagonal(gram, axis1=-2, axis2=-1) ** 2 * inv_var**2).sum(axis=-1)
    weighted = (inv_var[..., None, :] @ squares)[..., 0, :]  # (..., n): sum_i x_ti^2 / v_i
    q_all = (weighted**2).sum(axis=-1)
    q_diag = (np.einsum("...in,...in->...i", squares, squares) * inv_var**2).sum(axis=-1)
    q_off = q_all - q_diag  # sum over i != j of sum_t x_ti^2 x_tj^2 / (v_i v_j)
    var_hat_off = n / dof**2 * (q_off / (n - 1) - r2_off / (n - 1) ** 2)
    lamb = np.clip(var_hat_off / (r2_off / (n - 1) ** 2), 0.0, 1.0)
    out = s * (1.0 - lamb)[..., None, None]
    index = np.arange(s.shape[-1])
    out[..., index, index] = var
    return out


def precision_from_residuals(residuals: np.ndarray, *, dof: int | None = None,
                             method: str = "shrinkage_diag") -> np.ndarray:
    """(..., V, V) inverse of ``shrinkage_covariance`` (the crossnobis metric)."""
    return np.linalg.inv(shrinkage_covariance(residuals, dof=dof, method=method))
