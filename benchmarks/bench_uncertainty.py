"""Interval coverage and SE accuracy at full size (the acceptance numbers of docs/modeling.md).

500 simulated agents per model (factorized, factorized_full, linear) x 200 and 400 test trials
(rule codes 1, 2, 5, 6 cycled), each fitted with its generating model (Bernoulli objective,
``jobs=2``, profile-likelihood and posterior intervals (Jeffreys prior) on). Per generating model, trial count and parameter:
the fraction of fits at a bound, the number of interior fits (no parameter of the fit, for
factorized_full of that context, at a bound: the fits with a Wald SE), and the coverage of the
95 % intervals, each with its 95 % Wilson interval (Monte Carlo error) and whether 0.95 lies in
it: natural-scale Wald and transformed-scale Wald (log slope, logit lapse) over interior fits,
profile likelihood over all fits and over interior fits, posterior over all fits (with the
distribution of the samplers' split R-hat, and pooled coverage split by whether the fit's samplers
converged). ``table`` holds the same as one
Markdown table (the one in docs/modeling.md). SE accuracy: for the first 100 agents per model
at 200 trials, our (conditional) SEs against those from numdifftools' Hessian of the NLL (step
1e-4 of each bound range, so that no step leaves the region where p is in (0, 1)): the fraction
within 2 % and the median relative difference. Model confusion: ``garden recover``.
"""

from __future__ import annotations

import os
import resource
import time

import numdifftools as nd
import numpy as np

from garden.modeling.cells import participant_cells
from garden.modeling.models import MODELS
from garden.modeling.optimise import Batch, at_bound
from garden.modeling.posterior import RHAT_TARGET
from garden.modeling.psychometric import fit_cells, fit_table
from garden.modeling.recovery import (COVERAGES, coverage_interval, parameter_recovery, recovery_summary,
                                      simulate_study)

MODELS_CHECKED = ("factorized", "factorized_full", "linear")
TRIAL_COUNTS = (200, 400)
TARGET = (0.93, 0.97)
"""The acceptance range of a coverage."""


def _se_agreement(model: str, n_agents: int = 100) -> dict:
    trials, _ = simulate_study([model], [200], n_agents, (1, 2, 5, 6), seed=11)
    data, _ = participant_cells(trials)
    fit = fit_cells(data, [model])[model]
    ratios = []
    for i, d in enumerate(data):
        batch = Batch(MODELS[model], [d], "bernoulli")
        width = batch.bounds[:, 1] - batch.bounds[:, 0]
        free = ~at_bound(batch.bounds, fit.theta[i:i + 1])[0]
        unit = nd.Hessian(lambda u: batch.nll((u * width)[None, :], np.array([0]))[0], step=1e-4)(fit.theta[i] / width)
        hessian = (unit / np.outer(width, width))[np.ix_(free, free)]
        if not free.any() or np.linalg.eigvalsh(hessian)[0] <= 0:
            continue
        ratios.append(np.abs(fit.conditional[i][free] / np.sqrt(np.diag(np.linalg.inv(hessian))) - 1).max())
    ratios = np.array(ratios)
    return {"n_fits": len(ratios), "fraction_within_2_percent": round(float((ratios < 0.02).mean()), 3),
            "median_relative_difference": float(np.median(ratios)), "max_relative_difference": float(ratios.max())}


def _cell(r) -> dict:
    out = {"at_bound": round(r.fraction_at_bound, 3), "n": int(r.n), "n_interior": int(r.n_with_se),
           "r": round(r.r, 3), "piled": round(r.fraction_piled, 3)}
    for name in COVERAGES:
        value, lo, hi = getattr(r, name), getattr(r, f"{name}_ci_lo"), getattr(r, f"{name}_ci_hi")
        out[name] = {"value": round(value, 3), "ci95": [round(lo, 3), round(hi, 3)],
                     "0.95_inside": bool(lo <= 0.95 <= hi), "in_93_97": bool(TARGET[0] <= value <= TARGET[1])}
    return out


LABELS = {"coverage": "Wald", "coverage_wald_transformed": "Wald, transformed", "coverage_profile": "profile, all fits",
          "coverage_profile_interior": "profile, interior fits", "coverage_posterior": "posterior, all fits",
          "coverage_posterior_interior": "posterior, interior fits",
          "coverage_posterior_at_bound": "posterior, fits at a bound",
          "coverage_posterior_onesided_interior": "one-sided where piled, interior",
          "coverage_posterior_onesided_at_bound": "one-sided where piled, at a bound",
          "coverage_posterior_shortest_interior": "shortest, interior",
          "coverage_posterior_shortest_at_bound": "shortest, at a bound"}
"""Column headings of the Markdown table."""


def _markdown(cells: dict) -> str:
    """The coverage table (columns without any value, e.g. profile coverages when left out, dropped)."""
    def fmt(cell: dict, name: str) -> str:
        c = cell[name]
        mark = "" if c["in_93_97"] else " *"
        return f"{c['value']:.3f} [{c['ci95'][0]:.3f}, {c['ci95'][1]:.3f}]{mark}"
    names = [n for n in COVERAGES if any(np.isfinite(c[n]["value"]) for c in cells.values())]
    header = ("| model | parameter | trials | at bound | interior fits | posterior piled at a bound | "
              + " | ".join(LABELS[n] for n in names) + " |")
    lines = [header, "|" + "---|" * (6 + len(names))]
    for key, cell in cells.items():
        model, n_trials, parameter = key.split("/")
        lines.append(f"| {model} | {parameter} | {n_trials} | {cell['at_bound']:.3f} | {cell['n_interior']} / "
                     f"{cell['n']} | {cell['piled']:.3f} | " + " | ".join(fmt(cell, name) for name in names) + " |")
    return "\n".join(lines)


