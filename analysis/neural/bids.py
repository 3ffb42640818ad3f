"""Scanner sessions on disk: finding the runs of a BIDS-like folder and reading their events.

Layout (what ``garden run`` in scanner mode writes, plus the BOLD images)::

    ROOT/sub-<ID>/ses-<N>/func/sub-<ID>_ses-<N>_task-<T>_run-<R>_events.tsv
    ROOT/sub-<ID>/ses-<N>/func/sub-<ID>_ses-<N>_task-<T>_run-<R>_bold.nii.gz   (+ _bold.json)
    ROOT/sub-<ID>/ses-<N>/func/sub-<ID>_ses-<N>_task-<T>_run-<R>_desc-confounds_timeseries.tsv  (optional)

Events are read by their BIDS columns ``onset``, ``duration`` (seconds) and ``trial_type``; the
"tree" events are the conditions, named by ``context``, ``branchiness`` and ``leafiness`` and
indexed in the order of ``garden.core.task.item_table`` (context x branchiness x leafiness, leafiness
fastest). Other event types (the context cue) are kept as nuisance regressors. Problems raise
``UserError`` naming the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import nibabel
import numpy as np
import pandas as pd

from garden.core.budget import array_bytes, check_memory
from garden.core.errors import UserError
from garden.core.files import write_file
from garden.core.provenance import write_json
from garden.core.task import CONTEXTS, LEVELS, context_index
from garden.core.trials import read_trials, session_tables

BIDS_VERSION = "1.9.0"
CONDITION_EVENT = "tree"
N_CONDITIONS = 2 * LEVELS.size**2
_RUN = re.compile(r"^(sub-[A-Za-z0-9]+)_(ses-[A-Za-z0-9]+)_(task-[A-Za-z0-9]+)_run-(\d+)_events\.tsv$")


def condition_name(index: int) -> str:
    """Regressor name of condition ``index`` (0-based, ``garden.core.task.item_table`` order): c00..c49."""
    return f"c{int(index):02d}"


@dataclass(frozen=True)
class Run:
    """One scanner run: its entities and files (``bold``/``bold_json``/``confounds`` may not exist)."""

    subject: str
    session: str
    task: str
    run: int
    events: Path

    @property
    def stem(self) -> str:
        """BIDS file-name stem without the suffix: ``sub-01_ses-2_task-garden_run-1``."""
        return f"{self.subject}_{self.session}_{self.task}_run-{self.run}"

    def path(self, suffix: str) -> Path:
        """A sibling file of the events file: ``<stem>_<suffix>`` in the same folder."""
        return self.events.parent / f"{self.stem}_{suffix}"

    @property
    def bold(self) -> Path:
        return self.path("bold.nii.gz")

    @property
    def bold_json(self) -> Path:
        return self.path("bold.json")

    @property
    def confounds(self) -> Path:
        return self.path("desc-confounds_timeseries.tsv")


def find_runs(root: str | Path, *, participants: list[str] | None = None) -> dict[tuple[str, str], list[Run]]:
    """Scanner runs under ``root`` grouped by (subject, session), runs sorted; UserError if there
    are none or the run numbers of a session are not 1..N."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: no such folder: give the folder that holds sub-*/ses-*/func/")
    sessions: dict[tuple[str, str], list[Run]] = {}
    for path in sorted(root.glob("sub-*/ses-*/func/*_events.tsv")):
        match = _RUN.match(path.name)
        if not match:
            continue
        subject, session, task, run = match.groups()
        if participants and subject.removeprefix("sub-") not in participants:
            continue
        sessions.setdefault((subject, session), []).append(Run(subject, session, task, int(run), path))
    if not sessions:
        raise UserError(f"{root}: no sub-*/ses-*/func/*_run-*_events.tsv files: run scanner sessions with "
                        "`garden run --protocol flesch2022` or point at the folder that holds them")
    for key, runs in sessions.items():
        runs.sort(key=lambda r: r.run)
        numbers = [r.run for r in runs]
        if numbers != list(range(1, len(runs) + 1)):
            missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
            raise UserError(f"{runs[0].events.parent}: run(s) {missing} missing (found runs {numbers}): "
                            "every run 1..N needs its events.tsv")
    return sessions


