"""Durable, atomic file writing: the one place where garden puts bytes on disk.

* ``write_file``: the whole file at once, written to ``<name>.partial``, fsynced, then moved into place
  (``os.replace`` when overwriting is asked for, else a hard link that fails if the target exists), so
  a file that exists under its final name is always complete and never silently replaced.
* ``DurableAppend``: a table written row by row (a trial is on disk, flushed and fsynced, before the
  next one begins).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

PARTIAL = ".partial"
"""Suffix of a file being written; a leftover one marks an interrupted write."""


def exists_message(path: Path) -> str:
    """The one-line refusal for an output that already exists."""
    return f"{path}: already exists; refusing to overwrite it (choose another --out or move the old file away)"


def write_file(path: str | os.PathLike, data: str | bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically and durably; FileExistsError unless
    ``overwrite``. Parent folders are created."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(exists_message(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + PARTIAL)
    with open(tmp, "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_folder(path.parent)
    return path


def _link_new(tmp: Path, path: Path) -> None:
    """Move ``tmp`` to ``path`` only if ``path`` does not exist: a hard link is atomic create-if-absent;
    on file systems without hard links, a check then a rename."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsError(exists_message(path)) from None
    except OSError:
        if path.exists():
            raise FileExistsError(exists_message(path)) from None
        os.replace(tmp, path)


def write_with(path: str | os.PathLike, write: Callable[[IO[bytes]], Any], *, overwrite: bool = False) -> Path:
    """``write_file`` with the bytes produced by ``write(binary file)`` (e.g. ``np.savez_compressed``)."""
    buffer = io.BytesIO()
    write(buffer)
    return write_file(path, buffer.getvalue(), overwrite=overwrite)


def write_npy(path: str | os.PathLike, array: np.ndarray) -> Path:
    """One array as a new ``.npy`` file (no pickled objects)."""
    return write_with(path, lambda fh: np.save(fh, np.asarray(array), allow_pickle=False))


def _fsync_folder(folder: Path) -> None:
    """Make a rename or link in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class DurableAppend:
    """A text file grown line by line, each write flushed (and fsynced) before ``write`` returns.

    ``mode`` "x" creates a new file (FileExistsError if it exists), "a" appends to an existing one.
    """

    def __init__(self, path: str | os.PathLike, mode: str = "x", *, fsync: bool = True):
        if mode not in ("x", "a"):
            raise ValueError(f"mode {mode!r} is invalid: use 'x' (new file) or 'a' (append)")
        self.path, self.fsync = Path(path), fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._fh = open(self.path, mode, encoding="utf-8", newline="")
        except FileExistsError:
            raise FileExistsError(exists_message(self.path)) from None

    def write(self, text: str) -> None:
        """Append ``text``; it is on disk when this returns."""
        self._fh.write(text)
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def truncate_to_last_line(path: str | os.PathLike) -> bytes:
    """Cut a partly written last line off ``path`` (durably); returns the complete lines' bytes."""
    path = Path(path)
    raw = path.read_bytes()
    complete = raw[: raw.rfind(b"\n") + 1]
    if len(complete) < len(raw):
        with open(path, "r+b") as fh:
            fh.truncate(len(complete))
            os.fsync(fh.fileno())
    return complete
