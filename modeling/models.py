"""The psychometric choice models (docs/modeling.md), as data: a registry of ``Model`` entries.

Every model predicts, per context c,

    p(accept) = lapse_c + (1 - 2 lapse_c) / (1 + exp(-slope_c (x . n_c - offset_c)))

with x = (branchiness - 3, leafiness - 3) and n_c the unit normal of the boundary, at angle
``base_c + delta_c``. The base is the context's reward gradient (``rule``), the direction of
g_A + g_B (``shared``, the one-boundary "linear" model) or the direction of the other context's
rule orthogonal to this one (``irrelevant``). delta (degrees, in [-90, 90]) is the boundary bias.

Parameter names: a shared parameter is named by its kind (``slope``); a per-context one adds the
context label (``delta_north``, ``slope_south``), so any two context labels work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from garden.modeling.cells import RuleGradients

KINDS = ("delta", "slope", "offset", "lapse")
DEFAULTS = {"delta": 0.0, "slope": 0.0, "offset": 0.0, "lapse": 0.0}
BOUNDS = {"delta": (-90.0, 90.0), "slope": (0.0, 20.0), "offset": (-1.0, 1.0), "lapse": (0.0, 0.5)}
"""Parameter bounds: delta in degrees, slope per feature level, offset in feature levels."""


@dataclass(frozen=True)
class Model:
    """A choice model: which parameters are free, shared (ctx None) or per context (0/1)."""

    name: str
    description: str
    base: str
    free: tuple[tuple[str, int | None], ...]
    slope_bounds: tuple[float, float] = BOUNDS["slope"]

    @property
    def k(self) -> int:
        """Number of free parameters."""
        return len(self.free)

    def names(self, contexts: tuple[str, str]) -> list[str]:
        """Parameter names for these context labels, in the order of ``free``."""
        return [kind if ctx is None else f"{kind}_{contexts[ctx]}" for kind, ctx in self.free]

    def bounds(self) -> np.ndarray:
        """(k, 2) lower/upper bounds in the order of ``free``."""
        return np.array([self.slope_bounds if kind == "slope" else BOUNDS[kind] for kind, _ in self.free])

    def context_params(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Per-context parameters {kind: (B, 2)} from a batch of parameter vectors theta (B, k)."""
        theta = np.atleast_2d(np.asarray(theta, float))
        out = {kind: np.full((theta.shape[0], 2), DEFAULTS[kind]) for kind in KINDS}
        for j, (kind, ctx) in enumerate(self.free):
            if ctx is None:
                out[kind][:, :] = theta[:, j:j + 1]
            else:
                out[kind][:, ctx] = theta[:, j]
        return out

    def theta(self, params: dict[str, float], contexts: tuple[str, str]) -> np.ndarray:
        """Parameter vector (k,) from a dict keyed by ``names(contexts)``; KeyError names what is missing."""
        names = self.names(contexts)
        missing = [n for n in names if n not in params]
        if missing:
            raise KeyError(f"model {self.name!r} needs parameter(s) {missing} (has {sorted(params)})")
        return np.array([float(params[n]) for n in names])


def psychometric(x_branchiness, x_leafiness, angle, slope, offset, lapse) -> np.ndarray:
    """The model equation, broadcasting over all arguments: p(accept) =
    lapse + (1 - 2 lapse) / (1 + exp(-slope (x . n - offset))), n = (cos angle, sin angle).

    x in centred feature levels, ``angle`` of the boundary normal in radians, slope per level,
    offset in levels. The one place the equation is written (fits, grids, predictions, agents).
    """
    d = x_branchiness * np.cos(angle) + x_leafiness * np.sin(angle)
    return lapse + (1 - 2 * lapse) * expit(slope * (d - offset))


