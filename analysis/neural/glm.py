"""First-level GLM of scanner runs with nilearn: one regressor per condition per run (LSA).

For each run found by ``garden.analysis.neural.bids``: the tree events give 50 condition regressors
(``c00``..``c49``), every other event type (the cue, the key presses) one nuisance regressor, events of no
duration (key presses) as stick functions one oversampled frame long, scanner triggers left out
(``design_events``); nilearn's
``make_first_level_design_matrix`` convolves them with the chosen HRF and adds the drift model
(cosine with a high-pass cut-off, polynomial, or none) and the chosen confound columns; the BOLD
of the mask's voxels is scaled to percent signal change (``nilearn.glm.first_level.mean_scaling``,
as ``FirstLevelModel(signal_scaling=0)`` does) and fitted with ``nilearn.glm.first_level.run_glm``
(AR(1) or OLS noise model).

Outputs (a BIDS-derivatives folder, written under ``OUT.partial`` and renamed when complete)::

    OUT/dataset_description.json
    OUT/sub-<ID>/ses-<N>/func/<stem>_stat-effect_statmap.nii.gz   50 volumes: condition betas (% signal)
    OUT/sub-<ID>/ses-<N>/func/<stem>_stat-effect_statmap.json     conditions, design, dof, versions
    OUT/sub-<ID>/ses-<N>/func/<stem>_desc-residuals_bold.nii.gz   whitened GLM residuals (noise for crossnobis)
    OUT/sub-<ID>/ses-<N>/func/<stem>_desc-residuals_bold.json     RepetitionTime, description, source
    OUT/README

The betas' sidecar is written last: a run whose sidecar exists is complete (a resumed GLM keeps it).
A scratch GLM read once and deleted (``fit_dataset(compress=False)``: the sensitivity variants) writes its images
as ``.nii``, which readers here take as well: gzip is most of the time a run's images take to write and read.
"""

from __future__ import annotations

import json
import sys
import warnings
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType

import nibabel
import numpy as np
import pandas as pd
from garden.analysis.neural.bids import (
    N_CONDITIONS,
    EventColumns,
    Run,
    check_all_conditions,
    check_events_in_scan,
    condition_name,
    derivative_files,
    entity,
    find_runs,
    image_data,
    read_events,
    read_image,
    repetition_time,
    session_key,
    write_derivative_description,
    write_image,
)
from garden.analysis.neural.grids import check_same_grid
from garden.core.errors import UserError
from garden.core.files import output_folder, refuse_existing
from garden.core.jobs import Resources, check_executor, run_jobs
from garden.core.progress import progress_bar
from garden.core.provenance import provenance, read_record, to_jsonable, write_json
from garden.core.task import CONTEXTS
from threadpoolctl import threadpool_limits

AUTO = "auto"
MOTION_COLUMNS = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")
BETAS = "stat-effect_statmap"
RESIDUALS = "desc-residuals_bold"
HRF_MODELS = ("glover", "spm", "glover + derivative", "spm + derivative")
DRIFT_MODELS = ("cosine", "polynomial", "none")
NOISE_MODELS = ("ar1", "ols")


@dataclass(frozen=True)
class GlmConfig:
    """Design choices (seconds, Hz). ``confounds``: columns of the run's confounds file to add as
    regressors ("motion" stands for the six fMRIPrep motion parameters, "outliers" for every
    ``motion_outlier*`` spike column the file has; the default "auto" is both where the run has a
    confounds file and none where it has not). ``columns``: where the conditions are in the events."""

    hrf_model: str = "glover"
    drift_model: str = "cosine"
    high_pass_hz: float = 0.01
    drift_order: int = 1
    noise_model: str = "ar1"
    confounds: tuple[str, ...] = (AUTO,)
    tr_s: float | None = None
    contexts: tuple[str, str] = CONTEXTS
    columns: EventColumns = EventColumns()

    def check(self) -> None:
        """UserError for an unknown option value."""
        for name, value, allowed in (("--hrf", self.hrf_model, HRF_MODELS), ("--drift", self.drift_model, DRIFT_MODELS),
                                     ("--noise-model", self.noise_model, NOISE_MODELS)):
            if value not in allowed:
                raise UserError(f"{name}: {value!r} is not one of {list(allowed)}")
        if self.high_pass_hz <= 0:
            raise UserError("--high-pass must be > 0 Hz")

    def confound_columns(self, available: list[str] | None) -> list[str]:
        """The confound column names with "motion", "outliers" and "auto" expanded (``available``:
        the columns of the run's confounds file, None when it has none)."""
        names = (("motion", "outliers") if available is not None else ()) if self.confounds == (AUTO,) \
            else self.confounds
        out: list[str] = []
        for name in names:
            if name == "motion":
                out.extend(MOTION_COLUMNS)
            elif name == "outliers":
                out.extend(c for c in available or [] if c.startswith("motion_outlier"))
            else:
                out.append(name)
        return out


