"""An independent fMRI simulator for the known-answer test, written in the layout fMRIPrep produces.

Independent of what the analysis assumes (``garden.analysis.neural.simulate`` shares nilearn's
Glover HRF with the GLM's default; this one shares nothing with the analysis but the task's
conditions):

* HRF: a double gamma peaking later than Glover's and SPM's (5.5-7.5 s, drawn per participant) with
  an undershoot 7 s after the peak (ratio 0.35), sampled at 0.1 s and convolved with each event's
  box-car by numpy, not nilearn's kernels;
* noise: AR(1) with rho 0.5, slow drifts (random-phase sinusoids and a linear trend), a global
  signal, and head motion: six random-walk traces with occasional spikes (jumps in the position
  and an intensity drop on that volume), loading on voxels linearly; fMRIPrep-style confounds
  (``trans_x``..``rot_z``, ``framewise_displacement``, ``motion_outlierNN`` for each spike);
* events: a random, jittered order of the 50 conditions twice per run (tree events in the
  project's contract: ``trial_type`` "tree" with ``context``, ``branchiness``, ``leafiness``) and a
  "response" event after each tree, written in the raw BIDS root;
* ROIs: "rich" (each context codes only its relevant feature: north leafiness, south branchiness,
  plus a context offset), "lazy" (both features in both contexts, the grid) and "noise" (no condition
  signal), each a cube of voxels whose condition responses are a random linear mixing of those
  coordinates; or any ROI from given coordinates (e.g. a trained network's hidden activity on the 50
  items, shared or one per participant) or from random coordinates drawn per participant.

Layout::

    ROOT/dataset_description.json, participants.tsv
    ROOT/sub-XX/func/sub-XX_task-garden_run-0R_events.tsv
    ROOT/derivatives/fmriprep/dataset_description.json
    ROOT/derivatives/fmriprep/sub-XX/func/sub-XX_task-garden_run-0R_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz (+ .json)
    ROOT/derivatives/fmriprep/sub-XX/func/sub-XX_task-garden_run-0R_space-MNI152NLin2009cAsym_desc-brain_mask.nii.gz
    ROOT/derivatives/fmriprep/sub-XX/func/sub-XX_task-garden_run-0R_desc-confounds_timeseries.tsv
    ROOT/rois/roi-<name>_mask.nii.gz     (outside the dataset: what an atlas would give)
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel
import numpy as np
import pandas as pd
from scipy import stats

SPACE = "space-MNI152NLin2009cAsym"
SHAPE = (15, 6, 6)
ROIS = {"rich": (slice(1, 4), slice(1, 5), slice(1, 5)),
        "lazy": (slice(6, 9), slice(1, 5), slice(1, 5)),
        "noise": (slice(11, 14), slice(1, 5), slice(1, 5))}
MOTION = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")


def hrf(peak_s: float, dt: float = 0.1, length_s: float = 32.0) -> np.ndarray:
    """Double-gamma HRF peaking near ``peak_s`` with an undershoot 7 s later (ratio 0.35), unit peak,
    sampled every ``dt`` s (Glover's and SPM's peak near 5 s and undershoot near 15 s)."""
    t = np.arange(0, length_s, dt)
    kernel = stats.gamma.pdf(t, peak_s + 1.0) - 0.35 * stats.gamma.pdf(t, peak_s + 8.0)
    return kernel / kernel.max()


def coordinates(geometry: str) -> np.ndarray:
    """(50, 3) condition coordinates, conditions context x branchiness x leafiness (leafiness fastest)."""
    ctx, b, l = (g.ravel() for g in np.meshgrid(np.arange(2), np.arange(5) - 2.0, np.arange(5) - 2.0, indexing="ij"))
    if geometry == "rich":  # north keeps leafiness, south keeps branchiness, on orthogonal axes
        return np.column_stack([np.where(ctx == 0, l, 0.0), np.where(ctx == 1, b, 0.0), 1.5 * ctx])
    if geometry == "lazy":
        return np.column_stack([l, b, 0.3 * ctx])
    return np.zeros((50, 3))


def run_events(rng: np.random.Generator) -> pd.DataFrame:
    """One run: every condition twice, shuffled, a tree every 3.5-5.5 s (1.5 s), a response 1.5 s later."""
    order = rng.permutation(np.repeat(np.arange(50), 2))
    onsets = 6.0 + np.cumsum(rng.uniform(3.5, 5.5, order.size))
    rows = []
    for condition, onset in zip(order, onsets):
        ctx, rest = divmod(int(condition), 25)
        b, l = divmod(rest, 5)
        rows.append({"onset": round(onset, 3), "duration": 1.5, "trial_type": "tree",
                     "context": ("north", "south")[ctx], "branchiness": b + 1, "leafiness": l + 1})
        rows.append({"onset": round(onset + 1.5, 3), "duration": 0.5, "trial_type": "response",
                     "context": "n/a", "branchiness": "n/a", "leafiness": "n/a"})
    return pd.DataFrame(rows)


def regressors(events: pd.DataFrame, n_volumes: int, tr_s: float, peak_s: float, dt: float = 0.1) -> np.ndarray:
    """(n_volumes, 51) regressors of the 50 conditions and the responses, convolved with ``hrf(peak_s)``."""
    grid = np.zeros((int(n_volumes * tr_s / dt) + 1, 51))
    for _, event in events.iterrows():
        column = 50 if event["trial_type"] == "response" else \
            ("north", "south").index(event["context"]) * 25 + (int(event["branchiness"]) - 1) * 5 + \
            int(event["leafiness"]) - 1
        start = int(round(event["onset"] / dt))
        grid[start:start + max(1, int(round(event["duration"] / dt))), column] += 1.0
    kernel = hrf(peak_s, dt) * dt  # a 1 s event of unit amplitude peaks near 1 (% signal)
    convolved = np.stack([np.convolve(grid[:, k], kernel)[:grid.shape[0]] for k in range(51)], axis=1)
    return convolved[(np.arange(n_volumes) * tr_s / dt).astype(int)]


def motion(n_volumes: int, tr_s: float, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """fMRIPrep-style confounds (six parameters, framewise displacement, one outlier column per
    spike) and the spike volumes."""
    walk = np.cumsum(rng.normal(0, 0.02, (n_volumes, 6)), axis=0)
    spikes = np.sort(rng.choice(np.arange(5, n_volumes - 5), size=3, replace=False))
    for spike in spikes:
        walk[spike:] += rng.normal(0, 0.4, 6)  # a jump that stays
    table = pd.DataFrame(walk, columns=list(MOTION))
    fd = np.abs(np.diff(walk[:, :3], axis=0)).sum(1) + 50 * np.abs(np.diff(walk[:, 3:], axis=0)).sum(1)
    table["framewise_displacement"] = np.concatenate([[np.nan], fd])
    for k, spike in enumerate(spikes):
        table[f"motion_outlier{k:02d}"] = (np.arange(n_volumes) == spike).astype(float)
    return table, spikes


def roi_coordinates(name: str, geometries: dict, rng: np.random.Generator) -> np.ndarray:
    """(50, D) condition coordinates of ROI ``name``: ``geometries[name]`` when given (an array, e.g. a
    network's hidden activity, shared by every participant; or "random": coordinates drawn afresh for
    each participant, unrelated to the task and to the other participants), else ``coordinates(name)``."""
    given = geometries.get(name)
    if given is None:
        return coordinates(name)
    if isinstance(given, str):
        if given != "random":
            raise ValueError(f"geometry {given!r}: give an array or 'random'")
        return rng.standard_normal((50, 3))
    return np.asarray(given, float)


def participant(root: Path, subject: str, *, n_runs: int, tr_s: float, snr: float, rng: np.random.Generator,
                geometries: dict | None = None) -> None:
    """Write one participant's events (raw) and fMRIPrep derivatives (``roi_coordinates`` per ROI)."""
    brain = np.zeros(SHAPE, bool)
    brain[:, 1:5, 1:5] = True
    peak_s = rng.uniform(5.5, 7.5)  # this participant's HRF peak
    responses = np.zeros((50, *SHAPE))
    for name, box in ROIS.items():
        coords = roi_coordinates(name, geometries or {}, rng)
        n_vox = responses[(slice(None), *box)][0].size
        patterns = coords @ rng.standard_normal((coords.shape[1], n_vox))
        patterns -= patterns.mean(axis=0)
        scale = patterns.std() if patterns.std() > 0 else 1.0
        responses[(slice(None), *box)] = (snr * patterns / scale).reshape(50, *responses[(slice(None), *box)][0].shape)
    inside = responses[:, brain]  # (50, V)
    n_vox = inside.shape[1]
    raw = root / subject / "func"
    prep = root / "derivatives" / "fmriprep" / subject / "func"
    raw.mkdir(parents=True, exist_ok=True)
    prep.mkdir(parents=True, exist_ok=True)
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    affine[:3, 3] = (-21.0, -9.0, 3.0)
    for run in range(1, n_runs + 1):
        stem = f"{subject}_task-garden_run-{run:02d}"
        events = run_events(rng)
        n_volumes = int(np.ceil((events["onset"].max() + 16.0) / tr_s))
        design = regressors(events, n_volumes, tr_s, peak_s)
        t = np.arange(n_volumes) * tr_s
        confounds, spikes = motion(n_volumes, tr_s, rng)
        signal = design[:, :50] @ inside + np.outer(design[:, 50], rng.uniform(0.5, 1.5, n_vox))
        drift = (rng.normal(0, 1.0, n_vox) * np.sin(2 * np.pi * t[:, None] / rng.uniform(200, 500, n_vox)
                                                     + rng.uniform(0, 2 * np.pi, n_vox)) + np.outer(t / t[-1], rng.normal(0, 1, n_vox)))
        moved = confounds[list(MOTION)].to_numpy() @ rng.normal(0, 1.5, (6, n_vox))
        noise = np.empty((n_volumes, n_vox))
        noise[0] = rng.standard_normal(n_vox)
        for k in range(1, n_volumes):
            noise[k] = 0.5 * noise[k - 1] + np.sqrt(1 - 0.25) * rng.standard_normal(n_vox)
        global_signal = np.cumsum(rng.normal(0, 0.1, n_volumes))[:, None]
        series = 500.0 * (1 + (signal + drift + moved + noise + global_signal) / 100.0)
        series[spikes] *= 0.97  # the intensity drop of a spike volume
        bold = np.zeros((*SHAPE, n_volumes), np.float32)
        bold[brain] = series.T
        image = nibabel.Nifti1Image(bold, affine)
        image.header.set_zooms((3.0, 3.0, 3.0, tr_s))
        image.header.set_xyzt_units("mm", "sec")
        image.to_filename(prep / f"{stem}_{SPACE}_desc-preproc_bold.nii.gz")
        (prep / f"{stem}_{SPACE}_desc-preproc_bold.json").write_text(
            json.dumps({"RepetitionTime": tr_s, "TaskName": "garden", "SkullStripped": False}), encoding="utf-8")
        nibabel.Nifti1Image(brain.astype(np.uint8), affine).to_filename(prep / f"{stem}_{SPACE}_desc-brain_mask.nii.gz")
        confounds.to_csv(prep / f"{stem}_desc-confounds_timeseries.tsv", sep="\t", index=False, na_rep="n/a",
                         float_format="%.6g")
        events.to_csv(raw / f"{stem}_events.tsv", sep="\t", index=False)


