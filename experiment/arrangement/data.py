"""The tree-arrangement ("arena") task without a display: layouts, dragging, RDMs and files.

Paradigm §5: all 25 trees (one per branchiness x leafiness cell) start at random slots on a
ring inside a circular arena; the participant drags them so that distance reflects
dissimilarity. Per arrangement, Euclidean distances between the final positions are divided by
their maximum; the participant's 25 x 25 RDM is the mean over arrangements.

Coordinates are in **arena-radius units**: origin at the arena centre, x to the right, y up,
the arena edge at radius 1. Conditions are in the project order, branchiness-major and
leafiness fastest: index = (b - 1) * 5 + (l - 1).

Files (BIDS-like, beside the main task's session folder)::

    sub-<id>/ses-<n>/beh/sub-<id>_ses-<n>_task-arrangement_phase-<phase>_beh.tsv   one row per tree
                                                                 ..._beh.json  sidecar (config, seed)
                                                                 ..._rdm.tsv / _rdm.npy / _rdm.json

The tree table is appended and fsynced after every arrangement; nothing is ever overwritten.
This module never imports psychopy: ``garden.experiment.arrangement.task`` draws, this module decides.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from garden.core.errors import UserError
from garden.core.files import DurableAppend, write_file, write_npy
from garden.core.provenance import write_sidecar
from garden.core.task import cell_index
from garden.core.trials import check_participant_id, format_value, session_path

N_LEVELS = 5
CELLS: np.ndarray = np.array([(b, l) for b in range(1, N_LEVELS + 1) for l in range(1, N_LEVELS + 1)])
"""(25, 2) array of (branchiness, leafiness) in condition order (leafiness fastest)."""
N_TREES = len(CELLS)
LABELS: tuple[str, ...] = tuple(f"B{b}L{l}" for b, l in CELLS)
PHASE = re.compile(r"^[A-Za-z0-9]+$")

COLUMNS: dict[str, str] = {
    "participant_id": "Participant label: letters and digits only.",
    "session": "Session number (1-based).",
    "phase": "When the arrangement was done, e.g. pre or post (training).",
    "arrangement": "Arrangement number, 1-based within the session.",
    "branchiness": "Branchiness level of the tree (1..5).",
    "leafiness": "Leafiness level of the tree (1..5).",
    "exemplar": "Exemplar label of the tree within its cell (same in every arrangement).",
    "start_x": "Start position, x (arena-radius units, origin at the centre, right positive).",
    "start_y": "Start position, y (arena-radius units, origin at the centre, up positive).",
    "final_x": "Final position, x (arena-radius units).",
    "final_y": "Final position, y (arena-radius units).",
    "moves": "Number of drags that moved this tree in this arrangement.",
    "arrangement_duration": "Time from the arrangement's first frame to the 'done' click (s).",
    "arrangement_moves": "Number of drags that moved any tree in this arrangement.",
}
UNITS = {"start_x": "arena radius", "start_y": "arena radius", "final_x": "arena radius",
         "final_y": "arena radius", "arrangement_duration": "s"}
_INT_COLUMNS = ("session", "arrangement", "branchiness", "leafiness", "moves", "arrangement_moves")
_FLOAT_COLUMNS = ("start_x", "start_y", "final_x", "final_y", "arrangement_duration")
EDGE_TOLERANCE = 1e-6
"""Positions may lie this far outside the unit circle (rounding) before a file is rejected."""


# ---------------------------------------------------------------- RDM

def arrangement_rdm(positions: Any) -> np.ndarray:
    """The participant RDM: per arrangement, distances divided by their max, then averaged.

    ``positions``: (n_arrangements, n_items, 2) or one arrangement (n_items, 2), items in
    condition order. Units do not matter (the result is scale free). Returns (n_items, n_items),
    symmetric, zero diagonal, values in [0, 1]. Raises ValueError for non-finite positions or an
    arrangement with every item at one point (its distances cannot be scaled).
    """
    pos = np.asarray(positions, dtype=float)
    if pos.ndim == 2:
        pos = pos[None]
    if pos.ndim != 3 or pos.shape[0] < 1 or pos.shape[1] < 2 or pos.shape[2] != 2:
        raise ValueError(f"positions must have shape (n_arrangements, n_items >= 2, 2); got {pos.shape}")
    if not np.all(np.isfinite(pos)):
        raise ValueError("positions contain NaN or infinite values")
    dist = np.linalg.norm(pos[:, :, None, :] - pos[:, None, :, :], axis=-1)
    largest = dist.max(axis=(1, 2))
    if np.any(largest <= 0):
        raise ValueError(f"arrangement(s) {list(np.flatnonzero(largest <= 0) + 1)} put every item "
                         "at one point; their distances cannot be scaled")
    return (dist / largest[:, None, None]).mean(axis=0)


# ---------------------------------------------------------------- start layouts and exemplars

def session_stream(seed: int, stream: int) -> np.random.SeedSequence:
    """Independent seed stream of a session: 0 = exemplar choice, k = start layout of arrangement k.

    Equal to child ``stream`` of ``SeedSequence(seed).spawn(...)``, whatever the number spawned.
    """
    return np.random.SeedSequence(int(seed), spawn_key=(int(stream),))


def ring_layout(rng: np.random.Generator, ring_radius: float = 0.8, n_items: int = N_TREES) -> np.ndarray:
    """Random start slots on a ring: (n_items, 2) positions in arena-radius units.

    ``n_items`` slots are evenly spaced on a circle of ``ring_radius`` (first slot at the top,
    going clockwise); item i goes to slot ``permutation[i]``.
    """
    if not 0 < ring_radius < 1:
        raise UserError(f"ring radius {ring_radius!r} is invalid: use a number between 0 and 1 "
                        "(arena-radius units)")
    slots = rng.permutation(n_items)
    angles = np.pi / 2 - 2 * np.pi * slots / n_items
    return ring_radius * np.column_stack([np.cos(angles), np.sin(angles)])


def start_layouts(seed: int, n_arrangements: int, ring_radius: float = 0.8) -> np.ndarray:
    """(n_arrangements, 25, 2) start positions of a session, reproducible from ``seed``."""
    return np.stack([ring_layout(np.random.default_rng(session_stream(seed, k)), ring_radius)
                     for k in range(1, int(n_arrangements) + 1)])


def choose_exemplars(options: Mapping[tuple[int, int], Sequence[str]], seed: int) -> list[str]:
    """One exemplar per cell, drawn uniformly from ``options[(b, l)]``; in condition order.

    Uses the session's exemplar stream (``session_stream(seed, 0)``), so the choice is
    independent of the layouts and reproducible from ``seed``.
    """
    rng = np.random.default_rng(session_stream(seed, 0))
    chosen = []
    for b, l in CELLS:
        labels = list(options.get((int(b), int(l)), ()))
        if not labels:
            raise UserError(f"no exemplar of tree B{b}L{l} to choose from; the stimulus set needs "
                            "at least one image per cell")
        chosen.append(str(labels[rng.integers(len(labels))]))
    return chosen


# ---------------------------------------------------------------- dragging

def clamp_to_disc(xy: Any, max_radius: float) -> np.ndarray:
    """Move points outside a disc of ``max_radius`` (centred at 0) onto its edge, radially."""
    xy = np.asarray(xy, dtype=float)
    r = np.linalg.norm(xy, axis=-1, keepdims=True)
    scale = np.where(r > max_radius, max_radius / np.where(r > 0, r, 1.0), 1.0)
    return xy * scale


def grab_mask(alpha: Any, grow_fraction: float = 0.02) -> np.ndarray:
    """Where a click grabs a tree image: its non-transparent pixels, grown by a small margin.

    ``alpha``: (rows, cols) alpha channel, row 0 at the top. The margin (``grow_fraction`` of the
    longer image side, at least 1 pixel) keeps thin stems and twigs easy to pick up.
    """
    mask = np.asarray(alpha) > 0
    grow = max(1, int(round(grow_fraction * max(mask.shape))))
    return ndimage.binary_dilation(mask, iterations=grow)


@dataclass
class Arena:
    """Trees on a circular arena and the mouse's grip on them (no drawing, no psychopy).

    ``positions`` (n, 2) tree centres and ``half_extent`` (n, 2) half width/height of each tree's
    image box, both in arena-radius units. A tree's centre stays within ``1 - max half extent``
    of the centre, so trees stay inside the circle. ``order`` is the drawing order (last drawn
    = on top); the tree picked up goes to the top and stays there. ``masks`` (optional, one
    boolean image per tree, see ``grab_mask``) let a click go to the topmost tree actually drawn
    under the pointer, not to a transparent corner of another tree's box.
    """

    positions: np.ndarray
    half_extent: np.ndarray
    order: list[int] = field(default_factory=list)
    moves: np.ndarray | None = None
    masks: Sequence[np.ndarray] | None = None
    held: int | None = field(default=None, init=False)
    _grip: np.ndarray = field(default_factory=lambda: np.zeros(2), init=False, repr=False)
    _picked_from: np.ndarray = field(default_factory=lambda: np.zeros(2), init=False, repr=False)

    def __post_init__(self) -> None:
        self.positions = np.array(self.positions, dtype=float)
        n = len(self.positions)
        self.half_extent = np.broadcast_to(np.asarray(self.half_extent, float), (n, 2)).copy()
        self.order = list(self.order) or list(range(n))
        self.moves = np.zeros(n, dtype=int) if self.moves is None else np.asarray(self.moves, int)
        self.positions = clamp_to_disc(self.positions, self.max_radius)

    @property
    def max_radius(self) -> np.ndarray:
        """Largest distance of each tree's centre from the arena centre (arena-radius units)."""
        return (1.0 - self.half_extent.max(axis=1))[:, None]

    def _drawn_at(self, tree: int, xy: np.ndarray) -> bool:
        """True if ``tree``'s grab mask covers point ``xy`` (which lies inside its box)."""
        mask = self.masks[tree]  # type: ignore[index]
        u = (xy - self.positions[tree]) / (2 * self.half_extent[tree]) + 0.5  # 0..1, x right, y up
        row = min(int((1 - u[1]) * mask.shape[0]), mask.shape[0] - 1)
        col = min(int(u[0] * mask.shape[1]), mask.shape[1] - 1)
        return bool(mask[row, col])

    def tree_at(self, xy: Any) -> int | None:
        """The topmost tree drawn under point ``xy``; else the topmost whose box holds it; else None."""
        xy = np.asarray(xy, float)
        inside = np.all(np.abs(self.positions - xy) <= self.half_extent, axis=1)
        candidates = [tree for tree in reversed(self.order) if inside[tree]]
        if self.masks is not None:
            drawn = [tree for tree in candidates if self._drawn_at(tree, xy)]
            candidates = drawn or candidates
        return candidates[0] if candidates else None

    def press(self, xy: Any) -> int | None:
        """Pick up the topmost tree under ``xy`` (bringing it to the top); return it or None."""
        tree = self.tree_at(xy)
        if tree is not None:
            self.held = tree
            self.order.remove(tree)
            self.order.append(tree)
            self._grip = self.positions[tree] - np.asarray(xy, float)
            self._picked_from = self.positions[tree].copy()
        return tree

    def drag(self, xy: Any) -> None:
        """Move the held tree with the pointer, keeping the grip offset, inside the arena."""
        if self.held is not None:
            target = np.asarray(xy, float) + self._grip
            self.positions[self.held] = clamp_to_disc(target, self.max_radius[self.held, 0])

    def unmoved(self) -> int:
        """Number of trees not moved yet in this arrangement."""
        return int((self.moves == 0).sum())

    def release(self) -> int | None:
        """Drop the held tree; a drop away from where it was picked up counts as one move."""
        tree, self.held = self.held, None
        if tree is not None and not np.array_equal(self.positions[tree], self._picked_from):
            self.moves[tree] += 1
        return tree


