"""Provenance for every output: software versions, config and seed in a JSON sidecar.

Why: results must be reproducible and say how they were made (brief: "every output records
versions, config and seed in a JSON sidecar").
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from garden.core.errors import UserError
from garden.core.files import write_file

_PACKAGES = ("garden-task", "numpy", "scipy", "pandas", "numdifftools", "scikit-learn",
             "matplotlib", "pillow", "torch", "psychopy")


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    versions = {"python": platform.python_version(), "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return tuple(versions.items())


def software_versions() -> dict[str, str]:
    """Versions of Python and of the installed packages garden relies on (read once, no imports)."""
    return dict(_versions())


def provenance(config: dict[str, Any] | None = None, seed: int | None = None,
               **extra: Any) -> dict[str, Any]:
    """A provenance record: creation time (UTC, ISO 8601), command line, versions, config, seed."""
    record: dict[str, Any] = {
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "software": software_versions(),
        "config": config or {},
        "seed": seed,
        "sidecar_version": SIDECAR_VERSION,
    }
    record.update(extra)
    return record


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, paths and tuples so json.dump accepts them."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy scalar or array
        return value.tolist()
    return value


def write_json(path: str | os.PathLike, data: dict[str, Any], *, overwrite: bool = False) -> Path:
    """Write ``data`` as indented JSON, atomically and durably; refuse to overwrite unless asked."""
    return write_file(path, json.dumps(to_jsonable(data), indent=2, sort_keys=False) + "\n", overwrite=overwrite)


def write_sidecar(output: str | os.PathLike, config: dict[str, Any] | None = None,
                  seed: int | None = None, *, overwrite: bool = False, **extra: Any) -> Path:
    """Write ``<output minus suffixes>.json`` beside ``output`` with its provenance."""
    return write_json(sidecar_of(output), provenance(config, seed, **extra), overwrite=overwrite)


def sidecar_of(output: str | os.PathLike) -> Path:
    """The JSON sidecar path of ``output`` (``write_sidecar``'s naming)."""
    output = Path(output)
    return output.with_name((output.name.split(".")[0] if output.suffix else output.name) + ".json")


class JsonError(ValueError):
    """JSON that ``parse_json`` refuses (a ValueError like ``json.JSONDecodeError``)."""


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise JsonError(f"key {key[:40]!r} given twice (which one counts is not defined)")
        seen.add(key)
    return dict(pairs)


def parse_json(text: str | bytes) -> Any:
    """JSON from untrusted text: a key given twice in one object, or nesting deeper than the parser's
    stack, is a ``JsonError`` (``json.loads`` keeps the last key and dies with RecursionError)."""
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except RecursionError:
        raise JsonError("nested too deeply (arrays or objects thousands of levels deep)") from None


def read_json(path: str | os.PathLike, *, what: str = "JSON file") -> Any:
    """Parse a JSON file; UserError naming the file (missing, not UTF-8, not JSON) otherwise."""
    path = Path(path)
    try:
        return parse_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such {what}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; this {what} is damaged: remake it") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}); this {what} is damaged or "
                        "was cut short: remake it") from None
    except JsonError as exc:
        raise UserError(f"{path}: {exc}; this {what} is damaged: remake it") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, expected a {what}") from None


# ---------------------------------------------------------------- the sidecar schema (one owner)

PROVENANCE_KEY = "GardenProvenance"
"""Top-level key of a BIDS sidecar (session trial table, scanner events) that holds garden's record
(the other top-level keys describe the table's columns)."""
SIDECAR_VERSION = 2
"""Layout of garden's record, stored in it as ``sidecar_version``. 1: the record at the top level of a
session sidecar (column descriptions nested under ``columns``); 2: under ``PROVENANCE_KEY`` beside one
entry per column. Result sidecars (``write_sidecar``) are the record itself, at the top level."""
_RECORD_KEYS = ("created_utc", "software", "config", "completed", "seed")
"""Keys only garden's record has: a sidecar without any of them (and without ``PROVENANCE_KEY``) is
another tool's (a foreign table's column descriptions)."""