def write_dataset(root: Path, *, n_participants: int = 8, n_runs: int = 4, tr_s: float = 2.0, snr: float = 1.0,
                  seed: int = 0, geometries: dict | None = None) -> Path:
    """The raw BIDS root with its fMRIPrep derivatives and ROI masks (module docstring); returns ``root``.
    ``geometries``: ROI name -> (50, D) condition coordinates, (n_participants, 50, D) one set per
    participant, or "random" (``roi_coordinates``)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    (root / "dataset_description.json").write_text(json.dumps(
        {"Name": "known answer", "BIDSVersion": "1.9.0", "DatasetType": "raw"}), encoding="utf-8")
    subjects = [f"sub-{k + 1:02d}" for k in range(n_participants)]
    pd.DataFrame({"participant_id": subjects}).to_csv(root / "participants.tsv", sep="\t", index=False)
    prep = root / "derivatives" / "fmriprep"
    prep.mkdir(parents=True)
    (prep / "dataset_description.json").write_text(json.dumps(
        {"Name": "fMRIPrep - fMRI PREProcessing workflow", "BIDSVersion": "1.9.0", "DatasetType": "derivative",
         "GeneratedBy": [{"Name": "fMRIPrep", "Version": "simulated"}]}), encoding="utf-8")
    for k, subject in enumerate(subjects):
        mine = {name: g[k] if np.ndim(g) == 3 else g for name, g in (geometries or {}).items()}
        participant(root, subject, n_runs=n_runs, tr_s=tr_s, snr=snr, rng=rng, geometries=mine)
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    affine[:3, 3] = (-21.0, -9.0, 3.0)
    (root / "rois").mkdir()
    for name, box in ROIS.items():
        mask = np.zeros(SHAPE, np.uint8)
        mask[box] = 1
        nibabel.Nifti1Image(mask, affine).to_filename(root / "rois" / f"roi-{name}_mask.nii.gz")
    return root


def swap_labels(root: Path) -> None:
    """Swap branchiness and leafiness in every raw events file (the mirror-image geometry's labels)."""
    for path in sorted(root.glob("sub-*/func/*_events.tsv")):
        table = pd.read_csv(path, sep="\t", dtype=str)
        table[["branchiness", "leafiness"]] = table[["leafiness", "branchiness"]].to_numpy()
        table.to_csv(path, sep="\t", index=False)
