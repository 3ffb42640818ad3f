"""Expensive test artefacts built once per test run and shared by the pytest-xdist workers."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """Folder ``name`` made by ``build(folder)`` once per test run, shared by the pytest-xdist workers (a file
    lock in the run's base folder: the worker that comes second waits and reuses it); without xdist, a fresh
    folder of this session. For an expensive artefact that tests on different workers read but never change
    (the demo run, a session report)."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    root = tmp_path_factory.getbasetemp().parent  # one per run, shared by its workers
    folder, done = root / name, root / f"{name}.done"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed on the other worker
            folder.mkdir()
            build(folder)
            done.touch()
    return folder
