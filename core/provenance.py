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


def read_json(path: str | os.PathLike, *, what: str = "JSON file") -> Any:
    """Parse a JSON file; UserError naming the file (missing, not UTF-8, not JSON) otherwise."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such {what}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; this {what} is damaged: remake it") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}); this {what} is damaged or "
                        "was cut short: remake it") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, expected a {what}") from None


def incomplete_reason(output: str | os.PathLike) -> str | None:
    """Why ``output`` is not a complete result (no sidecar, or its sidecar says ``completed: false``);
    None when it is complete. The sidecar is written after the data, so it marks completion."""
    sidecar = sidecar_of(output)
    if not sidecar.exists():
        return f"has no sidecar {sidecar.name} (written last, so the run that made it did not finish)"
    record = read_json(sidecar, what="sidecar")
    if isinstance(record, dict) and record.get("completed") is False:
        return f"its sidecar {sidecar.name} says completed: false (an interrupted or aborted run)"
    return None


def require_complete(output: str | os.PathLike, *, include_incomplete: bool = False) -> None:
    """UserError unless ``output`` is complete (see ``incomplete_reason``) or ``include_incomplete``."""
    reason = incomplete_reason(output)
    if reason and not include_incomplete:
        raise UserError(f"{output}: {reason}; rerun the command that makes it, or pass --include-incomplete "
                        "to use it anyway (recorded in the output's sidecar)")
