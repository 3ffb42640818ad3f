"""The trial table: the one contract between experiment, modelling, networks and analysis.

One row per trial. Required columns (see ``REQUIRED``) are validated for type and range;
any other column is passed through. On disk a session is a BIDS-like TSV,
``sub-<id>/ses-<n>/beh/sub-<id>_ses-<n>_task-garden_beh.tsv``, with a JSON sidecar.

Readers accept ``.tsv``, ``.csv``, ``.csv.gz`` (and ``.tsv.gz``) files or directory trees of
them and report every problem as one line: file, line, column, value, what is expected. Reading the
text of any table (separators, ragged rows, encodings) is ``garden.core.text_tables``'s; this module
holds the contract and the trial files' layout, reading and writing.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from garden.core.errors import UserError
from garden.core.files import write_file
from garden.core.provenance import FOREIGN, INCOMPLETE, completion
from garden.core.text_tables import NA_TEXT, Problem, TrialTableError, infer_column, read_raw

PARTICIPANT_ID = re.compile(r"^[A-Za-z0-9]+$")
MAX_ID_CHARS = 64
"""Longest participant id (it becomes a folder and file name; file systems allow 255 bytes)."""
MAX_CONTEXTS = 2
"""The task has two gardens: a participant's trials have at most two context labels."""
TABLE_SUFFIXES = (".tsv", ".csv", ".csv.gz", ".tsv.gz")
CONTRACT_MISSING = ("", NA_TEXT)
"""A missing value in a contract column: an empty cell or BIDS's n/a; ``nan`` or ``None`` is an error."""

REQUIRED: dict[str, dict[str, Any]] = {
    "participant_id": {"kind": "id", "description": "Participant label: letters and digits only."},
    "session": {"kind": "int", "min": 1, "description": "Session number (1-based)."},
    "phase": {"kind": "text", "description": "Task phase, e.g. training, baseline, main, refresher, scan, test; "
                                             "practice: the practice before a session (left out of analyses)."},
    "block": {"kind": "int", "min": 0, "description": "Block number within the session."},
    "trial": {"kind": "int", "min": 1, "description": "Trial number, 1-based within the session."},
    "context": {"kind": "text", "description": "Garden (context) label, e.g. north/south or blue/orange."},
    "branchiness": {"kind": "int", "min": 1, "max": 5, "description": "Branchiness level of the tree (1..5)."},
    "leafiness": {"kind": "int", "min": 1, "max": 5, "description": "Leafiness level of the tree (1..5)."},
    "exemplar": {"kind": "text", "description": "Exemplar label of the tree within its cell."},
    "reward_value": {"kind": "number", "description": "Points for accepting this tree in this context.",
                     "units": "points"},
    "choice": {"kind": "binary", "missing": True, "description": "1 accept (plant), 0 reject, n/a = no response.",
               "levels": {"1": "accept (plant)", "0": "reject"}},
    "rt": {"kind": "number", "min": 0.0, "missing": True,
           "description": "Response time from tree onset; n/a if no response.", "units": "s"},
}

OPTIONAL: dict[str, dict[str, Any]] = {
    "group": {"kind": "text", "missing": True, "description": "Participant group (e.g. curriculum condition)."},
    "curriculum": {"kind": "text", "missing": True, "description": "Training curriculum: blocked or interleaved."},
    "rule_code": {"kind": "int", "min": 1, "missing": True, "description": "Counterbalancing code of the reward rules."},
    "onset": {"kind": "number", "missing": True, "description": "Tree onset from session/run start.", "units": "s"},
    "duration": {"kind": "number", "min": 0.0, "missing": True, "description": "Tree display duration.",
                 "units": "s"},
    "response_key": {"kind": "text", "missing": True, "description": "Key pressed (X key name)."},
    "correct": {"kind": "binary", "missing": True,
                "description": "1 correct, 0 wrong, n/a if no response or value 0.",
                "levels": {"1": "correct", "0": "wrong"}},
    "reward_received": {"kind": "number", "missing": True, "description": "Points earned on this trial.",
                        "units": "points"},
    "feedback": {"kind": "binary", "missing": True, "description": "1 if feedback was shown on this trial.",
                 "levels": {"1": "feedback shown", "0": "no feedback"}},
}

