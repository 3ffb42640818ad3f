"""Scanner sessions on disk: finding the runs of a BIDS-like folder and reading their events; reading and
writing the NIfTI images (``read_image``, ``write_image``: every image garden writes goes through it).

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
import os
import zlib
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import nibabel
import numpy as np
import pandas as pd
from isal import igzip
from garden.core.budget import array_bytes, check_memory
from garden.core.errors import UserError
from garden.core.files import write_file, write_with
from garden.core.provenance import write_json
from garden.core.task import CONTEXTS, LEVELS, context_index
from garden.core.trials import read_trials, session_tables

BIDS_VERSION = "1.9.0"
GZIP_LEVEL = 1
"""Compression level of the ``.nii.gz`` images garden writes (ISA-L's igzip: zlib level 1's ratio at a fifth of its
CPU, ``write_image``)."""
CONDITION_EVENT = "tree"
N_CONDITIONS = 2 * LEVELS.size**2


def condition_name(index: int) -> str:
    """Regressor name of condition ``index`` (0-based, ``garden.core.task.item_table`` order): c00..c49."""
    return f"c{int(index):02d}"


@dataclass(frozen=True)
class Run:
    """One scanner run: its BIDS entities and files. ``participant_id`` is the BIDS folder label
    ("sub-01"), ``session_label`` the session folder's ("ses-1"; "" in a dataset without sessions; the
    int ``session`` of garden's tables is ``session_number(session_label)``); ``bold``, ``bold_json``,
    ``confounds`` and ``mask`` may not exist (checked later)."""

    participant_id: str
    session_label: str
    task: str
    run: int
    events: Path
    bold: Path
    bold_json: Path
    confounds: Path
    mask: Path | None = None

    @property
    def stem(self) -> str:
        """The events file's name without ``_events.tsv`` (its entities as written, e.g.
        ``sub-01_task-garden_run-01``): the stem of every derivative of this run."""
        return self.events.name.removesuffix("_events.tsv")

    @property
    def folder(self) -> Path:
        """The run's derivative folder relative to a dataset root: sub-X[/ses-Y]/func."""
        return Path(self.participant_id, self.session_label, "func")  # "" adds no folder

    def path(self, suffix: str) -> Path:
        """A sibling file of the events file: ``<stem>_<suffix>`` in the same folder."""
        return self.events.parent / f"{self.stem}_{suffix}"


_IGNORED = ("suffix", "extension", "datatype")
_PYBIDS = {"sub": "subject", "ses": "session", "acq": "acquisition", "ce": "ceagent", "rec": "reconstruction",
           "dir": "direction", "mod": "modality"}
"""pybids' names of the BIDS entity keys written in file names (``--filter acq=mb4``)."""
_DERIVED = ("space", "desc", "res", "den")
"""Entities a preprocessed image adds to its raw run's (fMRIPrep: space, res, den, desc)."""
_EXTENSIONS = {"bold": [".nii.gz", ".nii"], "mask": [".nii.gz", ".nii"], "timeseries": [".tsv"]}
"""The extensions of a run's files by suffix: its BOLD image, brain mask and confounds table."""


def _layout(root: Path, derivatives: Path | None):
    """A pybids layout of ``root`` (and ``derivatives``), without validation or metadata: garden's
    session folders hold behaviour files whose column descriptions pybids would read as entities."""
    from bids import BIDSLayout, BIDSLayoutIndexer  # deferred: start-up (pybids loads sqlalchemy)

    indexer = BIDSLayoutIndexer(validate=False, index_metadata=False)  # sidecars are read where needed
    try:
        return BIDSLayout(str(root), validate=False, derivatives=[str(derivatives)] if derivatives else False,
                          indexer=indexer)
    except (ValueError, OSError) as exc:  # pybids' BIDSValidationError is a ValueError
        raise UserError(f"{derivatives or root}: not a BIDS dataset pybids can read ({exc}); a derivatives folder "
                        "needs a dataset_description.json with DatasetType derivative and GeneratedBy") from None


def _entities(file) -> dict:
    return {k: v for k, v in file.get_entities().items() if k not in _IGNORED}


def _by_entities(layout, *, scope: str, suffix: str, extension: list[str]) -> dict[frozenset, list]:
    """The files of ``scope`` with ``suffix`` and ``extension`` (pybids' path order) by their entities other than
    the derived ones: one pybids query per kind of file, not one per run (60 ms each)."""
    index: dict[frozenset, list] = {}
    for file in layout.get(scope=scope, suffix=suffix, extension=extension):
        entities = _entities(file)
        index.setdefault(frozenset((k, v) for k, v in entities.items() if k not in _DERIVED), []).append(
            (entities, file.path))
    return index


