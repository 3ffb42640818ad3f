"""From GLM betas to RDMs: per ROI and per searchlight, written as BIDS-derivatives folders.

ROI RDMs (``roi_rdms``): for each session of a ``garden neural glm`` folder and each ROI mask,
the 50 x 50 cross-validated RDM of the ROI's voxels (``rsa.crossval``): "correlation" (the 2022
paper's cross-validated correlation distance) or "crossnobis" (noise precision from the GLM
residuals of the ROI, shrunk as rsatoolbox does). Written as square TSV tables::

    OUT/sub-<ID>/ses-<N>/func/sub-<ID>_ses-<N>_task-<T>_roi-<ROI>_desc-<method>_rdm.tsv (+ .json)

Searchlight maps (``searchlight_maps``): each sphere's RDM is regressed (z-scored OLS, as
``rsa.compare.regress_rdm``) on the model RDMs (their squared distances for crossnobis, which
estimates squared distances), giving one beta map per model::

    OUT/sub-<ID>/ses-<N>/func/sub-<ID>_ses-<N>_task-<T>_desc-<method>_model-<M>_stat-beta_statmap.nii.gz
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import nibabel
import numpy as np
import pandas as pd
from tqdm import tqdm

from analysis.neural_bids import N_CONDITIONS, condition_name
from analysis.neural_glm import BETAS, load_mask, read_session_betas
from analysis.searchlight import METHODS, searchlight_rdms, spheres
from core.errors import UserError
from core.provenance import provenance, write_json
from rsa.compare import zscore
from rsa.crossval import (
    crossnobis_rdm,
    crossval_correlation_rdm,
    precision_from_residuals,
)
from rsa.model_rdms import MODEL_RDMS, model_rdms
from rsa.rdm import lower

BRAIN_MODELS = ("grid", "rotated_grid", "orthogonal", "parallel", "only_branchiness", "only_leafiness", "diagonal")
"""The 7 model RDMs the 2022 paper regressed brain RDMs on."""


@dataclass(frozen=True)
class RdmConfig:
    """How RDMs are computed: ``method`` (METHODS), ``shrinkage`` of the crossnobis noise
    ("shrinkage_diag" or "shrinkage_eye"), and for searchlights the ``radius`` (voxels, or mm with
    ``radius_unit`` "mm"), ``min_fraction`` of a full sphere, and the models (``context_offset``
    in feature units)."""

    method: str = "correlation"
    shrinkage: str = "shrinkage_diag"
    radius: float = 3.0
    radius_unit: str = "voxels"
    min_fraction: float = 0.5
    models: tuple[str, ...] = BRAIN_MODELS
    context_offset: float = 1.0

    def check(self) -> None:
        """UserError for an unknown option value."""
        if self.method not in METHODS:
            raise UserError(f"--method: {self.method!r} is not one of {list(METHODS)}")
        if self.radius_unit not in ("voxels", "mm"):
            raise UserError(f"--radius-unit: {self.radius_unit!r} is not voxels or mm")
        unknown = [m for m in self.models if m not in MODEL_RDMS]
        if unknown:
            raise UserError(f"--models: {unknown} unknown; use names from {sorted(MODEL_RDMS)}")


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
    if not out:
        raise UserError("--roi: give at least one ROI as NAME=PATH")
    return out


def rdm_of(betas: np.ndarray, residuals: list[np.ndarray], dofs: list[int], config: RdmConfig) -> np.ndarray:
    """(50, 50) cross-validated RDM of (runs, 50, voxels) betas (residuals: per-run (volumes, voxels))."""
    if config.method == "correlation":
        return crossval_correlation_rdm(betas)
    precision = precision_from_residuals(np.concatenate(residuals), dof=int(sum(dofs)), method=config.shrinkage)
    return crossnobis_rdm(betas, precision)


def refuse_existing(out: Path) -> None:
    """UserError when the output folder ``out`` exists (checked before any work)."""
    if out.exists():
        raise UserError(f"{out}: already exists; refusing to overwrite it (choose another --out)")


def new_output_folder(out: Path) -> Path:
    """The ``out.partial`` folder to build ``out`` in (rename it to ``out`` when complete); UserError
    when ``out`` exists."""
    refuse_existing(out)
    partial = out.with_name(out.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    return partial


def _description(partial: Path, name: str, source: Path) -> None:
    write_json(partial / "dataset_description.json", {
        "Name": name, "BIDSVersion": "1.9.0", "DatasetType": "derivative",
        "GeneratedBy": [{"Name": "garden neural", "Version": metadata.version("garden-task")}],
        "SourceDatasets": [{"URL": source.resolve().as_uri()}]})


def _task_of(glm: Path, subject: str, session: str) -> str:
    first = sorted((glm / subject / session / "func").glob(f"*_{BETAS}.nii.gz"))[0].name
    return first.split("_")[2]


def roi_rdms(glm: str | Path, out: str | Path, *, rois: dict[str, Path], config: RdmConfig) -> Path:
    """Write every session's ROI RDMs (module docstring) into the new folder ``out``."""
    config.check()
    glm, out = Path(glm), Path(out)
    refuse_existing(out)
    masks = {name: load_mask(path)[0] for name, path in rois.items()}
    shapes = {m.shape for m in masks.values()}
    if len(shapes) > 1:
        raise UserError(f"--roi: the ROI masks are on different grids {sorted(shapes)}: resample them to one")
    union = np.any(list(masks.values()), axis=0)
    sessions = read_session_betas(glm, union, residuals=config.method == "crossnobis")
    partial = new_output_folder(out)
    columns = [condition_name(c) for c in range(N_CONDITIONS)]
    for found in tqdm(sessions, desc="ROI RDMs", unit="session"):
        folder = partial / found.subject / found.session / "func"
        folder.mkdir(parents=True, exist_ok=True)
        task = _task_of(glm, found.subject, found.session)
        for name, mask in masks.items():
            inside = mask[union]
            rdm = rdm_of(found.betas[..., inside], [r[:, inside] for r in found.residuals], found.dofs, config)
            path = folder / f"{found.subject}_{found.session}_{task}_roi-{name}_desc-{config.method}_rdm.tsv"
            pd.DataFrame(rdm, columns=columns).to_csv(path, sep="\t", index=False, float_format="%.10g")
            write_json(path.with_suffix(".json"), provenance(
                config=asdict(config), seed=None, roi=name, mask=str(rois[name]), n_voxels=int(inside.sum()),
                n_runs=int(found.betas.shape[0]), conditions=columns, source=str(glm)))
    _description(partial, "garden ROI RDMs (cross-validated across runs)", glm)
    partial.rename(out)
    return out


