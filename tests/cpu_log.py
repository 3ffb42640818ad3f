"""Opt-in pytest plugin: the CPU time (user + system, this process and the processes it waited for) of every
test, setup and teardown included, one JSON line per test appended to the file named by ``--cpu-log``
(each xdist worker appends its own lines). ``python scripts/suite_cpu.py FILE`` sums them per file.
A module fixture's cost is charged to the first test that asks for it, so per-file sums are the meaningful unit."""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path

import pytest


def _cpu_s() -> float:
    """User + system CPU seconds of this process and of its waited-for children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class CpuLog:
    """Appends ``{"nodeid", "file", "cpu_s", "wall_s", "worker"}`` per test to ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.worker = os.environ.get("PYTEST_XDIST_WORKER", "main")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        cpu, wall = _cpu_s(), time.perf_counter()
        yield
        row = {"nodeid": item.nodeid, "file": item.path.name, "cpu_s": round(_cpu_s() - cpu, 3),
               "wall_s": round(time.perf_counter() - wall, 3), "worker": self.worker}
        with self.path.open("a", encoding="utf-8") as log:  # one short line per write: workers do not interleave
            log.write(json.dumps(row) + "\n")
