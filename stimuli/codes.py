"""Network input codes: Gaussian blobs, one-hot context, and images of the trees people saw.

Why: the networks of Flesch et al. (2022) read a 25-unit Gaussian blob (the tree's place on the
5x5 feature grid) plus 2 one-hot context units. Paradigm §4: the units sit on a 5x5 grid with
coordinates 0..1 in 5 steps; the blob of a tree is centred at (leafiness, branchiness) coordinates
in {.2, .35, .5, .65, .8}, isotropic variance 0.08, scaled so its largest unit is 1. The published
code then divides the whole 50x25 stimulus matrix, and the 50x2 context matrix, by their Frobenius
norms (``normalise=True``).

Orders: the 25 cells are branchiness-major, leafiness fastest (row = (b-1)*5 + (l-1)); the 50
conditions are context (north, south) x those 25. Unit j of a blob is grid row j // 5 (the
branchiness axis) and column j % 5 (the leafiness axis).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from garden.stimuli.gardens import CONTEXT_COLOURS, garden_scene, place_tree
from garden.stimuli.trees import LEVELS, render_tree

UNIT_COORDS = np.linspace(0.0, 1.0, 5)
"""Grid coordinates of the 5x5 input units along each feature axis."""
BLOB_CENTRES = np.linspace(0.2, 0.8, 5)
"""Blob centre of feature levels 1..5: .2, .35, .5, .65, .8."""
BLOB_VARIANCE = 0.08
CONTEXTS = tuple(CONTEXT_COLOURS)
N_CELLS = 25


def _blobs_raw() -> np.ndarray:
    """(25, 25) blobs, each scaled so its largest unit is 1 (the peak over the grid, as published)."""
    gy, gx = np.meshgrid(UNIT_COORDS, UNIT_COORDS, indexing="ij")
    rows = []
    for mu_b in BLOB_CENTRES:
        for mu_l in BLOB_CENTRES:
            z = np.exp(-((gx - mu_l) ** 2 + (gy - mu_b) ** 2) / (2.0 * BLOB_VARIANCE))
            rows.append((z / z.max()).ravel())
    return np.asarray(rows)


def gaussian_blobs(normalise: bool = True) -> np.ndarray:
    """(25 cells, 25 units) blob codes; ``normalise`` applies the published scaling.

    The published scaling divides by the Frobenius norm of the 50x25 matrix of both contexts,
    so these rows equal the rows of ``network_inputs(normalise=True)[0]`` (norm of this 25x25
    matrix: 1/sqrt(2)).
    """
    blobs = _blobs_raw()
    if normalise:
        blobs = blobs / np.linalg.norm(np.vstack([blobs] * len(CONTEXTS)))
    return blobs


def context_onehot(normalise: bool = True) -> np.ndarray:
    """(50, 2) one-hot context units (north rows 0..24, south 25..49); Frobenius norm 1 when normalised."""
    onehot = np.repeat(np.eye(len(CONTEXTS)), N_CELLS, axis=0)
    return onehot / np.linalg.norm(onehot) if normalise else onehot


def network_inputs(normalise: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(X (50, 25) blobs, C (50, 2) context) in the 50-condition order; each has norm 1 when normalised."""
    return np.vstack([gaussian_blobs(normalise)] * len(CONTEXTS)), context_onehot(normalise)


def image_codes(size_px: int, rgb: bool = False, background: bool = False, seed: int = 0,
                exemplar: int = 1) -> np.ndarray:
    """Flattened images of one exemplar per cell, values 0..1, as network inputs (float32).

    Without ``background``: (25, D) in the 25-cell order, the tree over black. With ``background``:
    (50, D) in the 50-condition order, the tree on its context's garden scene. D = size_px² (grey,
    ITU-R 601 luma) or 3·size_px² (``rgb``).
    """
    trees = [render_tree(b, l, exemplar, size_px, seed) for b in LEVELS for l in LEVELS]
    if background:
        scenes = [garden_scene(context, size_px, seed=seed) for context in CONTEXTS]
        images = [place_tree(tree, scene, scale=1.0) for scene in scenes for tree in trees]
    else:
        black = Image.new("RGBA", (size_px, size_px), (0, 0, 0, 255))
        images = [place_tree(tree, black, scale=1.0) for tree in trees]
    mode = "RGB" if rgb else "L"
    return np.stack([np.asarray(im.convert(mode), dtype=np.float32).ravel() / 255.0 for im in images])

