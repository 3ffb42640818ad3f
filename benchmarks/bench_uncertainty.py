"""Interval coverage and SE accuracy at full size (the acceptance numbers of docs/modeling.md).

500 simulated agents per model (factorized, factorized_full, linear) x 200 and 400 test trials
(rule codes 1, 2, 5, 6 cycled), every model fitted to everyone (Bernoulli objective,
``jobs=2``): per generating model, trial count and parameter, the fraction of fits at a bound
and the coverage of the 95 % Wald intervals (over fits with an SE), plus the BIC confusion and
inversion matrices. SE accuracy: for the first 40 agents per model at 200 trials, the largest
relative difference between our SEs and those from numdifftools' Hessian of the NLL.
"""

from __future__ import annotations

import time

import numdifftools as nd
import numpy as np

from modeling.cells import participant_cells
from modeling.models import MODELS
from modeling.optimise import Batch, at_bound
from modeling.psychometric import fit_cells
from modeling.recovery import run_recovery, simulate_study

MODELS_CHECKED = ("factorized", "factorized_full", "linear")


def _se_agreement(model: str, n_agents: int = 40) -> float:
    trials, _ = simulate_study([model], [200], n_agents, (1, 2, 5, 6), seed=11)
    data, _ = participant_cells(trials)
    fit = fit_cells(data, [model])[model]
    worst = 0.0
    for i, d in enumerate(data):
        batch = Batch(MODELS[model], [d], "bernoulli")
        free = ~at_bound(batch.bounds, fit.theta[i:i + 1])[0]
        if not free.any():
            continue
        hessian = nd.Hessian(lambda th: batch.nll(th[None, :], np.array([0]))[0])(fit.theta[i])[np.ix_(free, free)]
        if np.linalg.eigvalsh(hessian)[0] <= 0:
            continue
        reference = np.sqrt(np.diag(np.linalg.inv(hessian)))
        worst = max(worst, float(np.nanmax(np.abs(fit.stderr[i][free] / reference - 1))))
    return worst


def main(n_sim: int = 500, jobs: int = 2) -> dict:
    start = time.perf_counter()
    tables = run_recovery(MODELS_CHECKED, (200, 400), n_sim, seed=2026, jobs=jobs)
    wall = time.perf_counter() - start
    summary = tables["recovery_summary"]
    coverage = {f"{r.generating_model}/{r.n_test_trials}/{r.parameter}":
                {"at_bound": round(r.fraction_at_bound, 3), "coverage": round(r.coverage, 3), "n_with_se": r.n_with_se,
                 "r": round(r.r, 3)} for r in summary.itertuples()}
    confusion = tables["model_recovery"]
    matrices = {f"{r.generating_model}/{r.n_test_trials}->{r.fitted_model}":
                {"fraction": round(r.fraction, 3), "inversion": round(r.inversion, 3)} for r in confusion.itertuples()}
    return {"n_sim": n_sim, "fit_wall_s": round(wall, 1), "coverage": coverage, "bic_confusion": matrices,
            "n_skipped": int(summary["n_skipped"].sum()),
            "se_max_relative_difference_vs_numdifftools": {m: round(_se_agreement(m), 5) for m in MODELS_CHECKED}}
