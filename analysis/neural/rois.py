"""Regions of interest for the neural steps: mask images (``--roi NAME=PATH``) and atlas images
with a label table (``--atlas IMAGE --atlas-labels LABELS``), checked before any work.

An atlas is a 3-D image of integer labels (0 = background) with a label table giving each index a
name, in one of two forms:

* a TSV with a header holding ``index`` and ``name`` columns (BIDS ``dseg.tsv`` look-up tables,
  FreeSurfer/FSL-style colour tables exported as TSV), other columns ignored;
* a nilearn-style label list: one name per line, line k naming label k, the first line being the
  background (what ``nilearn.datasets.fetch_atlas_*`` returns as ``labels``).

Each label becomes one ROI, named by its name with everything but letters and digits removed
(``Left Hippocampus`` -> ``LeftHippocampus``: a BIDS label). ``atlas_rois`` picks some by those
names. Errors name the file and the fix: a grid other than the data's, non-integer labels, a
label absent from the image, an ROI with no voxel inside the data's mask, names that collide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from garden.analysis.neural.bids import read_image
from garden.analysis.neural.glm import load_mask
from garden.analysis.neural.grids import check_same_grid
from garden.core.errors import UserError

BACKGROUND = {"background", "unknown", "0", ""}
"""Names (lower case) a nilearn label list uses for label 0, which is never an ROI."""
MIN_VOXELS = 2
"""Fewest voxels inside the data's mask an ROI needs (a cross-validated RDM of one voxel is undefined)."""


@dataclass(frozen=True)
class Roi:
    """One ROI: a boolean volume and where it came from (a mask file, or ``atlas.nii.gz#index``)."""

    mask: np.ndarray
    source: str


def bids_label(name: str) -> str:
    """``name`` with everything but letters and digits removed (a BIDS label)."""
    return re.sub(r"[^A-Za-z0-9]", "", name)


def parse_rois(items: list[str]) -> dict[str, Path]:
    """``NAME=PATH`` items -> {name: mask path}; UserError for a malformed item or a repeated name."""
    out: dict[str, Path] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name.isalnum() or not path:
            raise UserError(f"--roi: {item!r} is not NAME=PATH with a letters-and-digits NAME (e.g. rich=roi.nii.gz)")
        if name in out:
            raise UserError(f"--roi: ROI name {name!r} given twice")
        out[name] = Path(path)
    return out


