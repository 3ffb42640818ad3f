"""Run every ``benchmarks/bench_*.py`` (or those named on the command line), print JSON and keep it.

Usage: ``python -m benchmarks [NAME ...]`` (``make bench``: all but ``ON_REQUEST``). Each module's ``main()`` returns a
dict of measurements; ratios inside one module are measured side by side in the same run. Each
result is written to ``benchmarks/results/NAME.json`` (``NAME`` without ``bench_``) with a ``_run``
record: the command (with its ``GARDEN_*`` settings and nice level), UTC date, git commit, wall and
CPU seconds (this process, its threads and the child processes it waited for), the 1-minute load
average before and after, the cores and the CPU model. A run is "idle" when the load of other work
stayed below 1: the load before less what earlier benchmarks of the same run left (``own_load_before``, decaying),
and the busy cores of other work during the run (``others_busy_cores``: the machine's busy CPU seconds from
/proc/stat less the benchmark's own, per wall second), both below 1; any other run is "loaded (load X)". Runs
recorded before ``others_busy_cores`` judge the second part by the load after less the benchmark's own share of it
(``own_load``), which takes a benchmark with more runnable processes than cores (the suite's workers) for other
work. The latest run is kept in
``results/NAME.json`` and, by that condition, in ``results/idle/NAME.json`` or
``results/loaded/NAME.json``, so that the docs cite an idle and a loaded figure side by side. A
result skipped for want of data (``skipped``: why) is printed, not kept.
"""

from __future__ import annotations

import importlib
import json
import math
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

ON_REQUEST = {"bench_suite", "bench_calibration"}
"""Run only when named: the whole test suite is not a benchmark of one part; the calibration study takes ~15 min."""
RESULTS = Path(benchmarks.__file__).resolve().parent / "results"
"""Where each benchmark's latest JSON is kept (the file docs/benchmarks.md cites)."""


LOAD_AVERAGE_S = 60.0
"""Time constant of the kernel's 1-minute load average (an exponential average), seconds."""


def result_path(name: str, condition: str = "") -> Path:
    """The JSON file of benchmark ``name`` (``bench_demo`` or ``demo``): the latest run, or the latest run of
    ``condition`` ("idle" or "loaded")."""
    folder = RESULTS / condition if condition else RESULTS
    return folder / f"{name.removeprefix('bench_')}.json"


def own_load(wall_s: float, cpu_s: float) -> float:
    """The benchmark's own share of the 1-minute load average at its end: its mean busy cores (CPU s / wall s)
    passed through the load average's exponential response to a step of ``wall_s`` seconds."""
    if wall_s <= 0:
        return 0.0
    return cpu_s / wall_s * (1 - math.exp(-wall_s / LOAD_AVERAGE_S))


def decayed(load: float, seconds: float) -> float:
    """What remains of a share ``load`` of the 1-minute load average after ``seconds`` without that work."""
    return load * math.exp(-seconds / LOAD_AVERAGE_S)


def busy_seconds() -> float | None:
    """CPU seconds the whole machine has been busy since boot, all cores (user, nice, system, irq, softirq of
    /proc/stat); None where there is no /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def is_idle(run: dict) -> bool:
    """Whether a ``_run`` record was taken with the load of other work below 1 before and during (or after)."""
    own_before = run.get("own_load_before", 0.0)
    others_before = run["load_average_1min_before"] - own_before
    others = run.get("others_busy_cores")
    if others is None:  # recorded before others_busy_cores
        others = run["load_average_1min_after"] - run.get("own_load", own_load(run["wall_s"], run["cpu_s"]))
    return max(others_before, others) < 1


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


def run_record(name: str, wall_s: float, cpu_s: float, load_before: float, own_before: float = 0.0,
               machine_busy_s: float | None = None) -> dict:
    """How, when and where benchmark ``name`` ran (the ``_run`` field of its JSON); seconds and load averages
    (``own_before``: this process's share of ``load_before``, left by the benchmarks it ran before;
    ``machine_busy_s``: the CPU seconds the whole machine was busy meanwhile, ``busy_seconds``)."""
    load_after = os.getloadavg()[0]
    settings = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("GARDEN_"))
    nice = os.nice(0)
    command = f"{settings} {'nice -n ' + str(nice) + ' ' if nice else ''}python -m benchmarks {name}".strip()
    record = {"command": command, "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "commit": _commit(), "wall_s": round(wall_s, 2), "cpu_s": round(cpu_s, 2),
              "load_average_1min_before": round(load_before, 2), "load_average_1min_after": round(load_after, 2),
              "own_load_before": round(own_before, 2),
              "own_load": round(decayed(own_before, wall_s) + own_load(wall_s, cpu_s), 2), "cpus": os.cpu_count(), "cpu_model": _cpu_model(),
              "python": platform.python_version()}
    if machine_busy_s is not None and wall_s > 0:
        record["others_busy_cores"] = round(max(0.0, machine_busy_s - cpu_s) / wall_s, 2)
    return record | {"idle": is_idle(record)}


def main(argv: list[str]) -> int:
    from garden.pipeline import cpu_seconds  # deferred: start-up (the run record is read without the pipeline)

    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    if argv:
        names = [n for n in names if n in argv or n.removeprefix("bench_") in argv]
    else:
        names = [n for n in names if n not in ON_REQUEST]
    own, ended = 0.0, time.perf_counter()
    for name in names:
        load, start, cpu, busy = os.getloadavg()[0], time.perf_counter(), cpu_seconds(), busy_seconds()
        own = decayed(own, start - ended)
        result = importlib.import_module(f"benchmarks.{name}").main()
        result["_wall_s"] = round(time.perf_counter() - start, 2)
        busy_after = busy_seconds()
        result["_run"] = run_record(name.removeprefix("bench_"), time.perf_counter() - start, cpu_seconds() - cpu,
                                    load, own, None if busy is None or busy_after is None else busy_after - busy)
        own, ended = result["_run"]["own_load"], time.perf_counter()
        text = json.dumps({name: result}, indent=2)
        print(text, flush=True)
        if not isinstance(result.get("skipped"), str):  # bench_fit counts skipped fits
            condition = "idle" if result["_run"]["idle"] else "loaded"
            for path in (result_path(name), result_path(name, condition)):
                write_file(path, json.dumps(result, indent=1) + "\n", overwrite=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