RUN_MASKS = "intersection of the runs' brain masks"


@dataclass(frozen=True)
class Selection:
    """Which runs of a BIDS dataset to fit: ``task``, entity ``filters`` ((key, value) pairs, e.g.
    ("acq", "mb4")), the ``derivatives`` folder holding the preprocessed BOLD (default:
    ROOT/derivatives/fmriprep when it exists; "none" for raw BOLD next to the events) and its
    output ``space``."""

    task: str | None = None
    filters: tuple[tuple[str, str], ...] = ()
    derivatives: str | None = None
    space: str | None = None

    def derivatives_of(self, root: str | Path) -> Path | None:
        """The derivatives folder to read the BOLD from (None: the raw dataset)."""
        if self.derivatives == "none":
            return None
        if self.derivatives is not None:
            return Path(self.derivatives)
        default = Path(root) / "derivatives" / "fmriprep"
        return default if default.is_dir() else None


def runs_mask(sessions: dict[tuple[str, str], list[Run]]):
    """(intersection of every run's brain mask, the first mask's image); UserError naming a run
    without one or a mask on another grid."""
    brain, image = None, None
    for runs in sessions.values():
        for run in runs:
            if run.mask is None or not run.mask.is_file():
                raise UserError(f"{run.bold}: no brain mask (*_desc-brain_mask.nii.gz) for this run in the "
                                "derivatives; give one with --mask")
            mask, found = load_mask(run.mask)
            if brain is not None:
                check_same_grid(run.mask, mask.shape, found.affine, reference=image.get_filename(),
                                reference_shape=brain.shape, reference_affine=image.affine)
            brain, image = (mask, found) if brain is None else (brain & mask, image)
    return brain, image


@dataclass(frozen=True)
class RunFit:
    """One run's fit: betas (50 conditions, n_voxels), whitened residuals (n_volumes, n_voxels),
    residual degrees of freedom, the design matrix and the TR (s)."""

    betas: np.ndarray
    residuals: np.ndarray
    dof: int
    design: pd.DataFrame
    tr_s: float


def read_confounds(run: Run, config: GlmConfig, n_volumes: int) -> pd.DataFrame | None:
    """The chosen confound columns of a run (NaN, e.g. fMRIPrep's first derivative row, -> 0)."""
    exists = run.confounds.is_file()
    table = pd.read_csv(run.confounds, sep="\t", na_values=["n/a"]) if exists else None
    columns = config.confound_columns(None if table is None else list(table.columns))
    if not columns:
        return None
    if table is None:
        raise UserError(f"{run.confounds}: missing, but --confounds asks for {columns}")
    missing = [c for c in columns if c not in table]
    if missing:
        raise UserError(f"{run.confounds}: confound columns {missing} missing (it has {list(table.columns)[:8]}...)")
    if len(table) != n_volumes:
        raise UserError(f"{run.confounds}: {len(table)} rows for {n_volumes} volumes: one row per volume")
    return table[columns].fillna(0.0)


def first_level() -> ModuleType:
    """nilearn's first-level GLM module, imported on first use (1.4 s: kept off the CLI's start-up)."""
    from nilearn.glm import first_level as module  # deferred: start-up (only when a GLM is built)

    return module


