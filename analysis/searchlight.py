"""Searchlight RDMs: a sphere around every brain voxel, cross-validated distances in batches.

Spheres are the voxels within ``radius`` of the centre (in voxels, or in mm with the image's voxel
sizes), clipped to the brain mask; a centre whose sphere keeps fewer than ``min_fraction`` of a
full sphere's voxels is skipped. Spheres with the same number of voxels are computed together, in
batches, with the batched primitives of ``rsa.crossval`` (one noise covariance per sphere, shrunk
as rsatoolbox does), so a whole brain is a few hundred array operations instead of one RDM call
per centre.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from rsa.crossval import crossnobis_rdm, crossval_correlation_rdm, precision_from_residuals

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


def searchlight_rdms(betas: np.ndarray, found: Spheres, *, method: str = "crossnobis",
                     residuals: np.ndarray | None = None, dof: int | None = None,
                     shrinkage: str = "shrinkage_diag", batch_size: int = 256,
                     progress: bool = False) -> np.ndarray:
    """(N spheres, C(C-1)/2) lower-triangle RDMs (``rsa.rdm.lower`` order) of every sphere.

    ``betas``: (runs, conditions, mask voxels). ``method``: "crossnobis" (with ``residuals``,
    (samples, mask voxels), the noise precision of each sphere is estimated from them with
    ``shrinkage``; without, the identity) or "correlation" (the cross-validated correlation
    distance).
    """
    if method not in METHODS:
        raise ValueError(f"unknown searchlight method {method!r}: use one of {METHODS}")
    betas = np.asarray(betas, dtype=float)
    n_conditions = betas.shape[1]
    rows, cols = np.tril_indices(n_conditions, -1)
    out = np.empty((found.centres.size, rows.size))
    batches = list(found.groups(batch_size))
    for which, members in tqdm(batches, desc="searchlight", unit="batch", disable=not progress):
        patterns = np.moveaxis(betas[:, :, members], 2, 0)  # (B, R, C, K)
        if method == "correlation":
            rdm = crossval_correlation_rdm(patterns)
        else:
            precision = None
            if residuals is not None:
                precision = precision_from_residuals(np.moveaxis(residuals[:, members], 1, 0), dof=dof,
                                                     method=shrinkage)
            rdm = crossnobis_rdm(patterns, precision)
        out[which] = rdm[:, rows, cols]
    return out