def _match(index: dict[frozenset, list], raw: dict, *, suffix: str, space: str | None,
           desc: str | None) -> Path | None:
    """The file of ``index`` (``_by_entities``) with the raw run's entities (plus space/desc where given), or
    None; UserError when several match (name the entity that tells them apart)."""
    query = frozenset((k, v) for k, v in raw.items() if k not in _DERIVED)
    found = [(entities, path) for entities, path in index.get(query, [])
             if (space is None or entities.get("space") == space) and (desc is None or entities.get("desc") == desc)]
    if len(found) > 1:
        spaces = sorted({str(entities.get("space")) for entities, _ in found})
        raise UserError(f"{found[0][1]}: {len(found)} {suffix} files match this run (spaces {spaces}); choose one "
                        "with --space")
    return Path(found[0][1]) if found else None


def find_runs(root: str | Path, *, participants: list[str] | None = None, task: str | None = None,
              filters: dict[str, str] | None = None, derivatives: str | Path | None = None,
              space: str | None = None) -> dict[tuple[str, str], list[Run]]:
    """Scanner runs under the BIDS dataset ``root`` grouped by (participant_id, session_label), runs sorted.

    Read with pybids: any entity set (sessions optional, runs zero-padded or not), ``task`` and
    entity ``filters`` ({"acq": "mb4"}) select runs. The events come from the raw dataset; the BOLD,
    its sidecar, brain mask and confounds from ``derivatives`` (fMRIPrep: ``*_desc-preproc_bold``,
    ``*_desc-brain_mask``, ``*_desc-confounds_timeseries.tsv``; ``space`` picks one of several
    output spaces) or, without derivatives, the raw ``*_bold.nii.gz`` next to the events. UserError
    if there are none or the run numbers of a session are not 1..N. The same question about an unchanged
    dataset (``_fingerprint``) is answered from memory, without indexing it again."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: no such folder: give the BIDS folder that holds sub-*/[ses-*/]func/")
    derivatives = Path(derivatives) if derivatives else None
    if derivatives is not None and not (derivatives / "dataset_description.json").is_file():
        raise UserError(f"{derivatives}: not a derivatives folder (no dataset_description.json): give the folder "
                        "fMRIPrep wrote (e.g. BIDS/derivatives/fmriprep) or --derivatives none")
    query = {_PYBIDS.get(k, k): v for k, v in (filters or {}).items()}
    if task:
        query["task"] = task
    if participants:
        query["subject"] = list(participants)
    key = (str(root), str(derivatives), space, repr(sorted(query.items())), _fingerprint(root, derivatives))
    if key not in _FOUND:
        _FOUND.clear()  # one dataset at a time: a pipeline asks about the same folder again and again
        _FOUND[key] = _indexed_runs(root, derivatives, space, query)
    return {session: list(runs) for session, runs in _FOUND[key].items()}


_FOUND: dict[tuple, dict[tuple[str, str], list[Run]]] = {}
"""``find_runs``' last answer by its arguments and the dataset's ``_fingerprint``: indexing a dataset with pybids
takes seconds, and ``garden demo`` asks about the same unchanged folder once per GLM."""


def _fingerprint(*folders: Path | None) -> tuple:
    """Every entry under ``folders`` with its size (bytes) and modification time (ns): changes when a file of the
    dataset is added, removed or rewritten."""
    entries = []
    for folder in filter(None, folders):
        for parent, _, names in os.walk(folder):
            for name in names:
                path = os.path.join(parent, name)
                info = os.stat(path) if os.path.exists(path) else os.lstat(path)  # a dangling link: itself
                entries.append((parent, name, info.st_size, info.st_mtime_ns))
    return tuple(sorted(entries))


def _indexed_runs(root: Path, derivatives: Path | None, space: str | None,
                  query: dict) -> dict[tuple[str, str], list[Run]]:
    """``find_runs``' answer read with pybids (``query``: pybids' entity names)."""
    layout = _layout(root, derivatives)
    scope = "derivatives" if derivatives else "raw"

    @cache
    def files(suffix: str) -> dict[frozenset, list]:  # queried when the first run needs them (none: no query)
        return _by_entities(layout, scope=scope, suffix=suffix, extension=_EXTENSIONS[suffix])

    sessions: dict[tuple[str, str], list[Run]] = {}
    for file in layout.get(scope="raw", suffix="events", extension=".tsv", **query):
        raw = _entities(file)
        path = Path(file.path)
        if raw.get("task") is None:
            continue
        desc = "preproc" if derivatives else None
        bold = _match(files("bold"), raw, suffix="bold", space=space, desc=desc)
        stem = path.name.removesuffix("_events.tsv")
        if bold is None:
            bold = path.parent / f"{stem}_bold.nii.gz"  # missing: reported by the checks, naming this path
        mask = _match(files("mask"), raw, suffix="mask", space=space, desc="brain") if derivatives else None
        confounds = (_match(files("timeseries"), raw, suffix="timeseries", space=None, desc="confounds")
                     or bold.parent / f"{stem}_desc-confounds_timeseries.tsv")
        bold_json = bold.with_name(bold.name.removesuffix(".gz").removesuffix(".nii") + ".json")
        pid, label = f"sub-{raw['subject']}", f"ses-{raw['session']}" if raw.get("session") else ""
        run = Run(pid, label, f"task-{raw['task']}", int(raw.get("run", 1)), path, bold, bold_json, confounds, mask)
        sessions.setdefault((pid, label), []).append(run)
    if not sessions:
        raise UserError(f"{root}: no sub-*/[ses-*/]func/*_events.tsv files{_selection(query)}: give the BIDS folder "
                        "that holds the runs' events (scanner sessions of `garden run --protocol flesch2022`)")
    for key, runs in sessions.items():
        runs.sort(key=lambda r: r.run)
        numbers = [r.run for r in runs]
        if len(set(numbers)) < len(numbers):
            raise UserError(f"{runs[0].events.parent}: several events files per run number {numbers}: select one "
                            "set with --task or entity filters (e.g. --filter acq=X)")
        if numbers != list(range(1, len(runs) + 1)):
            missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
            raise UserError(f"{runs[0].events.parent}: run(s) {missing} missing (found runs {numbers}): "
                            "every run 1..N needs its events.tsv")
    return sessions


def _selection(query: dict) -> str:
    return f" matching {query}" if query else ""


@dataclass(frozen=True)
class EventColumns:
    """Where the conditions are in an events file: the ``trial_type`` value of condition events and
    the columns naming each event's context and feature levels (``--conditions``)."""

    trial_type: str = CONDITION_EVENT
    context: str = "context"
    branchiness: str = "branchiness"
    leafiness: str = "leafiness"

    @classmethod
    def parse(cls, text: str) -> "EventColumns":
        """``trial_type=stim,context=ctx,...`` -> EventColumns (unnamed keys keep their defaults)."""
        known = cls.__dataclass_fields__
        values = {}
        for item in (part.strip() for part in text.split(",") if text.strip()):
            key, sep, value = item.partition("=")
            if not sep or key.strip() not in known or not value.strip():
                raise UserError(f"--conditions: {item!r} is not KEY=VALUE with KEY one of {list(known)} (e.g. "
                                "trial_type=stimulus,context=rule,branchiness=b,leafiness=l)")
            if key.strip() in values:
                raise UserError(f"--conditions: {key.strip()!r} given twice; give each KEY once")
            values[key.strip()] = value.strip()
        return cls(**values)


