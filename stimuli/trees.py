"""Procedural trees graded in branchiness and leafiness, drawn with Pillow only.

Why: the task needs many exemplars per (branchiness, leafiness) cell that differ from each other
but stay recognisably in their cell, and the lab must be able to regenerate any set bit for bit.

How: a fractal grown one generation at a time. A trunk segment splits into two (sometimes three:
left, right, straight) children with jittered angles and shrinking lengths and widths; branchiness sets the number of
generations, the spread of the children and the chance of a third child. Leaves are small discs
placed along the outer branches with a density set by leafiness (none at level 1); a share of them
is drawn behind the branches in darker greens, the rest in front in brighter greens. Geometry is
computed in unit coordinates (the image is the unit square, y downwards) from a random generator
seeded by ``(seed, branchiness, leafiness, exemplar)``, then drawn at ``supersample`` times the
output size and reduced with a box filter, so the same arguments give identical pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from garden.core.errors import UserError

GENERATOR_VERSION = "1.0.0"
"""Bump whenever the pixels of any tree change: manifests record it."""

LEVELS = (1, 2, 3, 4, 5)

BASE_XY = (0.5, 0.8)
"""Where the trunk meets the ground, in unit image coordinates (x right, y down)."""
TRUNK_LENGTH = 0.15
TRUNK_WIDTH = 0.024
MAX_TILT_DEG = 125.0
"""Branches never point further than this from vertical (keeps crowns from curling under)."""
MARGIN = 0.02
"""Trees are shrunk about the trunk base when they would come closer than this to an edge."""


@dataclass(frozen=True)
class BranchLevel:
    """Growth parameters of one branchiness level (angles in degrees, lengths in image units)."""

    generations: int
    spread_deg: float
    jitter_deg: float
    third_child_p: float
    length_ratio: float
    first_length: float


@dataclass(frozen=True)
class LeafLevel:
    """Foliage of one leafiness level: discs per unit of outer-branch length and their radius."""

    density: float
    radius: float


BRANCH_LEVELS: dict[int, BranchLevel] = {
    1: BranchLevel(generations=4, spread_deg=3.0, jitter_deg=2.0, third_child_p=0.3,
                    length_ratio=0.86, first_length=0.17),
    2: BranchLevel(generations=5, spread_deg=5.5, jitter_deg=4.0, third_child_p=0.3,
                    length_ratio=0.84, first_length=0.15),
    3: BranchLevel(generations=6, spread_deg=12.0, jitter_deg=6.0, third_child_p=0.3,
                    length_ratio=0.8, first_length=0.14),
    4: BranchLevel(generations=6, spread_deg=17.0, jitter_deg=9.0, third_child_p=0.35,
                    length_ratio=0.8, first_length=0.15),
    5: BranchLevel(generations=7, spread_deg=38.0, jitter_deg=12.0, third_child_p=0.4,
                    length_ratio=0.78, first_length=0.17),
}
LEAF_LEVELS: dict[int, LeafLevel] = {
    1: LeafLevel(density=0.0, radius=0.0),
    2: LeafLevel(density=9.0, radius=0.006),
    3: LeafLevel(density=25.0, radius=0.006),
    4: LeafLevel(density=70.0, radius=0.006),
    5: LeafLevel(density=300.0, radius=0.006),
}

BARK = (60, 31, 8)
BARK_STEP = (4, 3, 2)
"""Bark lightens by this much (RGB) per generation, from the dark trunk to the paler twigs."""
LEAF_FRONT = (168, 212, 96)
LEAF_BEHIND = (118, 158, 62)
BEHIND_SHARE = 0.4


@dataclass
class TreeGeometry:
    """A tree in unit image coordinates.

    ``segments`` rows: x0, y0, x1, y1, width0, width1, generation (a tapering branch piece;
    generation 0 is the trunk);
    ``leaves`` rows: x, y, radius, r, g, b, front (1 drawn over the branches, 0 behind).
    """

    segments: np.ndarray
    leaves: np.ndarray = field(default_factory=lambda: np.zeros((0, 7)))


def check_levels(branchiness: int, leafiness: int) -> None:
    """Raise UserError unless both features are integer levels 1..5."""
    for name, value in (("branchiness", branchiness), ("leafiness", leafiness)):
        if not isinstance(value, (int, np.integer)) or value not in LEVELS:
            raise UserError(f"{name}={value!r}: must be an integer level 1..5")


def tree_rng(branchiness: int, leafiness: int, exemplar: int, seed: int) -> np.random.Generator:
    """The random generator of one tree: independent streams per (seed, cell, exemplar)."""
    if exemplar < 0 or seed < 0:
        raise UserError(f"exemplar={exemplar}, seed={seed}: both must be non-negative integers")
    key = (int(branchiness), int(leafiness), int(exemplar))
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=key))


def _grow_branches(level: BranchLevel, rng: np.random.Generator) -> np.ndarray:
    """Segments (x0, y0, x1, y1, w0, w1, generation) of the trunk (generation 0) and branches.

    Grown one generation at a time: every tip gets a left and a right child (and, with probability
    ``third_child_p``, a straight one), each turned by the jittered spread and shortened.
    """
    spread, jitter = math.radians(level.spread_deg), math.radians(level.jitter_deg)
    max_tilt = math.radians(MAX_TILT_DEG)
    x0, y0 = BASE_XY
    top = y0 - TRUNK_LENGTH * rng.uniform(0.9, 1.1)
    width = TRUNK_WIDTH * 0.8
    pieces = [np.array([[x0, y0, x0, top, TRUNK_WIDTH, width, 0.0]])]
    x, y = np.array([x0]), np.array([top])
    angle, length = rng.normal(0.0, 0.05, 1), np.array([level.first_length])
    for generation in range(1, level.generations + 1):
        third = np.flatnonzero(rng.random(x.size) < level.third_child_p)
        parent = np.concatenate([np.arange(x.size), np.arange(x.size), third])
        offset = np.concatenate([np.full(x.size, -spread), np.full(x.size, spread), np.zeros(third.size)])
        a = angle[parent] + offset * rng.uniform(0.6, 1.4, parent.size) + rng.normal(0.0, jitter, parent.size)
        a = np.clip(a, -max_tilt, max_tilt)
        seg_length = length[parent] * rng.uniform(0.7, 1.2, parent.size)
        x1, y1 = x[parent] + seg_length * np.sin(a), y[parent] - seg_length * np.cos(a)
        child_width = width * 0.7
        pieces.append(np.column_stack([x[parent], y[parent], x1, y1, np.full(parent.size, width),
                                       np.full(parent.size, child_width), np.full(parent.size, generation)]))
        x, y, angle, length, width = x1, y1, a, length[parent] * level.length_ratio, child_width
    return np.concatenate(pieces)


def _grow_leaves(segments: np.ndarray, n_generations: int, level: LeafLevel,
                 rng: np.random.Generator) -> np.ndarray:
    """Leaf discs scattered along the outer branches (the last three generations)."""
    if level.density == 0.0:
        return np.zeros((0, 7))
    outer = segments[segments[:, 6] >= max(1, n_generations - 2)]
    lengths = np.hypot(outer[:, 2] - outer[:, 0], outer[:, 3] - outer[:, 1])
    counts = rng.poisson(level.density * lengths)
    owner = np.repeat(np.arange(len(outer)), counts)
    t = rng.uniform(0.0, 1.0, owner.size)
    xs = outer[owner, 0] + t * (outer[owner, 2] - outer[owner, 0]) + rng.normal(0.0, 0.012, owner.size)
    ys = outer[owner, 1] + t * (outer[owner, 3] - outer[owner, 1]) + rng.normal(0.0, 0.012, owner.size)
    radius = level.radius * rng.uniform(0.7, 1.3, owner.size)
    front = rng.random(owner.size) >= BEHIND_SHARE
    base = np.where(front[:, None], LEAF_FRONT, LEAF_BEHIND)
    colour = np.clip(base + rng.normal(0.0, 10.0, (owner.size, 1)) + rng.normal(0.0, 5.0, (owner.size, 3)), 0, 255)
    return np.column_stack([xs, ys, radius, np.round(colour), front])


def _fit_in_frame(geometry: TreeGeometry) -> TreeGeometry:
    """Shrink the tree about its trunk base if any part would leave the margin of the image."""
    seg, leaves = geometry.segments, geometry.leaves
    xs = np.concatenate([seg[:, 0], seg[:, 2], leaves[:, 0] - leaves[:, 2], leaves[:, 0] + leaves[:, 2]])
    ys = np.concatenate([seg[:, 1], seg[:, 3], leaves[:, 1] - leaves[:, 2], leaves[:, 1] + leaves[:, 2]])
    bx, by = BASE_XY
    lo, hi = MARGIN, 1.0 - MARGIN
    scale = 1.0
    for values, centre in ((xs, bx), (ys, by)):
        below, above = values.min() - centre, values.max() - centre
        if below < lo - centre:
            scale = min(scale, (lo - centre) / below)
        if above > hi - centre:
            scale = min(scale, (hi - centre) / above)
    if scale >= 1.0:
        return geometry
    seg = seg.copy()
    seg[:, [0, 2]] = bx + (seg[:, [0, 2]] - bx) * scale
    seg[:, [1, 3]] = by + (seg[:, [1, 3]] - by) * scale
    seg[:, 4:6] *= scale
    leaves = leaves.copy()
    leaves[:, 0] = bx + (leaves[:, 0] - bx) * scale
    leaves[:, 1] = by + (leaves[:, 1] - by) * scale
    leaves[:, 2] *= scale
    return TreeGeometry(seg, leaves)


def grow_tree(branchiness: int, leafiness: int, exemplar: int, seed: int = 0) -> TreeGeometry:
    """The geometry of one tree (unit image coordinates); pure function of its arguments."""
    check_levels(branchiness, leafiness)
    rng = tree_rng(branchiness, leafiness, exemplar, seed)
    level = BRANCH_LEVELS[branchiness]
    segments = _grow_branches(level, rng)
    leaves = _grow_leaves(segments, level.generations, LEAF_LEVELS[leafiness], rng)
    return _fit_in_frame(TreeGeometry(segments, leaves))


def _draw_leaves(draw: ImageDraw.ImageDraw, leaves: np.ndarray, scale: float) -> None:
    """Discs at pixel-rounded bounding boxes (computed vectorised; the loop only draws)."""
    x, y = leaves[:, 0] * scale, leaves[:, 1] * scale
    r = np.maximum(leaves[:, 2] * scale, 1.0)
    boxes = np.round(np.column_stack([x - r, y - r, x + r, y + r])).astype(int).tolist()
    colours = leaves[:, 3:6].astype(int).tolist()
    for box, (red, green, blue) in zip(boxes, colours):
        draw.ellipse(box, fill=(red, green, blue, 255))


def _draw_branches(draw: ImageDraw.ImageDraw, segments: np.ndarray, scale: float, min_width: float) -> None:
    """Each piece is a tapering quadrilateral with a round joint at its far end."""
    seg = segments[:, :6] * scale
    x0, y0, x1, y1 = seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3]
    h0, h1 = np.maximum(seg[:, 4], min_width) / 2, np.maximum(seg[:, 5], min_width) / 2
    length = np.maximum(np.hypot(x1 - x0, y1 - y0), 1e-9)
    nx, ny = -(y1 - y0) / length, (x1 - x0) / length
    quads = np.round(np.column_stack([x0 + nx * h0, y0 + ny * h0, x1 + nx * h1, y1 + ny * h1,
                                      x1 - nx * h1, y1 - ny * h1, x0 - nx * h0, y0 - ny * h0])).astype(int)
    joints = np.round(np.column_stack([x1 - h1, y1 - h1, x1 + h1, y1 + h1])).astype(int)
    colours = [tuple(int(c + s * g) for c, s in zip(BARK, BARK_STEP)) + (255,) for g in range(16)]
    for quad, joint, radius, generation in zip(quads.tolist(), joints.tolist(), h1.tolist(),
                                               segments[:, 6].astype(int).tolist()):
        fill = colours[min(generation, 15)]
        draw.polygon(quad, fill=fill)
        if radius >= 1.0:
            draw.ellipse(joint, fill=fill)


def draw_tree(geometry: TreeGeometry, size_px: int, supersample: int = 2) -> Image.Image:
    """Render a geometry to an RGBA image of ``size_px`` square (transparent background)."""
    if size_px < 8:
        raise UserError(f"size_px={size_px}: trees need at least 8 pixels")
    big = size_px * supersample
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    leaves = geometry.leaves
    _draw_leaves(draw, leaves[leaves[:, 6] == 0], big)
    _draw_branches(draw, geometry.segments, big, min_width=float(supersample))
    _draw_leaves(draw, leaves[leaves[:, 6] == 1], big)
    if supersample == 1:
        return image
    return image.convert("RGBa").reduce(supersample).convert("RGBA")


def render_tree(branchiness: int, leafiness: int, exemplar: int, size_px: int, seed: int = 0,
                supersample: int = 2) -> Image.Image:
    """One tree as an RGBA image ``size_px`` pixels square; same arguments, same pixels."""
    return draw_tree(grow_tree(branchiness, leafiness, exemplar, seed), size_px, supersample)
