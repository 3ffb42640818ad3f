"""Text tables on disk: reading TSV/CSV files (plain or gzipped) as text and typing their columns.

The generic layer under every table garden reads: ``read_raw`` checks a file's encoding, separator,
header and row lengths and returns every cell as text; ``infer_column`` types a column nobody
describes; ``read_text_table`` reads a results table (FITS, demo tables). Problems are collected as
``Problem`` lines (file, line, column, value, message) and raised together as one ``TrialTableError``.
The trial-table contract on top of this is ``garden.core.trials``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from garden.core.errors import UserError

ID_COLUMNS = ("participant_id",)
"""Columns that are always text (an id ``NA`` or ``null`` is an id, never missing)."""
MISSING = ("", "nan", "NaN", "NA", "n/a", "N/A", "None", "null")
"""Spellings of a missing value in columns the contract does not describe."""
NA_TEXT = "n/a"
"""How a missing value is written (BIDS); read back as missing, as is an empty cell (older files)."""
MAX_PROBLEMS_SHOWN = 20
"""Problems listed in one error message (all of them are in ``TrialTableError.problems``)."""
SEPARATORS = {";": "semicolon", ",": "comma", "\t": "tab", "|": "pipe"}
"""Separators recognised in a one-column header, to say what the file really is."""


@dataclass(frozen=True)
class Problem:
    """One problem in one table: where it is and what was expected."""

    file: str
    line: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        col = f" column '{self.column}'" if self.column else ""
        val = f" value {self.value!r}" if self.value is not None else ""
        return f"{where}:{col}{val}: {self.message}"


class TrialTableError(UserError):
    """A trial table failed validation; ``problems`` lists every problem found, ``hint`` the fix."""

    def __init__(self, problems: Sequence[Problem], hint: str = ""):
        self.problems, self.hint = list(problems), hint
        shown = "\n".join(str(p) for p in self.problems[:MAX_PROBLEMS_SHOWN])
        more = len(self.problems) - MAX_PROBLEMS_SHOWN
        tail = f"\n... and {more} more problems" if more > 0 else ""
        fix = f"\nfix: {hint}" if hint else ""
        super().__init__(f"{len(self.problems)} problem(s) in trial table(s):\n{shown}{tail}{fix}")


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise TrialTableError([Problem(str(path), None, None, None, f"not a valid gzip file ({exc})")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TrialTableError([Problem(str(path), line, None, None,
                                       "not valid UTF-8 text; save the table as UTF-8")])


def read_raw(path: str | os.PathLike) -> pd.DataFrame:
    """Read one table as text (every cell a string), checking its shape: header, ragged rows.

    Line numbers in problems are file lines (the header is line 1).
    """
    path = Path(path)
    text = _read_text(path)
    delimiter = "\t" if ".tsv" in path.name else ","
    if "\x00" in text:
        raise TrialTableError([Problem(str(path), text[: text.index("\x00")].count("\n") + 1, None, None,
                                       "contains NUL bytes; this is not a text table")])
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False))
    except csv.Error as exc:  # e.g. a field over csv.field_size_limit() characters
        raise TrialTableError([Problem(str(path), None, None, None,
                                       f"cannot be read as a table ({exc}); is it really a trial table?")]) from None
    rows = [r for r in rows if r]  # blank lines
    if not rows:
        raise TrialTableError([Problem(str(path), None, None, None, "empty file: expected a header row and trials")])
    header = [h.strip() for h in rows[0]]
    problems = []
    found = [sep for sep in SEPARATORS if sep != delimiter and sep in header[0]]
    if len(header) == 1 and found:
        expected = "comma-separated (.csv)" if delimiter == "," else "tab-separated (.tsv)"
        raise TrialTableError([Problem(str(path), 1, None, None,
                                       f"the header is one column holding {found[0]!r}: the file is "
                                       f"{SEPARATORS[found[0]]}-separated, but its suffix says {expected}; "
                                       "save it with tabs (.tsv) or commas (.csv), or rename it to match")])
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        problems.append(Problem(str(path), 1, None, None, f"duplicated column name(s) {dupes} in the header"))
    if any(h == "" for h in header):
        problems.append(Problem(str(path), 1, None, None, "empty column name in the header"))
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            problems.append(Problem(str(path), i, None, None,
                                    f"has {len(row)} fields but the header has {len(header)}"))
    if problems:
        raise TrialTableError(problems)
    return pd.DataFrame(rows[1:], columns=header, dtype=object)


def infer_column(values: pd.Series) -> pd.Series:
    """A column no contract describes: numbers become numeric (NA spellings -> NaN), else text as is
    (``n/a`` -> empty)."""
    text = values.astype(str)
    stripped = _strip(text.to_numpy())
    missing = np.isin(stripped, MISSING)
    return _typed_column(text, stripped, missing, _numbers(text.to_numpy(), missing))


_strip = np.frompyfunc(str.strip, 1, 1)
"""Text cells (an object array of any shape) without surrounding blanks, as ``str.strip`` removes them."""


def _numbers(cells: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Each text cell as a float (``pd.to_numeric``): NaN where ``missing`` or not a number; one call for any shape."""
    flat = pd.Series(np.where(missing, None, cells).ravel(), dtype=object)
    return pd.to_numeric(flat, errors="coerce").to_numpy(dtype=float).reshape(cells.shape)


