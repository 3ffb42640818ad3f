"""Figures of ``garden networks fit``: each person's best init scale with its interval, and the verdicts
per curriculum."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from garden.reports.figures.style import group_order, new_figure, panel_grid, scale_axis

VERDICT_COLOURS = {"rich": "#1f77b4", "lazy": "#d62728", "undecided": "#ff7f0e",
                   "not identifiable under this curriculum": "#9467bd",
                   "no network describes this person better than the choice models": "#b0b0b0"}
"""One colour per verdict of ``garden.analysis.networks.person_fits`` (grey: no network)."""
SHORT = {"no network describes this person better than the choice models": "no network better",
         "not identifiable under this curriculum": "not identifiable"}


def _label(verdict: str) -> str:
    return SHORT.get(verdict, verdict)


def best_scale_intervals(people: pd.DataFrame) -> Figure:
    """Per curriculum, every person's best init scale (dot) and 95 % profile interval (line; log σ),
    sorted by best scale, coloured by verdict.

    ``people``: ``people.tsv`` of ``garden networks fit`` (curriculum, best_scale, scale_lo, scale_hi,
    p_rich, verdict).
    """
    curricula = group_order(people["curriculum"].fillna(""))
    fig, axes = panel_grid(len(curricula), "Best init scale per person with its 95 % profile interval")
    scales = sorted(set(people["best_scale"]) | set(people["scale_lo"]) | set(people["scale_hi"]))
    for ax, curriculum in zip(axes, curricula):
        part = people[people["curriculum"].fillna("") == curriculum].sort_values(["best_scale", "p_rich"])
        y = np.arange(len(part))
        colours = [VERDICT_COLOURS.get(v, "black") for v in part["verdict"]]
        ax.hlines(y, part["scale_lo"], part["scale_hi"], colors=colours, linewidth=1.0)
        ax.scatter(part["best_scale"], y, c=colours, s=10, zorder=3)
        scale_axis(ax, scales)
        ax.set_ylabel("person (sorted by best scale)")
        ax.set_title(f"{curriculum or 'no curriculum'} ({len(part)} people)")
    handles = [axes[0].plot([], [], "o-", color=c, label=_label(v))[0] for v, c in VERDICT_COLOURS.items()
               if v in set(people["verdict"])]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize="small", title="verdict")
    return fig


def verdict_shares(people: pd.DataFrame) -> Figure:
    """Share of each verdict per curriculum (stacked bars; counts written on the bars)."""
    curricula = group_order(people["curriculum"].fillna(""))
    counts = pd.crosstab(people["curriculum"].fillna(""), people["verdict"]).reindex(curricula).fillna(0)
    fig, axes = new_figure(1, 1, "Verdict per person, by curriculum")
    ax = axes[0, 0]
    left = np.zeros(len(curricula))
    for verdict, colour in VERDICT_COLOURS.items():
        if verdict not in counts:
            continue
        n = counts[verdict].to_numpy(float)
        share = n / counts.sum(axis=1).to_numpy(float)
        ax.barh(range(len(curricula)), share, left=left, color=colour, label=_label(verdict))
        for i, (x, s, k) in enumerate(zip(left, share, n)):
            if s >= 0.06:
                ax.text(x + s / 2, i, f"{int(k)}", ha="center", va="center", fontsize="small")
        left += share
    ax.set_yticks(range(len(curricula)), [c or "none" for c in curricula])
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of people")
    ax.set_ylabel("curriculum")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(0, -0.25), ncols=2)
    return fig