NOT_MODELLED = {"trigger": "scanner pulses time the volumes; they are no event of the task, and a regressor of one "
                           "pulse per TR is the constant"}
"""Event types left out of every design matrix, with the reason."""
OVERSAMPLING = 50
"""nilearn's time grid per TR when it convolves events (its default)."""


def design_events(named: pd.DataFrame, tr_s: float) -> pd.DataFrame:
    """``onset``, ``duration``, ``trial_type`` of the events a design models (s): ``NOT_MODELLED`` types dropped,
    and events of duration 0 (key presses: instantaneous) given one oversampled frame, tr_s / ``OVERSAMPLING``:
    the stick function nilearn builds for them anyway, said here so it does not warn of "null duration"."""
    kept = named[~named["trial_type"].isin(list(NOT_MODELLED))]
    return kept.assign(duration=kept["duration"].where(kept["duration"] > 0, tr_s / OVERSAMPLING))[
        ["onset", "duration", "trial_type"]]


def event_regressors(events: pd.DataFrame, frame_times: np.ndarray, hrf_model: str) -> pd.DataFrame:
    """The HRF-convolved regressor(s) of every event type (``onset``, ``duration``, ``trial_type``; s) sampled at
    ``frame_times`` (s), types in sorted order and columns named as nilearn's ``make_first_level_design_matrix``
    makes them. Its steps, with nilearn's own helpers where they are cheap: duplicate events summed, each event a
    boxcar on a grid ``OVERSAMPLING`` times finer than the TR (nilearn's onset and offset indices), convolved with
    the HRF kernel(s), resampled linearly at the frame times, a derivative orthogonalised to its main column.
    The convolution is not computed on the whole fine grid: only the two fine samples around each frame time are
    needed, and there a boxcar from index ``on`` to ``off`` convolved with kernel ``h`` is ``S[j - on] - S[j - off]``,
    ``S`` the running sum of ``h`` (``boxcar_response``). Equal to nilearn's up to float rounding
    (tests/test_neural_glm.py compares them for every ``HRF_MODELS``; benchmarks/bench_glm.py times them)."""
    from nilearn.glm.first_level import experimental_paradigm, hemodynamic_models  # deferred: start-up (nilearn)

    cleaned = experimental_paradigm.handle_modulation_of_duplicate_events(experimental_paradigm.check_events(events))
    types, type_of = np.unique(cleaned["trial_type"].to_numpy(), return_inverse=True)
    _, high_res = hemodynamic_models._sample_condition(  # noqa: SLF001 (nilearn's fine grid, from an empty condition)
        (np.zeros(0), np.zeros(0), np.zeros(0)), frame_times, OVERSAMPLING)
    on, off = boxcar_indices(cleaned["onset"].to_numpy(float), cleaned["duration"].to_numpy(float), high_res,
                             frame_times)
    weights = np.zeros((len(types), len(on)))
    weights[type_of, np.arange(len(on))] = cleaned["modulation"].to_numpy(float)
    hi = np.searchsorted(high_res, frame_times).clip(1, high_res.size - 1)  # as scipy's interp1d
    step = (frame_times - high_res[hi - 1]) / (high_res[hi] - high_res[hi - 1])
    tr_s = float(np.min(np.diff(frame_times)))
    sampled = []
    for kernel in hemodynamic_models._hrf_kernel(hrf_model, tr_s, OVERSAMPLING):  # noqa: SLF001
        running = np.cumsum(np.asarray(kernel, dtype=float))
        low, high = (weights @ boxcar_response(running, j, on, off) for j in (hi - 1, hi))  # (types, frames)
        sampled.append(low + (high - low) * step)
    stacked = np.stack(sampled, axis=2)  # (types, frames, kernels)
    columns = [hemodynamic_models.orthogonalize(stacked[k].copy()) for k in range(len(types))]
    names = [f"{name}{suffix}" for name in types for suffix in ("", "_derivative")[:len(sampled)]]
    return pd.DataFrame(np.hstack(columns), columns=names, index=frame_times)


