"""Safe recording of one session: every trial appended, flushed and fsynced before the next.

Why: a crash, a power cut or ``kill -9`` must lose at most the trial in progress, and existing
data must never be overwritten. The trial table lives at ``garden.core.trials.session_path`` (BIDS
layout) with a JSON sidecar beside it recording the config, seed, assignment, software versions,
screen, refresh rate, start and end times and whether the session completed. The sidecar is
replaced atomically (write to a temporary file, then rename), so it is always a whole JSON file.

A second run of the same participant and session is refused unless ``resume=True``: then an
incomplete last line (a write cut by a crash) is dropped and recording continues after the last
complete trial. Scanner runs get a BIDS ``events.tsv`` each, written the same way.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from garden.core.bids import ensure_dataset_files
from garden.core.errors import UserError
from garden.core.files import DurableAppend, truncate_to_last_line
from garden.core.importing import update_participants
from garden.core.provenance import (
    provenance,
    read_session_record,
    session_sidecar,
    to_jsonable,
    write_record,
)
from garden.core.trials import column_descriptions, format_value, order_columns, session_path

RESULT_COLUMNS = ["onset", "duration", "response_key", "correct", "reward_received", "cue_onset",
                  "dropped_frames", "timed_out", "interrupted"]
"""Columns filled by running a trial (beside the sequence's); times in seconds."""

SIDES = {"left": "on the left of the screen", "right": "on the right of the screen"}
EXTRA_DESCRIPTIONS: dict[str, dict[str, Any]] = {
    "side_accept": {"Description": "Screen side of the accept label on this trial.", "Levels": SIDES},
    "run": {"Description": "Scanner run (1-based); n/a outside the scanner."},
    "iti_s": {"Description": "Planned inter-trial interval after this trial.", "Units": "s"},
    "planned_onset": {"Description": "Scanner: planned tree onset from the run's trigger; n/a outside the scanner.",
                      "Units": "s"},
    "cue_onset": {"Description": "Onset of the context cue, same clock as onset.", "Units": "s"},
    "dropped_frames": {"Description": "Frames dropped from the wait for this trial's cue to the trial's end "
                                      "(a flip later than the next frame adds the frames it missed)."},
    "timed_out": {"Description": "1 if no response came within the response window.",
                  "Levels": {"1": "no response in time", "0": "responded"}},
    "interrupted": {"Description": "1 if the quit question was on screen during this trial (its times and "
                                   "any timeout are not the participant's).",
                    "Levels": {"1": "interrupted by the quit question", "0": "not interrupted"}},
}
"""Descriptions of the columns a session adds to the contract's (BIDS sidecar entries)."""


def now_utc() -> str:
    """The current UTC time, ISO 8601 to the millisecond."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def _line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter="\t", lineterminator="\n").writerow([format_value(v) for v in values])
    return out.getvalue()


class AppendTable:
    """A TSV file that grows one row at a time, each row flushed and fsynced before returning.

    ``resume=False`` refuses an existing file; ``resume=True`` requires the same header and keeps
    every complete line (a partial last line, cut by a crash, is removed). ``fsync=False`` only
    flushes to the operating system (safe against a killed process, not against a power cut;
    for fast simulations).
    """

    def __init__(self, path: str | os.PathLike, columns: list[str], *, resume: bool = False, fsync: bool = True):
        self.path, self.columns, self.fsync = Path(path), list(columns), fsync
        self.rows_before = 0
        if resume and self.path.exists():
            self._reopen()
        else:
            if self.path.exists():
                raise UserError(f"{self.path}: already exists; refusing to overwrite it "
                                "(use --resume to continue this session, or another session number)")
            self._file = DurableAppend(self.path, "x", fsync=fsync)
            self._file.write(_line(self.columns))

    def _reopen(self) -> None:
        raw = self.path.read_bytes()
        complete = raw[: raw.rfind(b"\n") + 1]
        lines = complete.decode("utf-8").splitlines()
        if not lines or lines[0].split("\t") != self.columns:
            raise UserError(f"{self.path}: its columns differ from this protocol's; it cannot be resumed "
                            "with this protocol (check --protocol)")
        truncate_to_last_line(self.path)
        self.rows_before = len(lines) - 1
        self._file = DurableAppend(self.path, "a", fsync=self.fsync)

    def append(self, row: dict[str, Any]) -> None:
        """Write one row (missing columns empty) and make it durable before returning."""
        self._file.write(_line([row.get(c) for c in self.columns]))

    def close(self) -> None:
        """Close the file (every row is already on disk)."""
        self._file.close()


sidecar_path = session_sidecar
"""The JSON sidecar beside a session's table (``garden.core.provenance.session_sidecar``)."""
session_info = read_session_record
"""Garden's record of a session, migrated to the current layout (``garden.core.provenance``)."""


def events_path(table_path: Path, run: int) -> Path:
    """BIDS events file of one scanner run: ``.../ses-N/func/sub-X_ses-N_task-garden_run-R_events.tsv``."""
    stem = table_path.name.removesuffix("_beh.tsv")
    return table_path.parent.parent / "func" / f"{stem}_run-{int(run)}_events.tsv"


EVENT_COLUMNS = ["onset", "duration", "trial_type", "trial", "context", "branchiness", "leafiness",
                 "exemplar", "reward_value", "side_accept", "planned_onset", "response_time", "choice",
                 "response_key", "correct"]
"""Columns of a scanner run's ``events.tsv``: one ``cue``, one ``tree`` and (if the participant
answered) one ``response`` event per trial, all carrying the trial's condition columns."""
EVENT_DESCRIPTIONS: dict[str, dict[str, Any]] = {
    "onset": {"Description": "Event onset from the run's scanner trigger (the flip of its screen).", "Units": "s"},
    "duration": {"Description": "Event duration (0 for a response).", "Units": "s"},
    "trial_type": {"Description": "Kind of event.",
                   "Levels": {"cue": "context frame with fixation, before the tree",
                              "tree": "tree in the frame with the accept/reject labels (response window)",
                              "response": "key press of the participant (onset = press time)",
                              "trigger": "scanner trigger pulse (onset = key-down time; the first is 0)"}},
    "trial": {"Description": "Trial number of the session (row of the behavioural table)."},
    "response_time": {"Description": "Response time from tree onset; n/a if no response.", "Units": "s"},
    "planned_onset": {"Description": "Planned onset of the event on the run's schedule.", "Units": "s"},
    **{c: e for c, e in EXTRA_DESCRIPTIONS.items() if c == "side_accept"},
}


def _resumable_columns(path: Path, columns: list[str]) -> list[str]:
    """The columns of the table being resumed when it was written before some result columns
    existed (it goes on without them), else ``columns``."""
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
    missing = [c for c in columns if c not in header]
    if header != columns and set(header) <= set(columns) and set(missing) <= set(RESULT_COLUMNS):
        return header
    return columns


class SessionRecorder:
    """Writes one session: trial table, sidecar, per-run scanner events, participants.tsv.

    ``columns`` are the sequence's columns; ``RESULT_COLUMNS`` are added after them, then
    ``extra_columns`` (e.g. the browser's timing record). ``fsync``: see ``AppendTable``.
    """

    def __init__(self, root: str | os.PathLike, participant_id: str, session: int, columns: list[str],
                 *, resume: bool = False, fsync: bool = True, extra_columns: tuple[str, ...] = ()):
        self.root = Path(root)
        self.path = session_path(root, participant_id, session)
        self.sidecar = sidecar_path(self.path)
        if resume and not self.path.exists():
            raise UserError(f"{self.path}: nothing to resume (no such session); run without --resume")
        self.columns = order_columns(list(columns) + [c for c in RESULT_COLUMNS if c not in columns]
                                     + [c for c in extra_columns if c not in columns])
        if resume:
            self.columns = _resumable_columns(self.path, self.columns)
        self.table = AppendTable(self.path, self.columns, resume=resume, fsync=fsync)
        self.resume, self.fsync = resume, fsync
        self._events: dict[int, AppendTable] = {}
        self.info: dict[str, Any] = {}
        """Garden's provenance record of the session (under ``PROVENANCE_KEY`` in the sidecar)."""
        self.column_entries = {**column_descriptions(self.columns),
                               **{c: e for c, e in EXTRA_DESCRIPTIONS.items() if c in self.columns}}
        self.column_entries.update({c: {"Description": f"Column {c} of the session's sequence."}
                                    for c in self.columns if c not in self.column_entries})

    @property
    def n_done(self) -> int:
        """Trials already on disk when the recorder was opened (0 unless resuming)."""
        return self.table.rows_before

    def start(self, config: dict[str, Any], seed: int, **info: Any) -> None:
        """Write (or, resuming, update) the sidecar: config, seed, versions, start time, info."""
        if self.resume and self.sidecar.exists():
            self.info = read_session_record(self.path)
            if self.info.get("seed") != seed:
                raise UserError(f"{self.sidecar}: recorded seed {self.info.get('seed')} differs from {seed}; "
                                "resume with the same protocol and participant (and --seed if one was given)")
            old, new = self.info.get("agent"), json.loads(json.dumps(to_jsonable(info.get("agent"))))
            if old is not None and new is not None and old != new:
                raise UserError(f"{self.sidecar}: the session was run by agent {old.get('name')!r} with other "
                                "settings; resume it with the same --simulate, --agent-params and --agent-seed")
            self.info.setdefault("resumed", []).append({"time_utc": now_utc(), "after_trial": self.n_done, **info})
        else:
            self.info = provenance(config, seed, start_utc=now_utc(), end_utc=None, completed=False, **info)
        ensure_dataset_files(self.root)
        self.save()

    def save(self) -> None:
        """Rewrite the sidecar (column entries + ``info``) atomically."""
        write_record(self.sidecar, self.info, self.column_entries)

    def append(self, row: dict[str, Any]) -> None:
        """Record one finished trial (durable on return)."""
        self.table.append(row)

    def open_run(self, run: int, **info: Any) -> None:
        """Start the ``events.tsv`` of scanner run file ``run`` and its sidecar (column entries, and
        ``info``: planned run, duration, volumes, TR, ... under ``PROVENANCE_KEY``); also listed
        in the session sidecar under ``scanner_runs``."""
        path = events_path(self.path, run)
        self._events[run] = AppendTable(path, EVENT_COLUMNS, resume=self.resume, fsync=self.fsync)
        entries = {**column_descriptions(EVENT_COLUMNS), **EVENT_DESCRIPTIONS}
        record = {"session_sidecar": self.sidecar.name, "run": run, **info}
        write_record(sidecar_path(path), record, {c: entries[c] for c in EVENT_COLUMNS})
        self.info.setdefault("scanner_runs", {})[str(run)] = info
        self.save()

    def event(self, run: int, row: dict[str, Any]) -> None:
        """Record one event of scanner run file ``run`` in its ``events.tsv`` (durable on return)."""
        if run not in self._events:
            self.open_run(run)
        self._events[run].append(row)

    def finish(self, completed: bool, **info: Any) -> None:
        """Close the files and record the end time, completion and any final info in the sidecar."""
        self.table.close()
        for table in self._events.values():
            table.close()
        self.info.update(end_utc=now_utc(), completed=bool(completed), **info)
        self.save()

    def update_participants(self, row: dict[str, Any]) -> Path:
        """Add this participant (participant-level columns of ``row``) to ``participants.tsv``."""

        return update_participants(self.root, pd.DataFrame([row]))


def recorded_trials(path: str | os.PathLike) -> pd.DataFrame:
    """The complete rows of a (possibly interrupted) session table, as text (a partial last line
    is ignored); used to check a resumed session against its sequence."""
    raw = Path(path).read_bytes()
    text = raw[: raw.rfind(b"\n") + 1].decode("utf-8")
    return pd.read_csv(io.StringIO(text), sep="\t", dtype=str, keep_default_na=False)
