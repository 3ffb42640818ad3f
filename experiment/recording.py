"""Safe recording of one session: every trial appended, flushed and fsynced before the next.

Why: a crash, a power cut or ``kill -9`` must lose at most the trial in progress, and existing
data must never be overwritten. The trial table lives at ``core.trials.session_path`` (BIDS
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

from core.errors import UserError
from core.files import DurableAppend, truncate_to_last_line
from core.importing import update_participants
from core.provenance import provenance, to_jsonable, write_json
from core.trials import column_descriptions, format_value, order_columns, session_path

RESULT_COLUMNS = ["onset", "duration", "response_key", "correct", "reward_received", "cue_onset",
                  "dropped_frames", "timed_out"]
"""Columns filled by running a trial (beside the sequence's); times in seconds."""

EXTRA_DESCRIPTIONS = {
    "side_accept": "Screen side (left/right) of the accept label on this trial.",
    "run": "Scanner run (1-based); empty outside the scanner.",
    "iti_s": "Planned inter-trial interval after this trial (s).",
    "planned_onset": "Scanner: planned tree onset from the run's trigger (s).",
    "cue_onset": "Onset of the context cue, same clock as onset (s).",
    "dropped_frames": "Frames dropped while this trial was on screen.",
    "timed_out": "1 if no response came within the response window.",
}


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


def sidecar_path(table_path: Path) -> Path:
    """The JSON sidecar beside a ``.tsv`` table."""
    return table_path.with_suffix(".json")


def replace_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    write_json(path, data, overwrite=True)


def events_path(table_path: Path, run: int) -> Path:
    """BIDS events file of one scanner run: ``.../ses-N/func/sub-X_ses-N_task-garden_run-R_events.tsv``."""
    stem = table_path.name.removesuffix("_beh.tsv")
    return table_path.parent.parent / "func" / f"{stem}_run-{int(run)}_events.tsv"


EVENT_COLUMNS = ["onset", "duration", "trial_type", "trial", "context", "branchiness", "leafiness",
                 "exemplar", "reward_value", "planned_onset", "response_time", "choice", "response_key"]


class SessionRecorder:
    """Writes one session: trial table, sidecar, per-run scanner events, participants.tsv.

    ``columns`` are the sequence's columns; ``RESULT_COLUMNS`` are added after them. ``fsync``:
    see ``AppendTable``.
    """

    def __init__(self, root: str | os.PathLike, participant_id: str, session: int, columns: list[str],
                 *, resume: bool = False, fsync: bool = True):
        self.root = Path(root)
        self.path = session_path(root, participant_id, session)
        self.sidecar = sidecar_path(self.path)
        if resume and not self.path.exists():
            raise UserError(f"{self.path}: nothing to resume (no such session); run without --resume")
        self.columns = order_columns(list(columns) + [c for c in RESULT_COLUMNS if c not in columns])
        self.table = AppendTable(self.path, self.columns, resume=resume, fsync=fsync)
        self.resume, self.fsync = resume, fsync
        self._events: dict[int, AppendTable] = {}
        self.info: dict[str, Any] = {}

    @property
    def n_done(self) -> int:
        """Trials already on disk when the recorder was opened (0 unless resuming)."""
        return self.table.rows_before

    def start(self, config: dict[str, Any], seed: int, **info: Any) -> None:
        """Write (or, resuming, update) the sidecar: config, seed, versions, start time, info."""
        if self.resume and self.sidecar.exists():
            self.info = json.loads(self.sidecar.read_text(encoding="utf-8"))
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
            self.info["columns"] = {**column_descriptions(self.columns),
                                    **{c: {"Description": d} for c, d in EXTRA_DESCRIPTIONS.items()
                                       if c in self.columns}}
        replace_json(self.sidecar, self.info)

    def save(self) -> None:
        """Rewrite the sidecar from ``info`` (atomically)."""
        replace_json(self.sidecar, self.info)

    def append(self, row: dict[str, Any]) -> None:
        """Record one finished trial (durable on return)."""
        self.table.append(row)

    def event(self, run: int, row: dict[str, Any]) -> None:
        """Record one scanner event of ``run`` in that run's ``events.tsv`` (durable on return)."""
        if run not in self._events:
            self._events[run] = AppendTable(events_path(self.path, run), EVENT_COLUMNS, resume=self.resume,
                                            fsync=self.fsync)
        self._events[run].append(row)

    def finish(self, completed: bool, **info: Any) -> None:
        """Close the files and record the end time, completion and any final info in the sidecar."""
        self.table.close()
        for table in self._events.values():
            table.close()
        self.info.update(end_utc=now_utc(), completed=bool(completed), **info)
        replace_json(self.sidecar, self.info)

    def update_participants(self, row: dict[str, Any]) -> Path:
        """Add this participant (participant-level columns of ``row``) to ``participants.tsv``."""

        return update_participants(self.root, pd.DataFrame([row]))


def recorded_trials(path: str | os.PathLike) -> pd.DataFrame:
    """The complete rows of a (possibly interrupted) session table, as text (a partial last line
    is ignored); used to check a resumed session against its sequence."""
    raw = Path(path).read_bytes()
    text = raw[: raw.rfind(b"\n") + 1].decode("utf-8")
    return pd.read_csv(io.StringIO(text), sep="\t", dtype=str, keep_default_na=False)