# ---------------------------------------------------------------- files

@dataclass(frozen=True)
class ArrangementFiles:
    """Paths of one participant/session/phase's arrangement outputs."""

    trees: Path
    sidecar: Path
    rdm_tsv: Path
    rdm_npy: Path
    rdm_sidecar: Path

    def existing(self) -> list[Path]:
        """The outputs that already exist (they must not be overwritten)."""
        return [p for p in (self.trees, self.sidecar, self.rdm_tsv, self.rdm_npy, self.rdm_sidecar)
                if p.exists()]


def arrangement_files(root: str | os.PathLike, participant_id: str, session: int,
                      phase: str) -> ArrangementFiles:
    """BIDS-like paths of the arrangement outputs under ``root`` (e.g. ``participants/``)."""
    beh = session_path(root, check_participant_id(participant_id), session).parent
    check_phase(phase)
    stem = f"sub-{participant_id}_ses-{int(session)}_task-arrangement_phase-{phase}"
    return ArrangementFiles(beh / f"{stem}_beh.tsv", beh / f"{stem}_beh.json", beh / f"{stem}_rdm.tsv",
                            beh / f"{stem}_rdm.npy", beh / f"{stem}_rdm.json")


def check_phase(phase: str) -> str:
    """Return ``phase`` if it is letters and digits only (it becomes part of file names)."""
    if not isinstance(phase, str) or not PHASE.match(phase):
        raise UserError(f"phase {phase!r} is invalid: use letters and digits only (e.g. 'pre' or 'post')")
    return phase