def _checked_version(record: dict[str, Any], path: Path) -> dict[str, Any]:
    version = record.get("sidecar_version", SIDECAR_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= SIDECAR_VERSION:
        raise UserError(f"{path}: sidecar_version {version!r} is not a layout this garden reads "
                        f"(1..{SIDECAR_VERSION}); "
                        "upgrade garden, or remake the file with this version")
    return {**record, "sidecar_version": SIDECAR_VERSION}


def record_of(sidecar: Any, path: str | os.PathLike) -> dict[str, Any] | None:
    """Garden's record in a parsed sidecar ``path``, migrated to ``SIDECAR_VERSION``; None when the
    sidecar is another tool's (no record). UserError naming the file for a layout it cannot read."""
    path = Path(path)
    if not isinstance(sidecar, dict):
        raise UserError(f"{path}: a sidecar must be a JSON object, found {type(sidecar).__name__}; "
                        "this sidecar is damaged: remake it")
    if PROVENANCE_KEY in sidecar:
        record = sidecar[PROVENANCE_KEY]
        if not isinstance(record, dict):
            raise UserError(f"{path}: '{PROVENANCE_KEY}' is not a JSON object; this sidecar is damaged: remake it")
        return _checked_version(record, path)
    if not any(key in sidecar for key in _RECORD_KEYS + ("sidecar_version",)):
        return None
    legacy = {k: v for k, v in sidecar.items() if k != "columns"}  # layout 1: the record at the top level
    return _checked_version(legacy, path)


def read_record(path: str | os.PathLike, *, what: str = "sidecar") -> dict[str, Any]:
    """Garden's record of a sidecar file (either layout, migrated); UserError naming the file when it
    is missing, damaged, of an unknown layout or not garden's."""
    record = record_of(read_json(path, what=what), path)
    if record is None:
        raise UserError(f"{path}: has no garden record (no '{PROVENANCE_KEY}' block); it was not written by garden")
    return record


def write_record(path: str | os.PathLike, record: dict[str, Any], columns: dict[str, Any] | None = None) -> Path:
    """Replace the sidecar ``path`` atomically: ``columns`` (BIDS column entries) at the top level and
    ``record`` under ``PROVENANCE_KEY`` (layout ``SIDECAR_VERSION``); without ``columns``, the record
    itself (a result sidecar)."""
    record = {**record, "sidecar_version": SIDECAR_VERSION}
    data = record if columns is None else {**columns, PROVENANCE_KEY: record}
    return write_json(path, data, overwrite=True)


def session_sidecar(table: str | os.PathLike) -> Path:
    """The JSON sidecar beside a session's ``.tsv`` trial table (or events table)."""
    table = Path(table)
    return table.with_name(table.name.split(".")[0] + ".json")


def read_session_record(table: str | os.PathLike) -> dict[str, Any]:
    """Garden's record of a session (config, seed, assignment, times, ``completed``) from the sidecar
    beside its trial table, migrated to the current layout; UserError when missing, damaged or foreign."""
    return read_record(session_sidecar(table), what="session sidecar")


def write_session_record(table: str | os.PathLike, record: dict[str, Any], columns: dict[str, Any]) -> Path:
    """Write the sidecar of a session's trial table (``write_record`` with its column entries)."""
    return write_record(session_sidecar(table), record, columns)


COMPLETE, INCOMPLETE, FOREIGN = "complete", "incomplete", "foreign"


def completion(output: str | os.PathLike, *, session: bool = False) -> tuple[str, str]:
    """Whether ``output`` is ``COMPLETE``, ``INCOMPLETE`` or ``FOREIGN`` (no garden sidecar: made by
    another tool, taken as it is), with the reason in words. A record written by garden must say
    ``completed``: true; a session record without the key is read as complete only for an import (made
    in one piece), and refused as an unknown layout otherwise; a result record without it is complete
    (its sidecar is written after the data)."""
    sidecar = session_sidecar(output) if session else sidecar_of(output)
    if not sidecar.exists():
        return FOREIGN, f"has no sidecar {sidecar.name}: a foreign table, taken as it is"
    try:
        record = record_of(read_json(sidecar, what="sidecar"), sidecar)
    except UserError as exc:
        return INCOMPLETE, f"its sidecar is unreadable ({exc})"
    if record is None:
        return FOREIGN, f"its sidecar {sidecar.name} is another tool's (no garden record): taken as it is"
    done = record.get("completed")
    imported = isinstance(record.get("config"), dict) and {"source", "map"} <= set(record["config"])
    if done is True or (done is None and (not session or imported)):
        return COMPLETE, ""
    if done is False:
        aborted = " (aborted)" if record.get("aborted") else ""
        error = record.get("error")
        cause = (f"{error.get('type')}: {error.get('message')}" if isinstance(error, dict)
                 else error or record.get("stopped"))
        why = f", {str(cause)[:120]}" if cause else ""
        return INCOMPLETE, (f"its sidecar {sidecar.name} says completed: false{aborted}{why} "
                            "(an interrupted or unfinished run)")
    return INCOMPLETE, (f"its sidecar {sidecar.name} has no 'completed' field (an unknown layout); "
                        "remake it with this garden")


def incomplete_reason(output: str | os.PathLike) -> str | None:
    """Why the result ``output`` is not complete (its sidecar says ``completed: false`` or is damaged);
    None when it is complete or foreign (no sidecar: another tool's table, taken as it is). Garden writes
    a ``completed: false`` sidecar before an output and ``completed: true`` after it."""
    state, reason = completion(output)
    return reason if state == INCOMPLETE else None


def require_complete(output: str | os.PathLike, *, include_incomplete: bool = False) -> None:
    """UserError unless ``output`` is complete (see ``incomplete_reason``) or ``include_incomplete``."""
    reason = incomplete_reason(output)
    if reason and not include_incomplete:
        raise UserError(f"{output}: {reason}; rerun the command that makes it, or pass --include-incomplete "
                        "to use it anyway (recorded in the output's sidecar)")