RENAMED_COLUMNS = {"network_scale": "scale", "network_ctx_scale": "ctx_scale"}
"""Extra columns of trial tables written by older versions -> today's names (``garden train --curriculum``
wrote the networks' init scales as ``network_scale`` and ``network_ctx_scale``)."""

INT_COLUMNS = [c for c, s in REQUIRED.items() if s["kind"] == "int"]
TEXT_COLUMNS = [c for c, s in REQUIRED.items() if s["kind"] in ("text", "id")]
KEY = ["participant_id", "session", "trial"]


def check_participant_id(pid: str) -> str:
    """Return ``pid`` if it is letters and digits only, else raise a UserError saying so.

    Why: the id becomes part of file paths (``sub-<id>``); separators, dots, spaces or shell
    characters could escape the participants folder or break BIDS naming.
    """
    if not isinstance(pid, str) or not PARTICIPANT_ID.match(pid):
        raise UserError(f"participant id {pid[:80] if isinstance(pid, str) else pid!r} is invalid: use letters "
                        "and digits only (e.g. 'P001')")
    if len(pid) > MAX_ID_CHARS:
        raise UserError(f"participant id {pid[:20]}... has {len(pid)} characters: use at most {MAX_ID_CHARS}")
    return pid


TABLE_NAME_END = "_task-garden_beh.tsv"
"""How the file name of a session's trial table ends (other tasks' ``_beh.tsv`` files, e.g. the
arrangement task's, share the ``beh`` folder)."""


def session_tables(folder: str | os.PathLike) -> list[Path]:
    """The session trial tables anywhere under ``folder``, sorted (other tasks' files left out)."""
    return sorted(Path(folder).rglob(f"*{TABLE_NAME_END}"))


def session_path(root: str | os.PathLike, participant_id: str, session: int) -> Path:
    """BIDS-like path of one session's trial table under ``root`` (e.g. ``participants/``)."""
    check_participant_id(participant_id)
    if int(session) < 1:
        raise UserError(f"session {session!r} is invalid: use an integer >= 1")
    sub, ses = f"sub-{participant_id}", f"ses-{int(session)}"
    return Path(root) / sub / ses / "beh" / f"{sub}_{ses}{TABLE_NAME_END}"


# ---------------------------------------------------------------- parsing raw text

def _is_trial_file(name: str) -> bool:
    """In a folder: tables, except BIDS files of other kinds (events, arrangement, RDMs) and participants.tsv."""
    if not name.endswith(TABLE_SUFFIXES) or name == "participants.tsv":
        return False
    return not name.startswith("sub-") or ("_task-garden_" in name and "_beh." in name)


def _table_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _is_trial_file(p.name))
        if not files:
            raise UserError(f"{path}: no trial tables (.tsv, .csv, .csv.gz) found in this folder")
        return files
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if not path.name.endswith(TABLE_SUFFIXES):
        raise UserError(f"{path}: not a trial table; expected a .tsv, .csv or .csv.gz file")
    return [path]


# ---------------------------------------------------------------- validation

def _expected(spec: dict[str, Any]) -> str:
    kind = spec["kind"]
    text = {"id": f"letters and digits only (at most {MAX_ID_CHARS})", "text": "non-empty text", "binary": "1 or 0",
            "int": "an integer", "number": "a number"}[kind]
    if "min" in spec and "max" in spec:
        text += f" {spec['min']}..{spec['max']}"
    elif "min" in spec:
        text += f" >= {spec['min']}"
    if spec.get("missing"):
        text += " (or an empty cell when missing)"
    return text


def _parse_column(values: pd.Series, spec: dict[str, Any]) -> tuple[pd.Series, np.ndarray]:
    """Parse one text column; return (parsed values, boolean mask of bad cells). A column of few distinct
    cells (a context, a phase, a feature level: most columns of an import) parses each distinct cell once."""
    codes, uniques = pd.factorize(values.to_numpy(object), use_na_sentinel=False)
    if 2 * len(uniques) > len(values):
        return _parse_cells(values, spec)
    parsed, bad = _parse_cells(pd.Series(uniques, dtype=object), spec)
    return pd.Series(parsed.to_numpy()[codes], index=values.index, dtype=parsed.dtype), bad[codes]


