"""Figures of the tree-arrangement task: the grid prior before and after learning."""

from __future__ import annotations

import pandas as pd
from garden.reports.figures.style import new_figure
from matplotlib.figure import Figure


def grid_prior_pre_post(table: pd.DataFrame) -> Figure:
    """Each participant's grid prior (Kendall τ_a of the arrangement RDM with the grid model) before
    and after training: one line per participant, the medians in black.

    ``table``: ``participant_id``, ``grid_prior_pre``, ``grid_prior_post`` (NaN where missing).
    """
    fig, axes = new_figure(1, 1, "Grid prior before and after training")
    ax = axes.flat[0]
    paired = table.dropna(subset=["grid_prior_pre", "grid_prior_post"])
    for row in paired.itertuples():
        ax.plot([0, 1], [row.grid_prior_pre, row.grid_prior_post], color="grey", alpha=0.6, marker="o", ms=4)
    ax.plot([0, 1], [paired["grid_prior_pre"].median(), paired["grid_prior_post"].median()], color="black",
            marker="s", lw=2.5, label=f"median (n = {len(paired)})")
    ax.set_xticks([0, 1], ["pre", "post"])
    ax.set_xlabel("arrangement session (before / after training)")
    ax.set_xlim(-0.3, 1.3)
    ax.set_ylabel("Kendall τ_a with the grid model RDM")
    ax.legend(fontsize="small")
    return fig
