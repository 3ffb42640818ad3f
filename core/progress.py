"""The one progress bar of every long step: a tqdm bar on a terminal, nothing in a log.

tqdm redraws in place with ``\\r`` (and ``\\x1b[A`` for nested bars); written to a file or a pipe (a SLURM log,
``garden demo > log``) that leaves control characters and hundreds of partial lines. ``disable=None`` is tqdm's
own switch for "only on a terminal"; every bar in garden goes through here so none forgets it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tqdm import tqdm


def progress_bar(iterable: Iterable[Any] | None = None, *, enabled: bool = True, **options: Any) -> tqdm:
    """A tqdm bar over ``iterable`` (or a manual one: ``total=``), drawn only when ``enabled`` and stderr is a
    terminal; ``options`` go to tqdm (``desc``, ``total``, ``unit``, ``mininterval`` in seconds)."""
    return tqdm(iterable, disable=None if enabled else True, **options)