def psychometric_gradient(x_branchiness, x_leafiness, angle, slope, offset, lapse
                          ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """p(accept) of ``psychometric`` and its partial derivatives {kind: dp/dkind}, broadcast to
    p's shape; the one for ``delta`` per degree of the boundary normal's angle (``angle`` itself
    in radians), the others per unit of slope, offset (levels) and lapse."""
    cos, sin = np.cos(angle), np.sin(angle)
    centred = x_branchiness * cos + x_leafiness * sin - offset           # x . n - offset
    s = expit(slope * centred)
    gain = 1 - 2 * lapse
    p = lapse + gain * s
    ds = gain * s * (1 - s)
    along = x_leafiness * cos - x_branchiness * sin                      # d(x . n) / d angle
    partial = {"delta": ds * along * (slope * np.pi / 180.0), "slope": ds * centred, "offset": ds * -slope,
               "lapse": 1.0 - 2.0 * s}
    return p, {kind: g if g.shape == p.shape else np.broadcast_to(g, p.shape) for kind, g in partial.items()}


def p_accept(model: Model, theta: np.ndarray, rules: RuleGradients, context: np.ndarray, x: np.ndarray
             ) -> np.ndarray:
    """p(accept) (B, n) for a batch of parameter vectors theta (B, k) at n items (context index, x)."""
    cp = model.context_params(theta)
    angle = rules.base_angles(model.base)[None, :] + np.deg2rad(cp["delta"])
    return psychometric(x[:, 0], x[:, 1], angle[:, context], cp["slope"][:, context], cp["offset"][:, context],
                        cp["lapse"][:, context])


def boundary_angles(model: Model, theta: np.ndarray, rules: RuleGradients) -> np.ndarray:
    """Boundary angle per context (2,) in degrees, counter-clockwise from the +branchiness axis
    (the published convention: the boundary lies 90 deg from its normal)."""
    cp = model.context_params(theta)
    normal = np.rad2deg(rules.base_angles(model.base)) + cp["delta"][0]
    return normal + 90.0


def bias_towards_shared(model: Model, theta: np.ndarray, rules: RuleGradients) -> np.ndarray:
    """Per-context rotation (degrees, (2,), in (-180, 180]) of the fitted boundary normal from the
    context's rule, signed positive towards the shared (g_A + g_B) direction: delta for the
    factorized models; for ``linear`` the rotation of its one boundary from each rule (45 deg
    under orthogonal rules at delta = 0). NaN for models without a boundary parameter."""
    if not any(kind == "delta" for kind, _ in model.free):
        return np.full(2, np.nan)
    cp = model.context_params(theta)
    normal = np.rad2deg(rules.base_angles(model.base)) + cp["delta"][0]
    rotation = -((np.rad2deg(rules.rule_angles()) - normal + 180.0) % 360.0 - 180.0)
    towards = []
    for c in (0, 1):
        u, total = rules.unit(c), rules.gradients[0] + rules.gradients[1]
        cross = u[0] * total[1] - u[1] * total[0]
        towards.append(np.sign(cross) if abs(cross) > 1e-12 else 1.0)
    return rotation * np.array(towards)


def canonical_boundary_angles(model: Model, theta: np.ndarray, rules: RuleGradients, symmetry: np.ndarray
                              ) -> np.ndarray:
    """Boundary angle per context (2,) in degrees [0, 360) in the frame of the canonical rule:
    the boundary normal mapped by the grid symmetry ``symmetry`` (``garden.core.task.canonical_symmetry``),
    plus 90 deg. Comparable across counterbalancing codes of one kind."""
    normal = np.deg2rad(boundary_angles(model, theta, rules) - 90.0)
    mapped = symmetry @ np.stack([np.cos(normal), np.sin(normal)])
    return (np.rad2deg(np.arctan2(mapped[1], mapped[0])) + 90.0) % 360.0


_FACTORIZED = (("delta", 0), ("delta", 1), ("slope", None), ("offset", None), ("lapse", None))
_FULL = (("delta", 0), ("delta", 1), ("slope", 0), ("slope", 1), ("offset", 0), ("offset", 1),
         ("lapse", 0), ("lapse", 1))
_LINEAR = (("delta", None), ("slope", None), ("offset", None), ("lapse", None))
_SLOPE_ONLY = (("slope", None),)
_SIGNED_SLOPE = (-20.0, 20.0)

MODELS: dict[str, Model] = {m.name: m for m in (
    Model("factorized", "one boundary per context (relative to its rule); shared slope, offset, lapse",
          "rule", _FACTORIZED),
    Model("factorized_full", "one boundary, slope, offset and lapse per context", "rule", _FULL),
    Model("linear", "one shared boundary for both contexts (relative to g_A + g_B); slope, offset, lapse",
          "shared", _LINEAR),
    Model("sigmoid_relevant", "slope-only sigmoid along each context's relevant feature (its rule)",
          "rule", _SLOPE_ONLY, _SIGNED_SLOPE),
    Model("sigmoid_irrelevant", "slope-only sigmoid along the irrelevant feature (the other context's rule)",
          "irrelevant", _SLOPE_ONLY, _SIGNED_SLOPE),
)}
"""Registry of choice models, found by name."""

DEFAULT_MODELS = ("factorized", "factorized_full", "linear")


def get_model(name: str) -> Model:
    """The registered model called ``name``; ValueError listing the known names otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}: choose from {', '.join(MODELS)}") from None
