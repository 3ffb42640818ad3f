"""Stimulus sets on disk: make one (PNGs + manifest with hashes), load and validate one, contact sheets.

Why: the experiment runs from a folder of ``B{b}L{l}_{exemplar}.png`` files, either ours or the
published sets (exemplar names may be numbers or letters). Making a set is reproducible (same
arguments, same hashes) and never overwrites; loading says exactly which cells are missing or
short of exemplars, so a lab finds a broken set before a participant does.
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from garden.core.errors import UserError
from garden.core.files import write_file
from garden.core.progress import progress_bar
from garden.core.provenance import provenance, read_json, write_json
from garden.stimuli.trees import (
    BRANCH_LEVELS,
    GENERATOR_VERSION,
    LEAF_LEVELS,
    LEVELS,
    render_tree,
)

MANIFEST = "manifest.json"
FILENAME = "B{b}L{l}_{exemplar}.png"
FILE_PATTERN = re.compile(r"^B([1-5])L([1-5])_([A-Za-z0-9]+)\.png$")
CELLS = tuple((b, l) for b in LEVELS for l in LEVELS)
PNG_COMPRESS_LEVEL = 1
"""Fast zlib level: encoding dominated the time at level 6; files are ~1.3x larger."""


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _render_file(job: tuple[Path, int, int, int, int, int]) -> tuple[str, str, str]:
    """Render one tree, write its PNG; return (file name, file SHA-256, RGBA pixel SHA-256)."""
    out_dir, b, l, exemplar, size_px, seed = job
    image = render_tree(b, l, exemplar, size_px, seed)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    name = FILENAME.format(b=b, l=l, exemplar=exemplar)
    write_file(out_dir / name, buffer.getvalue())
    return name, sha256_bytes(buffer.getvalue()), sha256_bytes(image.tobytes())


def _check_new_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise UserError(f"{out_dir}: already exists and is not empty; choose a new --out folder "
                        "(stimulus sets are never overwritten)")


def make_set(out_dir: str | Path, exemplars: int, size_px: int, seed: int = 0, jobs: int = 1,
             progress: bool = True) -> Path:
    """Render every cell x exemplars 1..N into a new folder with ``manifest.json``; returns the folder.

    The manifest records the generator version and parameters, the seed and, per file, the SHA-256
    of the PNG file and of its decoded RGBA pixels (the latter is independent of the PNG encoder).
    ``jobs`` > 1 renders in that many processes; the files do not depend on it.
    """
    out_dir = Path(out_dir)
    if exemplars < 1 or size_px < 8 or jobs < 1 or seed < 0:
        raise UserError(f"exemplars={exemplars}, size_px={size_px}, jobs={jobs}, seed={seed}: need "
                        "exemplars >= 1, size >= 8 px, jobs >= 1, seed >= 0")
    _check_new_dir(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = {"exemplars": exemplars, "size_px": size_px, "jobs": jobs}
    # an unfinished set says so: this manifest is replaced by the complete one after the last tree
    write_json(out_dir / MANIFEST, provenance(config, seed, completed=False, files={}))
    work = [(out_dir, b, l, e, size_px, seed) for b, l in CELLS for e in range(1, exemplars + 1)]
    bar = progress_bar(total=len(work), desc=f"trees -> {out_dir}", unit="tree", enabled=progress)
    files: dict[str, dict[str, str]] = {}

    def collect(results: Iterable[tuple[str, str, str]]) -> None:
        for name, file_hash, pixel_hash in results:
            files[name] = {"sha256": file_hash, "pixels_sha256": pixel_hash}
            bar.update()

    if jobs == 1:
        collect(map(_render_file, work))
    else:
        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            collect(pool.imap_unordered(_render_file, work, chunksize=8))
    bar.close()
    manifest = provenance(config, seed, generator="garden.stimuli.trees", generator_version=GENERATOR_VERSION,
                          parameters=_generator_parameters(size_px), files=dict(sorted(files.items())),
                          completed=True)
    write_json(out_dir / MANIFEST, manifest, overwrite=True)
    return out_dir


def _generator_parameters(size_px: int) -> dict[str, Any]:
    return {"size_px": size_px, "png_compress_level": PNG_COMPRESS_LEVEL,
            "branch_levels": {b: vars(v) for b, v in BRANCH_LEVELS.items()},
            "leaf_levels": {l: vars(v) for l, v in LEAF_LEVELS.items()}}


def _listing(items: list[str], limit: int = 6) -> str:
    """``a, b, c`` or ``a, ..., f and 7 more`` so error lines stay short."""
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


def _exemplar_key(name: str) -> tuple[int, int | str]:
    """Sort numbers numerically before names alphabetically (1, 2, 10, a, b)."""
    return (0, int(name)) if name.isdigit() else (1, name)


@dataclass
class StimulusSet:
    """A validated folder ``path`` of tree PNGs: ``cells[(b, l)][exemplar] -> file``; ``manifest`` if ours."""

    path: Path
    cells: dict[tuple[int, int], dict[str, Path]]
    manifest: dict[str, Any] | None = field(default=None)

    def exemplars(self, branchiness: int, leafiness: int) -> list[str]:
        """Exemplar names of one cell, numbers in numeric order first, then letters."""
        return sorted(self.cells[(branchiness, leafiness)], key=_exemplar_key)

    def file(self, branchiness: int, leafiness: int, exemplar: str | int) -> Path:
        """Path of one tree; UserError if the set has no such file."""
        try:
            return self.cells[(branchiness, leafiness)][str(exemplar)]
        except KeyError:
            raise UserError(f"{self.path}: no tree {FILENAME.format(b=branchiness, l=leafiness, exemplar=exemplar)}")

    @property
    def n_exemplars(self) -> int:
        """Exemplars in the smallest cell (what every cell can provide)."""
        return min(len(v) for v in self.cells.values())

    def verify(self) -> list[str]:
        """Files whose pixels differ from the manifest's hashes, are missing, or are trees of the set the
        manifest does not list (``<name> (not in the manifest)``); empty when all match."""
        if self.manifest is None:
            raise UserError(f"{self.path}: no {MANIFEST}; only sets made by 'garden stimuli make' can be verified")
        bad = []
        for name, hashes in self.manifest["files"].items():
            file = self.path / name
            try:
                same = file.exists() and sha256_bytes(Image.open(file).convert("RGBA").tobytes()) == hashes["pixels_sha256"]
            except (OSError, ValueError, Image.DecompressionBombError):
                same = False
            if not same:
                bad.append(name)
        listed = set(self.manifest["files"])
        bad += [f"{file.name} (not in the manifest)" for cell in self.cells.values() for file in cell.values()
                if file.name not in listed]
        return bad


def load_set(path: str | Path, min_exemplars: int = 1) -> StimulusSet:
    """Index and validate a set: all 25 cells present, each with at least ``min_exemplars`` trees.

    Raises UserError naming the missing cells, or the cells short of exemplars and how many are needed.
    """
    root = Path(path)
    if not root.is_dir():
        raise UserError(f"{root}: not a folder of tree images (expected files named B{{b}}L{{l}}_{{exemplar}}.png)")
    cells: dict[tuple[int, int], dict[str, Path]] = {cell: {} for cell in CELLS}
    for file in root.iterdir():
        match = FILE_PATTERN.match(file.name)
        if match:
            b, l, exemplar = int(match[1]), int(match[2]), match[3]
            cells[(b, l)][exemplar] = file
    missing = [f"B{b}L{l}" for (b, l), files in cells.items() if not files]
    if missing:
        raise UserError(f"{root}: {len(missing)} of 25 cells have no tree: {_listing(missing)} "
                        "(files must be named B{b}L{l}_{exemplar}.png)")
    short = {f"B{b}L{l}": len(files) for (b, l), files in cells.items() if len(files) < min_exemplars}
    if short:
        listed = _listing([f"{cell} has {n}" for cell, n in short.items()])
        raise UserError(f"{root}: the protocol needs {min_exemplars} exemplars per cell but {listed}; "
                        f"make a larger set (garden stimuli make --exemplars {min_exemplars})")
    manifest = read_manifest(root / MANIFEST) if (root / MANIFEST).exists() else None
    broken = unreadable_images([f for files in cells.values() for f in files.values()])
    if broken:
        raise UserError(f"{root}: {len(broken)} tree image(s) cannot be decoded: {_listing([f.name for f in broken])}; "
                        "replace them (or remake the set with garden stimuli make)")
    return StimulusSet(root, cells, manifest)


def unreadable_images(files: list[Path]) -> list[Path]:
    """The files that are not complete, decodable images (checked before a session shows them)."""
    broken = []
    for file in sorted(files):
        try:
            with Image.open(file) as image:
                image.verify()
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            broken.append(file)
    return broken


def read_manifest(path: Path) -> dict[str, Any]:
    """``manifest.json`` of a set, checked: a finished set's table of files with their pixel hashes;
    UserError naming the file and what is wrong (damaged, or written by an interrupted make)."""
    manifest = read_json(path, what="stimulus-set manifest")
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise UserError(f"{path}: not a stimulus-set manifest (expected an object with a \"files\" table); "
                        "remake the set, or remove the file to use the images without hashes")
    if manifest.get("completed") is False:
        raise UserError(f"{path}: says completed: false; `garden stimuli make` was interrupted: "
                        "make the set again into a new folder")
    bad = [name for name, entry in manifest["files"].items()
           if not FILE_PATTERN.match(str(name)) or not isinstance(entry, dict)
           or not isinstance(entry.get("pixels_sha256"), str)]
    if bad:
        raise UserError(f"{path}: entries {_listing(sorted(map(str, bad)))} are not B{{b}}L{{l}}_{{exemplar}}.png "
                        "with a pixels_sha256 hash; the manifest is damaged: remake the set")
    return manifest


def contact_sheet(stimulus_set: StimulusSet, cell_px: int = 120, exemplar: str | int | None = None,
                  background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """The 5x5 sheet (rows branchiness 1..5 top to bottom, columns leafiness 1..5) with B/L labels.

    Shows ``exemplar`` of every cell, or each cell's first exemplar when None. The labels are
    ``sheet_label_px(cell_px)`` pixels high: >= 9 pt at 96 dpi shown at full size, and still when a page
    (the report, 1 240 px of content) shrinks the sheet to its width.
    """
    label_px = sheet_label_px(cell_px)
    font = ImageFont.load_default(size=label_px)
    margin = 2 * label_px
    side = margin + 5 * cell_px
    sheet = Image.new("RGBA", (side, side), (*background, 255))
    draw = ImageDraw.Draw(sheet)
    for b, l in CELLS:
        name = str(exemplar) if exemplar is not None else stimulus_set.exemplars(b, l)[0]
        tree = Image.open(stimulus_set.file(b, l, name)).convert("RGBA").resize(
            (cell_px, cell_px), Image.Resampling.LANCZOS)
        sheet.alpha_composite(tree, (margin + (l - 1) * cell_px, margin + (b - 1) * cell_px))
    for k in LEVELS:
        middle = margin + (k - 0.5) * cell_px
        draw.text((middle, margin / 2), f"L{k}", fill=(0, 0, 0, 255), font=font, anchor="mm")
        draw.text((margin / 2, middle), f"B{k}", fill=(0, 0, 0, 255), font=font, anchor="mm")
    return sheet.convert("RGB")


def sheet_label_px(cell_px: int) -> int:
    """Font size (pixels) of the contact sheet's B/L labels: at least 12 px (9 pt at 96 dpi); cell_px / 16 for
    cells over 192 px, so a sheet shrunk to a 1 240 px wide page shows them at about 1 240 / 80 = 15 px."""
    return max(12, -(-cell_px // 16))
