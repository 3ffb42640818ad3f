"""Turn any trial table (old data, other software) into garden's on-disk layout.

Columns are renamed (``mapping``) and constants added (``constants``); values that break the
contract in columns named by ``blank`` (e.g. the negative RTs of the published 2018 files) can be
imported as missing, the raw value kept in ``<column>_invalid``; the result must satisfy the
trial-table contract and is written one file per participant and session, with sidecars,
plus ``participants.tsv``. Nothing existing is overwritten: all target files are checked first,
so a refused import writes nothing. A table without a ``feedback`` column gets one from its
``phase`` when every phase is known (``FEEDBACK_BY_PHASE``: train/training/practice 1, test 0),
recorded in the sidecars as ``feedback_from_phase``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from garden.core.bids import (
    ensure_dataset_files,
    read_participants,
    write_participants,
)
from garden.core.errors import UserError
from garden.core.provenance import provenance, write_json, write_session_record
from garden.core.text_tables import Problem, TrialTableError, read_raw
from garden.core.trials import (
    INCOMPLETE_IMPORT,
    column_descriptions,
    column_spec,
    invalid_cells,
    participant_table,
    session_path,
    validate,
    write_table,
)

IMPORTED = "Column {column} of the imported table (passed through as it was)."
FEEDBACK_BY_PHASE = {"train": 1, "training": 1, "practice": 1, "test": 0}
"""Phases whose trials showed feedback (1) or not (0), as in the 2018 data and the shipped protocols:
``feedback`` is derived from ``phase`` when the imported table has no such column."""


def derive_feedback(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int] | None]:
    """Add ``feedback`` from ``phase`` (``FEEDBACK_BY_PHASE``) to a table that lacks it and whose
    phases are all known; returns the table and the mapping used (None: nothing derived)."""
    if "feedback" in table.columns or "phase" not in table.columns:
        return table, None
    phases = set(table["phase"].dropna().astype(str))
    if not phases or not phases <= set(FEEDBACK_BY_PHASE):
        return table, None
    used = {p: FEEDBACK_BY_PHASE[p] for p in sorted(phases)}
    return table.assign(feedback=table["phase"].astype(str).map(used)), used


def parse_pairs(text: str | None, flag: str) -> dict[str, str]:
    """Parse ``a=b,c=d`` into a dict; UserError naming the flag and the bad item otherwise."""
    pairs: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in (text or "").split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{flag}: {item!r} is not of the form name=value (e.g. {flag} participant=participant_id)")
        if key.strip() in pairs:
            raise UserError(f"{flag}: {key.strip()!r} is given more than once; give each column once")
        pairs[key.strip()] = value.strip()
    return pairs


def remap(raw: pd.DataFrame, mapping: dict[str, str], constants: dict[str, str], source: str) -> pd.DataFrame:
    """Rename columns and add constants; a column displaced by either is kept as ``<name>_original``."""
    unknown = [old for old in mapping if old not in raw.columns]
    if unknown:
        raise UserError(f"{source}: --map names column(s) {unknown} that the table does not have; "
                        f"its columns are {list(raw.columns)}")
    targets = list(mapping.values()) + list(constants)
    twice = sorted({t for t in targets if targets.count(t) > 1})
    if twice:
        raise UserError(f"{source}: --map/--set give column(s) {twice} more than once; each new column "
                        "needs one source")
    table = raw.copy()
    displaced = {new: f"{new}_original" for new in targets if new in table.columns and new not in mapping}
    clash = sorted(v for v in displaced.values() if v in table.columns)
    if clash:
        raise UserError(f"{source}: column(s) {clash} exist already, so the displaced originals cannot be kept; "
                        "rename them in the source first")
    table = table.rename(columns=displaced).rename(columns=mapping)
    for column, value in constants.items():  # a replaced column is kept as <name>_original (as with --map)
        table[column] = value
    return table


def blank_invalid(table: pd.DataFrame, columns: list[str], source: str) -> pd.DataFrame:
    """Cells of ``columns`` that break the contract become empty (missing); their raw value moves
    to ``<column>_invalid`` (empty elsewhere), so nothing is lost. Only for columns the contract
    lets be empty (rt, choice, correct, ...)."""
    out = table.copy()
    for column in columns:
        spec = column_spec(column)
        if column not in out.columns:
            raise UserError(f"{source}: --blank-invalid names column {column!r} that the table does not have "
                            f"(after --map); its columns are {list(out.columns)}")
        if not spec or not spec.get("missing"):
            raise UserError(f"{source}: --blank-invalid {column}: the contract does not let {column!r} be empty; "
                            "correct those values in the source table")
        bad = invalid_cells(out[column], column)
        if bad.any():
            out[f"{column}_invalid"] = out[column].where(bad, "")
            out[column] = out[column].where(~bad, "")
    return out


def _filled(values: pd.Series) -> int:
    """Number of non-empty cells (NaN or '' are empty: a column reads back as numbers or text)."""
    return int((values.notna() & values.astype(str).str.strip().ne("")).sum())


def _blankable_hint(problems: list[Problem], blank: list[str]) -> str:
    """The --blank-invalid fix when every problem is in columns that may be empty."""
    columns = sorted({p.column for p in problems if p.column})
    if not columns or any(p.column is None for p in problems) or set(columns) & set(blank):
        return ""
    if all((column_spec(c) or {}).get("missing") for c in columns):
        return (f"correct the source, or add --blank-invalid {','.join(columns)} to import these values as "
                "missing (their raw values are kept in <column>_invalid)")
    return ""


def _session_tables(table: pd.DataFrame) -> dict[tuple[str, int], pd.DataFrame]:
    return {(str(pid), int(ses)): rows for (pid, ses), rows in table.groupby(["participant_id", "session"], sort=True)}


def update_participants(root: Path, table: pd.DataFrame) -> Path:
    """Add new participants (and new participant-level columns) to ``root/participants.tsv``
    (BIDS: ``sub-`` ids, ``n/a`` for missing, described in ``participants.json``), and write the
    dataset's ``dataset_description.json`` and README if missing.

    Existing rows are kept as they are (an old file without ``sub-`` ids is rewritten with them);
    the file is replaced atomically.
    """
    path = root / "participants.tsv"
    new = participant_table(table).astype(str)
    if path.exists():
        old = read_participants(path)
        new = pd.concat([old, new[~new.participant_id.isin(old.participant_id)]], ignore_index=True)
    ensure_dataset_files(root)
    return write_participants(root, new)


def import_table(source: str | os.PathLike, out: str | os.PathLike, mapping: dict[str, str] | None = None,
                 constants: dict[str, str] | None = None, blank: list[str] | None = None) -> list[Path]:
    """Import ``source`` into the BIDS-like layout under ``out``; return the written trial files.
    ``blank``: columns whose contract-breaking values are imported as missing (``blank_invalid``)."""
    source, out, blank = Path(source), Path(out), list(blank or [])
    if not source.is_file():
        raise UserError(f"{source}: no such file (garden import takes one table: .tsv, .csv or .csv.gz)")
    raw = blank_invalid(remap(read_raw(source), mapping or {}, constants or {}, str(source)), blank, str(source))
    raw, feedback_from_phase = derive_feedback(raw)
    table, problems = validate(raw, str(source))
    if problems:
        raise TrialTableError(problems, _blankable_hint(problems, blank))
    marker = out / INCOMPLETE_IMPORT
    if marker.exists():
        raise UserError(f"{marker}: an earlier import into {out} did not finish; delete the files it lists "
                        "and this marker, then import again")
    sessions = _session_tables(table)
    targets = {key: session_path(out, *key) for key in sessions}
    existing = [p for p in targets.values() if p.exists()]
    if existing:
        raise FileExistsError(f"{existing[0]}: already exists ({len(existing)} of {len(targets)} target files do); "
                              "refusing to overwrite: import into a new --out folder")
    config = {"source": str(source), "map": mapping or {}, "set": constants or {}, "blank_invalid": blank,
              "feedback_from_phase": feedback_from_phase}
    write_json(marker, {"source": str(source), "files": [str(p) for p in targets.values()],
                        "note": "written before the import's files and removed after participants.tsv; "
                                "while it exists, readers refuse these sessions"})
    written = []
    for key, rows in sessions.items():
        path = write_table(rows, targets[key])
        blanked = {c: _filled(rows[f"{c}_invalid"]) for c in blank if f"{c}_invalid" in rows}
        record = provenance(config, None, n_trials=len(rows), task="garden", blanked_invalid=blanked, completed=True)
        write_session_record(path, record, column_descriptions(rows.columns, fallback=IMPORTED))
        written.append(path)
    update_participants(out, table)
    marker.unlink()  # the import is complete
    return written
