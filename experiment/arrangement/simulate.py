"""Simulated arrangements: a participant who lays the 25 trees out as the feature grid, with noise.

Why: the demo (and tests of the grid prior and its report) need arrangement data written exactly as
``garden arrange`` writes them (``garden.experiment.arrangement.data.ArrangementWriter``) without a window.
The simulated arranger places each tree at its (leafiness, branchiness) grid position (0.2 arena
radii apart, centred), rotates the grid by a random angle per arrangement and adds Gaussian noise
of SD ``noise`` (arena-radius units) to every position; positions are kept inside the arena. More
noise: a lower grid prior.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from garden.experiment.arrangement import data as ad
from garden.experiment.config import ARENA_EXEMPLARS

GRID_SPACING = 0.2
"""Distance between neighbouring grid positions (arena-radius units)."""
MAX_RADIUS = 0.95
"""Positions further from the centre are moved onto this radius (arena-radius units)."""


def grid_layout(rng: np.random.Generator, noise: float) -> np.ndarray:
    """(25, 2) final positions (condition order): the rotated feature grid plus noise of SD ``noise``."""
    grid = (ad.CELLS[:, ::-1].astype(float) - 3) * GRID_SPACING
    angle = rng.uniform(0, 2 * np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return ad.clamp_to_disc(grid @ rotation.T + rng.normal(0, noise, grid.shape), MAX_RADIUS)


def simulate_arrangements(root: str | os.PathLike, participant_id: str, session: int, phase: str, *,
                          noise: float, seed: int, n_arrangements: int = 6) -> Path:
    """Write one simulated arrangement session (tree table, sidecar, RDM) under ``root`` as
    ``garden arrange`` does; return the RDM file. Noise SD in arena-radius units."""
    rng = np.random.default_rng(seed)
    files = ad.arrangement_files(root, participant_id, session, phase)
    exemplars = ad.choose_exemplars({(int(b), int(l)): ARENA_EXEMPLARS for b, l in ad.CELLS}, seed)
    writer = ad.ArrangementWriter(files, participant_id=participant_id, session=session, phase=phase,
                                  exemplars=exemplars, config={"simulated": True, "noise": noise,
                                                               "n_arrangements": n_arrangements}, seed=seed)
    for start in ad.start_layouts(seed, n_arrangements):
        writer.add(start, grid_layout(rng, noise), np.ones(ad.N_TREES, int), 0.0)
    return writer.finish()
