"""Voxel grids: whether two images put their voxels in the same place (shape and affine), and by how far
they miss, so that a mask or ROI on another grid is refused naming both files before any work."""

from __future__ import annotations

import itertools

import numpy as np

from garden.core.errors import UserError

GRID_TOLERANCE_MM = 1e-3
"""Largest distance (mm) between where two affines put the same voxel that still counts as one grid: far below
any voxel (1-3 mm) yet above float32 rounding of a header's affine."""


def grid_offset_mm(affine: np.ndarray, other: np.ndarray, shape: tuple[int, ...]) -> float:
    """Largest distance (mm) between the world positions the two 4x4 ``affine``s give one voxel of a
    volume of ``shape`` (checked at its 8 corners: an affine map's largest difference over a box is at one)."""
    corners = np.array([[*corner, 1.0] for corner in itertools.product(*[(0, max(n - 1, 0)) for n in shape[:3]])])
    moved = (np.asarray(affine, float) - np.asarray(other, float)) @ corners.T
    return float(np.sqrt((moved[:3] ** 2).sum(axis=0)).max())


def check_same_grid(path: object, shape: tuple[int, ...], affine: np.ndarray, *, reference: object,
                    reference_shape: tuple[int, ...], reference_affine: np.ndarray) -> None:
    """UserError naming ``path`` and ``reference`` unless the first three axes of ``shape`` equal
    ``reference_shape``'s and the affines place every voxel within ``GRID_TOLERANCE_MM`` of each other."""
    shape, reference_shape = tuple(shape[:3]), tuple(reference_shape[:3])
    if shape != reference_shape:
        raise UserError(f"{path}: grid {shape} differs from the grid {reference_shape} of {reference}; resample it "
                        "onto that grid")
    offset = grid_offset_mm(affine, reference_affine, shape)
    if offset > GRID_TOLERANCE_MM:
        raise UserError(f"{path}: its affine puts voxels up to {offset:.4g} mm from where the affine of {reference} "
                        f"puts them (same shape {shape}; tolerance {GRID_TOLERANCE_MM:g} mm): not one space; resample "
                        "it onto that grid")
