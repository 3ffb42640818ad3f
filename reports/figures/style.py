"""What every figure shares: colours, the scale axis, panel grids (Agg canvas, no pyplot)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from garden.core.task import CONTEXTS
from garden.stimuli.gardens import CONTEXT_COLOURS
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

FEATURE_COLOURS = {"branchiness": "#8c564b", "leafiness": "#2ca02c"}
SCALE_LABEL = "init scale σ (input→hidden SD; rich → lazy)"
PANEL_W, PANEL_H = 4.0, 3.3  # inches per panel
MAX_COLUMNS = 4  # panels per row of the figures with one panel per scale, group, model, ...


def context_colour(context: str, index: int = 0) -> str:
    """Hex colour of a garden: its own colour for north/south, else the colour of its role."""
    rgb = CONTEXT_COLOURS.get(context, CONTEXT_COLOURS[CONTEXTS[index % 2]])
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def group_order(groups: Iterable[Any]) -> list[Any]:
    """The groups of a column in the one order of every figure and table: sorted by name (b2, b20, b200,
    int), as pandas' groupby writes the tables."""
    return sorted(dict.fromkeys(groups), key=str)


def new_figure(n_rows: int, n_cols: int, title: str, **kw) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(PANEL_W * n_cols + 1.0, PANEL_H * n_rows + 0.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False, **kw))
    fig.suptitle(title)
    return fig, axes


def panel_grid(n: int, title: str, **kw) -> tuple[Figure, list[Axes]]:
    """``n`` panels in rows of at most ``MAX_COLUMNS`` (unused grid cells removed), flat list."""
    n_cols = min(n, MAX_COLUMNS)
    fig, axes = new_figure(-(-n // n_cols), n_cols, title, **kw)
    panels = list(axes.ravel())
    for ax in panels[n:]:
        fig.delaxes(ax)
    return fig, panels[:n]


def scale_axis(ax: Axes, scales: Sequence[float]) -> None:
    """Init scales on a log axis (data plotted at the scales themselves), ticks at the scales."""
    ax.set_xscale("log")
    ax.set_xticks(list(scales), [f"{s:g}" for s in scales])
    ax.minorticks_off()
    ax.set_xlabel(SCALE_LABEL)


def scale_categories(ax: Axes, scales: Sequence[float]) -> None:
    """Init scales as evenly spaced categories (bar charts: data plotted at 0, 1, 2, ...)."""
    ax.set_xticks(range(len(scales)), [f"{s:g}" for s in scales])
    ax.set_xlabel(SCALE_LABEL)


def scale_colours(scales: Sequence[float]) -> dict[float, tuple]:
    cmap = colormaps["viridis"]
    n = max(len(scales) - 1, 1)
    return {s: cmap(i / n) for i, s in enumerate(scales)}


def mean_sem(table: pd.DataFrame, by: str | list[str], value: str) -> pd.DataFrame:
    stats = table.groupby(by)[value].agg(["mean", "std", "count"]).reset_index()
    stats["sem"] = (stats["std"] / np.sqrt(stats["count"])).fillna(0.0)
    return stats


def scale_lines(ax: Axes, table: pd.DataFrame, columns: Mapping[str, str]) -> None:
    """Mean ± SEM over seeds of each column, one line per column, scales as categories."""
    scales = sorted(table["scale"].unique())
    x = np.asarray(scales, float)
    for column, label in columns.items():
        stats = mean_sem(table, "scale", column).set_index("scale").loc[scales]
        ax.errorbar(x, stats["mean"], yerr=stats["sem"], marker="o", capsize=3, label=label)
    scale_axis(ax, scales)
    ax.legend(fontsize="small")


def label_panel(ax: Axes, xlabel: str, ylabel: str, title: str, *, zero: bool = False, legend: str = "small") -> None:
    """Axis labels (with units), the panel title and its legend (``legend``: font size); ``zero`` draws
    the y = 0 reference line first."""
    if zero:
        ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=legend)
