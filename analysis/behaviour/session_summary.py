"""One participant's session, summarised for the evening after it: tables and warnings.

Why: right after a session the lab wants to know whether the person did the task (accuracy by
phase and block against chance, learning), how they did it (choice matrices, psychometric
curves with every model's fit and a posterior predictive band, parameters with intervals) and
whether the recording is sound (RTs, too-slow responses, dropped frames, onset errors). All
tables come from the trial table (and its JSON sidecar), so simulated sessions work alike.

Posterior predictive band (ours): for each model, ``n_replicates`` seeded simulated sessions
from the participant's fitted parameters at the same trees and trial counts; the band is the
2.5-97.5 percentile of their psychometric curves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from garden.analysis.behaviour.measures import (
    CHANCE,
    accuracy_table,
    learning_curve,
    rt_summary,
    scored_trials,
)
from garden.analysis.behaviour.choices import (
    analysis_trials,
    cell_table,
    predicted_cells,
    psychometric_table,
)
from garden.analysis.behaviour.ppc import replicate_counts
from garden.core.errors import UserError
from garden.modeling.models import DEFAULT_MODELS
from garden.modeling.psychometric import fit_table

ONE_KEY_SHARE = 0.8
"""Warn when more than this fraction of responses are on one key."""
N_REPLICATES = 200
"""Simulated sessions per model for the posterior predictive band."""


@dataclass
class SessionSummary:
    """The tables of one participant's session (see the module docstring) and its warnings."""

    participant_id: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


def predictive_band(cells: pd.DataFrame, fits: pd.DataFrame, models: Sequence[str], *, n_replicates: int,
                    seed: int) -> pd.DataFrame:
    """Psychometric curves of each model's fit with the 2.5/97.5 percentiles of ``n_replicates``
    simulated sessions (binomial counts at each tree's trial count): columns model, feature,
    context, level, p_model, band_lo, band_hi."""
    rng = np.random.default_rng(seed)
    out = []
    for model in models:
        predicted = predicted_cells(cells, fits, model)
        if predicted.empty:
            continue
        n = predicted["n_trials"].to_numpy()
        draws = replicate_counts(n, predicted["p_model"].to_numpy(), n_replicates, rng)
        with np.errstate(invalid="ignore", divide="ignore"):
            replicate = np.where(n > 0, draws / np.maximum(n, 1), np.nan)
        stacked = pd.concat([predicted.drop(columns=["group", "p_model"], errors="ignore")] * n_replicates,
                            ignore_index=True)
        stacked = stacked.assign(participant_id=np.repeat(np.arange(n_replicates), len(n)), p_accept=replicate.ravel())
        keys = ["feature", "context", "level"]
        band = psychometric_table(stacked).groupby(keys, sort=False)["p_accept"].quantile([0.025, 0.975]).unstack()
        base = psychometric_table(predicted).drop(columns="p_accept")
        band = band.set_axis(["band_lo", "band_hi"], axis=1).reset_index()
        out.append(base.merge(band, on=keys).assign(model=model))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def display_timing_problems(sidecar: Mapping[str, Any]) -> list[str]:
    """The display timing problems the window run measured and recorded in its sidecar (``screen.timing_problems``:
    vsync off, refresh rate off its nominal value or unmeasurable); empty when none or not a window run."""
    screen = sidecar.get("screen")
    return [str(problem) for problem in screen.get("timing_problems") or []] if isinstance(screen, Mapping) else []


def _warnings(scored: pd.DataFrame, trials: pd.DataFrame, fits: pd.DataFrame, sidecar: Mapping[str, Any]) -> list[str]:
    """Plain-language warnings, each computed from the numbers it names."""
    out = []
    last_phase = scored["phase"].iloc[-1]
    last = scored[(scored["phase"] == last_phase) & (scored["block"] == scored.loc[scored["phase"] == last_phase,
                                                                                    "block"].max())]
    scored_last = last["correct"].dropna()
    if len(scored_last):
        test = stats.binomtest(int(scored_last.sum()), len(scored_last), CHANCE, alternative="greater")
        if test.pvalue >= 0.05:
            out.append(f"accuracy at chance in the last block ({last_phase}, block {int(last['block'].iloc[0])}): "
                       f"{scored_last.mean():.2f} over {len(scored_last)} trials (binomial p = {test.pvalue:.2f} "
                       "against 0.5)")
    if "response_key" in trials and trials["response_key"].notna().any():
        shares = trials["response_key"].dropna().value_counts(normalize=True)
        if shares.iloc[0] > ONE_KEY_SHARE:
            out.append(f"responses mostly on one key: {shares.iloc[0]:.0%} on {shares.index[0]!r}")
    missing = int((~scored["responded"]).sum())
    if missing > 0.1 * len(scored):
        out.append(f"{missing} of {len(scored)} trials without a response (too slow)")
    problems = display_timing_problems(sidecar)
    if "dropped_frames" in trials and trials["dropped_frames"].fillna(0).sum() > 0:
        frames = trials["dropped_frames"].fillna(0)
        cause = (f" (counted against the display's frame period, which the run itself flagged: {'; '.join(problems)})"
                 if problems else "")
        out.append(f"{int(frames.sum())} dropped frames on {int((frames > 0).sum())} trials{cause}")
    elif problems:
        out.append(f"display timing problems recorded by the run: {'; '.join(problems)}")
    flags = [c for c in fits.columns if c.endswith("_at_bound")]
    bound = [f"{row['model']}: {', '.join(c.removesuffix('_at_bound') for c in flags if row[c] is True)}"
             for _, row in fits.iterrows() if row.get("n_at_bound", 0) > 0]
    if bound:
        out.append("parameters on a bound (Wald SE not defined; see the posterior intervals): " + "; ".join(bound))
    return out