def boxcar_indices(onset: np.ndarray, duration: np.ndarray, high_res: np.ndarray,
                   frame_times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, after-last) fine-grid indices of each event's boxcar, as nilearn's ``_sample_condition`` places them
    (onsets and offsets (s) at the next fine sample, within the grid; an event shorter than a fine step lasts
    one), warning as it does of onsets more than 24 s before the first frame."""
    if (onset < frame_times[0] - 24.0).any():
        warnings.warn(f"Some stimulus onsets are earlier than {frame_times[0] - 24.0} in the experiment and are "
                      "thus not considered in the model.", UserWarning, stacklevel=3)
    last = high_res.size - 1
    on = np.minimum(np.searchsorted(high_res, onset), last)
    off = np.minimum(np.searchsorted(high_res, onset + duration), last)
    return on, np.where((off < last) & (off == on), off + 1, off)


def boxcar_response(running: np.ndarray, at: np.ndarray, on: np.ndarray, off: np.ndarray) -> np.ndarray:
    """(events, len(at)): each event's unit boxcar (fine indices ``on`` to ``off``) convolved with a kernel, at the
    fine indices ``at``: ``S[at - on] - S[at - off]``, ``S`` the kernel's running sum ``running`` (0 before index 0,
    its total after its end)."""
    def s(lag: np.ndarray) -> np.ndarray:
        return np.where(lag >= 0, running[np.minimum(lag, running.size - 1).clip(0)], 0.0)
    return s(at[None, :] - on[:, None]) - s(at[None, :] - off[:, None])


def run_design(events: pd.DataFrame, n_volumes: int, tr_s: float, config: GlmConfig,
               confounds: pd.DataFrame | None = None) -> pd.DataFrame:
    """The LSA design matrix of one run (nilearn, event regressors by ``event_regressors``): condition columns
    c00..c49 first, then the other event types, confounds, drift terms and the constant."""
    named = events.assign(trial_type=[condition_name(c) if c >= 0 else str(t)
                                      for t, c in zip(events["trial_type"], events["condition"])])
    frame_times = np.arange(n_volumes) * tr_s
    regressors = event_regressors(design_events(named, tr_s), frame_times, config.hrf_model)
    if confounds is not None:
        regressors[list(confounds.columns)] = confounds.to_numpy()
    design = first_level().make_first_level_design_matrix(
        frame_times, None, drift_model=None if config.drift_model == "none" else config.drift_model,
        high_pass=config.high_pass_hz, drift_order=config.drift_order, add_regs=regressors.to_numpy(),
        add_reg_names=list(regressors.columns))
    conditions = [condition_name(c) for c in range(N_CONDITIONS)]
    return design[conditions + [c for c in design.columns if c not in conditions]]


def fit_run(bold: np.ndarray, design: pd.DataFrame, *, noise_model: str = "ar1") -> tuple[np.ndarray, np.ndarray, int]:
    """(betas of the condition columns, whitened residuals, residual dof) of (n_volumes, n_voxels)
    BOLD under ``design``; the BOLD is first scaled to percent signal change like FirstLevelModel, then fitted as
    nilearn's ``run_glm`` fits it (``run_glm_arrays``)."""
    scaled, _ = first_level().mean_scaling(np.asarray(bold, dtype=float), axis=0)
    matrix = design.to_numpy(dtype=float)
    coefficients, residuals = run_glm_arrays(scaled, matrix, noise_model)
    n_cond = sum(c.startswith("c") and c[1:].isdigit() for c in design.columns)
    dof = int(scaled.shape[0] - np.linalg.matrix_rank(matrix))
    return coefficients[:n_cond], residuals, dof


AR1_BINS = 100
"""nilearn's ``run_glm`` default: each voxel's AR(1) coefficient is truncated to a multiple of 1/100."""