def _tsv_rows(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter="\t", lineterminator="\n").writerows(
        [[format_value(v) for v in row] for row in rows])
    return out.getvalue()


def _append(path: Path, rows: list[list[Any]], mode: str) -> None:
    """Write rows durably to a new (``x``) or existing (``a``) TSV file."""
    file = DurableAppend(path, mode)
    try:
        file.write(_tsv_rows(rows))
    finally:
        file.close()


class ArrangementWriter:
    """Append-and-flush writer of one session's arrangements; never overwrites anything.

    Creating it writes the sidecar (config, seed, exemplars, column descriptions) and the
    header; each ``add`` appends one arrangement's 25 rows and fsyncs; ``finish`` writes the RDM.
    """

    def __init__(self, files: ArrangementFiles, *, participant_id: str, session: int, phase: str,
                 exemplars: Sequence[str], config: dict[str, Any], seed: int):
        existing = files.existing()
        if existing:
            raise FileExistsError(f"{existing[0]}: already exists; refusing to overwrite it "
                                  "(use another --session, --phase or --out)")
        if len(exemplars) != N_TREES:
            raise ValueError(f"need {N_TREES} exemplars (one per cell); got {len(exemplars)}")
        self.files = files
        self.ids = [check_participant_id(participant_id), int(session), check_phase(phase)]
        self.exemplars = [str(e) for e in exemplars]
        self.config, self.seed = config, seed
        self.finals: list[np.ndarray] = []
        files.trees.parent.mkdir(parents=True, exist_ok=True)
        write_sidecar(files.trees, config, seed, participant_id=participant_id, session=int(session),
                      phase=phase, exemplars=dict(zip(LABELS, self.exemplars)),
                      coordinates="arena-radius units: origin at the arena centre, x right, y up, edge at 1",
                      columns=describe_columns())
        _append(files.trees, [list(COLUMNS)], "x")

    def add(self, start: Any, final: Any, moves: Any, duration_s: float) -> int:
        """Append one arrangement ((25, 2) start/final positions, (25,) moves); return its number."""
        start, final = np.asarray(start, float), np.asarray(final, float)
        moves = np.asarray(moves, int)
        if start.shape != (N_TREES, 2) or final.shape != (N_TREES, 2) or moves.shape != (N_TREES,):
            raise ValueError("start/final must be (25, 2) and moves (25,) in condition order")
        number = len(self.finals) + 1
        rows = [[*self.ids, number, int(b), int(l), self.exemplars[i], *start[i], *final[i], int(moves[i]),
                 float(duration_s), int(moves.sum())] for i, (b, l) in enumerate(CELLS)]
        _append(self.files.trees, rows, "a")
        self.finals.append(final)
        return number

    def finish(self) -> Path | None:
        """Write the participant RDM of the arrangements so far (None if there were none)."""
        if not self.finals:
            return None
        return write_rdm(self.files, arrangement_rdm(np.stack(self.finals)), self.config, self.seed,
                         n_arrangements=len(self.finals))