def read_events(path: str | Path, *, contexts: tuple[str, str] = CONTEXTS) -> pd.DataFrame:
    """Events of one run with ``onset``, ``duration`` (s), ``trial_type`` and ``condition``
    (0-based index for tree events, -1 for the others)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such events file")
    table = pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["", "n/a"])
    missing = [c for c in ("onset", "duration", "trial_type") if c not in table]
    if missing:
        raise UserError(f"{path}: columns {missing} missing: a BIDS events file needs onset, duration, trial_type")
    for column in ("onset", "duration"):
        values = pd.to_numeric(table[column], errors="coerce")
        if not np.isfinite(values).all():
            row = int(np.flatnonzero(~np.isfinite(values))[0])
            raise UserError(f"{path}: row {row + 2}, column {column!r}: not a finite number of seconds")
        table[column] = values.astype(float)
    trees = (table["trial_type"] == CONDITION_EVENT).to_numpy()
    if not trees.any():
        raise UserError(f"{path}: no '{CONDITION_EVENT}' events: the conditions are the tree events")
    condition = np.full(len(table), -1)
    need = [c for c in ("context", "branchiness", "leafiness") if c not in table]
    if need:
        raise UserError(f"{path}: columns {need} missing: tree events are named by context, branchiness, leafiness")
    levels = table.loc[trees, ["branchiness", "leafiness"]].apply(pd.to_numeric, errors="coerce").to_numpy()
    if not np.isin(levels, LEVELS).all():
        raise UserError(f"{path}: branchiness/leafiness of tree events must be in {LEVELS.tolist()}")
    levels = levels.astype(int)
    k = context_index(table.loc[trees, "context"].astype(str).to_numpy(), contexts)
    condition[trees] = k * LEVELS.size**2 + (levels[:, 0] - 1) * LEVELS.size + (levels[:, 1] - 1)
    table["condition"] = condition
    return table


def repetition_time(run: Run, *, tr_s: float | None = None, header_tr_s: float | None = None) -> float:
    """The run's TR (s): ``RepetitionTime`` of its bold.json, else ``tr_s``; UserError when none is
    known or when the sidecar, ``tr_s`` and the NIfTI header (``header_tr_s``, if > 0) disagree."""
    known: dict[str, float] = {}
    if run.bold_json.is_file():
        sidecar = json.loads(run.bold_json.read_text(encoding="utf-8"))
        if "RepetitionTime" in sidecar:
            known[str(run.bold_json)] = float(sidecar["RepetitionTime"])
    if tr_s is not None:
        known["--tr"] = float(tr_s)
    if header_tr_s:
        known[f"{run.bold} header"] = float(header_tr_s)
    if not known:
        raise UserError(f"{run.bold_json}: no RepetitionTime; add it to the sidecar or give --tr")
    values = list(known.values())
    if not np.allclose(values, values[0], rtol=1e-3):
        listed = ", ".join(f"{where} {value:g} s" for where, value in known.items())
        raise UserError(f"{run.bold}: mismatched TRs ({listed}); fix the sidecar or --tr")
    return values[0]


def check_events_in_scan(events: pd.DataFrame, *, n_volumes: int, tr_s: float, where: str) -> None:
    """UserError when an event starts before 0 or ends after the last volume (n_volumes * tr_s)."""
    end = events["onset"] + events["duration"]
    outside = (events["onset"] < 0) | (end > n_volumes * tr_s + 1e-6)
    if outside.any():
        row = int(np.flatnonzero(outside.to_numpy())[0])
        raise UserError(f"{where}: row {row + 2}: event {events['onset'].iat[row]:g}..{end.iat[row]:g} s lies "
                        f"outside the scan (0..{n_volumes * tr_s:g} s = {n_volumes} volumes x {tr_s:g} s); "
                        "check the TR and that events and BOLD belong to the same run")


def check_all_conditions(events: pd.DataFrame, *, where: str) -> None:
    """UserError when a condition has no tree event in this run (LSA needs each one per run)."""
    absent = sorted(set(range(N_CONDITIONS)) - set(events.loc[events["condition"] >= 0, "condition"]))
    if absent:
        raise UserError(f"{where}: condition(s) {absent} absent from this run: a condition-per-run GLM needs "
                        f"each of the {N_CONDITIONS} conditions in every run")


def scan_accuracy(session_folder: Path) -> float:
    """Mean correctness over the scan-phase trials of a session's behaviour table (NaN when absent)."""
    tables = session_tables(session_folder / "beh")
    if not tables:
        return float("nan")
    trials = read_trials(tables)
    scan = trials[trials["phase"] == "scan"] if "phase" in trials else trials
    return float(np.nanmean(scan["correct"].to_numpy(float))) if len(scan) else float("nan")