def _parse_cells(values: pd.Series, spec: dict[str, Any]) -> tuple[pd.Series, np.ndarray]:
    """``_parse_column`` cell by cell in Python, not by pandas string methods: a table of a few dozen trials
    (a session) is checked in less than half the time, a large one (50 000 rows) in about the same."""
    text = [str(value).strip() for value in values]
    kind = spec["kind"]
    missing = np.array([cell in CONTRACT_MISSING for cell in text], bool)
    if kind in ("id", "text"):
        ok = ~missing if not spec.get("missing") else np.ones(len(text), bool)
        if kind == "id":
            ok &= np.array([len(cell) <= MAX_ID_CHARS and PARTICIPANT_ID.fullmatch(cell) is not None
                            for cell in text], bool)
        parsed = pd.Series(["" if gone else cell for cell, gone in zip(text, missing)], index=values.index,
                           dtype=object)
        return parsed, ~ok
    cells = np.array([np.nan if gone else cell for cell, gone in zip(text, missing)], dtype=object)
    numbers = pd.Series(pd.to_numeric(cells, errors="coerce"), index=values.index).astype(float)
    vals = numbers.to_numpy()
    finite = np.isfinite(vals)
    bad = ~missing & ~finite
    if not spec.get("missing"):
        bad |= missing
    with np.errstate(invalid="ignore"):
        if kind in ("int", "binary"):
            bad |= finite & (vals != np.round(vals))
        if kind == "binary":
            bad |= finite & ~np.isin(vals, (0.0, 1.0))
        if "min" in spec:
            bad |= finite & (vals < spec["min"])
        if "max" in spec:
            bad |= finite & (vals > spec["max"])
    return numbers, bad


def column_spec(column: str) -> dict[str, Any] | None:
    """The contract's rule for ``column`` (kind, range, whether it may be empty), or None."""
    return REQUIRED.get(column) or OPTIONAL.get(column)


def invalid_cells(values: pd.Series, column: str) -> np.ndarray:
    """Boolean mask of the text cells of ``column`` that break its contract rule (none for a
    column the contract does not describe)."""
    spec = column_spec(column)
    return _parse_column(values, spec)[1] if spec else np.zeros(len(values), bool)


def _typed(column: str, parsed: pd.Series, spec: dict[str, Any]) -> pd.Series:
    kind = spec["kind"]
    if kind in ("id", "text"):
        return parsed.astype(object)
    if kind == "int" and np.isfinite(parsed.to_numpy(float)).all():
        return parsed.astype(np.int64)
    return parsed.astype(float)


def _missing_columns(raw: pd.DataFrame, source: str) -> list[Problem]:
    problems = []
    missing_cols = [c for c in REQUIRED if c not in raw.columns]
    if missing_cols:
        problems.append(Problem(source, 1, None, None,
                                f"missing required column(s) {missing_cols}; "
                                "rename columns with `garden import --map old=new`"))
    if len(raw) == 0:
        problems.append(Problem(source, None, None, None, "has a header but no trials"))
    return problems