def run_glm_arrays(data: np.ndarray, design: np.ndarray, noise_model: str) -> tuple[np.ndarray, np.ndarray]:
    """(coefficients (regressors, voxels), whitened residuals (volumes, voxels)) of nilearn's ``run_glm(data,
    design, noise_model)`` ("ols" or "ar1", ``AR1_BINS`` bins), with the same operations in the same order, so the
    same bits (tests/test_neural_glm.py): OLS through ``scipy.linalg.pinv``; for AR(1), the Yule-Walker coefficient
    of each voxel's OLS residuals (``yule_walker_ar1``) truncated to its bin, then per bin the design and the data
    whitened (row t less rho times row t - 1) and the OLS fit of the whitened data. What is not computed: the model
    and result objects nilearn builds per bin (another SVD for the rank, the coefficients' covariance), and
    nilearn's ``residuals`` attribute, which under AR(1) is the data less the *whitened* design times the
    coefficients (nilearn/nilearn#2964, open): neither whitened nor raw, not orthogonal to the design."""
    from scipy.linalg import pinv  # deferred: start-up (scipy.linalg only when a GLM is fitted)

    coefficients = pinv(design) @ data
    residuals = data - design @ coefficients
    if noise_model == "ols":
        return coefficients, residuals
    rho = (yule_walker_ar1(residuals.T) * AR1_BINS).astype(int) * 1.0 / AR1_BINS
    for value in np.unique(rho):
        voxels = rho == value
        whitened_design, whitened = design.copy(), data[:, voxels]  # a fancy index copies
        whitened_design[1:] = whitened_design[1:] - value * design[:-1]
        whitened[1:] = whitened[1:] - value * data[:-1, voxels]
        beta = pinv(whitened_design) @ whitened  # C order, as nilearn's: `coefficients[:, voxels]` is a copy in
        coefficients[:, voxels] = beta  # F order, and BLAS multiplies F-order operands in another order (AVX-512)
        residuals[:, voxels] = whitened - whitened_design @ beta
    return coefficients, residuals


def yule_walker_ar1(x: np.ndarray) -> np.ndarray:
    """The Yule-Walker AR(1) coefficient of each row of ``x`` (voxels, volumes), as nilearn's ``_yule_walker(x, 1)``
    computes it, the same floating-point operations included, without its per-voxel ``toeplitz`` (a Python loop:
    about 35 µs a voxel)."""
    n = x.shape[-1]
    y = x - x.mean()  # nilearn centres on the mean over all voxels and volumes
    r = np.zeros((x.shape[0], 2))
    r[:, 0] += (y[:, np.newaxis, :] @ y[:, :, np.newaxis])[:, 0, 0]
    r[:, 1] += (y[:, np.newaxis, 0:-1] @ y[:, 1:, np.newaxis])[:, 0, 0]
    r /= (n - np.arange(2)) * n
    return np.linalg.solve(r[:, :1, None], r[:, 1:, None])[..., 0][:, 0]


def load_mask(path: str | Path, what: str = "mask image"):
    """(boolean 3-D mask array, nibabel image) of a NIfTI mask of 0s and 1s (one volume; 1 is in); UserError
    naming the file (a ``what``) if it is not one or is empty."""
    path = Path(path)
    image = read_image(path, what=what)
    values = np.asarray(image.get_fdata())
    if values.ndim == 4 and values.shape[3] == 1:  # one volume stored 4-D, as some tools write masks
        values = values[..., 0]
    if values.ndim != 3:
        raise UserError(f"{path}: shape {values.shape}; a mask is one 3-D volume")
    stray = ~np.isin(values, (0.0, 1.0))
    if stray.any():
        raise UserError(f"{path}: not a binary mask ({int(stray.sum())} voxel(s) neither 0 nor 1, e.g. "
                        f"{values[stray].flat[0]:g}); threshold it to 0/1 (a probability map is not a mask)")
    mask = values > 0
    if not mask.any():
        raise UserError(f"{path}: the mask has no voxel > 0")
    return mask, image


def header_repetition_time(image) -> float | None:
    """The TR (s) in a NIfTI header, or None when the header gives no time unit."""
    unit = image.header.get_xyzt_units()[1]
    scale = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6}.get(unit)
    return None if scale is None else float(image.header.get_zooms()[3]) * scale


@dataclass(frozen=True)
class CheckedRun:
    """A run whose files passed every check, ready to fit: events, TR (s), volumes, confounds."""

    run: Run
    events: pd.DataFrame
    tr_s: float
    n_volumes: int
    confounds: pd.DataFrame | None


