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

Two versions, named (docs/networks.md, "Compression model: ours and the paper's"):

* ``ours`` (``fit_compression_ours``): unbounded gains in data units, rotation in [-180, 180] deg, the
  RDM as it is (not rescaled), trust-region least squares, the **best** of ``n_restarts`` (default 20).
* ``paper`` (``fit_compression_paper``, Flesch et al. 2022 as published): compressions c in [0, 1] of
  the relevant and irrelevant feature per context (gain 1 - c), rotation in [-90, 90] deg, offset in
  [0, 2] feature steps, model and data RDM each divided by their maximum, sum of squared errors
  minimised by L-BFGS-B from ``n_restarts`` (default 100) random starts, and the **mean** of the
  restarts' estimates reported (as the paper does; it is not the best fit when restarts disagree).

``fit_compression_model(rdm, model=...)`` fits either. Both report ``params`` under the names of
``PARAMETERS`` (the paper's as gains 1 - c, in max-scaled units), so the measures built on them
(gain ratios, relevant - irrelevant) read both; the paper's own parameters are in ``paper_params``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
from scipy.optimize import least_squares, minimize
from scipy.spatial.distance import pdist, squareform
from threadpoolctl import threadpool_limits

from garden.rsa.compare import as_vector
from garden.rsa.model_rdms import compression_maps, mapped_coordinates
from garden.rsa.distances import lower, square

COMPRESSION_MODELS = ("ours", "paper")
"""The two versions of the model (module docstring)."""
DEFAULT_RESTARTS = {"ours": 20, "paper": 100}
PAPER_PARAMETERS = ("c_rel_north", "c_rel_south", "c_irrel_north", "c_irrel_south", "rotation_deg",
                    "context_offset")
"""The paper's parameters, in its order: compressions (0 keeps a feature, 1 removes it), the south
plane's rotation a2 (degrees), the context offset (feature steps)."""
PAPER_BOUNDS = ((0.0, 1.0),) * 4 + ((-90.0, 90.0), (0.0, 2.0))
PARAMETERS = ("north_relevant", "north_irrelevant", "south_relevant", "south_irrelevant",
              "rotation_deg", "context_offset")
_LOWER = np.array([0.0, 0.0, 0.0, 0.0, -np.pi, 0.0])
_UPPER = np.array([np.inf, np.inf, np.inf, np.inf, np.pi, np.inf])


@dataclass(frozen=True)
class CompressionFit:
    """A fit: ``params`` (names in ``PARAMETERS``; rotation in degrees), half the sum of squared
    residuals ``cost`` and root-mean-square residual ``rmse`` at ``params`` (ours: data units; the
    paper's: max-scaled units), every restart's cost, the seed, the grid size, which ``model``
    (``COMPRESSION_MODELS``) and, for the paper's, its own parameters (``PAPER_PARAMETERS``, the mean
    over restarts) with their SD over restarts."""

    params: dict[str, float]
    cost: float
    rmse: float
    restart_costs: list[float] = field(repr=False)
    seed: int
    n_levels: int
    model: str = "ours"
    paper_params: dict[str, float] | None = None
    paper_params_sd: dict[str, float] | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """JSON-ready summary (for results sidecars)."""
        return {"model": self.model, "params": self.params, "cost": self.cost, "rmse": self.rmse,
                "restart_costs": self.restart_costs, "seed": self.seed, "n_levels": self.n_levels,
                **({"paper_params": self.paper_params, "paper_params_sd": self.paper_params_sd}
                   if self.paper_params is not None else {})}


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
    return pdist(points)[_lower_order(len(points))]


@cache
def _lower_order(n: int) -> np.ndarray:
    """Positions in ``pdist``'s condensed order of ``n`` points of the ``lower`` order's pairs: ``pdist(p)[order]``
    is ``lower(squareform(pdist(p)))`` (the same values, without the square matrix: the least-squares fit
    computes the model's distances thousands of times)."""
    return lower(squareform(np.arange(n * (n - 1) // 2, dtype=float))).astype(int)


def fit_compression_model(data_rdm: np.ndarray, n_restarts: int | None = None, seed: int = 0, *,
                          model: str = "ours") -> CompressionFit:
    """Fit the ``model`` version (``COMPRESSION_MODELS``: ours or the paper's) to a 2 * n_levels**2
    condition RDM from ``n_restarts`` seeded starts (default ``DEFAULT_RESTARTS[model]``)."""
    if model not in COMPRESSION_MODELS:
        raise ValueError(f"compression model {model!r}: use one of {list(COMPRESSION_MODELS)}")
    fit = fit_compression_paper if model == "paper" else fit_compression_ours
    return fit(data_rdm, DEFAULT_RESTARTS[model] if n_restarts is None else n_restarts, seed)


def _checked(data_rdm: np.ndarray, n_restarts: int) -> tuple[np.ndarray, int]:
    """The RDM as a ``lower`` vector and its grid size (levels per feature), or ValueError."""
    y = as_vector(data_rdm)
    n_cond = int(round((1 + np.sqrt(1 + 8 * y.size)) / 2))
    n_levels = int(round(np.sqrt(n_cond / 2)))
    if 2 * n_levels**2 != n_cond or not np.isfinite(y).all():
        raise ValueError(f"the compression model needs a finite RDM of 2 * n_levels**2 conditions, "
                         f"got {n_cond} conditions")
    if n_restarts < 1:
        raise ValueError("n_restarts must be at least 1")
    return y, n_levels


def fit_compression_ours(data_rdm: np.ndarray, n_restarts: int = 20, seed: int = 0) -> CompressionFit:
    """Ours: least-squares fit of the 6-parameter model to a 2 * n_levels**2 condition RDM (square or
    ``lower`` vector; non-negative, finite), best of ``n_restarts`` seeded random starts."""
    y, n_levels = _checked(data_rdm, n_restarts)
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


def paper_coordinates(theta, n_levels: int = 5) -> np.ndarray:
    """(2 * n_levels**2, 3) points of the paper's model with parameters ``theta`` (``PAPER_PARAMETERS``
    order), as published: feature coordinates b, l centred in steps of 1 (-2..2 for 5 levels),
    north item ((1 - c_irrel_north) b, (1 - c_rel_north) l, 0), south item ((1 - c_rel_south) b,
    (1 - c_irrel_south) l) times the rotation matrix of a2 (row vector on the left), third
    coordinate the offset; conditions north then south, branchiness then leafiness (fastest)."""
    return _paper_points(theta, n_levels)[0]


def _paper_points(theta, n_levels: int) -> tuple[np.ndarray, np.ndarray]:
    """``paper_coordinates`` (P, 3) and their derivatives (6, P, 3) by each parameter (rotation per degree)."""
    c_rel_n, c_rel_s, c_irrel_n, c_irrel_s, a2, offset = np.asarray(theta, dtype=float)
    steps = np.arange(n_levels) - (n_levels - 1) / 2
    l, b = (v.ravel() for v in np.meshgrid(steps, steps))
    n, zero = n_levels**2, np.zeros(n_levels**2)
    angle = np.deg2rad(a2)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    turn = np.deg2rad(1.0) * np.array([[-np.sin(angle), -np.cos(angle)], [np.cos(angle), -np.sin(angle)]])
    south = np.column_stack([(1 - c_rel_s) * b, (1 - c_irrel_s) * l])
    points = np.zeros((2 * n, 3))
    points[:n, 0], points[:n, 1] = (1 - c_irrel_n) * b, (1 - c_rel_n) * l
    points[n:, :2], points[n:, 2] = south @ rotation, offset
    grad = np.zeros((6, 2 * n, 3))
    grad[0, :n, 1] = -l
    grad[1, n:, :2] = np.column_stack([-b, zero]) @ rotation
    grad[2, :n, 0] = -b
    grad[3, n:, :2] = np.column_stack([zero, -l]) @ rotation
    grad[4, n:, :2] = south @ turn
    grad[5, n:, 2] = 1.0
    return points, grad


def paper_distances(theta, n_levels: int = 5) -> np.ndarray:
    """``lower``-order Euclidean distances of ``paper_coordinates``, divided by their maximum."""
    points = paper_coordinates(theta, n_levels)
    d = pdist(points)[_lower_order(len(points))]
    top = d.max()
    return d / top if top > 0 else d


def _paper_sse(theta, y: np.ndarray, n_levels: int) -> tuple[float, np.ndarray]:
    """Sum of squared errors between data ``y`` (``pdist`` order, max-scaled) and the model's max-scaled
    distances, and its gradient: with w = residual / distance per pair as a square matrix W, the
    gradient of sum(r * d) is sum over points of dp_i . (rowsum(W)_i p_i - (W p)_i)."""
    points, grad = _paper_points(theta, n_levels)
    d = pdist(points)
    top = int(np.argmax(d))
    if d[top] <= 0:
        return float(y @ y), np.zeros(6)
    r = y - d / d[top]
    w = squareform(np.divide(r, d, out=np.zeros_like(d), where=d > 0))
    pull = w.sum(axis=1)[:, None] * points - w @ points
    first = np.einsum("qpk,pk->q", grad, pull)
    a, b = (index[top] for index in _pairs(len(points)))
    d_top = (grad[:, a] - grad[:, b]) @ (points[a] - points[b])
    rd = float(r @ d) / d[top]
    return float(r @ r), -2.0 / d[top] * (first - rd * d_top / d[top])


@cache
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The points (i, j), i < j, of each position in ``pdist``'s condensed order of ``n`` points."""
    return np.triu_indices(n, 1)


def fit_compression_paper(data_rdm: np.ndarray, n_restarts: int = 100, seed: int = 0) -> CompressionFit:
    """The paper's fit: the data RDM divided by its maximum, the sum of squared differences from
    ``paper_distances`` minimised by L-BFGS-B (analytic gradient; the paper's code let scipy difference
    it numerically: same minima, ~50x faster) within ``PAPER_BOUNDS`` from ``n_restarts`` starts (c's and
    offset uniform in their bounds, rotation a whole degree in -90..90, drawn with ``seed``), the
    **mean** of the restarts' estimates reported; ``params`` holds it as gains 1 - c."""
    y, n_levels = _checked(data_rdm, n_restarts)
    if y.max() <= 0:
        raise ValueError("the paper's compression model needs an RDM with a positive dissimilarity")
    y = squareform(square(y / y.max()))   # pdist order, as the model's distances
    rng = np.random.default_rng(seed)
    def sse(theta):
        return _paper_sse(theta, y, n_levels)
    estimates, costs = [], []
    with threadpool_limits(1):   # tiny products: a threaded BLAS on a busy machine made each fit ~20x slower
        for _ in range(n_restarts):
            start = np.r_[rng.uniform(0, 1, 4), rng.integers(-90, 91), rng.uniform(0, 2)]
            result = minimize(sse, start, jac=True, method="L-BFGS-B", bounds=PAPER_BOUNDS)
            estimates.append(result.x)
            costs.append(0.5 * float(result.fun))
    estimates = np.array(estimates)
    mean = estimates.mean(axis=0)
    paper = dict(zip(PAPER_PARAMETERS, mean.tolist()))
    gains = {"north_relevant": 1 - paper["c_rel_north"], "north_irrelevant": 1 - paper["c_irrel_north"],
             "south_relevant": 1 - paper["c_rel_south"], "south_irrelevant": 1 - paper["c_irrel_south"],
             "rotation_deg": paper["rotation_deg"], "context_offset": paper["context_offset"]}
    cost = 0.5 * sse(mean)[0]
    return CompressionFit(params=gains, cost=cost, rmse=float(np.sqrt(2 * cost / y.size)), restart_costs=costs,
                          seed=seed, n_levels=n_levels, model="paper", paper_params=paper,
                          paper_params_sd=dict(zip(PAPER_PARAMETERS, estimates.std(axis=0).tolist())))
