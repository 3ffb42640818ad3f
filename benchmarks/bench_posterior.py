"""Posterior intervals of every published participant: 583 people (4 experiments, test phase) x 3
models (factorized, factorized_full, linear), Bernoulli likelihood with ``--posterior``, ``jobs=2``.

Reports wall time, CPU time (main + workers: on a shared machine wall time depends on the load;
CPU time / jobs estimates the wall time on two idle cores), the load average, the iterations per
chain the stopping rule took (median, how many fits stopped after how many, how many ran to ``MAX_DRAWS``), the largest
rank-normalised R-hat, the smallest bulk and tail ESS, how many maximum-likelihood estimates lie
outside their own 95 % posterior interval, the share of all fitted parameters with R-hat above 1.01 and how
many posteriors pile at a bound (``garden.modeling.posterior.interval_alternatives``).
``GARDEN_BENCH_PARTICIPANTS=N`` limits the run to the first N participants (timing extrapolated).
"""

from __future__ import annotations

import os
import resource
import time

import numpy as np
import pandas as pd

from benchmarks.bench_fit import DATA
from garden.modeling.posterior import MAX_DRAWS


def main(jobs: int = 2) -> dict:
    """Fit and sample everything once; timings and diagnostics."""
    if not (DATA / "exp1a_trials.csv.gz").exists():
        return {"note": f"published data not found at {DATA}"}
    from garden.modeling.flesch2018 import EXPERIMENTS, load_trials
    from garden.modeling.psychometric import fit_table

    trials = pd.concat([load_trials(DATA, e, "test") for e in EXPERIMENTS], ignore_index=True)
    everyone = trials["participant_id"].unique()
    limit = int(os.environ.get("GARDEN_BENCH_PARTICIPANTS", len(everyone)))
    trials = trials[trials["participant_id"].isin(everyone[:limit])]
    start, cpu = time.perf_counter(), time.process_time()
    fits = fit_table(trials, jobs=jobs, posterior=True, seed=1)
    wall, cpu_main = time.perf_counter() - start, time.process_time() - cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_total = cpu_main + children.ru_utime + children.ru_stime
    outside = 0
    for model, part in fits.groupby("model"):
        for name in {n for n in part.columns if n.endswith("_post_lo")}:
            parameter = name.removesuffix("_post_lo")
            outside += int(((part[parameter] < part[name]) | (part[parameter] > part[f"{parameter}_post_hi"])).sum())
    scale = len(everyone) / fits["participant_id"].nunique()
    return {"participants": int(fits["participant_id"].nunique()), "fits": len(fits),
            "models": sorted(fits["model"].unique()), "jobs": jobs, "wall_s": round(wall, 1),
            "cpu_s": round(cpu_total, 1),
            "cpu_s_per_job_all_583": round(cpu_total * scale / jobs, 1),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "iterations_median": float(fits["posterior_iterations"].median()),
            "fits_stopping_after_iterations": {int(k): int(v) for k, v
                                               in fits["posterior_iterations"].value_counts().sort_index().items()},
            "stopped_at_max_draws": int((fits["posterior_iterations"] >= MAX_DRAWS).sum()),
            "rhat_max": float(fits["rhat_max"].max()), "rhat_above_1.01": int((fits["rhat_max"] > 1.01).sum()),
            "ess_bulk_min": float(fits["ess_bulk_min"].min()), "ess_tail_min": float(fits["ess_tail_min"].min()),
            "estimates_outside_their_interval": outside, "skipped": len(fits.attrs["skipped"]),
            "median_rhat_max": float(np.median(fits["rhat_max"])), **_shares(fits)}


def _shares(fits: pd.DataFrame) -> dict:
    """Over every fitted parameter: the share with R-hat above 1.01, and how many posteriors pile at which bound."""
    rhat = pd.concat([fits[c] for c in fits.columns if c.endswith("_rhat")]).dropna()
    piled = pd.concat([fits[c] for c in fits.columns if c.endswith("_post_piled")]).dropna()
    return {"parameters": len(rhat), "share_of_parameters_rhat_above_1.01": round(float((rhat > 1.01).mean()), 4),
            "posteriors_piled_at": {str(k) or "no bound": int(v) for k, v in piled.value_counts().items()}}
