"""Where the crossnobis noise covariance comes from (``--noise``), and why the default is robust.

* ``runs-diag`` (default): the variance of each voxel's run-wise pattern deviations, x_rc - mean_r x_c
  (the betas of condition c in run r around their mean over runs; dof = (runs - 1) x conditions):
  univariate noise normalisation. The deviations hold no condition signal, whatever HRF the GLM
  assumed (a misfit scales a condition's beta alike in every run), and a diagonal metric rescales
  voxels without rotating the condition geometry.
* ``runs``: the same deviations' full covariance, shrunk (``shrinkage_diag``/``shrinkage_eye``).
* ``residuals``: the GLM residuals' shrunk covariance (rsatoolbox's ``prec_from_residuals``, the
  usual crossnobis). An HRF misfit leaves condition signal in the residuals, so this whitening
  shrinks the signal's own directions.
* ``none``: the identity (cross-validated squared Euclidean distance).

Measured on a first, strong-signal version of the known-answer dataset (tests/fmriprep_sim.py:
8 participants, AR(1) noise, motion with spikes, about 15x the final SNR units; default Glover
GLM), lazy (grid) ROI, orthogonal - grid beta of the 7-model design on squared distances: ``residuals`` +0.50 (t 3.3, the wrong sign),
``runs`` +2.64 (t 12.4, wrong), ``runs-diag`` -1.72 (t -124), ``none`` -1.83 (t -170); rich ROI
+4.27..+5.26 under all four. A full covariance estimated from ~150-400 samples of ~50 voxels
whitens a random mixing of a few condition dimensions unevenly, which distorts the geometry the
models describe; the diagonal does not. (The ``residuals`` figure was measured before the GLM wrote nilearn's
whitened residuals: its AR(1) residuals then held the previous volume's BOLD, task signal included; docs/neural.md.)
"""

from __future__ import annotations

import numpy as np

from garden.rsa.crossval import shrinkage_covariance

NOISE_SOURCES = ("runs-diag", "runs", "residuals", "none")


def run_deviations(betas: np.ndarray) -> tuple[np.ndarray, int]:
    """((runs x conditions, voxels) deviations of each run's pattern from the condition's mean over
    runs, their dof (runs - 1) x conditions) of (runs, conditions, voxels) betas."""
    runs, conditions, voxels = betas.shape
    return (betas - betas.mean(axis=0)).reshape(-1, voxels), (runs - 1) * conditions


def noise_covariance(betas: np.ndarray, residuals: list[np.ndarray], dofs: list[int], *, source: str,
                     shrinkage: str) -> np.ndarray | None:
    """(voxels, voxels) crossnobis noise covariance from ``source`` (module docstring); None for
    "none" (identity)."""
    if source == "none":
        return None
    if source == "residuals":
        return shrinkage_covariance(np.concatenate(residuals), dof=int(sum(dofs)), method=shrinkage)
    deviations, dof = run_deviations(betas)
    if source == "runs":
        return shrinkage_covariance(deviations, dof=dof, centred=True, method=shrinkage)
    return np.diag((deviations**2).sum(axis=0) / dof)
