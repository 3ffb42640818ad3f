"""SIGTERM handled as Ctrl-C: ``kill``, a closed terminal, a scheduler or a service manager stop a session or a
server the way Ctrl-C does, so what it opened is closed and what it wrote is kept.

Python's default for SIGTERM ends the process at once: no ``finally`` runs, so a window session would not record
why it stopped, and ``garden web serve`` would leave its page folder in the temporary folder (uvicorn shuts the
server down on SIGTERM, then raises the signal again for the handler it found)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM while inside ``sigterm_stops``: stops the work like Ctrl-C (a window session: ``garden`` exits 130,
    "interrupted"; ``garden web serve``: uvicorn takes it as Ctrl-C, shuts down and returns, exit 0)."""


@contextlib.contextmanager
def sigterm_stops() -> Iterator[None]:
    """While inside: SIGTERM raises ``Terminated``; the previous handler is put back on leaving. Outside the
    main thread (where handlers cannot be set) it changes nothing."""
    def stop(signum: int, frame: Any) -> None:
        raise Terminated("SIGTERM")

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave the handler alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
