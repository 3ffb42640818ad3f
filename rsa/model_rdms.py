"""Model RDMs: hypothesised geometries of the task conditions, and ideal choice patterns.

Geometry models (docs/networks.md). Conditions are context x branchiness x leafiness (leafiness fastest,
``n_levels`` per feature: 5 for the tree task = 50 conditions, 6 for the Mante et al. monkey design =
72). Each condition gets centred feature coordinates a = leafiness - centre, b = branchiness -
centre (centre = (n_levels + 1) / 2, so a, b in -2..2 for 5 levels), which each context maps
linearly into a plane (x, y); the second context ("south") sits ``context_offset`` feature units
away on a third axis z. The RDM is the Euclidean distance between those 3-D points.

==================  =============================  ================================
model               north (leafiness relevant)     south (branchiness relevant)
==================  =============================  ================================
grid                (a, b)                         (a, b)
orthogonal          (a, 0)                         (0, b)
parallel            (a, 0)                         (b, 0)
rotated_grid        (a, b)                         (b, -a)  (plane turned -90 deg)
only_branchiness    (0, b)                         (0, b)
only_leafiness      (a, 0)                         (a, 0)
diagonal            ((a+b)/2, (a+b)/2)             ((a+b)/2, (a+b)/2)
==================  =============================  ================================

All seven are special cases of ``compression_maps`` (the 6-parameter model of
``garden.rsa.compression_model``) except ``diagonal``. The published copies of this helper used a
context offset of 0, 1 or 3; here it is always an explicit argument.

Choice models (2022; docs/modeling.md): ideal p(accept) per condition, compared as ``choice_rdm``
(|p_i - p_j|): "factorized" steps along each context's relevant feature ([0, 0, .5, 1, 1] under
rule 1), "linear" uses one boundary for both contexts (the sign of the two rules' summed values: the
b + l = 6 diagonal under rule 1).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd
from scipy.spatial.distance import pdist, squareform

from garden.core.task import CONTEXTS, LEVELS, condition_features, get_rule, item_table
from garden.rsa.distances import choice_rdm
from garden.rsa.rdms import RDMs

IDENTITY = np.eye(2)
KEEP_A = np.array([[1.0, 0.0], [0.0, 0.0]])  # (a, b) -> (a, 0)
KEEP_B = np.array([[0.0, 0.0], [0.0, 1.0]])  # (a, b) -> (0, b)
B_ON_X = np.array([[0.0, 1.0], [0.0, 0.0]])  # (a, b) -> (b, 0)
TURN = np.array([[0.0, 1.0], [-1.0, 0.0]])  # (a, b) -> (b, -a): rotation by -90 deg
DIAGONAL = np.full((2, 2), 0.5)  # (a, b) -> ((a+b)/2, (a+b)/2)


def mapped_coordinates(maps: np.ndarray, context_offset: float = 1.0, n_levels: int = 5) -> np.ndarray:
    """(2 * n_levels**2, 3) points: context k's centred (a, b) mapped by ``maps[k]`` (2 x 2) into
    (x, y), and z = k * context_offset (feature units)."""
    maps = np.asarray(maps, dtype=float)
    if maps.shape != (2, 2, 2):
        raise ValueError(f"maps must be one 2 x 2 matrix per context, shape (2, 2, 2), got {maps.shape}")
    ctx, b, l = condition_features(n_levels)
    centre = (n_levels + 1) / 2
    ab = np.stack([l - centre, b - centre], axis=1)
    xy = np.einsum("nij,nj->ni", maps[ctx], ab)
    return np.column_stack([xy, ctx * float(context_offset)])


def compression_maps(north_relevant: float, north_irrelevant: float, south_relevant: float,
                     south_irrelevant: float, rotation_deg: float) -> np.ndarray:
    """The (2, 2, 2) maps of the compression/rotation model: each context scales its relevant and
    irrelevant feature (north: leafiness relevant, south: branchiness relevant), then the south
    plane turns by ``rotation_deg`` degrees in (x, y). All ones and 0 deg is the grid."""
    north = np.diag([north_relevant, north_irrelevant])
    theta = np.deg2rad(rotation_deg)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    south = rotation @ np.diag([south_irrelevant, south_relevant])
    return np.stack([north, south])


_MAPS = {
    "grid": (IDENTITY, IDENTITY),
    "orthogonal": (KEEP_A, KEEP_B),
    "parallel": (KEEP_A, B_ON_X),
    "rotated_grid": (IDENTITY, TURN),
    "only_branchiness": (KEEP_B, KEEP_B),
    "only_leafiness": (KEEP_A, KEEP_A),
    "diagonal": (DIAGONAL, DIAGONAL),
}

#: name -> coordinates(context_offset, n_levels) -> (2 * n_levels**2, n_dims) points
MODEL_RDMS: dict[str, Callable[[float, int], np.ndarray]] = {
    name: partial(mapped_coordinates, np.stack(maps)) for name, maps in _MAPS.items()
}


def model_coordinates(name: str, context_offset: float = 1.0, n_levels: int = 5) -> np.ndarray:
    """The points of geometry model ``name`` (a key of ``MODEL_RDMS``), one row per condition."""
    if name not in MODEL_RDMS:
        raise ValueError(f"unknown model RDM {name!r}: use one of {sorted(MODEL_RDMS)}")
    return MODEL_RDMS[name](context_offset, n_levels)


def model_rdm(name: str, context_offset: float = 1.0, n_levels: int = 5) -> np.ndarray:
    """(2 * n_levels**2, 2 * n_levels**2) Euclidean RDM of geometry model ``name``."""
    return squareform(pdist(model_coordinates(name, context_offset, n_levels)))


def model_rdms(names: list[str] | None = None, context_offset: float = 1.0, n_levels: int = 5) -> RDMs:
    """Several geometry model RDMs (all of ``MODEL_RDMS`` by default) as one ``RDMs`` stack: rdm
    descriptor ``model`` (the name), pattern descriptors context, branchiness, leafiness
    (``condition_features`` order), ready for ``garden.rsa.compare.regress_rdms``."""
    names = names or list(MODEL_RDMS)
    return RDMs(np.stack([model_rdm(name, context_offset, n_levels) for name in names]),
                condition_table(n_levels), pd.DataFrame({"model": names}),
                dissimilarity_measure="euclidean")


def condition_table(n_levels: int = 5) -> pd.DataFrame:
    """context (name), branchiness, leafiness of the 2 * n_levels**2 conditions (the pattern descriptors
    of model RDMs; the first columns of ``garden.core.task.item_table`` for 5 levels)."""
    ctx, b, l = condition_features(n_levels)
    return pd.DataFrame({"context": np.asarray(CONTEXTS, dtype=object)[ctx], "branchiness": b, "leafiness": l})


def _factorized_choices(rule_code: int) -> np.ndarray:
    """Ideal p(accept) per 50 conditions: accept where the own context's value is > 0, 0.5 at 0."""
    ctx, b, l = condition_features(len(LEVELS))
    return (np.sign(get_rule(rule_code).value(ctx, b, l)) + 1) / 2