def check_run(run: Run, mask: np.ndarray, config: GlmConfig, *, affine: np.ndarray | None = None,
              reference: object = "the mask") -> CheckedRun:
    """Check one run's files (BOLD grid, TR, events inside the scan, every condition, confounds)
    without reading its data; UserError naming the file otherwise. ``affine``: the mask's (file
    ``reference``), which the BOLD's must match too."""
    if not run.bold.is_file():
        raise UserError(f"{run.bold}: missing BOLD image for {run.events.name}")
    image = read_image(run.bold, what="BOLD image")
    if image.ndim != 4 or image.shape[:3] != mask.shape:
        raise UserError(f"{run.bold}: shape {image.shape} is not a 4-D series on the grid {mask.shape} of {reference}")
    if affine is not None:
        check_same_grid(reference, mask.shape, affine, reference=run.bold, reference_shape=image.shape,
                        reference_affine=image.affine)
    n_volumes = image.shape[3]
    tr_s = repetition_time(run, tr_s=config.tr_s, header_tr_s=header_repetition_time(image))
    events = read_events(run.events, contexts=config.contexts, columns=config.columns)
    check_events_in_scan(events, n_volumes=n_volumes, tr_s=tr_s, where=str(run.events))
    check_all_conditions(events, where=str(run.events))
    confounds = read_confounds(run, config, n_volumes)
    return CheckedRun(run, events, tr_s, n_volumes, confounds)


def glm_run(run: Run | CheckedRun, mask: np.ndarray, config: GlmConfig) -> RunFit:
    """Fit one run's GLM inside ``mask`` (checking its files first unless already checked)."""
    checked = run if isinstance(run, CheckedRun) else check_run(run, mask, config)
    design = run_design(checked.events, checked.n_volumes, checked.tr_s, config, checked.confounds)
    bold = np.asarray(nibabel.load(str(checked.run.bold)).dataobj, dtype=float)[mask].T
    betas, residuals, dof = fit_run(bold, design, noise_model=config.noise_model)
    return RunFit(betas, residuals, dof, design, checked.tr_s)


def _volumes(values: np.ndarray, mask: np.ndarray, affine: np.ndarray):
    data = np.zeros((*mask.shape, values.shape[0]), dtype=np.float32)
    data[mask] = values.T
    return nibabel.Nifti1Image(data, affine)


def _write_run(ready: CheckedRun, brain: np.ndarray, affine: np.ndarray, config: GlmConfig, partial: Path,
               mask: Path, command: str, extension: str = ".nii.gz") -> str:
    """Fit one checked run and write its betas, residuals (images ending ``extension``) and, last (it marks the
    run done), its sidecar."""
    with threadpool_limits(1):  # small matrices: one BLAS thread per run (participants go in parallel)
        fit, run = glm_run(ready, brain, config), ready.run
    folder = partial / run.folder
    folder.mkdir(parents=True, exist_ok=True)
    write_image(_volumes(fit.betas, brain, affine), folder / f"{run.stem}_{BETAS}{extension}")
    write_image(_volumes(fit.residuals, brain, affine), folder / f"{run.stem}_{RESIDUALS}{extension}")
    write_json(folder / f"{run.stem}_{RESIDUALS}.json", {
        "RepetitionTime": fit.tr_s, "Description": f"whitened residuals of the {config.noise_model} GLM "
                                                   "(percent signal change), the noise estimate of crossnobis",
        "Sources": [str(run.bold)]}, overwrite=True)
    write_json(folder / f"{run.stem}_{BETAS}.json", provenance(
        config=asdict(config), seed=None, conditions=[condition_name(c) for c in range(N_CONDITIONS)],
        design_columns=list(fit.design.columns), residual_dof=fit.dof, repetition_time_s=fit.tr_s,
        n_volumes=int(fit.residuals.shape[0]), mask=str(mask), source=str(run.bold),
        nilearn=metadata.version("nilearn"), units="percent signal change per unit regressor", command=command),
        overwrite=True)
    return run.stem


