"""The test suite as ``make test`` runs it (``pytest -q -n auto --dist loadgroup`` under ``xvfb-run``), timed:
wall seconds, CPU seconds (pytest, its xdist workers and everything they started), the pass/fail line, and from
``--cpu-log`` (tests/cpu_log.py) the CPU and wall seconds per test file (every file, heaviest first) and the busy wall
seconds of each worker (the larger is the critical path). The numbers of docs/testing.md.

Run only when named (``python -m benchmarks suite``; ``make bench`` leaves it out): it is the whole suite, so run
it on a machine nobody else is using.
``GARDEN_BENCH_TESTS="tests/test_a.py tests/test_b.py"`` times those files instead (said in the JSON);
``GARDEN_BENCH_WORKERS=N`` runs N xdist workers instead of ``-n auto``'s one per core and one for the groups that
mostly wait (tests/xdist_schedule.py; said in the JSON).
A failing run keeps the end of pytest's failure report (``failure_report``), to read why."""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from garden.pipeline import cpu_seconds

REPO = Path(__file__).resolve().parents[1]
TOP = 200
FAILURE_REPORT_CHARS = 20_000
"""How much of the end of pytest's failure report a failing run keeps."""
XVFB = ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24"]


def _per_file(log: Path) -> dict:
    """CPU and wall seconds per test file (at most ``TOP``, heaviest first by CPU) and busy wall seconds per worker."""
    rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    cpu, wall, workers = collections.Counter(), collections.Counter(), collections.Counter()
    for row in rows:
        cpu[row["file"]] += row["cpu_s"]
        wall[row["file"]] += row["wall_s"]
        workers[row["worker"]] += row["wall_s"]
    return {"files_cpu_wall_s": {name: [round(seconds, 1), round(wall[name], 1)] for name, seconds in
                                 cpu.most_common(TOP)},
            "tests_cpu_s": round(sum(cpu.values()), 1),
            "workers_busy_wall_s": {name: round(seconds, 1) for name, seconds in sorted(workers.items())}}


def main() -> dict:
    tests = os.environ.get("GARDEN_BENCH_TESTS", "").split()
    workers = os.environ.get("GARDEN_BENCH_WORKERS", "auto")
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "cpu.jsonl"
        command = [sys.executable, "-m", "pytest", "-q", "-rfE", "-n", workers, "--dist", "loadgroup", "--cpu-log", str(log),
                   *tests]
        if shutil.which("xvfb-run") and not os.environ.get("DISPLAY"):
            command = XVFB + command
        wall, cpu = time.perf_counter(), cpu_seconds()
        environment = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=environment)  # as make test
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        lines = done.stdout.strip().splitlines()
        result = {"tests": tests or "the whole suite", "workers": workers, "returncode": done.returncode,
                  "summary": lines[-1] if lines else done.stderr[-300:], "wall_s": round(wall, 1),
                  "cpu_s": round(cpu, 1)}
        result.update({kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|skipped|error)",
                                                               result["summary"])})
        result["failures"] = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
        if result["failures"]:
            report = done.stdout.split("= FAILURES =", 1)[-1].split("short test summary info", 1)[0]
            result["failure_report"] = report[-FAILURE_REPORT_CHARS:]
        if log.exists():
            result.update(_per_file(log))
    return result
