"""The one-page session report of one participant: figures (embedded PNG), tables, warnings.

Why: a self-contained HTML file (no external resources) the lab opens the evening after a
session. Built only from ``garden.analysis.behaviour.session_summary.SessionSummary`` tables: this module draws and lays
out, it computes no measure.
"""

from __future__ import annotations

import base64
import html

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from garden.analysis.behaviour.session_summary import SessionSummary
from garden.modeling.posterior import RHAT_TARGET
from garden.reports import figures
from garden.reports.figures.style import label_panel
from garden.reports.html import STYLE, figure_png

PARAMETER_COLUMNS = ("model", "nll", "bic", "n_at_bound")


def accuracy_blocks(table: pd.DataFrame) -> Figure:
    """Accuracy (fraction correct of scored trials) per phase and block, with chance (0.5)."""
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax = fig.subplots()
    labels = [f"{p}\nblock {int(b)}" for p, b in zip(table["phase"], table["block"])]
    ax.bar(range(len(table)), table["accuracy"], color="#4878a8")
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="chance (0.5)")
    ax.set_xticks(range(len(table)), labels, fontsize="small")
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy (fraction correct)")
    ax.set_title("Accuracy per phase and block")
    ax.legend(fontsize="small")
    return fig


def learning(table: pd.DataFrame) -> Figure:
    """Accuracy in consecutive bins of trials within each phase, against the bin's first trial."""
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax = fig.subplots()
    for phase, part in table.groupby("phase", sort=False):
        ax.plot(part["trial_start"], part["accuracy"], "o-", label=str(phase))
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="chance (0.5)")
    ax.set_ylim(0, 1)
    label_panel(ax, "trial number (first trial of each bin)", "accuracy (fraction correct)",
                "Learning curve: accuracy per bin of trials")
    return fig


def rt_histogram(rts: pd.DataFrame) -> Figure:
    """Distribution of response times (s) per phase."""
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax = fig.subplots()
    values = rts["rt"].dropna()
    bins = np.linspace(0, max(float(values.max()) if len(values) else 1.0, 0.1), 40)
    for phase, part in rts.groupby("phase", sort=False):
        ax.hist(part["rt"].dropna(), bins=bins, alpha=0.5, label=str(phase))
    ax.set_xlabel("response time (s)")
    ax.set_ylabel("trials")
    ax.set_title("Response-time distribution per phase")
    ax.legend(fontsize="small")
    return fig


OUTSIDE = ("the estimate lies outside its interval: the likelihood is flat towards the bound it sits on, so "
           "the posterior has little mass there; report the posterior median with the interval")
"""The note beside a maximum-likelihood estimate outside its 95 % posterior interval."""
UNCONVERGED = ("R-hat above 1.01: the chains disagree, and such intervals covered the truth about 9 times in 10, "
               "not 95 (docs/modeling.md, simulation-based calibration); do not report this interval")
"""The note beside a posterior interval whose samplers did not converge (R-hat > ``RHAT_TARGET``)."""


def parameter_table(fits: pd.DataFrame) -> pd.DataFrame:
    """Long table: model, parameter, estimate, Wald SE, equal-tailed 95 % posterior interval, the bound the
    posterior piles at if any (``garden.modeling.posterior.interval_alternatives``), posterior median, its
    R-hat, at bound, and a note where the estimate lies outside the interval (``OUTSIDE``) or the chains did not
    converge (``UNCONVERGED``)."""
    rows = []
    for _, fit in fits.iterrows():
        for column in fits.columns:
            if not column.endswith("_post_lo") or pd.isna(fit[column]):
                continue
            name = column.removesuffix("_post_lo")
            lo, hi = fit[column], fit[f"{name}_post_hi"]
            rows.append({"model": fit["model"], "parameter": name, "estimate": fit[name], "se": fit[f"{name}_se"],
                         "posterior_lo": lo, "posterior_hi": hi,
                         "posterior_piles_at": fit.get(f"{name}_post_piled", ""),
                         "posterior_median": fit[f"{name}_post_median"],
                         "rhat": fit[f"{name}_rhat"], "at_bound": bool(fit[f"{name}_at_bound"]),
                         "note": "; ".join(note for note, applies in ((OUTSIDE, not lo <= fit[name] <= hi),
                                                                      (UNCONVERGED, fit[f"{name}_rhat"] > RHAT_TARGET))
                                           if applies)})
    return pd.DataFrame(rows)


def _img(caption: str, fig: Figure, dpi: int) -> str:
    data = base64.b64encode(figure_png(fig, dpi)).decode("ascii")
    return (f"<figure><img class='figure' alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _table(title: str, table: pd.DataFrame) -> str:
    body = table.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0, classes="table")
    return f"<h3>{html.escape(title)}</h3>\n{body}"


FIGURE_CAPTIONS = ("Accuracy per phase and block", "Learning curve", "Choice matrices per garden",
                   "Psychometric curves with model fits and predictive bands", "Response-time distribution")


def render_session(summary: SessionSummary, *, dpi: int = 80) -> str:
    """The session report as one self-contained HTML string (figures inline as base64 PNG)."""
    t = summary.tables
    cells = t["choice_cells"]
    drawn = (accuracy_blocks(t["accuracy_by_block"]), learning(t["learning_curve"]),
             figures.choice_matrices(cells, "Choice matrices: p(accept) per tree and garden (analysed phase)"),
             figures.psychometric_band(t["psychometric_observed"], t["predictive_band"]), rt_histogram(t["rts"]))
    warn = "".join(f"<p class='note warning'>{html.escape(w)}</p>" for w in summary.warnings) or \
        "<p>No warnings.</p>"
    facts = "; ".join(f"{k}: {v}" for k, v in summary.facts.items())
    fits = t["fits"]
    parts = [f"<h1>Session report: participant {html.escape(summary.participant_id)}</h1>",
             f"<p>{html.escape(facts)}.</p>", "<h2>Warnings</h2>", warn, "<h2>Figures</h2>"]
    parts += [_img(caption, fig, dpi) for caption, fig in zip(FIGURE_CAPTIONS, drawn)]
    parts += ["<h2>Tables</h2>", _table("accuracy per phase (chance 0.5)", t["accuracy_by_phase"]),
              _table("fit statistics", fits[[c for c in PARAMETER_COLUMNS if c in fits]]),
              _table("parameters: maximum-likelihood estimate, Wald SE, 95 % posterior interval (Jeffreys prior) "
                     "with the posterior median and R-hat", parameter_table(fits)),
              _table("response times (s)", t["rt_summary"]), _table("timing quality", t["timing"])]
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>session report {html.escape(summary.participant_id)}</title><style>{STYLE}</style></head>"
            f"<body>{''.join(parts)}</body></html>\n")
