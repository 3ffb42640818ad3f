"""tests/built_once.py: an artefact read by tests on several xdist workers is built once per run."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from built_once import built_once


class RunFolders:
    """Stands in for pytest's tmp_path_factory under xdist: each worker's base folder inside one run folder."""

    def __init__(self, run: Path, worker: str) -> None:
        self.base = run / f"popen-{worker}"

    def getbasetemp(self) -> Path:
        return self.base


def test_two_workers_at_once_build_it_once_and_read_the_same_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    calls, folders = [], {}

    def build(folder: Path) -> None:
        calls.append(folder)
        time.sleep(0.3)  # the second worker arrives while the first is building
        (folder / "made").write_text("once")

    def worker(name: str) -> None:
        folders[name] = built_once(RunFolders(tmp_path, name), "demo", build)

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("gw0", "gw1")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and folders["gw0"] == folders["gw1"] == tmp_path / "demo"
    assert (tmp_path / "demo" / "made").read_text() == "once"


def test_a_failed_build_is_not_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")

    def broken(folder: Path) -> None:
        (folder / "half").write_text("")
        raise RuntimeError("build failed")

    with pytest.raises(RuntimeError):
        built_once(RunFolders(tmp_path, "gw0"), "demo", broken)
    folder = built_once(RunFolders(tmp_path, "gw1"), "demo", lambda f: (f / "made").write_text("again"))
    assert sorted(p.name for p in folder.iterdir()) == ["made"]  # the half-built folder was replaced


def test_without_xdist_each_session_builds_its_own(tmp_path_factory, monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    calls = []
    first = built_once(tmp_path_factory, "serial", calls.append)
    second = built_once(tmp_path_factory, "serial", calls.append)
    assert calls == [first, second] and first != second and first.parent == tmp_path_factory.getbasetemp()