def fit_session(runs: list[CheckedRun], brain: np.ndarray, affine: np.ndarray, config: GlmConfig,
                partial: str | Path, mask: str | Path, command: str, progress: bool = False,
                extension: str = ".nii.gz") -> None:
    """One participant's job: fit and write every run of a session not yet done under ``partial``
    (``command``: the command line that asked for it, recorded in the sidecars; images end ``extension``)."""
    todo = [r for r in runs if not run_done(Path(partial), r.run, config, Path(mask))]
    for ready in progress_bar(todo, desc=f"GLM {runs[0].run.participant_id}", unit="run", enabled=progress):
        _write_run(ready, brain, affine, config, Path(partial), Path(mask), command, extension)


def run_done(partial: Path, run: Run, config: GlmConfig, mask: Path) -> bool:
    """Whether ``run``'s outputs are complete under ``partial`` (its sidecar, written last, exists);
    UserError when they were made with other options (a resumed GLM must use the same ones)."""
    sidecar = partial / run.folder / f"{run.stem}_{BETAS}.json"
    if not sidecar.is_file():
        return False
    recorded = read_record(sidecar, what="GLM sidecar")
    if recorded.get("config") != json.loads(json.dumps(to_jsonable(asdict(config)))) or recorded.get("mask") != str(mask):
        raise UserError(f"{partial}: holds an unfinished GLM made with other options or another mask ({sidecar.name}); "
                        "rerun with the same options to resume it, or delete that folder")
    return True


def fit_dataset(root: str | Path, out: str | Path, *, mask: str | Path | None = None, config: GlmConfig,
                participants: list[str] | None = None, select: Selection | None = None, executor: str = "inline",
                jobs: int | None = None, slurm: Resources | None = None, compress: bool = True) -> Path:
    """Fit every run under ``root`` and write the derivatives folder ``out`` (see the module
    docstring); all runs are checked before any fitting starts; refuses an existing ``out``.

    One job per participant session (``garden.core.jobs.run_jobs``: ``executor`` "inline", "local" or
    "slurm", at most ``jobs`` at once): each writes its own files under ``OUT.partial`` and marks
    each run complete last, so the result does not depend on the order jobs finish in, and running
    the same command again after an interruption keeps the finished runs.

    ``select`` picks runs (task, entity filters) and the derivatives they come from; without
    ``mask`` the brain is the intersection of the runs' derivative brain masks, written as
    ``OUT/desc-brain_mask.nii.gz``. ``compress`` False: the run images as ``.nii`` (a scratch GLM, read once)."""
    config.check()
    check_executor(executor)
    out = Path(out)
    refuse_existing(out)
    select = select or Selection()
    sessions = find_runs(root, participants=participants, task=select.task, filters=dict(select.filters),
                         derivatives=select.derivatives_of(root), space=select.space)
    brain, image = load_mask(mask) if mask is not None else runs_mask(sessions)
    mask = mask if mask is not None else RUN_MASKS
    checked = [[check_run(run, brain, config, affine=image.affine, reference=image.get_filename())
                for run in runs] for runs in sessions.values()]
    logs = out.with_name(out.name + ".jobs")
    with output_folder(out, resume=True) as partial:  # an interrupted run's partial folder is resumed
        todo = [runs for runs in checked if not all(run_done(partial, r.run, config, Path(mask)) for r in runs)]
        calls = [(runs, brain, image.affine, config, str(partial), str(mask), " ".join(sys.argv),
                  executor == "inline", ".nii.gz" if compress else ".nii") for runs in todo]
        run_jobs(fit_session, calls, executor=executor, folder=logs, jobs=jobs, resources=slurm,
                 record=partial / "code" / "slurm-jobs.json")
        if mask == RUN_MASKS:  # the brain the GLM used, for later steps (searchlight --mask)
            write_image(nibabel.Nifti1Image(brain.astype(np.uint8), image.affine), partial / "desc-brain_mask.nii.gz")
        write_derivative_description(partial, "garden first-level GLM (LSA, one regressor per condition per run)",
                                     source=root, step="glm",
                                     tools=[{"Name": "nilearn", "Version": metadata.version("nilearn")}])
    return out