def _rhat(values) -> dict:
    """Rank-normalised split R-hat of the samplers over every fitted parameter: quantiles and tail fractions."""
    values = values.dropna().to_numpy()
    return {"median": round(float(np.median(values)), 4), "p99": round(float(np.quantile(values, 0.99)), 4),
            "max": round(float(values.max()), 4), "fraction_above_1.01": round(float((values > 1.01).mean()), 4),
            "fraction_above_1.05": round(float((values > 1.05).mean()), 4)}


def _by_convergence(recovered, fits) -> dict:
    """Posterior coverage pooled over parameters and trial counts (parameters of one fit are not independent), in
    interior fits and fits at a bound, each split by whether the fit's samplers met the R-hat target
    (``rhat_max`` <= ``RHAT_TARGET``): value, 95 % Wilson interval, number of intervals."""
    converged = recovered["participant_id"].map(fits.set_index("participant_id")["rhat_max"]) <= RHAT_TARGET
    out = {}
    for kind, where in (("interior", recovered["interior"]), ("at_bound", ~recovered["interior"])):
        for label, sampled in (("converged", converged), ("not_converged", ~converged)):
            covered = recovered.loc[where & sampled, "covered_posterior"].dropna().astype(bool)
            lo, hi = coverage_interval(int(covered.sum()), len(covered))
            out[f"{kind}/{label}"] = {"value": round(float(covered.mean()), 3) if len(covered) else None,
                                      "ci95": [round(lo, 3), round(hi, 3)], "n": len(covered)}
    return out


def _counts(cells: dict) -> dict:
    """Per kind of coverage: cells in 93-97 %, cells whose Wilson interval holds 0.95, the range (NaN where the
    run has none of that kind, e.g. profile intervals left out)."""
    out = {}
    for name in COVERAGES:
        values = [c[name]["value"] for c in cells.values() if np.isfinite(c[name]["value"])]
        out[name] = {"cells_in_93_97": sum(c[name]["in_93_97"] for c in cells.values()),
                     "cells_with_0.95_in_ci": sum(c[name]["0.95_inside"] for c in cells.values()),
                     "range": [min(values), max(values)] if values else [np.nan, np.nan], "n_cells": len(cells)}
    return out


def main(n_sim: int | None = None, jobs: int = 2, profile: bool | None = None, truth: str = "ranges") -> dict:
    """``n_sim`` agents per model and trial count (default 500, or ``GARDEN_BENCH_AGENTS``), for
    the models ``GARDEN_BENCH_MODELS`` (comma-separated; default all of ``MODELS_CHECKED``);
    ``profile`` intervals too (default on, ``GARDEN_BENCH_PROFILE=0`` leaves them out: 10x faster);
    generating parameters from ``PARAMETER_RANGES`` or the posterior's prior (``truth``,
    ``simulate_study``)."""
    n_sim = int(os.environ.get("GARDEN_BENCH_AGENTS", 500)) if n_sim is None else n_sim
    profile = os.environ.get("GARDEN_BENCH_PROFILE", "1") != "0" if profile is None else profile
    cells, timing, rhat, by_convergence = {}, {}, {}, {}
    for model in os.environ.get("GARDEN_BENCH_MODELS", ",".join(MODELS_CHECKED)).split(","):
        trials, true_values = simulate_study([model], TRIAL_COUNTS, n_sim, (1, 2, 5, 6), seed=2026, truth=truth)
        wall, cpu = time.perf_counter(), _cpu_s()
        fits = fit_table(trials, [model], jobs=jobs, profile=profile, posterior=True, seed=2026)
        timing[model] = {"wall_s": round(time.perf_counter() - wall, 1), "cpu_s": round(_cpu_s() - cpu, 1)}
        recovered = parameter_recovery(fits, true_values)
        rhat[model] = _rhat(recovered["rhat"])
        by_convergence[model] = _by_convergence(recovered, fits)
        summary = recovery_summary(recovered)
        position = summary["parameter"].map({name: i for i, name in enumerate(dict.fromkeys(summary["parameter"]))})
        for r in summary.assign(position=position).sort_values(["position", "n_test_trials"], kind="stable").itertuples():
            cells[f"{model}/{r.n_test_trials}/{r.parameter}"] = _cell(r)
    return {"n_sim": n_sim, "truth": truth, "jobs": jobs, "profile": profile,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "fit_with_posterior": timing, "posterior_rhat": rhat,
            "coverage_by_convergence": by_convergence, "summary": _counts(cells), "coverage": cells,
            "table": _markdown(cells),
            "se_vs_numdifftools": {m: _se_agreement(m, min(100, n_sim)) for m in MODELS_CHECKED} if profile else None}


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the fitting pool's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
