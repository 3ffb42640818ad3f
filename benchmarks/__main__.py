"""Run every ``benchmarks/bench_*.py`` (or those named on the command line), print JSON and keep it.

Usage: ``python -m benchmarks [NAME ...]`` (``make bench``: all but ``ON_REQUEST``). Each module's ``main()`` returns a
dict of measurements; ratios inside one module are measured side by side in the same run. Each
result is written to ``benchmarks/results/NAME.json`` (``NAME`` without ``bench_``) with a ``_run``
record: the command (with its ``GARDEN_*`` settings and nice level), UTC date, git commit, wall and
CPU seconds (this process, its threads and the child processes it waited for), the 1-minute load
average before and after, the cores and the CPU model. A number taken at a load below 1 on both
ends is "idle"; any other is "loaded (load X)". A result skipped for want of data (``skipped``: why)
is printed, not kept.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import benchmarks
from garden.core.files import write_file

ON_REQUEST = {"bench_suite"}
"""Run only when named: the whole test suite is not a benchmark of one part."""
RESULTS = Path(benchmarks.__file__).resolve().parent / "results"
"""Where each benchmark's latest JSON is kept (the file docs/benchmarks.md cites)."""


def result_path(name: str) -> Path:
    """The JSON file of benchmark ``name`` (``bench_demo`` or ``demo``)."""
    return RESULTS / f"{name.removeprefix('bench_')}.json"


def _cpu_model() -> str:
    """The processor's name from /proc/cpuinfo (``platform.processor()`` elsewhere)."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return platform.processor()
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
                platform.processor())


def _commit() -> str:
    """The git commit of the checkout that ran, ``+dirty`` when files differ from it; empty outside git."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return head + ("+dirty" if dirty else "")


def run_record(name: str, wall_s: float, cpu_s: float, load_before: float) -> dict:
    """How, when and where benchmark ``name`` ran (the ``_run`` field of its JSON); seconds and load averages."""
    load_after = os.getloadavg()[0]
    settings = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("GARDEN_"))
    nice = os.nice(0)
    command = f"{settings} {'nice -n ' + str(nice) + ' ' if nice else ''}python -m benchmarks {name}".strip()
    return {"command": command, "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "commit": _commit(), "wall_s": round(wall_s, 2), "cpu_s": round(cpu_s, 2),
            "load_average_1min_before": round(load_before, 2), "load_average_1min_after": round(load_after, 2),
            "idle": max(load_before, load_after) < 1, "cpus": os.cpu_count(), "cpu_model": _cpu_model(),
            "python": platform.python_version()}


def main(argv: list[str]) -> int:
    from garden.pipeline import cpu_seconds  # deferred: start-up (the run record is read without the pipeline)

    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    if argv:
        names = [n for n in names if n in argv or n.removeprefix("bench_") in argv]
    else:
        names = [n for n in names if n not in ON_REQUEST]
    for name in names:
        load, start, cpu = os.getloadavg()[0], time.perf_counter(), cpu_seconds()
        result = importlib.import_module(f"benchmarks.{name}").main()
        result["_wall_s"] = round(time.perf_counter() - start, 2)
        result["_run"] = run_record(name.removeprefix("bench_"), time.perf_counter() - start, cpu_seconds() - cpu,
                                    load)
        text = json.dumps({name: result}, indent=2)
        print(text, flush=True)
        if not isinstance(result.get("skipped"), str):  # bench_fit counts skipped fits
            write_file(result_path(name), json.dumps(result, indent=1) + "\n", overwrite=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