def read_roi_rdms(folder: str | Path) -> pd.DataFrame:
    """Every RDM of a ``roi_rdms`` folder: one row per (subject, session, roi, method) with ``rdm``
    (50 x 50 array)."""
    folder = Path(folder)
    files = sorted(folder.glob("sub-*/ses-*/func/*_roi-*_rdm.tsv"))
    if not files:
        raise UserError(f"{folder}: no *_roi-*_rdm.tsv files: run `garden neural rdms` first")
    rows = []
    for path in files:
        entities = dict(part.split("-", 1) for part in path.name.removesuffix("_rdm.tsv").split("_"))
        rdm = pd.read_csv(path, sep="\t").to_numpy(float)
        if rdm.shape != (N_CONDITIONS, N_CONDITIONS):
            raise UserError(f"{path}: {rdm.shape} table; expected {N_CONDITIONS} x {N_CONDITIONS}")
        rows.append({"subject": f"sub-{entities['sub']}", "session": f"ses-{entities['ses']}",
                     "roi": entities["roi"], "method": entities["desc"], "rdm": rdm})
    return pd.DataFrame(rows)


def model_design(models: tuple[str, ...], context_offset: float, *, squared: bool = False) -> np.ndarray:
    """(n_pairs, n_models) z-scored lower triangles of the model RDMs (the regression design);
    ``squared`` squares the model distances first (crossnobis estimates squared distances)."""
    rdms = model_rdms(list(models), context_offset)
    power = 2 if squared else 1
    return np.column_stack([zscore(lower(rdms[name]) ** power, name) for name in models])


def batch_betas(vectors: np.ndarray, design: np.ndarray) -> np.ndarray:
    """(N, n_models) OLS betas of each z-scored row of ``vectors`` on ``design`` (``rsa.compare.regress_rdm``
    for many RDMs at once; a constant row gives NaN)."""
    centred = vectors - vectors.mean(axis=1, keepdims=True)
    sd = centred.std(axis=1, keepdims=True)
    z = np.divide(centred, sd, out=np.full_like(centred, np.nan), where=sd > 0)
    return z @ np.linalg.pinv(design).T


def searchlight_maps(glm: str | Path, out: str | Path, *, mask: str | Path, config: RdmConfig,
                     batch_size: int = 256) -> Path:
    """Write per-session searchlight model-beta maps (module docstring) into the new folder ``out``."""
    config.check()
    glm, out = Path(glm), Path(out)
    refuse_existing(out)
    brain, image = load_mask(mask)
    voxel = tuple(float(z) for z in image.header.get_zooms()[:3]) if config.radius_unit == "mm" else (1.0, 1.0, 1.0)
    found = spheres(brain, config.radius, voxel_size=voxel, min_fraction=config.min_fraction)
    if found.centres.size == 0:
        raise UserError(f"{mask}: no searchlight centre keeps {config.min_fraction:.0%} of its sphere: "
                        "lower --min-fraction or the radius")
    design = model_design(config.models, config.context_offset, squared=config.method == "crossnobis")
    sessions = read_session_betas(glm, brain, residuals=config.method == "crossnobis")
    partial = new_output_folder(out)
    for session in sessions:
        residuals = np.concatenate(session.residuals) if session.residuals else None
        vectors = searchlight_rdms(session.betas, found, method=config.method, residuals=residuals,
                                   dof=int(sum(session.dofs)) if session.dofs else None,
                                   shrinkage=config.shrinkage, batch_size=batch_size, progress=True)
        betas = batch_betas(vectors, design)
        folder = partial / session.subject / session.session / "func"
        folder.mkdir(parents=True, exist_ok=True)
        task = _task_of(glm, session.subject, session.session)
        voxels = np.flatnonzero(brain.ravel())[found.centres]
        for k, model in enumerate(config.models):
            data = np.full(brain.size, np.nan, dtype=np.float32)
            data[voxels] = betas[:, k]
            path = folder / (f"{session.subject}_{session.session}_{task}_desc-{config.method}_model-"
                             f"{model.replace('_', '')}_stat-beta_statmap.nii.gz")
            nibabel.Nifti1Image(data.reshape(brain.shape), image.affine).to_filename(path)
        write_json(folder / f"{session.subject}_{session.session}_{task}_desc-{config.method}_searchlight.json",
                   provenance(config=asdict(config), seed=None, models=list(config.models), mask=str(mask),
                              n_centres=int(found.centres.size), sphere_voxels=found.full_size, source=str(glm)))
    _description(partial, "garden searchlight model-beta maps", glm)
    partial.rename(out)
    return out