def read_atlas_labels(path: str | Path) -> dict[int, str]:
    """{label index: BIDS-label name} of a label table (module docstring); background excluded."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such label table (--atlas-labels)")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; give a TSV with index and name columns or one name per line") \
            from None
    header = [h.strip().lower() for h in lines[0].split("\t")] if lines else []
    if {"index", "name"} <= set(header):
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
        table.columns = [c.strip().lower() for c in table.columns]
        index = pd.to_numeric(table["index"], errors="coerce")
        if index.isna().any() or (index % 1 != 0).any() or (index < 0).any():
            row = int(np.flatnonzero((index.isna() | (index % 1 != 0) | (index < 0)).to_numpy())[0])
            raise UserError(f"{path}: row {row + 2}: index {table['index'].iat[row]!r} is not a label number >= 0")
        pairs = [(int(i), n) for i, n in zip(index, table["name"]) if int(i) != 0]
    else:
        pairs = [(k, n.strip()) for k, n in enumerate(lines)]
        if pairs and pairs[0][1].lower() in BACKGROUND:
            pairs = pairs[1:]
    return _named(pairs, path)


def _named(pairs: list[tuple[int, str]], path: Path) -> dict[int, str]:
    out: dict[int, str] = {}
    seen: dict[str, int] = {}
    for index, name in pairs:
        label = bids_label(name)
        if not label:
            raise UserError(f"{path}: label {index} has no letter or digit in its name {name!r}; name it")
        if index in out:
            raise UserError(f"{path}: label index {index} given twice")
        if label in seen:
            raise UserError(f"{path}: labels {seen[label]} and {index} are both named {label!r} (letters and digits "
                            "only); give them distinct names")
        out[index], seen[label] = label, index
    if not out:
        raise UserError(f"{path}: no labels (besides the background); give a TSV with index and name columns "
                        "or one name per line")
    return out


def atlas_rois(image_path: str | Path, labels_path: str | Path, *,
               names: tuple[str, ...] = ()) -> tuple[dict[str, Roi], np.ndarray]:
    """(one ROI per label of an atlas (or just ``names``), the atlas affine); UserError for a non-integer image, an
    unknown name or a label with no voxel in the image."""
    image_path = Path(image_path)
    image = read_image(image_path, what="atlas image (--atlas)")
    labels = read_atlas_labels(labels_path)
    data = np.asarray(image.dataobj)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise UserError(f"{image_path}: a {data.ndim}-D image; an atlas is one 3-D volume of integer labels "
                        "(a probabilistic atlas must be thresholded into labels first)")
    if not np.array_equal(data, np.round(data)):
        raise UserError(f"{image_path}: non-integer values; an atlas holds integer labels (threshold a "
                        "probabilistic atlas into labels first)")
    data = np.round(data).astype(np.int64)
    by_name = {name: index for index, name in labels.items()}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise UserError(f"--atlas-rois: {unknown} are not labels of {labels_path} (it has {sorted(by_name)[:10]}"
                        f"{'...' if len(by_name) > 10 else ''})")
    chosen = {name: by_name[name] for name in (names or labels.values())}
    present = set(np.unique(data).tolist())
    absent = [f"{name} ({index})" for name, index in chosen.items() if index not in present]
    if absent:
        raise UserError(f"{image_path}: label(s) {absent[:5]}{'...' if len(absent) > 5 else ''} of {labels_path} "
                        "have no voxel in the atlas image; choose present labels with --atlas-rois or fix the table")
    return {name: Roi(data == index, f"{image_path}#{index}") for name, index in chosen.items()}, image.affine


def load_rois(masks: dict[str, Path], *, atlas: Path | None = None, atlas_labels: Path | None = None,
              atlas_names: tuple[str, ...] = ()) -> tuple[dict[str, Roi], np.ndarray | None]:
    """The ROIs of ``--roi`` masks and an optional atlas, by name, and the affine they share;
    UserError for a missing mask, an empty one, two grids, a name given twice, no ROI at all."""
    if (atlas is None) != (atlas_labels is None):
        raise UserError("--atlas and --atlas-labels go together: give the label image and its label table")
    if atlas_names and atlas is None:
        raise UserError("--atlas-rois picks labels of an --atlas; give --atlas and --atlas-labels")
    rois: dict[str, Roi] = {}
    grids: dict[str, tuple[tuple[int, ...], np.ndarray]] = {}
    for name, path in masks.items():
        mask, image = load_mask(path, what=f"ROI mask image (--roi {name})")
        rois[name] = Roi(mask, str(path))
        grids[str(path)] = (mask.shape, image.affine)
    if atlas is not None:
        found, affine = atlas_rois(atlas, atlas_labels, names=atlas_names)
        twice = sorted(set(found) & set(rois))
        if twice:
            raise UserError(f"--atlas {atlas}: ROI name(s) {twice} also given with --roi; rename one")
        rois.update(found)
        grids[str(atlas)] = (next(iter(found.values())).mask.shape, affine)
    if not rois:
        raise UserError("no ROI: give --roi NAME=PATH (repeatable) or --atlas IMAGE --atlas-labels LABELS")
    first, (shape, affine) = next(iter(grids.items()))
    for where, (other_shape, other_affine) in grids.items():
        check_same_grid(where, other_shape, other_affine, reference=first, reference_shape=shape,
                        reference_affine=affine)
    return rois, affine


def check_on_grid(rois: dict[str, Roi], affine: np.ndarray | None, *, inside: np.ndarray, grid_affine: np.ndarray,
                  where: str) -> None:
    """UserError when the ROIs are not on the data's grid (``inside``'s shape and ``grid_affine``,
    named by ``where``) or an ROI keeps fewer than ``MIN_VOXELS`` voxels inside ``inside``."""
    shape = next(iter(rois.values())).mask.shape
    source = next(iter(rois.values())).source.split("#")[0]
    check_same_grid(source, shape, grid_affine if affine is None else affine, reference=where,
                    reference_shape=inside.shape, reference_affine=grid_affine)
    for name, roi in rois.items():
        count = int((roi.mask & inside).sum())
        if count < MIN_VOXELS:
            raise UserError(f"{roi.source}: ROI {name!r} has {count} voxel(s) inside {where}; an ROI needs at least "
                            f"{MIN_VOXELS}: check it lies in the brain mask, or leave it out")
