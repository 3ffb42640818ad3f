"""Figures of people compared with networks: similarity by init scale, matched parameters and accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd
from garden.reports.figures.style import (
    SCALE_LABEL,
    new_figure,
    panel_grid,
    scale_axis,
    scale_categories,
    scale_colours,
)
from matplotlib.figure import Figure


def similarity_by_scale(profile: pd.DataFrame, best: pd.DataFrame | None = None, *,
                        title: str = "Choice-RDM similarity of people and networks by init scale",
                        measure: str = "choice-RDM similarity (Spearman ρ)", by: str = "group",
                        legend: str = "people") -> Figure:
    """RDM similarity between people (or brain regions) and networks across init scales, with
    bootstrap intervals; ``measure`` labels the y axis, ``legend`` titles the legends.

    ``profile``: ``by`` (``group`` of participants, or ``roi``), ``scale``, ``similarity`` (mean over
    participants), ``ci_low``, ``ci_high``. ``best`` (optional): ``by``, ``best_scale``,
    ``fraction`` (share of bootstrap samples where that scale matched best).
    """
    n_cols = 1 if best is None else 2
    fig, axes = new_figure(1, n_cols, title)
    ax = axes[0, 0]
    scales = sorted(profile["scale"].unique())
    for label in dict.fromkeys(profile[by]):
        part = profile[profile[by] == label].sort_values("scale")
        xs = part["scale"]
        line = ax.plot(xs, part["similarity"], marker="o", label=str(label))[0]
        ax.fill_between(xs, part["ci_low"], part["ci_high"], color=line.get_color(), alpha=0.2, linewidth=0)
    scale_axis(ax, scales)
    ax.set_ylabel(measure)
    ax.set_title("Similarity profile (95 % bootstrap CI)")
    ax.legend(fontsize="small", title=legend)
    if best is not None:
        ax = axes[0, 1]
        names = list(dict.fromkeys(best[by]))
        width = 0.8 / len(names)
        for k, label in enumerate(names):
            fraction = best[best[by] == label].set_index("best_scale")["fraction"].reindex(scales, fill_value=0.0)
            x = np.arange(len(scales)) + (k - (len(names) - 1) / 2) * width
            ax.bar(x, fraction, width, label=str(label))
        scale_categories(ax, scales)
        ax.set_ylim(0, 1)
        ax.set_ylabel("fraction of bootstrap samples")
        ax.set_title("Best-matching init scale")
        ax.legend(fontsize="small", title=legend)
    return fig


def person_vs_matched_networks(table: pd.DataFrame) -> Figure:
    """Each person's psychometric parameter against the mean of their matched networks' (one panel
    per parameter): networks run through that person's trials at the person's best-matching scale.

    ``table``: ``participant_id``, ``parameter``, ``person``, ``networks``, ``best_scale``.
    """
    params = list(dict.fromkeys(table["parameter"]))
    fig, axes = panel_grid(len(params), "People vs their matched networks: factorized-model parameters")
    scales = sorted(table["best_scale"].unique())
    colours = scale_colours(scales)
    for ax, param in zip(axes, params):
        part = table[table.parameter == param]
        for scale in scales:
            sub = part[part.best_scale == scale]
            ax.scatter(sub["person"], sub["networks"], color=colours[scale], label=f"σ = {scale:g}")
        values = part[["person", "networks"]].to_numpy(float)
        lims = [np.nanmin(values), np.nanmax(values)]
        ax.plot(lims, lims, color="grey", linestyle="--", linewidth=0.8, label="identity")
        unit = " (degrees)" if param.startswith(("bias", "delta")) else ""
        ax.set_title(param)
        ax.set_xlabel(f"person's {param}{unit}")
        ax.set_ylabel(f"matched networks' {param}{unit}")
    axes[0].legend(fontsize="small", title="best-matching scale")
    return fig


def matched_accuracy(table: pd.DataFrame) -> Figure:
    """Accuracy by phase of networks run through each person's own sequence against init scale
    (log axis; points: participants' mean over seeds, line: mean over participants), with the
    people's mean accuracy in that phase (dashed).

    ``table``: ``participant_id``, ``phase``, ``scale``, ``accuracy_networks``, ``accuracy_person``.
    """
    phases = list(dict.fromkeys(table["phase"]))
    fig, axes = panel_grid(len(phases), "Accuracy by phase: matched networks and people", sharey=True)
    for ax, phase in zip(axes, phases):
        part = table[table.phase == phase]
        ax.scatter(part["scale"], part["accuracy_networks"], color="grey", alpha=0.4, s=12, label="per participant")
        mean = part.groupby("scale")["accuracy_networks"].mean()
        ax.plot(mean.index, mean.to_numpy(), marker="o", color="black", label="networks (mean)")
        people = part.drop_duplicates("participant_id")["accuracy_person"].mean()
        ax.axhline(people, color="tab:red", linestyle="--", label="people (mean)")
        ax.set_xscale("log")
        ax.set_xlabel(SCALE_LABEL)
        ax.set_ylabel("accuracy (share correct)")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{phase} phase")
    axes[0].legend(fontsize="small")
    return fig
