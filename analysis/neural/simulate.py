"""Simulated BOLD runs with a known geometry, for the scanner sessions ``garden run`` wrote.

For every participant and scanner run found under a sessions folder (``garden.analysis.neural.bids``),
a small volume is made: a brain (an ellipsoid) holding spherical ROIs. Each ROI has a geometry:
"orthogonal" (the rich solution), "grid" (the lazy one), any other ``garden.rsa.model_rdms`` model, or
"none" (a null ROI). An ROI's true condition responses are a random linear mixture of that model's
condition coordinates (50 conditions x 3 coordinates -> voxels), drawn per participant, scaled so
that their SD over conditions is ``snr`` times the noise SD (percent signal change). The BOLD of a
voxel is

    100 + sum_c hrf_c(t) beta_cv + cue(t) gamma_v + drift_v(t) + motion(t) L_v + e_v(t)

with hrf_c the condition's tree events convolved with the Glover HRF (nilearn), a response to the
context cues and to the key presses in every brain voxel (scanner triggers evoke none:
``glm.design_events``), a slow cosine drift, six motion-like random walks (written as the run's
confounds) with random voxel loadings, and AR(1) noise of SD 1 % signal.

Tied to behaviour: the ROIs listed in ``accuracy_rois`` scale their signal by the participant's
scan-phase accuracy, gain = clip((accuracy - 0.5) / 0.5, 0.1, 1) (chance 0.5 -> 0.1, perfect ->
1), so people who perform better show the geometry more clearly. Ground truth (geometries, gains,
accuracies, seed) goes into ``ground_truth.json``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import nibabel
import numpy as np
import pandas as pd
from garden.analysis.neural.bids import (
    BIDS_VERSION,
    CONDITION_EVENT,
    Run,
    condition_name,
    find_runs,
    read_events,
    scan_accuracy,
    write_image,
)
from garden.analysis.neural.glm import MOTION_COLUMNS as MOTION
from garden.analysis.neural.glm import design_events, event_regressors, first_level
from garden.core.errors import UserError
from garden.core.files import output_folder, refuse_existing, write_file, write_tsv
from garden.core.progress import progress_bar
from garden.core.provenance import provenance, write_json
from garden.rsa.model_rdms import MODEL_RDMS, model_coordinates

NULL = "none"


@dataclass(frozen=True)
class RoiSpec:
    """One spherical ROI: its name, geometry (a model name or "none"), centre (voxel indices) and
    radius (voxels)."""

    name: str
    geometry: str
    centre: tuple[int, int, int]
    radius: float


def default_rois(shape: tuple[int, int, int]) -> list[RoiSpec]:
    """A rich (orthogonal), a lazy (grid) and a null ROI (named "noise": no condition signal; "null"
    would read as missing in TSV tables) spread along the first axis, radius 2.5 voxels."""
    x, y, z = shape
    return [RoiSpec("rich", "orthogonal", (x // 4, y // 2, z // 2), 2.5),
            RoiSpec("lazy", "grid", (x // 2, y // 2, z // 2), 2.5),
            RoiSpec("noise", NULL, (3 * x // 4, y // 2, z // 2), 2.5)]


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate (units: voxels, mm, seconds, percent signal change)."""

    shape: tuple[int, int, int] = (20, 10, 10)
    voxel_mm: float = 3.0
    rois: tuple[RoiSpec, ...] = field(default_factory=lambda: tuple(default_rois((20, 10, 10))))
    snr: float = 0.5
    ar1: float = 0.4
    drift_sd: float = 1.0
    motion_sd: float = 0.3
    cue_amplitude: float = 1.0
    accuracy_rois: tuple[str, ...] = ("rich",)
    context_offset: float = 1.0
    tail_s: float = 12.0
    tr_s: float = 2.0
    seed: int = 0

    def check(self) -> None:
        """UserError for an unusable configuration."""
        for roi in self.rois:
            if roi.geometry != NULL and roi.geometry not in MODEL_RDMS:
                raise UserError(f"--rois: geometry {roi.geometry!r} of ROI {roi.name!r} is unknown: use one of "
                                f"{sorted(MODEL_RDMS)} or {NULL!r}")
            if not all(0 <= c < s for c, s in zip(roi.centre, self.shape)):
                raise UserError(f"--rois: centre {roi.centre} of ROI {roi.name!r} lies outside the volume {self.shape}")
        unknown = set(self.accuracy_rois) - {r.name for r in self.rois}
        if unknown:
            raise UserError(f"--accuracy-rois: {sorted(unknown)} are not ROIs ({[r.name for r in self.rois]})")
        if self.snr < 0 or not 0 <= self.ar1 < 1 or self.tr_s <= 0:
            raise UserError("--snr must be >= 0, --ar1 in [0, 1) and --tr > 0")