def describe_columns() -> dict[str, dict[str, str]]:
    """BIDS-style descriptions (Description, Units) of the tree table's columns."""
    return {c: {"Description": d, **({"Units": UNITS[c]} if c in UNITS else {})} for c, d in COLUMNS.items()}


def write_rdm(files: ArrangementFiles, rdm: np.ndarray, config: dict[str, Any] | None = None,
              seed: int | None = None, **extra: Any) -> Path:
    """Write the 25 x 25 RDM as TSV (labelled rows/columns) and NPY, plus a sidecar; no overwrite."""
    rdm = np.asarray(rdm, float)
    if rdm.shape != (N_TREES, N_TREES):
        raise ValueError(f"RDM must be {N_TREES} x {N_TREES}; got {rdm.shape}")
    rows = [["condition", *LABELS]] + [[label, *row] for label, row in zip(LABELS, rdm)]
    write_file(files.rdm_tsv, _tsv_rows(rows))
    write_npy(files.rdm_npy, rdm)
    write_sidecar(files.rdm_tsv, config, seed, source=files.trees.name,
                  description="Mean over arrangements of Euclidean distances between final tree positions, "
                              "each arrangement divided by its largest distance; rows/columns B{b}L{l}, "
                              "leafiness fastest.", **extra)
    return files.rdm_tsv


