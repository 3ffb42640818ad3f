"""Time of ``garden demo`` at its default size (what ``make demo`` runs), from the demo's own step log
(``run.json``: wall and CPU seconds per step) plus the report drawn after it: the numbers README.md and
docs/report.md quote. CPU seconds count this process and the child processes it waited for; the load
average before and after says how busy the machine was (idle: below 1 on 2 cores)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from garden.cli import main as garden
from garden.pipeline import cpu_seconds


def main() -> dict:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "demo"
        wall, cpu = time.perf_counter(), cpu_seconds()
        status = garden(["demo", "--out", str(out)])
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    steps_wall, steps_cpu = run["timings_s"], run["cpu_s"]
    return {"status": status, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "steps": len(steps_wall),
            "report_wall_s": round(wall - sum(steps_wall.values()), 1),  # the report is drawn after the steps
            "report_cpu_s": round(cpu - sum(steps_cpu.values()), 1),
            "step_wall_s": steps_wall, "step_cpu_s": steps_cpu, "cpus": os.cpu_count(),
            "load_average_1min_before": round(load_before, 2), "load_average_1min_after": round(os.getloadavg()[0], 2)}