@dataclass(frozen=True)
class SessionBetas:
    """One session's GLM outputs read back: betas (runs, 50, voxels), residuals per run
    (n_volumes, voxels) and their dofs, inside a mask."""

    participant_id: str
    session_label: str
    betas: np.ndarray
    residuals: list[np.ndarray]
    dofs: list[int]


def glm_sessions(glm: str | Path) -> dict[tuple[str, str], list[Path]]:
    """The beta files of a ``fit_dataset`` folder by (participant_id, session_label), runs in order;
    UserError if none."""
    glm = Path(glm)
    files = [*derivative_files(glm, f"*_run-*_{BETAS}.nii.gz"), *derivative_files(glm, f"*_run-*_{BETAS}.nii")]
    if not files:
        raise UserError(f"{glm}: no *_{BETAS}.nii.gz files: run `garden neural glm` first")
    grouped: dict[tuple[str, str], list[Path]] = {}
    for path in files:
        grouped.setdefault(session_key(path), []).append(path)
    for paths in grouped.values():
        paths.sort(key=lambda p: int(entity(p.name, "run")))
    return grouped


def glm_grid(glm: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(voxels the GLM fitted: a non-zero beta in its first run, that image's affine) of a GLM folder."""
    first = next(iter(glm_sessions(glm).values()))[0]
    image = read_image(first, what="GLM beta image")
    return np.any(np.asarray(image.dataobj) != 0, axis=3), image.affine


def read_session_betas(glm: str | Path, mask: np.ndarray, *, residuals: bool = True,
                       only: tuple[str, str] | None = None, affine: np.ndarray | None = None,
                       reference: object = "the mask") -> list[SessionBetas]:
    """Every session's betas (and residuals) under a ``fit_dataset`` folder, restricted to ``mask``
    (``only``: just that (participant_id, session_label)); each image must be on the mask's grid (shape,
    and ``affine`` when given; ``reference``: the mask's file) and hold one beta per condition."""
    out = []
    for key, paths in glm_sessions(glm).items():
        if only is not None and key != only:
            continue
        betas, noise, dofs = [], [], []
        for path in paths:
            image = beta_image(path, mask, affine, reference)
            betas.append(image_data(image, path, what="GLM beta image")[mask])
            sidecar = read_record(path.with_name(path.name.removesuffix(".gz").removesuffix(".nii") + ".json"),
                                  what="GLM beta sidecar")
            if not isinstance(sidecar.get("residual_dof"), int):
                raise UserError(f"{path}: its sidecar has no integer residual_dof (damaged); rerun garden neural glm")
            dofs.append(sidecar["residual_dof"])
            if residuals:
                res = path.with_name(path.name.replace(BETAS, RESIDUALS))
                noise.append(image_data(_on_grid(res, "GLM residual image", mask, affine, reference), res,
                                        what="GLM residual image")[mask].T)
        out.append(SessionBetas(*key, np.stack(betas).transpose(0, 2, 1), noise, dofs))
    return out


def beta_image(path: Path, mask: np.ndarray, affine: np.ndarray | None, reference: object):
    """The GLM beta image at ``path`` (header; data on access) after checking it lies on ``mask``'s grid
    (``affine`` when given, of the file ``reference``) and holds one volume per condition."""
    image = _on_grid(path, "GLM beta image", mask, affine, reference)
    if image.shape[3:] != (N_CONDITIONS,):
        raise UserError(f"{path}: shape {image.shape}; a GLM beta image holds {N_CONDITIONS} volumes (one "
                        "per condition): rerun garden neural glm")
    return image


def _on_grid(path: Path, what: str, mask: np.ndarray, affine: np.ndarray | None, reference: object):
    """The 4-D image at ``path`` after checking it lies on ``mask``'s grid (UserError naming both)."""
    image = read_image(path, what=what)
    if image.ndim != 4:
        raise UserError(f"{path}: shape {image.shape}; a {what} is 4-D: rerun garden neural glm")
    check_same_grid(path, image.shape, image.affine, reference=reference, reference_shape=mask.shape,
                    reference_affine=image.affine if affine is None else affine)
    return image