def validate(raw: pd.DataFrame, source: str | Sequence[str] = "<table>",
             lines: Sequence[int] | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Validate a table of text cells; return the typed table and the list of problems.

    ``source`` names the file (or one file per row); ``lines`` gives each row's file line
    (default: 2, 3, ... as when the header is line 1).
    """
    files = np.broadcast_to(np.asarray(source, dtype=object), (len(raw),))
    lines = np.arange(2, len(raw) + 2) if lines is None else np.asarray(lines)
    problems = _missing_columns(raw, str(files[0]) if len(raw) else str(source))
    if problems:
        return raw, problems
    typed = {}
    for column in raw.columns:
        spec = column_spec(column)
        if spec is None:
            typed[column] = infer_column(raw[column]).reset_index(drop=True)
            continue
        parsed, bad = _parse_column(raw[column], spec)
        for i in np.flatnonzero(bad):
            problems.append(Problem(str(files[i]), int(lines[i]), column, str(raw[column].iloc[i]),
                                    f"expected {_expected(spec)}"))
        typed[column] = _typed(column, parsed, spec).reset_index(drop=True)
    table = pd.DataFrame(typed)
    if not problems:
        problems.extend(_context_problems(table, files, lines))
    if not problems:
        for i in np.flatnonzero(table.duplicated(KEY, keep="first").to_numpy()):
            row = table.iloc[i]
            problems.append(Problem(str(files[i]), int(lines[i]), "trial", str(row["trial"]),
                                    f"duplicated trial: participant {row['participant_id']} session "
                                    f"{row['session']} already has trial {row['trial']}"))
    return table, problems


def _context_problems(table: pd.DataFrame, files: np.ndarray, lines: np.ndarray) -> list[Problem]:
    """A participant whose trials carry more than two context labels (the task has two gardens)."""
    counts = table.groupby("participant_id", sort=False)["context"].nunique()
    problems = []
    for pid in counts.index[counts > MAX_CONTEXTS]:
        rows = np.flatnonzero((table["participant_id"] == pid).to_numpy())
        seen = list(dict.fromkeys(table["context"].iloc[rows]))
        first = rows[list(table["context"].iloc[rows]).index(seen[MAX_CONTEXTS])]
        problems.append(Problem(str(files[first]), int(lines[first]), "context", str(seen[MAX_CONTEXTS]),
                                f"participant {pid} has {len(seen)} contexts {seen[:5]}; the task has "
                                f"{MAX_CONTEXTS} gardens: relabel the contexts to two names"))
    return problems


# ---------------------------------------------------------------- public readers and writers

PRACTICE_PHASE = "practice"
"""Phase label of practice trials (``[practice]`` of a protocol); ``read_trials`` leaves them out
unless asked (they teach the keys and feedback, they are not data of the task)."""


def without_practice(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials of every phase but the practice."""
    if "phase" not in trials:
        return trials
    return trials[trials["phase"].astype(str) != PRACTICE_PHASE].reset_index(drop=True)


INCOMPLETE_IMPORT = "import-incomplete.json"
"""Written into a folder before ``garden import`` writes its files, removed after the last one."""


def _incomplete(file: Path) -> str | None:
    """Why a session file is not complete: its sidecar does not say ``completed: true`` (see
    ``garden.core.provenance.completion``), or an import into its folder tree did not finish; None
    otherwise (a foreign table, without a garden sidecar, is taken as it is)."""
    state, reason = completion(file, session=True)
    if state == INCOMPLETE:
        return reason
    for folder in file.parents:
        if (folder / INCOMPLETE_IMPORT).exists():
            return f"{folder / INCOMPLETE_IMPORT} says an import into {folder} did not finish"
    return None


def foreign_tables(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """The trial tables among ``paths`` (files and folders) without a garden sidecar: made by another
    tool, so nothing says whether they are complete (readers take them as they are and say so)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return [f for p in paths for f in _table_files(Path(p)) if completion(f, session=True)[0] == FOREIGN]


def read_trials(paths: str | os.PathLike | Iterable[str | os.PathLike], *,
                include_incomplete: bool = False, include_practice: bool = False) -> pd.DataFrame:
    """Read and validate trial tables from files and/or folders into one typed DataFrame.

    All files are validated together (fast: one pass over all rows), and every problem in
    every file is reported; a trial appearing twice, within or across files, is a problem.
    Sessions that did not finish (``_incomplete``) are problems unless ``include_incomplete``.
    Practice trials (phase ``PRACTICE_PHASE``) are validated, then left out unless ``include_practice``.
    Columns of older versions are read under today's names (``RENAMED_COLUMNS``). Raises ``TrialTableError``.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = [f for p in paths for f in _table_files(Path(p))]
    raws, problems = [], []
    for file in files:
        reason = None if include_incomplete else _incomplete(file)
        if reason:
            problems.append(Problem(str(file), None, None, None,
                                    f"incomplete: {reason}; finish it (e.g. garden run --resume) or pass "
                                    "--include-incomplete to use it anyway"))
            continue
        try:
            raw = read_raw(file).rename(columns=RENAMED_COLUMNS)
        except TrialTableError as exc:
            problems.extend(exc.problems)
            continue
        found = _missing_columns(raw, str(file))
        problems.extend(found)
        if not found:
            raws.append((str(file), raw))
    if problems:
        raise TrialTableError(problems)
    raw = pd.concat([r for _, r in raws], ignore_index=True).fillna("") if len(raws) > 1 else raws[0][1]
    sources = np.concatenate([np.full(len(r), f, dtype=object) for f, r in raws])
    lines = np.concatenate([np.arange(2, len(r) + 2) for _, r in raws])
    table, problems = validate(raw, sources, lines)
    if problems:
        raise TrialTableError(problems)
    return table if include_practice else without_practice(table)


def format_value(value: Any) -> str:
    """Text for one cell: ``n/a`` for missing (None, NaN, empty text), integers without '.0', floats in
    shortest round-trip form."""
    kind = type(value)  # the plain Python types first: a recorded row formats every cell one by one
    if kind is str:
        return value or NA_TEXT
    if kind is int:
        return str(value)
    if kind is float and value == value:
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value == "":
        return NA_TEXT
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def order_columns(columns: Iterable[str]) -> list[str]:
    """Required columns first in contract order, then the others in their given order."""
    columns = list(columns)
    return [c for c in REQUIRED if c in columns] + [c for c in columns if c not in REQUIRED]


def _format_column(values: pd.Series) -> list[str]:
    """The column's cells as ``format_value`` writes them, a whole column at a time (a 600-trial table has
    about 25 columns; an import writes hundreds of tables)."""
    if pd.api.types.is_integer_dtype(values) and not pd.api.types.is_extension_array_dtype(values):
        return values.astype(str).tolist()
    if values.dtype == np.float64:
        return _float_texts(values.to_numpy())
    uniques = pd.unique(values)
    if len(uniques) < len(values) // 2:  # few distinct values: format each once
        lookup = {u: format_value(u) for u in uniques if not pd.isna(u)}
        return [NA_TEXT if missing else lookup[v] for v, missing in zip(values.tolist(), values.isna().tolist())]
    return [format_value(v) for v in values.tolist()]


def _float_texts(values: np.ndarray) -> list[str]:
    """``format_value`` of each float64: whole numbers below 2**53 without '.0', the others in shortest
    round-trip form, NaN as ``n/a``."""
    text = np.array(list(map(repr, values.tolist())), dtype=object)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2**53)
    text[whole] = values[whole].astype(np.int64).astype(str)
    text[np.isnan(values)] = NA_TEXT
    return text.tolist()


def to_tsv_text(table: pd.DataFrame) -> str:
    """The table as TSV text (header + rows) in the contract's column order."""
    columns = order_columns(table.columns)
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    writer.writerows(zip(*(_format_column(table[c]) for c in columns)))
    return out.getvalue()


def write_table(table: pd.DataFrame, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``table`` to a TSV file atomically and durably; an existing file is refused (FileExistsError)
    unless ``overwrite``, which replaces it in one step."""
    return write_file(path, to_tsv_text(table), overwrite=overwrite)


def column_descriptions(columns: Iterable[str], *, fallback: str | None = None) -> dict[str, dict[str, Any]]:
    """BIDS column descriptions (Description, Units, Levels) of the columns that have a spec; the
    others get ``{"Description": fallback}`` (``{column}`` replaced by the name) or are left out
    when ``fallback`` is None."""
    out: dict[str, dict[str, Any]] = {}
    for column in columns:
        spec = REQUIRED.get(column) or OPTIONAL.get(column)
        if spec:
            entry: dict[str, Any] = {"Description": spec["description"]}
            if "units" in spec:
                entry["Units"] = spec["units"]
            if "levels" in spec:
                entry["Levels"] = spec["levels"]
            out[column] = entry
        elif fallback is not None:
            out[column] = {"Description": fallback.format(column=column)}
    return out


def participant_columns(table: pd.DataFrame) -> list[str]:
    """Optional columns that are constant within every participant (e.g. ``group``).

    These are carried into every per-participant output downstream.
    """
    candidates = [c for c in table.columns if c not in REQUIRED]
    if not candidates:
        return []
    nunique = table.groupby("participant_id", sort=False)[candidates].nunique(dropna=False)
    return [c for c in candidates if (nunique[c] <= 1).all()]


def participant_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per participant: ``participant_id`` and its participant-level columns."""
    cols = ["participant_id"] + participant_columns(table)
    return table[cols].drop_duplicates("participant_id").reset_index(drop=True)