EVENTS_CONTRACT = ("events.tsv (BIDS): onset and duration in seconds, trial_type; rows whose trial_type is "
                   "the condition value (default 'tree') are the 50 conditions, named by a context column (the "
                   "two context labels, default north/south) and branchiness and leafiness columns (levels 1-5); "
                   "other trial types are nuisance regressors; --conditions maps other column names and values")


def read_events(path: str | Path, *, contexts: tuple[str, str] = CONTEXTS,
                columns: EventColumns = EventColumns()) -> pd.DataFrame:
    """Events of one run with ``onset``, ``duration`` (s), ``trial_type`` and ``condition``
    (0-based index for condition events, -1 for the others); ``columns`` says where the conditions are."""
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
    trees = (table["trial_type"].astype(str) == columns.trial_type).to_numpy()
    if not trees.any():
        found = sorted(table["trial_type"].astype(str).unique())[:8]
        raise UserError(f"{path}: column 'trial_type' has no {columns.trial_type!r} events (it has {found}): the "
                        "conditions are those events; name their trial_type with --conditions trial_type=VALUE")
    condition = np.full(len(table), -1)
    named = {"context": columns.context, "branchiness": columns.branchiness, "leafiness": columns.leafiness}
    need = [column for column in named.values() if column not in table]
    if need:
        raise UserError(f"{path}: column(s) {need} missing (it has {list(table.columns)}): condition events are named "
                        "by context, branchiness and leafiness columns; map yours with --conditions "
                        "context=COL,branchiness=COL,leafiness=COL")
    levels = table.loc[trees, [columns.branchiness, columns.leafiness]].apply(pd.to_numeric, errors="coerce").to_numpy()
    bad = ~np.isin(levels, LEVELS)
    if bad.any():
        row, col = (int(v[0]) for v in np.nonzero(bad))
        name = (columns.branchiness, columns.leafiness)[col]
        raise UserError(f"{path}: row {int(np.flatnonzero(trees)[row]) + 2}, column {name!r}: "
                        f"{table.loc[trees, name].iat[row]!r} is not a level in {LEVELS.tolist()}")
    levels = levels.astype(int)
    labels = table.loc[trees, columns.context].astype(str).to_numpy()
    try:
        k = context_index(labels, contexts)
    except UserError as exc:
        raise UserError(f"{path}: column {columns.context!r}: {exc}") from None
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


