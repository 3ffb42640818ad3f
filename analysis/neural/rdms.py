"""From GLM betas to RDMs: per ROI and per searchlight, written as BIDS-derivatives folders.

ROI RDMs (``roi_rdms``): for each session of a ``garden neural glm`` folder and each ROI mask,
the 50 x 50 cross-validated RDM of the ROI's voxels (``garden.rsa.crossval``): "correlation" (the 2022
paper's cross-validated correlation distance) or "crossnobis" (noise precision from the GLM
residuals of the ROI, shrunk as rsatoolbox does). Written as square TSV tables::

    OUT/sub-<ID>/ses-<N>/func/sub-<ID>_ses-<N>_task-<T>_roi-<ROI>_desc-<method>_rdm.tsv (+ .json)

Searchlight maps (``searchlight_maps``): each sphere's RDM is regressed (z-scored OLS, as
``garden.rsa.compare.regress_vectors``) on the model RDMs (their squared distances for crossnobis, which
estimates squared distances), giving one beta map per model::

    OUT/sub-<ID>/ses-<N>/func/sub-<ID>_ses-<N>_task-<T>_model-<M>_stat-beta_desc-<method>_statmap.nii.gz (+ .json)
    OUT/sub-<ID>/ses-<N>/func/sub-<ID>_ses-<N>_task-<T>_desc-<method>_searchlight.json  options; written last

Both folders also hold ``dataset_description.json`` (DatasetType "derivative") and a README.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import nibabel
import numpy as np
import pandas as pd

from garden.analysis.neural.bids import (
    N_CONDITIONS,
    condition_name,
    derivative_files,
    entity,
    session_number,
    session_stem,
    write_derivative_description,
    write_image,
)
from garden.analysis.neural.glm import (
    BETAS,
    SessionBetas,
    beta_image,
    glm_grid,
    glm_sessions,
    load_mask,
    read_session_betas,
)
from garden.analysis.neural.noise import NOISE_SOURCES, noise_covariance, run_deviations
from garden.analysis.neural.rois import Roi, check_on_grid
from garden.analysis.neural.searchlight import METHODS, Spheres, searchlight_rdms, spheres
from garden.core.errors import UserError
from garden.core.files import output_folder, refuse_existing, write_tsv
from garden.core.jobs import Resources, check_executor, run_jobs
from garden.core.progress import progress_bar
from garden.core.provenance import provenance, read_record, to_jsonable, write_json
from garden.rsa.compare import regress_vectors
from garden.rsa.crossval import (
    crossnobis_rdm,
    crossval_correlation_rdm,
)
from garden.rsa.model_rdms import MODEL_RDMS, condition_table, model_rdms
from garden.rsa.rdms import RDMs

BRAIN_MODELS = ("grid", "rotated_grid", "orthogonal", "parallel", "only_branchiness", "only_leafiness", "diagonal")
"""The 7 model RDMs the 2022 paper regressed brain RDMs on."""


@dataclass(frozen=True)
class RdmConfig:
    """How RDMs are computed: ``method`` (METHODS), ``shrinkage`` of the crossnobis noise
    ("shrinkage_diag" or "shrinkage_eye"), and for searchlights the ``radius`` (voxels, or mm with
    ``radius_unit`` "mm"), ``min_fraction`` of a full sphere, and the models (``context_offset``
    in feature units)."""

    method: str = "crossnobis"
    shrinkage: str = "shrinkage_diag"
    noise: str = "runs-diag"
    radius: float = 3.0
    radius_unit: str = "voxels"
    min_fraction: float = 0.5
    models: tuple[str, ...] = BRAIN_MODELS
    context_offset: float = 1.0

    def check(self) -> None:
        """UserError for an unknown option value."""
        if self.method not in METHODS:
            raise UserError(f"--method: {self.method!r} is not one of {list(METHODS)}")
        if self.noise not in NOISE_SOURCES:
            raise UserError(f"--noise: {self.noise!r} is not one of {list(NOISE_SOURCES)}")
        if self.radius_unit not in ("voxels", "mm"):
            raise UserError(f"--radius-unit: {self.radius_unit!r} is not voxels or mm")
        unknown = [m for m in self.models if m not in MODEL_RDMS]
        if unknown:
            raise UserError(f"--models: {unknown} unknown; use names from {sorted(MODEL_RDMS)}")


def rdm_of(betas: np.ndarray, residuals: list[np.ndarray], dofs: list[int], config: RdmConfig) -> np.ndarray:
    """(50, 50) cross-validated RDM of (runs, 50, voxels) betas (residuals: per-run (volumes, voxels))."""
    if config.method == "correlation":
        return crossval_correlation_rdm(betas)
    return crossnobis_rdm(betas, noise_cov=noise_covariance(betas, residuals, dofs, source=config.noise,
                                                            shrinkage=config.shrinkage))


def _task_of(glm: Path, participant_id: str, session_label: str) -> str:
    first = sorted((glm / participant_id / session_label / "func").glob(f"*_{BETAS}.nii*"))[0].name
    return f"task-{entity(first, 'task')}"


def roi_rdms(glm: str | Path, out: str | Path, *, rois: dict[str, Roi], affine: np.ndarray | None = None,
             config: RdmConfig) -> Path:
    """Write every session's ROI RDMs (module docstring) into the new folder ``out``; the ROIs
    (``garden.analysis.neural.rois.load_rois``, their grid's ``affine``) are checked against the GLM's
    grid and fitted voxels first."""
    config.check()
    glm, out = Path(glm), Path(out)
    refuse_existing(out)
    fitted, grid_affine = glm_grid(glm)
    first = next(iter(glm_sessions(glm).values()))[0]
    check_on_grid(rois, affine, inside=fitted, grid_affine=grid_affine, where=f"the GLM image {first}")
    masks = {name: roi.mask & fitted for name, roi in rois.items()}
    union = np.any(list(masks.values()), axis=0)
    sessions = read_session_betas(glm, union, residuals=config.method == "crossnobis" and config.noise == "residuals",
                                  affine=grid_affine, reference=next(iter(rois.values())).source.split("#")[0])
    columns = [condition_name(c) for c in range(N_CONDITIONS)]
    with output_folder(out) as partial:
        for found in progress_bar(sessions, desc="ROI RDMs", unit="session"):
            folder = partial / found.participant_id / found.session_label / "func"
            task = _task_of(glm, found.participant_id, found.session_label)
            for name, mask in masks.items():
                inside = mask[union]
                rdm = rdm_of(found.betas[..., inside], [r[:, inside] for r in found.residuals], found.dofs, config)
                stem = session_stem(found.participant_id, found.session_label, task)
                path = folder / f"{stem}_roi-{name}_desc-{config.method}_rdm.tsv"
                write_tsv(path, pd.DataFrame(rdm, columns=columns), float_format="%.10g")
                write_json(path.with_suffix(".json"), provenance(
                    config=asdict(config), seed=None, roi=name, mask=rois[name].source, n_voxels=int(inside.sum()),
                    n_runs=int(found.betas.shape[0]), conditions=columns, source=str(glm)))
        write_derivative_description(partial, "garden ROI RDMs (cross-validated across runs)", source=glm,
                                     step="rdms")
    return out


def read_roi_rdms(folder: str | Path) -> RDMs:
    """Every RDM of a ``roi_rdms`` folder as one ``RDMs`` stack: rdm descriptors participant_id (the BIDS
    label "sub-01"), session (int; missing without session folders), roi, method (one per file), pattern
    descriptors the 50 conditions."""
    folder = Path(folder)
    files = derivative_files(folder, "*_roi-*_rdm.tsv")
    if not files:
        raise UserError(f"{folder}: no *_roi-*_rdm.tsv files: run `garden neural rdms` first")
    rows, matrices = [], []
    for path in files:
        entities = dict(part.split("-", 1) for part in path.name.removesuffix("_rdm.tsv").split("_"))
        try:
            rdm = pd.read_csv(path, sep="\t").to_numpy(float)
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise UserError(f"{path}: not a table of numbers ({str(exc)[:80]}); damaged: "
                            "rerun `garden neural rdms`") from None
        if rdm.shape != (N_CONDITIONS, N_CONDITIONS):
            raise UserError(f"{path}: {rdm.shape} table; expected {N_CONDITIONS} x {N_CONDITIONS}")
        rows.append({"participant_id": f"sub-{entities['sub']}",
                     "session": session_number(f"ses-{entities['ses']}" if "ses" in entities else "", path),
                     "roi": entities["roi"], "method": entities["desc"]})
        matrices.append(rdm)
    methods = sorted({row["method"] for row in rows})
    descriptors = pd.DataFrame(rows).astype({"session": "Int64"})
    return RDMs(np.stack(matrices), condition_table(), descriptors, " / ".join(methods))


def brain_model_rdms(models: tuple[str, ...], context_offset: float, method: str, n_levels: int = 5) -> RDMs:
    """The model RDMs a ``method`` RDM is regressed on: their squared distances for crossnobis (which
    estimates squared distances), the distances themselves otherwise."""
    rdms = model_rdms(list(models), context_offset, n_levels)
    return rdms.transform(np.square, "squared euclidean") if method == "crossnobis" else rdms


def searchlight_maps(glm: str | Path, out: str | Path, *, mask: str | Path, config: RdmConfig,
                     batch_size: int = 256, executor: str = "inline", jobs: int | None = None,
                     slurm: Resources | None = None) -> Path:
    """Write per-session searchlight model-beta maps (module docstring) into the new folder ``out``.

    One job per participant session (``garden.core.jobs.run_jobs``: ``executor`` "inline", "local" or
    "slurm", at most ``jobs`` at once); each writes its maps under ``OUT.partial`` and its sidecar
    last, so the result does not depend on the order jobs finish in and a rerun of the same command
    keeps the finished sessions."""
    config.check()
    check_executor(executor)
    glm, out = Path(glm), Path(out)
    refuse_existing(out)
    brain, image = load_mask(mask)
    voxel = tuple(float(z) for z in image.header.get_zooms()[:3]) if config.radius_unit == "mm" else (1.0, 1.0, 1.0)
    found = spheres(brain, config.radius, voxel_size=voxel, min_fraction=config.min_fraction)
    if found.centres.size == 0:
        raise UserError(f"{mask}: no searchlight centre keeps {config.min_fraction:.0%} of its sphere: "
                        "lower --min-fraction or the radius")
    keys = list(glm_sessions(glm))
    for path in (path for paths in glm_sessions(glm).values() for path in paths):  # headers only, before any job
        beta_image(path, brain, image.affine, mask)
    logs = out.with_name(out.name + ".jobs")
    with output_folder(out, resume=True) as partial:  # an interrupted run's partial folder is resumed
        todo = [key for key in keys if not searchlight_done(partial, glm, key, config, Path(mask))]
        calls = [(str(glm), str(partial), key, str(mask), config, found, " ".join(sys.argv), batch_size,
                  executor == "inline") for key in todo]
        run_jobs(searchlight_session, calls, executor=executor, folder=logs, jobs=jobs, resources=slurm,
                 record=partial / "code" / "slurm-jobs.json")
        write_derivative_description(partial, "garden searchlight model-beta maps", source=glm, step="searchlight")
    return out


def map_name(stem: str, model: str, method: str) -> str:
    """File name of a session's searchlight beta map of ``model`` (``stem``: sub-X_ses-Y_task-Z)."""
    return f"{stem}_model-{model.replace('_', '')}_stat-beta_desc-{method}_statmap.nii.gz"


def _searchlight_sidecar(partial: Path, glm: Path, key: tuple[str, str], method: str) -> Path:
    task = _task_of(glm, *key)
    return partial.joinpath(*key, "func", f"{session_stem(*key, task)}_desc-{method}_searchlight.json")


def searchlight_done(partial: Path, glm: Path, key: tuple[str, str], config: RdmConfig, mask: Path) -> bool:
    """Whether a session's maps are complete under ``partial`` (its sidecar, written last, exists);
    UserError when they were made with other options (a resumed searchlight must use the same ones)."""
    sidecar = _searchlight_sidecar(partial, glm, key, config.method)
    if not sidecar.is_file():
        return False
    recorded = read_record(sidecar, what="searchlight sidecar")
    if recorded.get("config") != json.loads(json.dumps(to_jsonable(asdict(config)))) or recorded.get("mask") != str(mask):
        raise UserError(f"{partial}: holds an unfinished searchlight made with other options or another mask "
                        f"({sidecar.name}); rerun with the same options to resume it, or delete that folder")
    return True


def searchlight_noise(session: SessionBetas, config: RdmConfig) -> tuple[np.ndarray, np.ndarray | None, int | None]:
    """(patterns, noise samples, their dof) for a crossnobis searchlight under ``config.noise``
    (``garden.analysis.neural.noise``): "runs-diag" divides each voxel's betas by its run-wise SD
    (a diagonal metric is a per-voxel scaling, the same in every sphere), "runs" gives the run-wise
    deviations as each sphere's noise samples, "residuals" the GLM residuals, "none" nothing."""
    if config.noise == "residuals":
        return session.betas, np.concatenate(session.residuals), int(sum(session.dofs))
    if config.noise == "none":
        return session.betas, None, None
    deviations, dof = run_deviations(session.betas)
    if config.noise == "runs":
        return session.betas, deviations, dof
    return session.betas / np.sqrt((deviations**2).sum(axis=0) / dof), None, None


def searchlight_session(glm: str, partial: str, key: tuple[str, str], mask: str, config: RdmConfig, found: Spheres,
                        command: str, batch_size: int = 256, progress: bool = False) -> None:
    """One participant's job: that session's searchlight model-beta maps, the sidecar written last
    (``command``: the command line that asked for it, recorded in the sidecar)."""
    glm_path, brain_image = Path(glm), load_mask(mask)
    brain, image = brain_image
    crossnobis = config.method == "crossnobis"
    [session] = read_session_betas(glm_path, brain, residuals=crossnobis and config.noise == "residuals", only=key,
                                   affine=image.affine, reference=mask)
    patterns, residuals, dof = searchlight_noise(session, config) if crossnobis else (session.betas, None, None)
    vectors = searchlight_rdms(patterns, found, method=config.method, residuals=residuals, dof=dof,
                               shrinkage=config.shrinkage, batch_size=batch_size, progress=progress)
    betas = regress_vectors(vectors, brain_model_rdms(config.models, config.context_offset, config.method))[0]
    sidecar = _searchlight_sidecar(Path(partial), glm_path, key, config.method)
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    stem = sidecar.name.removesuffix(f"_desc-{config.method}_searchlight.json")
    voxels = np.flatnonzero(brain.ravel())[found.centres]
    for k, model in enumerate(config.models):
        data = np.full(brain.size, np.nan, dtype=np.float32)
        data[voxels] = betas[:, k]
        path = sidecar.parent / map_name(stem, model, config.method)
        write_image(nibabel.Nifti1Image(data.reshape(brain.shape), image.affine), path)
        write_json(path.with_name(path.name.replace(".nii.gz", ".json")), {
            "Description": f"OLS beta of the z-scored {config.method} RDM of the sphere around each voxel on the "
                           f"z-scored {model} model RDM (fitted jointly with {', '.join(config.models)})",
            "Model": model, "Sources": [str(f) for f in glm_sessions(glm_path)[key]]}, overwrite=True)
    write_json(sidecar, provenance(config=asdict(config), seed=None, models=list(config.models), mask=str(mask),
                                   n_centres=int(found.centres.size), sphere_voxels=found.full_size, source=glm,
                                   command=command),
               overwrite=True)
