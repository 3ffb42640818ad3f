"""Stimulus benchmark: time to make the published-size set, and how graded our trees are vs the published.

Target (issue 3): 25 cells x 50 exemplars at 443 px in under 60 s on 2 cores (``--jobs 2``).
Wall time depends on what else runs on the machine, so CPU seconds (this process and its workers)
and the load average at the start are reported beside it.
"""

from __future__ import annotations

import math
import os
import resource
import tempfile
import time
from pathlib import Path

from PIL import Image

from garden.stimuli.measures import cell_means, grading_summary
from garden.stimuli.sets import load_set, make_set

EXEMPLARS, SIZE_PX, JOBS = 50, 443, 2
GRADING_EXEMPLARS = 5
SHARED = Path(os.environ.get("GARDEN_SHARED", Path(__file__).resolve().parents[2] / "shared"))
PUBLISHED = SHARED / "reference" / "trees"


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _json_safe(summary: dict[str, list]) -> dict[str, list]:
    """NaN (an undefined ratio) becomes None so the result is valid JSON."""
    return {k: [None if isinstance(v, float) and math.isnan(v) else v for v in values]
            for k, values in summary.items()}


def main() -> dict:
    """Make the 1250-tree set in a temporary folder; grade a sample of it and the published trees."""
    result: dict = {"exemplars": EXEMPLARS, "size_px": SIZE_PX, "jobs": JOBS,
                    "load_average_1min_at_start": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        cpu0, wall0 = _cpu_seconds(), time.perf_counter()
        folder = make_set(Path(tmp) / "set", EXEMPLARS, SIZE_PX, seed=0, jobs=JOBS, progress=False)
        result["make_set_wall_s"] = round(time.perf_counter() - wall0, 2)
        result["make_set_cpu_s"] = round(_cpu_seconds() - cpu0, 2)
        result["target_wall_s"] = 60
        result["set_megabytes"] = round(sum(f.stat().st_size for f in folder.iterdir()) / 1e6, 1)
        stimulus_set = load_set(folder, min_exemplars=EXEMPLARS)
        ours = cell_means((b, l, Image.open(stimulus_set.file(b, l, e)))
                          for (b, l) in stimulus_set.cells for e in range(1, GRADING_EXEMPLARS + 1))
    result["ours_grading"] = _json_safe(grading_summary(ours))
    if (PUBLISHED / "B1L1_1.png").exists():
        published = cell_means((b, l, Image.open(PUBLISHED / f"B{b}L{l}_1.png"))
                               for b in range(1, 6) for l in range(1, 6))
        result["published_grading"] = _json_safe(grading_summary(published))
    return result
