"""RDMs drawn as matrices: one panel per RDM of an ``RDMs`` stack, whatever produced it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from garden.reports.figures.style import panel_grid
from garden.rsa.rdms import RDMs
from matplotlib.axes import Axes
from matplotlib.figure import Figure

MAX_TICK_LABELS = 30
"""Conditions labelled one by one up to this many; beyond, only the blocks of the first descriptor."""


def plot_rdms(rdms: RDMs, title: str | None = None) -> Figure:
    """One panel per RDM (at most 4 per row), all on one colour scale of ``dissimilarity_measure``.

    Panel titles come from the rdm descriptors (``name=value``, missing values left out; "RDM k" when
    there are none); the axes from the pattern descriptors: the conditions are labelled by the first
    descriptor's blocks (e.g. context), split by thin lines, the axis label naming the order within
    a block (e.g. "context (then branchiness, leafiness)"). NaN dissimilarities are left blank.
    """
    if len(rdms) == 0:
        raise ValueError("plot_rdms needs at least one RDM")
    measure = rdms.dissimilarity_measure or "dissimilarity"
    fig, axes = panel_grid(len(rdms), title or f"{len(rdms)} RDM{'s' * (len(rdms) > 1)} ({measure})")
    finite = rdms.matrices[np.isfinite(rdms.matrices)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    for k, ax in enumerate(axes):
        image = ax.imshow(rdms.matrices[k], vmin=low, vmax=high if high > low else low + 1, cmap="viridis")
        ax.set_title(_rdm_title(rdms.rdm_descriptors.iloc[k], k), fontsize="medium")
        _label_conditions(ax, rdms.pattern_descriptors)
    fig.colorbar(image, ax=axes, shrink=0.8, label=measure)
    return fig


def _rdm_title(descriptors: pd.Series, k: int) -> str:
    """``name=value, ...`` of one RDM's descriptors that have a value."""
    parts = [f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}"
             for name, value in descriptors.items() if not pd.isna(value)]
    return ", ".join(parts) if parts else f"RDM {k + 1}"


def _label_conditions(ax: Axes, patterns: pd.DataFrame) -> None:
    """Tick labels and axis labels of both axes from the pattern descriptors."""
    n = len(patterns)
    first = patterns.columns[0]
    if n <= MAX_TICK_LABELS:
        labels = [" ".join(str(v) for v in row) for row in patterns.itertuples(index=False)]
        ticks = list(range(n))
        label = ", ".join(patterns.columns)
    else:
        values = patterns[first].to_numpy()
        starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
        ends = np.r_[starts[1:], n]
        ticks = list((starts + ends - 1) / 2)
        labels = [str(values[s]) for s in starts]
        rest = list(patterns.columns[1:])
        label = f"{first} (then {', '.join(rest)})" if rest else first
        for boundary in starts[1:]:
            ax.axhline(boundary - 0.5, color="white", lw=0.8)
            ax.axvline(boundary - 0.5, color="white", lw=0.8)
    ax.set_xticks(ticks, labels, rotation=90 if n <= MAX_TICK_LABELS else 0, fontsize="small")
    ax.set_yticks(ticks, labels, fontsize="small")
    ax.set_xlabel(label)
    ax.set_ylabel(label)