def _typed_column(text: pd.Series, stripped: np.ndarray, missing: np.ndarray, numbers: np.ndarray) -> pd.Series:
    """``infer_column``'s rule from the column's parts: ``text`` its cells, ``stripped`` them without surrounding
    blanks, ``missing`` where they spell a missing value, ``numbers`` their values (``_numbers``)."""
    filled = int(np.count_nonzero(~missing))
    if np.count_nonzero(~np.isnan(numbers)) != filled or filled == 0:
        return text.where(~np.isin(stripped, ("", NA_TEXT)), "").astype(object)
    if not missing.any() and np.all(numbers == np.round(numbers)) and np.all(np.abs(numbers) < 2**53):
        return pd.Series(numbers.astype(np.int64), index=text.index, name=text.name)
    return pd.Series(numbers, index=text.index, name=text.name)


def read_text_table(path: str | os.PathLike, *, what: str = "table", strict: bool = False) -> pd.DataFrame:
    """A TSV results table (not a trial table): id columns as text (``NA`` is an id), the other
    columns numbers where every non-empty cell is a number, else text. UserError naming the file
    when it cannot be read. ``strict`` (tables garden wrote itself): an empty row, or a text cell in a
    column of numbers, is an error naming file, line, column and value (the table was damaged). Bytes read
    before come back from memory (``TABLES_KEPT``), as a copy."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file (expected a {what})")
    if path.stat().st_size > TABLE_KEPT_BYTES:  # too large to keep: not hashed either
        return _typed_table(path, strict)
    content = path.read_bytes()
    key = (hashlib.blake2b(content, digest_size=16).digest(), len(content), ".tsv" in path.name,
           path.name.endswith(".gz"), strict)  # what read_raw and the checks depend on, when they pass
    if key in _TABLES_READ:
        _TABLES_READ.move_to_end(key)
        return _TABLES_READ[key].copy()
    table = _typed_table(path, strict)
    _TABLES_READ[key] = table.copy()
    while len(_TABLES_READ) > TABLES_KEPT:
        _TABLES_READ.popitem(last=False)
    return table


def _typed_table(path: Path, strict: bool) -> pd.DataFrame:
    """``read_text_table``'s answer read from disk (id columns as text, the others typed as ``infer_column`` types
    them, every cell of the table parsed in one call)."""
    raw = read_raw(path)
    text = raw.astype(str)
    cells = text.to_numpy()
    stripped = _strip(cells)
    missing = np.isin(stripped, MISSING)
    if strict:
        _check_damage(raw, path, stripped, missing)
    numbers = _numbers(cells, missing)
    return pd.DataFrame({c: raw[c].astype(object) if c in ID_COLUMNS
                         else _typed_column(text[c], stripped[:, j], missing[:, j], numbers[:, j])
                         for j, c in enumerate(raw.columns)})


TABLES_KEPT, TABLE_KEPT_BYTES = 256, 256 * 1024
"""Tables ``read_text_table`` keeps, typed, by their bytes (at most 256 files of at most 256 KiB each, so the memory
it holds stays small): a process that reads the same table again (a report of results it just wrote, a copy of a
results folder) gets it without typing its columns again (~4 ms for a table of the demo's)."""
_TABLES_READ: OrderedDict[tuple, pd.DataFrame] = OrderedDict()


def _check_damage(raw: pd.DataFrame, path: Path, stripped: np.ndarray, missing: np.ndarray) -> None:
    """UserError at the first empty row, or the first text cell in a column of numbers (``stripped``: the cells
    without surrounding blanks, ``missing``: where they spell a missing value)."""
    empty = (stripped == "").all(axis=1)
    if empty.any():
        raise UserError(f"{path}:{int(np.flatnonzero(empty)[0]) + 2}: an empty row; this results table is damaged: "
                        "rebuild it (run the command that made it again)")
    numeric = ~np.isnan(_numbers(stripped, missing))
    for j, column in enumerate(raw.columns):
        if column in ID_COLUMNS:
            continue
        stray = ~missing[:, j] & ~numeric[:, j]
        if numeric[:, j].sum() > stray.sum() and stray.any():
            i = int(np.flatnonzero(stray)[0])
            raise UserError(f"{path}:{i + 2}: column '{column}' value {raw[column].iloc[i]!r} is not a number, "
                            "though the column holds numbers; this results table is damaged: rebuild it")