def _linear_choices(rule_code: int) -> np.ndarray:
    """Ideal p(accept) of one boundary for both contexts: the sign of the two rules' summed values."""
    ctx, b, l = condition_features(len(LEVELS))
    rule = get_rule(rule_code)
    summed = rule.value(np.zeros_like(ctx), b, l) + rule.value(np.ones_like(ctx), b, l)
    return (np.sign(summed) + 1) / 2


#: name -> ideal p(accept) over the 50 task conditions for a counterbalancing rule code
CHOICE_MODELS: dict[str, Callable[[int], np.ndarray]] = {
    "factorized": _factorized_choices,
    "linear": _linear_choices,
}


def choice_model_rdm(name: str, rule_code: int = 1) -> np.ndarray:
    """(50, 50) RDM |p_i - p_j| of the ideal choices of choice model ``name`` (``CHOICE_MODELS``)."""
    if name not in CHOICE_MODELS:
        raise ValueError(f"unknown choice model {name!r}: use one of {sorted(CHOICE_MODELS)}")
    return choice_rdm(CHOICE_MODELS[name](rule_code))


def choice_model_rdms(names: tuple[str, ...] | list[str] = tuple(CHOICE_MODELS), rule_code: int = 1) -> RDMs:
    """``choice_model_rdm`` of each name as one ``RDMs`` stack (rdm descriptor ``model``), pattern
    descriptors the items of ``rule_code`` (context, branchiness, leafiness, reward_value)."""
    items = item_table(rule_code)[["context", "branchiness", "leafiness", "reward_value"]]
    return RDMs(np.stack([choice_model_rdm(name, rule_code) for name in names]), items,
                pd.DataFrame({"model": list(names)}), dissimilarity_measure="|p_i - p_j|")