def write_derivative_description(folder: Path, name: str, *, source: str | Path, step: str,
                                 tools: list[dict[str, str]] | None = None) -> None:
    """Write a BIDS-derivatives ``dataset_description.json`` (DatasetType "derivative", GeneratedBy
    garden and ``tools``, the source dataset) and a README into ``folder`` (replacing a leftover of
    an interrupted run)."""
    write_json(folder / "dataset_description.json", {
        "Name": name, "BIDSVersion": BIDS_VERSION, "DatasetType": "derivative",
        "GeneratedBy": [{"Name": "garden", "Version": metadata.version("garden-task"),
                         "Description": f"garden neural {step}"}, *(tools or [])],
        "SourceDatasets": [{"URL": Path(source).resolve().as_uri()}]}, overwrite=True)
    write_file(folder / "README", f"{name}: written by `garden neural {step}` from {Path(source).name}.\n"
                                  "File names follow BIDS-derivatives naming; each output has a JSON sidecar.\n",
               overwrite=True)


def read_image(path: str | Path, *, what: str = "image"):
    """The nibabel image at ``path`` (header only; data read on access); UserError naming the file
    when it is missing, not a NIfTI/Analyze image nibabel can read, cut short (``image_bytes``), or
    larger once read (float64) than the memory budget (``garden.core.budget``)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such {what}")
    try:
        image = nibabel.load(str(path))
    except (nibabel.filebasedimages.ImageFileError, OSError, ValueError, EOFError) as exc:
        raise UserError(f"{path}: not a NIfTI image nibabel can read ({type(exc).__name__}); give a .nii or "
                        f".nii.gz {what}") from None
    check_memory(array_bytes(image.shape, 8), f"{path}: {what} of {'x'.join(map(str, image.shape))} voxels",
                 name="decoded_gib")
    _check_length(path, image)
    return image


def _check_length(path: Path, image) -> None:
    """UserError when a single-file NIfTI holds fewer bytes than its header promises (a cut copy):
    the file size for ``.nii``, the gzip trailer's length (mod 2^32) for ``.nii.gz``."""
    header = image.header
    if not isinstance(header, nibabel.Nifti1Header) or path.name.endswith((".hdr", ".img", ".img.gz")):
        return
    need = int(getattr(image.dataobj, "offset", 0)) + int(np.prod(image.shape)) * header.get_data_dtype().itemsize
    if path.name.endswith(".gz"):
        with open(path, "rb") as fh:
            fh.seek(-4, 2)
            held = int.from_bytes(fh.read(4), "little")
        short = held != need % 2**32
    else:
        short = path.stat().st_size < need
    if short:
        raise UserError(f"{path}: cut short or damaged (its header promises {need} bytes of image); copy or "
                        "remake the file")