def _timing(trials: pd.DataFrame, sidecar: Mapping[str, Any]) -> pd.DataFrame:
    """Timing quality: dropped frames, onset error (s, onset - planned onset where planned), mode."""
    rows = [{"measure": "mode", "value": str(sidecar.get("mode", "unknown"))},
            {"measure": "completed", "value": str(sidecar.get("completed", "unknown"))}]
    if problems := display_timing_problems(sidecar):
        rows.append({"measure": "display timing problems", "value": "; ".join(problems)})
    if "dropped_frames" in trials:
        frames = trials["dropped_frames"].fillna(0)
        rows += [{"measure": "dropped frames (total)", "value": int(frames.sum())},
                 {"measure": "trials with dropped frames", "value": int((frames > 0).sum())}]
    planned = pd.to_numeric(trials.get("planned_onset", pd.Series(dtype=float)), errors="coerce")
    if "onset" in trials and planned.notna().any():
        error = (pd.to_numeric(trials["onset"], errors="coerce") - planned).dropna()
        rows += [{"measure": "onset error, median (s)", "value": float(error.median())},
                 {"measure": "onset error, max |.| (s)", "value": float(error.abs().max())}]
    return pd.DataFrame(rows)


def summarise_session(trials: pd.DataFrame, sidecar: Mapping[str, Any] | None = None, *,
                      models: Sequence[str] = DEFAULT_MODELS, too_slow_s: float | None = None,
                      n_replicates: int = N_REPLICATES, seed: int = 0) -> SessionSummary:
    """Every table of the session report for one participant's trials (all phases).

    Choice matrices, psychometric curves and fits use the analysed phase (test or scan when
    present, ``garden.analysis.behaviour.choices.analysis_trials``); fits carry 95 % posterior intervals (Jeffreys
    prior, ``garden.modeling.posterior``; sampled with ``seed``, which also seeds the predictive checks).
    ``too_slow_s``: count responses slower than this (s; default: none counted).
    """
    ids = trials["participant_id"].astype(str).unique()
    if len(ids) != 1:
        raise UserError(f"session report: the trials hold {len(ids)} participants ({', '.join(ids[:5])}); "
                        "give one participant's trial table or folder")
    sidecar = sidecar or {}
    summary = SessionSummary(ids[0])
    scored = scored_trials(trials)
    analysed = analysis_trials(trials)
    fits = fit_table(analysed, list(models), posterior=True, seed=seed)
    cells = cell_table(analysed)
    summary.tables = {
        "accuracy_by_block": accuracy_table(trials, by=("phase", "block")),
        "accuracy_by_phase": accuracy_table(trials, by=("phase",)),
        "learning_curve": learning_curve(trials, bin_trials=25),
        "rt_summary": rt_summary(trials, too_slow_s=too_slow_s),
        "choice_cells": cells,
        "psychometric_observed": psychometric_table(cells),
        "predictive_band": predictive_band(cells, fits, list(fits["model"].unique()) if len(fits) else [],
                                           n_replicates=n_replicates, seed=seed),
        "fits": fits,
        "timing": _timing(trials, sidecar),
        "rts": scored[["phase", "block", "trial", "rt", "responded"]],
    }
    summary.warnings = _warnings(scored, trials, fits, sidecar)
    rule_code = sidecar.get("assignment", {}).get("rule_code")
    phase = str(analysed["phase"].iloc[0]) if analysed["phase"].nunique() == 1 else "all (no test or scan phase)"
    skipped = "; ".join(f"{k}: {v}" for k, v in fits.attrs.get("skipped", {}).items()) or "none"
    summary.facts = {"participant": ids[0], "trials": len(trials), "analysed phase": phase,
                     "rule code": rule_code if rule_code is not None else "unknown",
                     "group": str(analysed["group"].iloc[0]), "skipped fits": skipped}
    return summary