def write_image(image: nibabel.Nifti1Image, path: str | Path) -> Path:
    """Write a NIfTI image to ``path`` atomically and durably (``garden.core.files.write_with``), replacing a
    leftover of an interrupted run; ``.nii.gz`` is gzip by ISA-L's igzip at ``GZIP_LEVEL`` (mtime 0, no file
    name: the same image gives the same bytes), which any gzip reader takes: nibabel's own writer (zlib level 1)
    takes about five times the CPU for files of the same size (``python -m benchmarks images``)."""
    def gzipped(fh) -> None:
        with igzip.IGzipFile(filename="", mode="wb", compresslevel=GZIP_LEVEL, fileobj=fh, mtime=0) as gz:
            image.to_stream(gz)

    return write_with(path, gzipped if str(path).endswith(".gz") else image.to_stream, overwrite=True)


def image_data(image, path: str | Path, *, what: str = "image") -> np.ndarray:
    """The voxel values of ``image`` (read from ``path``) as float64; UserError naming the file when its
    compressed data are damaged or cut short behind an intact header and trailer (nibabel's EOFError,
    zlib or gzip errors)."""
    try:
        return np.asarray(image.dataobj, dtype=float)
    except (EOFError, OSError, zlib.error) as exc:
        raise UserError(f"{path}: cut short or damaged ({type(exc).__name__} reading the {what}'s data); copy or "
                        "remake the file") from None


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


def derivative_files(folder: str | Path, pattern: str) -> list[Path]:
    """Files named ``pattern`` under a derivatives ``folder``'s sub-*/func/ and sub-*/ses-*/func/, sorted."""
    folder = Path(folder)
    return sorted([*folder.glob(f"sub-*/func/{pattern}"), *folder.glob(f"sub-*/ses-*/func/{pattern}")])


def session_key(path: Path) -> tuple[str, str]:
    """(participant_id, session_label) of a file in sub-X[/ses-Y]/func/ (label "" without a session folder)."""
    if path.parts[-3].startswith("ses-"):
        return path.parts[-4], path.parts[-3]
    return path.parts[-3], ""


def session_stem(participant_id: str, session_label: str, task: str) -> str:
    """``sub-X[_ses-Y]_task-T``: the file-name stem of a session's derivatives."""
    return "_".join(part for part in (participant_id, session_label, task) if part)


def session_number(label: str, where: str | Path) -> int | None:
    """The int ``session`` of a BIDS session label (``ses-2`` -> 2; None without a session folder);
    UserError naming ``where`` for a label that is not a number (garden numbers its sessions)."""
    if not label:
        return None
    number = label.removeprefix("ses-")
    if not number.isdigit():
        raise UserError(f"{where}: session label {label!r} is not a number; garden numbers sessions "
                        "(rename the folder ses-1, ses-2, ...)")
    return int(number)


def entity(name: str, key: str) -> str | None:
    """The value of entity ``key`` in a BIDS file name (None when absent)."""
    for part in name.split("_"):
        if part.startswith(f"{key}-"):
            return part[len(key) + 1:]
    return None
