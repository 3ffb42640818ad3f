"""Searchlight RDMs: a sphere around every brain voxel, cross-validated distances in batches.

Spheres are the voxels within ``radius`` of the centre (in voxels, or in mm with the image's voxel
sizes), clipped to the brain mask; a centre whose sphere keeps fewer than ``min_fraction`` of a
full sphere's voxels is skipped. Spheres with the same number of voxels are computed together, in
batches, with the batched primitives of ``garden.rsa.crossval`` (one noise covariance per sphere, shrunk
as rsatoolbox does), so a whole brain is a few hundred array operations instead of one RDM call
per centre.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from garden.core.progress import progress_bar
from garden.rsa.crossval import crossnobis_rdm, crossval_correlation_rdm, shrinkage_covariance

METHODS = ("crossnobis", "correlation")


def sphere_offsets(radius: float, voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """(K, 3) integer voxel offsets within ``radius`` (same unit as ``voxel_size``: voxels or mm)
    of the centre, the centre first."""
    if radius < 0:
        raise ValueError(f"searchlight radius must be >= 0, got {radius}")
    size = np.asarray(voxel_size, dtype=float)
    reach = np.floor(radius / size).astype(int)
    grid = np.stack(np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij"), -1).reshape(-1, 3)
    inside = grid[(((grid * size) ** 2).sum(1) <= radius**2 + 1e-9)]
    return inside[np.argsort((inside**2).sum(1), kind="stable")]


@dataclass(frozen=True)
class Spheres:
    """Searchlights over a mask: ``centres`` (N,) and each sphere's ``members`` (indices into the
    mask's voxels in ``np.flatnonzero(mask)`` order; the centre is member 0)."""

    centres: np.ndarray
    members: list[np.ndarray]
    full_size: int

    def groups(self, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(sphere numbers, (B, K) member indices) batches of spheres with equal voxel counts."""
        sizes = np.array([m.size for m in self.members])
        for size in np.unique(sizes):
            which = np.flatnonzero(sizes == size)
            for start in range(0, which.size, batch_size):
                chunk = which[start:start + batch_size]
                yield chunk, np.stack([self.members[k] for k in chunk])


def spheres(mask: np.ndarray, radius: float, *, voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0),
            min_fraction: float = 0.5) -> Spheres:
    """Searchlight spheres of ``radius`` (voxels, or mm with ``voxel_size`` in mm) over a boolean mask."""
    mask = np.asarray(mask, dtype=bool)
    offsets = sphere_offsets(radius, voxel_size)
    lookup = np.full(mask.shape, -1)
    coords = np.argwhere(mask)
    lookup[tuple(coords.T)] = np.arange(coords.shape[0])
    padded = np.pad(lookup, [(int(np.abs(offsets[:, k]).max()),) * 2 for k in range(3)], constant_values=-1)
    shift = np.abs(offsets).max(axis=0)
    centres, members = [], []
    for index, voxel in enumerate(coords):
        around = padded[tuple((voxel + shift + offsets).T)]
        around = around[around >= 0]
        if around.size >= min_fraction * offsets.shape[0]:
            centres.append(index)
            members.append(around)
    return Spheres(np.asarray(centres, dtype=int), members, offsets.shape[0])


def _batch_rdms(voxel_betas: np.ndarray, shape: tuple[int, int], members: np.ndarray, method: str,
                voxel_residuals: np.ndarray | None, dof: int | None, shrinkage: str, rows: np.ndarray,
                cols: np.ndarray) -> np.ndarray:
    """(B, n_pairs) lower-triangle RDMs of one batch of equal-size spheres, from voxel-major
    arrays (voxels, runs * conditions) and (voxels, samples) so that gathering a sphere is a copy
    of contiguous rows."""
    patterns = np.swapaxes(voxel_betas[members], -1, -2).reshape(*members.shape[:1], *shape, members.shape[1])
    if method == "correlation":
        rdm = crossval_correlation_rdm(patterns)
    else:
        cov = None
        if voxel_residuals is not None:
            cov = shrinkage_covariance(np.swapaxes(voxel_residuals[members], -1, -2), dof=dof, method=shrinkage,
                                       centred=True)
        rdm = crossnobis_rdm(patterns, noise_cov=cov)
    return rdm[:, rows, cols]


def searchlight_rdms(betas: np.ndarray, found: Spheres, *, method: str = "crossnobis",
                     residuals: np.ndarray | None = None, dof: int | None = None,
                     shrinkage: str = "shrinkage_diag", batch_size: int = 256, workers: int = 1,
                     progress: bool = False) -> np.ndarray:
    """(N spheres, C(C-1)/2) lower-triangle RDMs (``garden.rsa.distances.lower`` order) of every sphere.

    ``betas``: (runs, conditions, mask voxels). ``method``: "crossnobis" (with ``residuals``,
    (samples, mask voxels), each sphere's noise covariance is estimated from them with
    ``shrinkage`` and ``dof``, and the patterns are whitened by its Cholesky factor; without, the
    identity) or "correlation" (the cross-validated correlation distance). ``workers`` threads
    share the batches (numpy's linear algebra releases the GIL; keep BLAS at one thread each).
    """
    if method not in METHODS:
        raise ValueError(f"unknown searchlight method {method!r}: use one of {METHODS}")
    betas = np.asarray(betas, dtype=float)
    shape = betas.shape[:2]
    voxel_betas = np.ascontiguousarray(betas.reshape(-1, betas.shape[2]).T)
    voxel_residuals = None
    if residuals is not None:  # each voxel's residuals demeaned once, not once per sphere
        voxel_residuals = np.ascontiguousarray(np.asarray(residuals, dtype=float).T)
        voxel_residuals -= voxel_residuals.mean(axis=1, keepdims=True)
    rows, cols = np.tril_indices(shape[1], -1)
    out = np.empty((found.centres.size, rows.size))
    batches = list(found.groups(batch_size))

    def run(batch: tuple[np.ndarray, np.ndarray]) -> None:
        which, members = batch
        out[which] = _batch_rdms(voxel_betas, shape, members, method, voxel_residuals, dof, shrinkage, rows, cols)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for _ in progress_bar(pool.map(run, batches), total=len(batches), desc="searchlight", unit="batch",
                              enabled=progress):
            pass
    return out
