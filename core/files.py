"""Durable, atomic file writing: the one place where garden puts bytes on disk.

* ``write_file``: the whole file at once, written to ``<name>.partial``, fsynced, then moved into place
  (``os.replace`` when overwriting is asked for, else a hard link that fails if the target exists), so
  a file that exists under its final name is always complete and never silently replaced.
* ``write_tsv``: a table as a tab-separated file (header, no index, "\n" line ends) through ``write_file``.
* ``output_folder``: a context manager that builds a new output folder as ``<out>.partial`` and renames
  it to ``<out>`` only when the block finishes, so a folder under its final name is always complete;
  an existing ``<out>`` is refused before any work.
* ``replacing``: a context manager that replaces an existing folder by what the block writes at its
  path (``overwrite=True`` of the notebook functions): the old folder is set aside, restored when the
  block fails, removed only when it finishes, so the path never holds a mix of old and new.
* ``DurableAppend``: a table written row by row (a trial is on disk, flushed and fsynced, before the
  next one begins).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from garden.core.errors import UserError

if TYPE_CHECKING:  # typing only: core.files stays importable without pandas
    import pandas as pd

PARTIAL = ".partial"
"""Suffix of a file being written; a leftover one marks an interrupted write."""
REPLACED = ".replaced"
"""Suffix of a folder set aside while its replacement is written (``replacing``)."""


def exists_message(path: Path) -> str:
    """The one-line refusal for an output that already exists."""
    return f"{path}: already exists; refusing to overwrite it (choose another --out or move the old file away)"


def cannot_write(path: Path, exc: OSError) -> UserError:
    """The one-line refusal for an output the system would not let us write (no permission, no room, a
    file where its folder should be, a folder made meanwhile), naming it, the reason and the fix."""
    other = f" at {exc.filename}" if exc.filename and Path(exc.filename) not in (path, path.with_name(
        path.name + PARTIAL)) else ""
    return UserError(f"{path}: could not be written ({exc.strerror or type(exc).__name__}{other}); make its folder "
                     "writable (or free space) and run again, or choose another output path")


def write_file(path: str | os.PathLike, data: str | bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically and durably; FileExistsError unless
    ``overwrite``; UserError (``cannot_write``) when the system refuses. Parent folders are created."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    return write_with(path, lambda fh: fh.write(payload), overwrite=overwrite)


def write_tsv(path: str | os.PathLike, table: "pd.DataFrame", *, overwrite: bool = False,
              float_format: str | None = None, na_rep: str = "") -> Path:
    """``table`` as a new tab-separated file (header, no index, "\n" line ends; ``float_format`` e.g.
    "%.6g", missing values written as ``na_rep``), atomically and durably (``write_file``)."""
    text = table.to_csv(sep="\t", index=False, lineterminator="\n", float_format=float_format, na_rep=na_rep)
    return write_file(path, text, overwrite=overwrite)


def refuse_existing(path: str | os.PathLike) -> None:
    """UserError when the output ``path`` exists (check it before any work)."""
    if Path(path).exists():
        raise UserError(exists_message(Path(path)))


@contextmanager
def output_folder(out: str | os.PathLike, *, resume: bool = False) -> Iterator[Path]:
    """Build the new folder ``out``: yields ``<out>.partial`` to write into, renamed to ``out`` when the
    block ends without an exception. UserError when ``out`` exists (before the block runs). A
    ``.partial`` folder left by an interrupted run is removed first, or with ``resume`` kept (its
    finished parts are reused); after an exception it stays, and never looks like a complete ``out``."""
    out = Path(out)
    refuse_existing(out)
    partial = out.with_name(out.name + PARTIAL)
    try:
        if partial.exists() and not resume:
            shutil.rmtree(partial)
        partial.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(out, exc) from None
    yield partial
    refuse_existing(out)  # made by someone else meanwhile: keep theirs, and our partial folder
    try:
        partial.rename(out)
    except OSError as exc:
        raise cannot_write(out, exc) from None
    _fsync_folder(out.parent)


@contextmanager
def replacing(folder: str | os.PathLike) -> Iterator[Path]:
    """Replace ``folder`` (when it exists) by what the block writes at its path: it is renamed to
    ``<folder>.replaced`` first, renamed back when the block raises, and removed when the block ends.
    UserError when a ``.replaced`` folder of an interrupted replacement is still there."""
    folder = Path(folder)
    aside = folder.with_name(folder.name + REPLACED)
    if aside.exists():
        raise UserError(f"{aside}: left by an interrupted replacement of {folder.name}; move it back to {folder} "
                        "(the old data) or delete it, then run again")
    if folder.exists():
        folder.rename(aside)
    try:
        yield folder
    except BaseException:
        if aside.exists():
            shutil.rmtree(folder, ignore_errors=True)
            aside.rename(folder)
        raise
    if aside.exists():
        shutil.rmtree(aside)
    _fsync_folder(folder.parent)


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
    """``write_file`` of the bytes ``write(binary file)`` puts in the file (e.g. ``np.savez_compressed``), streamed to
    ``<name>.partial`` (never held in memory), fsynced, then moved into place."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(exists_message(path))
    tmp = path.with_name(path.name + PARTIAL)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
    except OSError as exc:
        if str(exc) == exists_message(path):
            raise
        raise cannot_write(path, exc) from None
    finally:
        with suppress(OSError):  # its folder may be gone or a file: then there is no tmp to remove
            tmp.unlink(missing_ok=True)
    _fsync_folder(path.parent)
    return path


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
