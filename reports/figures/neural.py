"""Figures of neural geometry: ROI model betas, betas vs accuracy, searchlight slices."""

from __future__ import annotations

import numpy as np
import pandas as pd
from garden.reports.figures.style import panel_grid
from matplotlib.figure import Figure


def neural_model_betas(group: pd.DataFrame) -> Figure:
    """Group-mean β of each ROI's RDM on the model RDMs, with 95 % t intervals, one panel per ROI.

    ``group``: ``roi``, ``model``, ``mean``, ``ci_low``, ``ci_high``, ``n``.
    """
    rois = list(dict.fromkeys(group["roi"].astype(str)))
    fig, axes = panel_grid(len(rois), "ROI RDMs regressed on the model RDMs (group mean β, 95 % CI)", sharey=True)
    for ax, roi in zip(axes, rois):
        part = group[group["roi"].astype(str) == roi]
        x = np.arange(len(part))
        ax.bar(x, part["mean"], color="#777777", label="group mean")
        ax.errorbar(x, part["mean"], yerr=[part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]],
                    fmt="none", color="black", capsize=3, label="95 % CI")
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(x, [str(m).replace("_", " ") for m in part["model"]], rotation=45, ha="right")
        ax.set_xlabel("model RDM")
        ax.legend(fontsize="small")
        ax.set_ylabel("β (z-scored regression, a.u.)")
        ax.set_title(f"{roi} (n = {int(part['n'].iloc[0])})")
    return fig


def neural_accuracy(betas: pd.DataFrame, accuracy: pd.DataFrame, model: str = "orthogonal") -> Figure:
    """Per participant: an ROI's β on ``model`` against scan-phase accuracy, one panel per ROI.

    ``betas``: ``participant_id``, ``roi``, ``model``, ``beta``; ``accuracy``: ``participant_id``, ``accuracy``.
    """
    merged = betas[betas["model"] == model].merge(accuracy, on="participant_id")
    rois = list(dict.fromkeys(merged["roi"].astype(str)))
    fig, axes = panel_grid(len(rois), f"{model.replace('_', ' ').capitalize()} β vs task accuracy per participant",
                            sharex=True)
    for ax, roi in zip(axes, rois):
        part = merged[merged["roi"].astype(str) == roi]
        ax.scatter(part["accuracy"], part["beta"], color="black", s=18, label=f"participants (n = {len(part)})")
        ax.legend(fontsize="small")
        ax.set_xlabel("accuracy (proportion correct, scan phase)")
        ax.set_ylabel(f"β {model.replace('_', ' ')} (a.u.)")
        ax.set_title(roi)
    return fig


def neural_searchlight_slices(slices: pd.DataFrame) -> Figure:
    """Group t map of each model's searchlight β on one axial slice, FDR-significant voxels marked.

    ``slices``: ``model``, ``z``, ``x``, ``y``, ``t``, ``significant`` (0/1); NaN t = outside the map.
    """
    models = list(dict.fromkeys(slices["model"]))
    fig, axes = panel_grid(len(models), "Searchlight group t maps (one axial slice per model)")
    for ax, model in zip(axes, models):
        part = slices[slices["model"] == model]
        shape = (int(part["x"].max()) + 1, int(part["y"].max()) + 1)
        t = np.full(shape, np.nan)
        t[part["x"], part["y"]] = part["t"]
        image = ax.imshow(t.T, origin="lower", cmap="RdBu_r", vmin=-np.nanmax(np.abs(t)), vmax=np.nanmax(np.abs(t)))
        hits = part[part["significant"] == 1]
        ax.scatter(hits["x"], hits["y"], s=6, color="black", marker="s", label="FDR q < 0.05")
        fig.colorbar(image, ax=ax, label="t (one-sided, > 0)")
        ax.set_xlabel("x (voxels)")
        ax.set_ylabel("y (voxels)")
        ax.set_title(f"{str(model).replace('_', ' ')}, z = {int(part['z'].iloc[0])}")
        ax.legend(fontsize="small", loc="upper right")
    return fig