def read_rdm(path: str | os.PathLike) -> np.ndarray:
    """Read a 25 x 25 arrangement RDM from its ``.npy`` or labelled ``.tsv`` file."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.suffix == ".npy":
        rdm = np.load(path, allow_pickle=False)
    else:
        table = pd.read_csv(path, sep="\t", index_col=0)
        if tuple(table.index) != LABELS or tuple(table.columns) != LABELS:
            raise UserError(f"{path}: rows and columns must be labelled {LABELS[0]}..{LABELS[-1]} "
                            "in condition order (leafiness fastest)")
        rdm = table.to_numpy(float)
    if rdm.shape != (N_TREES, N_TREES):
        raise UserError(f"{path}: expected a {N_TREES} x {N_TREES} RDM; found shape {rdm.shape}")
    return rdm


def read_arrangements(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check a tree table; raises UserError naming the file, line and column at fault."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {missing}; expected {list(COLUMNS)}")
    for column in _INT_COLUMNS + _FLOAT_COLUMNS:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(float))
        if column in _INT_COLUMNS:
            bad |= ~bad & (values.to_numpy(float) != np.round(values.to_numpy(float)))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise UserError(f"{path}:{i + 2}: column '{column}' value {table[column].iloc[i]!r}: "
                            f"expected {'an integer' if column in _INT_COLUMNS else 'a number'}")
        table[column] = values.astype(int if column in _INT_COLUMNS else float)
    for which in ("start", "final"):
        radius = np.hypot(table[f"{which}_x"], table[f"{which}_y"]).to_numpy()
        if np.any(radius > 1 + EDGE_TOLERANCE):
            i = int(np.argmax(radius > 1 + EDGE_TOLERANCE))
            raise UserError(f"{path}:{i + 2}: {which} position lies outside the arena (radius "
                            f"{radius[i]:.3f} > 1 arena radius)")
    for number, rows in table.groupby("arrangement", sort=True):
        cells = sorted(cell_index(rows.branchiness, rows.leafiness).tolist())
        if cells != list(range(N_TREES)):
            raise UserError(f"{path}: arrangement {number} must have exactly one row per tree "
                            f"B1L1..B5L5 (25 rows); found {len(rows)} rows")
    return table


def positions(table: pd.DataFrame, which: str = "final") -> np.ndarray:
    """(n_arrangements, 25, 2) start or final positions from a tree table, in condition order."""
    ordered = table.assign(_row=cell_index(table.branchiness, table.leafiness)) \
                   .sort_values(["arrangement", "_row"])
    xy = ordered[[f"{which}_x", f"{which}_y"]].to_numpy(float)
    return xy.reshape(-1, N_TREES, 2)


def participant_rdm(path: str | os.PathLike) -> np.ndarray:
    """The participant's 25 x 25 RDM recomputed from a tree table (e.g. of an interrupted session)."""
    return arrangement_rdm(positions(read_arrangements(path)))
