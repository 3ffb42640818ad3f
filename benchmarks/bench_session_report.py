"""Time of ``garden session-report`` on a session written by ``garden run --simulate learner``
(1 150 trials, flesch2022 protocol): wall and CPU seconds of summarising (fits with posterior
intervals, predictive bands) and rendering; target under 10 s wall on an idle machine."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from garden.cli import main as garden


def main() -> dict:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "participants"
        garden(["run", "--participant", "7", "--session", "1", "--simulate", "learner", "--out", str(data)])
        wall, cpu = time.perf_counter(), time.process_time()
        garden(["session-report", "sub-7", "--root", str(data), "--out", str(Path(folder) / "page.html")])
        size = (Path(folder) / "page.html").stat().st_size
        return {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2),
                "page_kb": round(size / 1024), "load_average_1min": round(os.getloadavg()[0], 2)}
