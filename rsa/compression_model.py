"""The 6-parameter compression/rotation/offset geometry, fitted to a data RDM by least squares.

Each context keeps its relevant and irrelevant feature with its own gain (4 compressions: 1 keeps a
feature step as is, 0 removes the feature), the second ("south") context's plane is turned by a
rotation angle, and the two planes sit a context offset apart (``garden.rsa.model_rdms.compression_maps``
and ``mapped_coordinates``). Grid, orthogonal, parallel, rotated grid and the single-feature models
are special cases, so the fitted parameters place a representation between them: irrelevant gains
near 0 and a rotation near 0 mean orthogonal (rich), all gains equal mean a grid (lazy).

The fit minimises the squared differences between the model's Euclidean distances and the data
dissimilarities (``scipy.optimize.least_squares``, trust-region reflective, bounded) from
``n_restarts`` random starts drawn with ``seed``; the best restart is kept (not averaged). Gains
and the offset are in the data's units per feature step, the rotation in degrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.distance import pdist, squareform

from garden.rsa.compare import as_vector
from garden.rsa.model_rdms import compression_maps, mapped_coordinates
from garden.rsa.distances import lower

PARAMETERS = ("north_relevant", "north_irrelevant", "south_relevant", "south_irrelevant",
              "rotation_deg", "context_offset")
_LOWER = np.array([0.0, 0.0, 0.0, 0.0, -np.pi, 0.0])
_UPPER = np.array([np.inf, np.inf, np.inf, np.inf, np.pi, np.inf])


@dataclass(frozen=True)
class CompressionFit:
    """Best-restart fit: ``params`` (names in ``PARAMETERS``; rotation in degrees), half the sum of
    squared residuals ``cost``, root-mean-square residual ``rmse`` (data units), every restart's
    cost, the seed and the grid size."""

    params: dict[str, float]
    cost: float
    rmse: float
    restart_costs: list[float] = field(repr=False)
    seed: int
    n_levels: int

    def to_dict(self) -> dict:
        """JSON-ready summary (for results sidecars)."""
        return {"params": self.params, "cost": self.cost, "rmse": self.rmse,
                "restart_costs": self.restart_costs, "seed": self.seed, "n_levels": self.n_levels}


def compression_distances(params: dict[str, float], n_levels: int = 5) -> np.ndarray:
    """Lower-triangle-order distances (``garden.rsa.distances.lower`` order) of the model with ``params``."""
    return _distances(_vector(params), n_levels)


def _vector(params: dict[str, float]) -> np.ndarray:
    """Parameter dict (degrees) -> optimiser vector (radians)."""
    missing = set(PARAMETERS) - set(params)
    if missing:
        raise ValueError(f"compression model parameters missing: {sorted(missing)}")
    x = np.array([params[name] for name in PARAMETERS], dtype=float)
    x[4] = np.deg2rad(x[4])
    return x


def _distances(x: np.ndarray, n_levels: int) -> np.ndarray:
    maps = compression_maps(*x[:4], rotation_deg=np.rad2deg(x[4]))
    points = mapped_coordinates(maps, x[5], n_levels)
    return lower(squareform(pdist(points)))


def fit_compression_model(data_rdm: np.ndarray, n_restarts: int = 20, seed: int = 0) -> CompressionFit:
    """Least-squares fit of the 6-parameter model to a 2 * n_levels**2 condition RDM (square or
    ``lower`` vector; non-negative, finite), best of ``n_restarts`` seeded random starts."""
    y = as_vector(data_rdm)
    n_cond = int(round((1 + np.sqrt(1 + 8 * y.size)) / 2))
    n_levels = int(round(np.sqrt(n_cond / 2)))
    if 2 * n_levels**2 != n_cond or not np.isfinite(y).all():
        raise ValueError(f"the compression model needs a finite RDM of 2 * n_levels**2 conditions, "
                         f"got {n_cond} conditions")
    if n_restarts < 1:
        raise ValueError("n_restarts must be at least 1")
    rng = np.random.default_rng(seed)
    unit = _distances(np.array([1, 1, 1, 1, 0, 1.0]), n_levels)
    scale = np.sqrt(np.mean(y**2) / np.mean(unit**2))  # data units per feature step of a grid
    fits = []
    for _ in range(n_restarts):
        start = np.concatenate([rng.uniform(0, 2, 4) * scale, rng.uniform(-np.pi, np.pi, 1),
                                rng.uniform(0, 3, 1) * scale])
        fits.append(least_squares(lambda x: _distances(x, n_levels) - y, start, bounds=(_LOWER, _UPPER)))
    best = min(fits, key=lambda fit: fit.cost)
    values = best.x.copy()
    values[4] = np.rad2deg(values[4])
    return CompressionFit(
        params=dict(zip(PARAMETERS, values.tolist())),
        cost=float(best.cost),
        rmse=float(np.sqrt(2 * best.cost / y.size)),
        restart_costs=[float(fit.cost) for fit in fits],
        seed=seed,
        n_levels=n_levels,
    )