def volume_masks(config: SimulationConfig) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(brain mask, {ROI name: mask}) as boolean volumes of ``config.shape``; ROIs lie in the brain
    and do not overlap (UserError otherwise)."""
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in config.shape], indexing="ij"), axis=-1)
    centre = (np.asarray(config.shape) - 1) / 2
    brain = (((grid - centre) / (np.asarray(config.shape) / 2)) ** 2).sum(-1) <= 1.0
    rois = {}
    for roi in config.rois:
        rois[roi.name] = (((grid - np.asarray(roi.centre)) ** 2).sum(-1) <= roi.radius**2) & brain
    stacked = np.sum(list(rois.values()), axis=0)
    if (stacked > 1).any():
        raise UserError("--rois: ROIs overlap; move their centres apart or shrink their radii")
    return brain, rois


def accuracy_gain(accuracy: float) -> float:
    """Signal gain of an accuracy-tied ROI: (accuracy - 0.5) / 0.5 clipped to [0.1, 1]; 1 if unknown."""
    return 1.0 if not np.isfinite(accuracy) else float(np.clip((accuracy - 0.5) / 0.5, 0.1, 1.0))


def roi_responses(geometry: str, n_voxels: int, *, amplitude: float, context_offset: float,
                  rng: np.random.Generator) -> np.ndarray:
    """(50, n_voxels) true responses (% signal): model coordinates times a random Gaussian mixing,
    centred over conditions and scaled to SD ``amplitude`` over conditions (zeros for "none")."""
    if geometry == NULL:
        return np.zeros((50, n_voxels))
    coords = model_coordinates(geometry, context_offset)
    responses = coords @ rng.standard_normal((coords.shape[1], n_voxels))
    responses -= responses.mean(axis=0)
    return amplitude * responses / responses.std()


def ar1_noise(n_volumes: int, n_voxels: int, *, rho: float, rng: np.random.Generator) -> np.ndarray:
    """(n_volumes, n_voxels) stationary AR(1) noise with coefficient ``rho`` and unit marginal SD."""
    innovations = rng.standard_normal((n_volumes, n_voxels)) * np.sqrt(1 - rho**2)
    noise = np.empty_like(innovations)
    noise[0] = rng.standard_normal(n_voxels)
    for t in range(1, n_volumes):
        noise[t] = rho * noise[t - 1] + innovations[t]
    return noise


def motion_traces(n_volumes: int, *, sd: float, rng: np.random.Generator) -> pd.DataFrame:
    """Six smooth motion-like random walks (mm / radians-like units), zero mean, as fMRIPrep names them."""
    walk = np.cumsum(rng.standard_normal((n_volumes, len(MOTION))), axis=0)
    walk -= walk.mean(axis=0)
    walk *= sd / np.maximum(walk.std(axis=0), 1e-12)
    return pd.DataFrame(walk, columns=list(MOTION))


def condition_design(events: pd.DataFrame, frame_times: np.ndarray) -> pd.DataFrame:
    """HRF-convolved regressors (Glover, nilearn) of every condition and of the other event types,
    without drift terms; columns named ``condition_name`` and the event types."""
    named = events.assign(trial_type=[condition_name(c) if t == CONDITION_EVENT else str(t)
                                      for t, c in zip(events["trial_type"], events["condition"])])
    tr_s = float(frame_times[1] - frame_times[0])
    regressors = event_regressors(design_events(named, tr_s), frame_times, "glover")
    return first_level().make_first_level_design_matrix(frame_times, None, drift_model=None,
                                                        add_regs=regressors.to_numpy(),
                                                        add_reg_names=list(regressors.columns))


def _bold_run(events: pd.DataFrame, responses: np.ndarray, brain: np.ndarray, config: SimulationConfig,
              rng: np.random.Generator) -> tuple[np.ndarray, pd.DataFrame]:
    """(x, y, z, t) BOLD of one run and its motion confounds."""
    end = float((events["onset"] + events["duration"]).max()) + config.tail_s
    n_volumes = int(np.ceil(end / config.tr_s))
    frame_times = np.arange(n_volumes) * config.tr_s
    design = condition_design(events, frame_times)
    conditions = design[[condition_name(c) for c in range(50)]].to_numpy()
    n_voxels = int(brain.sum())
    signal = conditions @ responses
    others = set(design.columns) - {condition_name(c) for c in range(50)} - {"constant"}
    for other in sorted(others):  # sorted: a set's order of strings differs between processes (hash seed)
        signal += np.outer(design[other].to_numpy(), config.cue_amplitude * (1 + 0.2 * rng.standard_normal(n_voxels)))
    periods = rng.uniform(150, 400, n_voxels)
    phases = rng.uniform(0, 2 * np.pi, n_voxels)
    drift = config.drift_sd * np.cos(2 * np.pi * frame_times[:, None] / periods + phases)
    motion = motion_traces(n_volumes, sd=config.motion_sd, rng=rng)
    moved = motion.to_numpy() @ rng.standard_normal((len(MOTION), n_voxels))
    noise = ar1_noise(n_volumes, n_voxels, rho=config.ar1, rng=rng)
    series = 100.0 + signal + drift + moved + noise
    bold = np.zeros((*brain.shape, n_volumes), dtype=np.float32)
    bold[brain] = series.T
    return bold, motion


def _nifti(data: np.ndarray, voxel_mm: float, tr_s: float | None = None):
    image = nibabel.Nifti1Image(data, np.diag([voxel_mm, voxel_mm, voxel_mm, 1.0]))
    if tr_s is not None:
        image.header.set_zooms((voxel_mm, voxel_mm, voxel_mm, tr_s))
    image.header.set_xyzt_units("mm", "sec" if tr_s is not None else "unknown")
    return image


def simulate_participant(runs: list[Run], out: Path, *, brain: np.ndarray, rois: dict[str, np.ndarray],
                         config: SimulationConfig, seed: int, contexts: tuple[str, str]) -> dict:
    """Write one participant's BOLD runs, sidecars, confounds, events and behaviour under ``out``;
    return its ground truth."""
    rng = np.random.default_rng(seed)
    folder = runs[0].events.parent.parent
    accuracy = scan_accuracy(folder)
    index = np.flatnonzero(brain.ravel())
    responses = np.zeros((50, index.size))
    truth = {"seed": seed, "accuracy": accuracy, "rois": {}}
    for spec in config.rois:
        gain = accuracy_gain(accuracy) if spec.name in config.accuracy_rois else 1.0
        inside = rois[spec.name][brain]
        responses[:, inside] = roi_responses(spec.geometry, int(inside.sum()), amplitude=config.snr * gain,
                                             context_offset=config.context_offset, rng=rng)
        truth["rois"][spec.name] = {"geometry": spec.geometry, "gain": gain, "amplitude": config.snr * gain}
    target = out / runs[0].folder.parent
    for run in runs:
        events = read_events(run.events, contexts=contexts)
        bold, motion = _bold_run(events, responses, brain, config, rng)
        func = target / "func"
        func.mkdir(parents=True, exist_ok=True)
        write_image(_nifti(bold, config.voxel_mm, config.tr_s), func / f"{run.stem}_bold.nii.gz")
        write_json(func / f"{run.stem}_bold.json", {"RepetitionTime": config.tr_s, "TaskName": run.task[5:],
                                                    "SimulatedBy": "garden neural simulate"})
        write_tsv(func / f"{run.stem}_desc-confounds_timeseries.tsv", motion, float_format="%.6g")
        shutil.copy2(run.events, func / run.events.name)
        if run.path("events.json").is_file():  # the events' column descriptions
            shutil.copy2(run.path("events.json"), func / run.path("events.json").name)
    if (folder / "beh").is_dir():
        shutil.copytree(folder / "beh", target / "beh")
    return truth


def simulate_dataset(sessions: str | Path, out: str | Path, config: SimulationConfig, *,
                     participants: list[str] | None = None,
                     contexts: tuple[str, str] = ("north", "south")) -> Path:
    """Simulated BOLD for every scanner session under ``sessions``, written to the new folder
    ``out`` (refuses an existing one; built under ``out.partial`` and renamed when complete)."""
    config.check()
    out = Path(out)
    refuse_existing(out)
    found = find_runs(sessions, participants=participants)
    brain, rois = volume_masks(config)
    with output_folder(out) as partial:
        _write_dataset(partial, found, brain, rois, config, sessions, contexts)
    return out


def _write_dataset(partial: Path, found: dict, brain: np.ndarray, rois: dict[str, np.ndarray],
                   config: SimulationConfig, sessions: str | Path, contexts: tuple[str, str]) -> None:
    """Everything ``simulate_dataset`` writes, into the folder ``partial``."""
    masks = partial / "masks"
    masks.mkdir(parents=True)
    write_image(_nifti(brain.astype(np.uint8), config.voxel_mm), masks / "brain_mask.nii.gz")
    for name, mask in rois.items():
        write_image(_nifti(mask.astype(np.uint8), config.voxel_mm), masks / f"roi-{name}_mask.nii.gz")
    children = np.random.SeedSequence(config.seed).spawn(len(found))
    truth = {}
    pairs = list(zip(found.items(), children))
    for (key, runs), child in progress_bar(pairs, desc="simulate BOLD", unit="participant"):
        seed = int(child.generate_state(1)[0])
        truth[key[0]] = simulate_participant(runs, partial, brain=brain, rois=rois, config=config, seed=seed,
                                             contexts=contexts)
    # not raw BIDS: the truth, the masks and fMRIPrep-style confounds (the BIDS validator skips them)
    (partial / ".bidsignore").write_text("ground_truth.json\nmasks/\n*_desc-confounds_timeseries.tsv\n",
                                         encoding="utf-8")
    write_json(partial / "dataset_description.json",
               {"Name": "garden simulated BOLD", "BIDSVersion": BIDS_VERSION, "DatasetType": "raw",
                "GeneratedBy": [{"Name": "garden", "Version": metadata.version("garden-task"),
                                 "Description": "garden neural simulate"}]})
    write_file(partial / "README", "Simulated BOLD runs with a known geometry (`garden neural simulate`) for the "
                                   f"scanner sessions in {Path(sessions).name}; ground truth in ground_truth.json.\n")
    _copy_participants(Path(sessions), partial, subjects=list(truth))
    write_json(partial / "ground_truth.json",
               provenance(config=asdict(config), seed=config.seed, sessions=str(sessions),
                          roi_voxels={n: int(m.sum()) for n, m in rois.items()}, participants=truth))


def _copy_participants(sessions: Path, out: Path, *, subjects: list[str]) -> None:
    """The sessions' participants.tsv (rows of ``subjects`` only) and participants.json, when present."""
    if (sessions / "participants.tsv").is_file():
        table = pd.read_csv(sessions / "participants.tsv", sep="\t", dtype=str, keep_default_na=False)
        table = table[table["participant_id"].isin(subjects)]
        write_tsv(out / "participants.tsv", table)
    if (sessions / "participants.json").is_file():
        shutil.copy2(sessions / "participants.json", out / "participants.json")


def parse_rois(text: str, shape: tuple[int, int, int]) -> tuple[RoiSpec, ...]:
    """``name:geometry:x,y,z:radius;...`` -> ROI specs; empty text gives ``default_rois(shape)``."""
    if not text.strip():
        return tuple(default_rois(shape))
    specs = []
    for item in _items(text, ";"):
        parts = item.split(":")
        try:
            name, geometry, centre, radius = parts
            xyz = tuple(int(v) for v in centre.split(","))
            specs.append(RoiSpec(name, geometry, xyz, float(radius)))
        except ValueError:
            raise UserError(f"--rois: {item!r} is not name:geometry:x,y,z:radius (e.g. rich:orthogonal:4,5,5:2.5)")\
                from None
        if len(xyz) != 3:
            raise UserError(f"--rois: centre of {name!r} needs 3 voxel indices")
    return tuple(specs)


def _items(text: str, sep: str) -> Iterable[str]:
    return [part.strip() for part in text.split(sep) if part.strip()]
