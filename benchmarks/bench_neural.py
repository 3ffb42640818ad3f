"""Whole-brain crossnobis searchlight vs a per-searchlight rsatoolbox loop, side by side.

``python -m benchmarks neural``. Seeded synthetic data: an ellipsoid brain of about 60 000 voxels,
radius-3-voxel spheres (123 voxels when whole), 6 runs x 50 condition betas, and 300 noise
residual samples per voxel (dof 250) from which every sphere's shrinkage covariance
("shrinkage_diag", as rsatoolbox's default) is estimated. Ours: ``garden.analysis.neural.searchlight`` in
batches on 2 worker threads (BLAS one thread each). Reference: for a subset of spheres spread over
the brain, rsatoolbox's ``prec_from_residuals`` + ``calc_rdm(..., method="crossnobis")`` per
sphere, timed in the same run and scaled to all spheres. Peak memory is the process's maximum
resident set size after our run. ``ours_cpu_s`` is the process CPU time of our run (both threads):
on a shared machine the wall time also counts other users' load.
"""

from __future__ import annotations

import resource
import time

import numpy as np
from threadpoolctl import threadpool_limits

SHAPE = (48, 56, 44)
RUNS, CONDITIONS, SAMPLES, DOF = 6, 50, 300, 250
RADIUS = 3
SUBSET = 100


def _brain() -> np.ndarray:
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in SHAPE], indexing="ij"), axis=-1)
    centre = (np.asarray(SHAPE) - 1) / 2
    return (((grid - centre) / (np.asarray(SHAPE) / 2)) ** 2).sum(-1) <= 1.0


def _rsatoolbox_rdm(betas: np.ndarray, residuals: np.ndarray, members: np.ndarray) -> np.ndarray:
    import rsatoolbox
    from rsatoolbox.data.noise import prec_from_residuals

    precision = prec_from_residuals(residuals[:, members].copy(), dof=DOF, method="shrinkage_diag")
    # float labels: rsatoolbox's _build_rdms fills NaN into the labels' dtype, which for integer
    # labels printed numpy's "RuntimeWarning: invalid value encountered in cast"
    data = rsatoolbox.data.Dataset(betas[:, :, members].reshape(-1, members.size), obs_descriptors={
        "condition": np.tile(np.arange(CONDITIONS), RUNS).astype(float),
        "run": np.repeat(np.arange(RUNS), CONDITIONS).astype(float)})
    rdm = rsatoolbox.rdm.calc_rdm(data, descriptor="condition", method="crossnobis", noise=precision,
                                  cv_descriptor="run")
    return rdm.get_matrices()[0][np.tril_indices(CONDITIONS, -1)]


def main() -> dict:
    from garden.analysis.neural.searchlight import searchlight_rdms, spheres

    rng = np.random.default_rng(0)
    brain = _brain()
    n_voxels = int(brain.sum())
    betas = rng.standard_normal((RUNS, CONDITIONS, n_voxels))
    residuals = rng.standard_normal((SAMPLES, n_voxels))
    start = time.perf_counter()
    found = spheres(brain, RADIUS)
    spheres_s = time.perf_counter() - start
    with threadpool_limits(1):
        start, cpu = time.perf_counter(), time.process_time()
        ours = searchlight_rdms(betas, found, method="crossnobis", residuals=residuals, dof=DOF,
                                shrinkage="shrinkage_diag", batch_size=128, workers=2)
        ours_s, ours_cpu_s = time.perf_counter() - start, time.process_time() - cpu
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        subset = np.linspace(0, found.centres.size - 1, SUBSET).astype(int)
        start = time.perf_counter()
        reference = np.stack([_rsatoolbox_rdm(betas, residuals, found.members[k]) for k in subset])
        reference_s = time.perf_counter() - start
    per_sphere = reference_s / SUBSET
    return {
        "n_voxels": n_voxels, "n_searchlights": int(found.centres.size), "full_sphere_voxels": found.full_size,
        "runs_x_conditions": [RUNS, CONDITIONS], "residual_samples": SAMPLES,
        "spheres_s": round(spheres_s, 2), "ours_s": round(ours_s, 2),
        "ours_cpu_s": round(ours_cpu_s, 2),
        "ours_ms_per_searchlight": round(ours_s / found.centres.size * 1e3, 4),
        "rsatoolbox_ms_per_searchlight": round(per_sphere * 1e3, 3),
        "rsatoolbox_all_s_extrapolated": round(per_sphere * found.centres.size, 1),
        "speedup_vs_rsatoolbox": round(per_sphere * found.centres.size / ours_s, 1),
        "max_abs_difference": float(np.abs(ours[subset] - reference).max()),
        "peak_memory_gb": round(peak_gb, 2),
    }
