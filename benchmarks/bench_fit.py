"""Fitting benchmark and full acceptance check on the published Flesch et al. (2018) data.

All 583 participants (4 experiments, test phase, published coding: missing or > 5 s = reject)
x 3 models (factorized, factorized_full, linear) with the published choice-matrix objective,
``jobs=2``. Reports wall time, CPU time (on a shared machine wall time depends on the load,
reported too; CPU time / jobs estimates the wall time on idle cores), peak memory (resource.getrusage, this process and its
workers) and, per model, how many participants end above the published NLL + 1e-3 (the
acceptance criterion; target 0) and the largest difference, plus factorized_full > factorized
violations (target 0). Skips (returns a note) when the data are absent.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(os.environ.get("GARDEN_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DATA = SHARED / "data" / "flesch2018"
TOLERANCE = 1e-3


def _peak_rss_mb() -> dict[str, float]:
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 1024 ** 2
    return {"self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale,
            "workers": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale}


def main(jobs: int = 2) -> dict:
    """Fit everything once and return timings, memory and the acceptance numbers."""
    if not (DATA / "exp1a_trials.csv.gz").exists():
        return {"note": f"published data not found at {DATA}"}
    from garden.modeling.flesch2018 import EXPERIMENTS, PUBLISHED_MAX_RT, load_published_fits, load_trials
    from garden.modeling.psychometric import fit_table

    trials = pd.concat([load_trials(DATA, e, "test") for e in EXPERIMENTS], ignore_index=True)
    published = pd.concat([load_published_fits(DATA, e) for e in EXPERIMENTS], ignore_index=True)
    start, cpu = time.perf_counter(), time.process_time()
    fits = fit_table(trials, objective="choice-matrix", missing="reject", max_rt=PUBLISHED_MAX_RT, jobs=jobs)
    wall = time.perf_counter() - start
    cpu_self = time.process_time() - cpu
    cpu_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    merged = fits.merge(published[["participant_id", "model", "nll"]], on=["participant_id", "model"],
                        suffixes=("", "_published"))
    diff = merged["nll"] - merged["nll_published"]
    per_model = {}
    for model, d in diff.groupby(merged["model"]):
        per_model[model] = {"n": int(d.size), "n_worse_than_published": int((d > TOLERANCE).sum()),
                            "max_nll_minus_published": float(d.max()), "mean_nll_minus_published": float(d.mean())}
    wide = fits.pivot(index="participant_id", columns="model", values="nll")
    return {
        "participants": int(fits["participant_id"].nunique()), "fits": len(fits), "jobs": jobs,
        "wall_s": round(wall, 2), "cpu_s_main": round(cpu_self, 2),
        "cpu_s_workers": round(cpu_children.ru_utime + cpu_children.ru_stime, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "peak_rss_mb": {k: round(v, 1) for k, v in _peak_rss_mb().items()},
        "skipped": len(fits.attrs["skipped"]),
        "acceptance": per_model,
        "full_worse_than_factorized": int((wide["factorized_full"] > wide["factorized"] + 1e-9).sum()),
        "converged_fraction": float(np.mean(fits["converged"])),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
