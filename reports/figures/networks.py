"""Figures of network sweeps: learning, weight change, compression, betas, dimensionality, unit
classes, gating, ablation, noise, MDS."""

from __future__ import annotations

import numpy as np
import pandas as pd
from garden.reports.figures.style import (
    FEATURE_COLOURS,
    SCALE_LABEL,
    context_colour,
    label_panel,
    mean_sem,
    new_figure,
    panel_grid,
    scale_axis,
    scale_categories,
    scale_colours,
    scale_lines,
)
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def congruency_over_training(curves: pd.DataFrame) -> Figure:
    """Accuracy on congruent and on incongruent trees against training step, one panel per init
    scale (mean over seeds); the two contexts' rules agree on congruent trees and conflict on
    incongruent ones.

    ``curves``: ``scale``, ``seed``, ``step``, ``accuracy_congruent``, ``accuracy_incongruent``.
    """
    scales = sorted(curves["scale"].unique())
    fig, axes = panel_grid(len(scales), "Accuracy on congruent and incongruent trees over training", sharey=True)
    for ax, scale in zip(axes, scales):
        part = curves[curves.scale == scale].groupby("step")[["accuracy_congruent", "accuracy_incongruent"]].mean()
        ax.plot(part.index, part["accuracy_congruent"], color="tab:blue", label="congruent")
        ax.plot(part.index, part["accuracy_incongruent"], color="tab:orange", linestyle="--", label="incongruent")
        ax.set_title(f"σ = {scale:g}")
        ax.set_xlabel("training step (full-batch updates)")
        ax.set_ylabel("accuracy (fraction correct)")
        ax.set_ylim(0, 1.02)
    axes[0].legend(fontsize="small", title="trees")
    return fig


def learning_curves(curves: pd.DataFrame) -> Figure:
    """Loss and accuracy against training step, one line per init scale: the mean over seeds with the
    seeds' range (loss, on a log axis) or ± SD (accuracy).

    ``curves``: columns ``scale``, ``seed``, ``step``, ``loss`` (½Σ squared error over the 50 items)
    and ``accuracy`` (fraction of non-zero targets with the right sign).
    """
    fig, axes = new_figure(1, 2, "Learning curves by init scale")
    scales = sorted(curves["scale"].unique())
    colours = scale_colours(scales)
    labels = ("loss (½Σ squared error)", "accuracy (fraction correct)")
    for ax, measure, label in zip(axes[0], ("loss", "accuracy"), labels):
        for scale in scales:
            stats = curves[curves.scale == scale].groupby("step")[measure].agg(["mean", "std", "min", "max"])
            stats = stats.fillna(0.0)
            ax.plot(stats.index, stats["mean"], color=colours[scale], label=f"σ = {scale:g}")
            low, high = ((stats["min"], stats["max"]) if measure == "loss"  # log axis: mean - SD can be <= 0
                         else (stats["mean"] - stats["std"], stats["mean"] + stats["std"]))
            ax.fill_between(stats.index, low, high, color=colours[scale], alpha=0.2, linewidth=0)
        ax.set_xlabel("training step (full-batch updates)")
        ax.set_ylabel(label)
        ax.set_title(measure.capitalize())
    axes[0, 0].set_yscale("log")
    axes[0, 1].set_ylim(0, 1.02)
    axes[0, 1].legend(fontsize="small", title="init scale")
    return fig


def weight_change_curves(table: pd.DataFrame) -> Figure:
    """Relative weight change over training per weight matrix, one line per init scale (mean over
    seeds): the paper's relative change of the norm (top) and ours, the distance moved relative to
    the initial norm (bottom); symmetric-log y axes.

    ``table``: ``scale``, ``seed``, ``step``, ``matrix``, ``rel_norm_change``, ``rel_change``.
    """
    matrices = list(dict.fromkeys(table["matrix"]))
    measures = {"rel_norm_change": "(‖W_t‖ − ‖W_0‖) / ‖W_0‖ (paper)", "rel_change": "‖W_t − W_0‖ / ‖W_0‖ (ours)"}
    fig, axes = new_figure(2, len(matrices), "Relative weight change over training by init scale", sharex=True)
    scales = sorted(table["scale"].unique())
    colours = scale_colours(scales)
    for j, matrix in enumerate(matrices):
        part = table[table.matrix == matrix]
        for i, (column, label) in enumerate(measures.items()):
            ax = axes[i, j]
            for scale in scales:
                mean = part[part.scale == scale].groupby("step")[column].mean()
                ax.plot(mean.index, mean.to_numpy(), color=colours[scale], label=f"σ = {scale:g}")
            ax.set_yscale("symlog", linthresh=0.01)
            ax.set_title(f"{matrix} weights")
            ax.set_xlabel("training step")
            ax.set_ylabel(label)
    axes[0, 0].legend(fontsize="small", title="init scale")
    return fig


def compression_by_scale(fits: pd.DataFrame) -> Figure:
    """Compression-model parameters of each network's hidden RDM against init scale (log axis;
    points: networks, line: mean over seeds): log irrelevant / relevant gain, the relevant gains,
    the rotation (degrees) and the context offset (data units).

    ``fits``: ``scale``, ``seed``, ``log_irrelevant_gain``, ``north_relevant``, ``south_relevant``,
    ``rotation_deg``, ``context_offset``, and optionally ``compression_model`` (ours or paper: named in
    the title; the paper's gains are 1 - c of max-scaled RDMs).
    """
    version = fits["compression_model"].iloc[0] if "compression_model" in fits and len(fits) else "ours"
    units = "max-scaled units" if version == "paper" else "data units"
    panels = {"log_irrelevant_gain": "log(irrelevant / relevant gain)", "north_relevant": "relevant gain (north)",
              "south_relevant": "relevant gain (south)", "rotation_deg": "rotation (degrees)",
              "context_offset": f"context offset ({units})"}
    fig, axes = panel_grid(len(panels), f"Compression-model parameters ({version}) of hidden-layer RDMs by init scale")
    for ax, (column, label) in zip(axes, panels.items()):
        ax.scatter(fits["scale"], fits[column], color="grey", alpha=0.4, s=12, label="networks")
        mean = fits.groupby("scale")[column].mean()
        ax.plot(mean.index, mean.to_numpy(), marker="o", color="black", label="mean over seeds")
        ax.set_xscale("log")
        ax.set_xlabel(SCALE_LABEL)
        ax.set_ylabel(label)
    axes[0].legend(fontsize="small")
    return fig


def betas_by_scale(summary: pd.DataFrame) -> Figure:
    """Regression weights of the hidden-layer RDM on the model RDMs, mean ± SEM over seeds.

    ``summary``: one row per network with ``scale``, ``seed`` and ``beta_<model>`` columns.
    """
    fig, axes = new_figure(1, 1, "Hidden-layer geometry: model-RDM β by init scale")
    betas = {c: c.removeprefix("beta_") for c in summary.columns if c.startswith("beta_")}
    scale_lines(axes[0, 0], summary, betas)
    axes[0, 0].axhline(0, color="grey", linewidth=0.8)
    axes[0, 0].set_ylabel("β (z-scored RDM regression, a.u.)")
    return fig


def dimensionality_by_scale(summary: pd.DataFrame, spectrum: pd.DataFrame | None = None) -> Figure:
    """Components needed for 90 % of hidden variance by scale, and the cumulative spectra.

    ``summary``: ``scale``, ``seed``, ``dim_90``. ``spectrum`` (optional): ``scale``, ``seed``,
    ``component`` (1-based) and ``explained_variance_ratio``.
    """
    n_cols = 1 if spectrum is None else 2
    fig, axes = new_figure(1, n_cols, "Dimensionality of the hidden layer by init scale")
    scale_lines(axes[0, 0], summary, {"dim_90": "components for 90 % variance"})
    axes[0, 0].set_ylabel("number of principal components")
    if spectrum is not None:
        ax = axes[0, 1]
        scales = sorted(spectrum["scale"].unique())
        colours = scale_colours(scales)
        for scale in scales:
            part = spectrum[spectrum.scale == scale].sort_values(["seed", "component"]).copy()
            part["cumulative"] = part.groupby("seed")["explained_variance_ratio"].cumsum()
            mean = part.groupby("component")["cumulative"].mean()
            ax.plot(mean.index, mean.values, marker=".", color=colours[scale], label=f"σ = {scale:g}")
        ax.axhline(0.9, color="grey", linestyle="--", linewidth=0.8, label="90 %")
        label_panel(ax, "principal component (rank)", "cumulative variance explained (fraction)", "Cumulative spectrum")
    return fig


def unit_classes(summary: pd.DataFrame) -> Figure:
    """Mean number of task-selective, mixed and dead hidden units per scale (stacked bars).

    ``summary``: ``scale``, ``n_task_selective``, ``n_mixed``, ``n_dead``.
    """
    fig, axes = new_figure(1, 1, "Hidden units by class (active in one / both / neither context)")
    ax = axes[0, 0]
    means = summary.groupby("scale")[["n_task_selective", "n_mixed", "n_dead"]].mean()
    bottom = np.zeros(len(means))
    for column, colour in zip(means.columns, ("#1f77b4", "#9467bd", "#7f7f7f")):
        ax.bar(range(len(means)), means[column], bottom=bottom, color=colour,
               label=column.removeprefix("n_").replace("_", "-"))
        bottom += means[column].to_numpy()
    scale_categories(ax, list(means.index))
    ax.set_ylabel("hidden units (mean count over seeds)")
    ax.legend(fontsize="small")
    return fig


def context_weight_scatter(weights: pd.DataFrame) -> Figure:
    """Each hidden unit's two context→hidden weights (north against south), one panel per init
    scale showing one network (its first seed), task-selective units marked; the panel title gives
    the Pearson r over all units and over the task-selective ones.

    ``weights``: one row per hidden unit with ``scale``, ``seed``, ``w_<context>`` for two contexts
    (e.g. ``w_north``, ``w_south``) and ``unit_class`` (task_selective / mixed / dead).
    """
    columns = [c for c in weights.columns if c.startswith("w_")][:2]
    scales = sorted(weights["scale"].unique())
    fig, panels = panel_grid(len(scales), "Context→hidden weights per unit, one network per init scale")
    styles = {"task_selective": ("tab:purple", "task-selective"), "mixed": ("tab:grey", "mixed"),
              "dead": ("black", "dead")}
    for ax, scale in zip(panels, scales):
        part = weights[weights.scale == scale]
        part = part[part.seed == part.seed.min()]
        for kind, (colour, label) in styles.items():
            sub = part[part.unit_class == kind]
            ax.scatter(sub[columns[0]], sub[columns[1]], s=12, color=colour, alpha=0.8, label=label)
        selective = part[part.unit_class == "task_selective"]
        r_all = np.corrcoef(part[columns[0]], part[columns[1]])[0, 1]
        r_sel = np.corrcoef(selective[columns[0]], selective[columns[1]])[0, 1] if len(selective) >= 3 else np.nan
        ax.set_title(f"σ = {scale:g}, seed {part.seed.min()} (r all {r_all:.2f}, task-sel. {r_sel:.2f})",
                     fontsize="small")
        ax.set_xlabel(f"{columns[0].removeprefix('w_')} context weight (a.u.)")
        ax.set_ylabel(f"{columns[1].removeprefix('w_')} context weight (a.u.)")
    panels[0].legend(fontsize="small", title="unit class")
    return fig


def gating_overlap(overlap: pd.DataFrame) -> Figure:
    """Jaccard overlap of the hidden units active in the two contexts against init scale (log axis),
    at initialisation and after training (mean ± SEM over seeds; points: networks), one panel per
    activity rule (a unit is active in a context when > 0 on any / on most of its trees).

    ``overlap``: ``scale``, ``seed``, ``when`` (init / final), ``rule``, ``active_jaccard``.
    """
    rules = [r for r in ("any", "most") if r in set(overlap["rule"])]
    fig, axes = new_figure(1, len(rules), "Overlap (Jaccard) of the units active in each context by init scale",
                        sharey=True)
    scales = sorted(overlap["scale"].unique())
    for ax, rule in zip(axes[0], rules):
        for when, colour, label in (("init", "tab:grey", "at initialisation"), ("final", "tab:blue", "after training")):
            part = overlap[(overlap.rule == rule) & (overlap.when == when)]
            ax.scatter(part["scale"], part["active_jaccard"], s=8, color=colour, alpha=0.3)
            stats = mean_sem(part, "scale", "active_jaccard").set_index("scale").loc[scales]
            ax.errorbar(scales, stats["mean"], yerr=stats["sem"], color=colour, marker="o", capsize=3, label=label)
        scale_axis(ax, scales)
        ax.set_title(f"unit active on {rule} trees of a context", fontsize="small")
        ax.set_ylabel("|A_north ∩ A_south| / |A_north ∪ A_south|")
        ax.set_ylim(0, 1.02)
    axes[0, 0].legend(fontsize="small")
    return fig


def gating_dynamics(dynamics: pd.DataFrame) -> Figure:
    """Over training, mean over seeds per init scale: the Pearson r across units of the north and
    south context weights over all units and over the units active in exactly one context, and the
    Jaccard overlap of the two contexts' active sets.

    ``dynamics``: ``scale``, ``seed``, ``step``, ``ctx_corr_all``, ``ctx_corr_selective``, ``active_jaccard``.
    """
    panels = {"ctx_corr_all": "context-weight r, all units",
              "ctx_corr_selective": "context-weight r, task-selective units",
              "active_jaccard": "Jaccard overlap of active units"}
    fig, axes = new_figure(1, len(panels), "Context weights and active-unit overlap over training by init scale")
    scales = sorted(dynamics["scale"].unique())
    colours = scale_colours(scales)
    for ax, (column, label) in zip(axes[0], panels.items()):
        for scale in scales:
            mean = dynamics[dynamics.scale == scale].groupby("step")[column].mean()
            ax.plot(mean.index, mean.to_numpy(), color=colours[scale], label=f"σ = {scale:g}")
        ax.set_xlabel("training step (full-batch updates)")
        ax.set_ylabel(label)
        ax.set_title(label.capitalize(), fontsize="small")
    axes[0, 0].legend(fontsize="small")
    return fig


def ablation_accuracy(table: pd.DataFrame) -> Figure:
    """Accuracy after ablating each class of hidden units, by scale (masks from each network).

    ``table``: ``scale``, ``seed``, ``ablated`` (e.g. none, task_selective, mixed), ``accuracy``.
    """
    fig, axes = new_figure(1, 1, "Accuracy after ablating unit classes")
    wide = table.pivot_table(index=["scale", "seed"], columns="ablated", values="accuracy").reset_index()
    labels = {c: f"ablate {c}".replace("_", "-") for c in table["ablated"].unique()}
    scale_lines(axes[0, 0], wide, labels)
    axes[0, 0].set_ylabel("accuracy (fraction correct)")
    axes[0, 0].set_ylim(0, 1.02)
    return fig


def noise_curves(table: pd.DataFrame) -> Figure:
    """Accuracy under Gaussian input noise, one line per init scale (mean ± SEM over seeds), one
    panel per set of noised units (``noised``: stimulus units only, or all inputs) when present.

    ``table``: ``scale``, ``seed``, ``noise_sd`` (input units), ``accuracy`` [, ``noised``].
    """
    table = table if "noised" in table else table.assign(noised="stimulus")
    kinds = list(dict.fromkeys(table["noised"]))
    fig, axes = new_figure(1, len(kinds), "Accuracy under Gaussian input noise by init scale", sharey=True)
    scales = sorted(table["scale"].unique())
    colours = scale_colours(scales)
    for ax, kind in zip(axes[0], kinds):
        part = table[table.noised == kind]
        for scale in scales:
            stats = mean_sem(part[part.scale == scale], "noise_sd", "accuracy")
            ax.errorbar(stats["noise_sd"], stats["mean"], yerr=stats["sem"], marker="o", capsize=2,
                        color=colours[scale], label=f"σ = {scale:g}")
        ax.set_title("noise on stimulus units only" if kind == "stimulus" else "noise on all input units")
        ax.set_xlabel("input noise SD (input units)")
        ax.set_ylabel("accuracy (fraction correct)")
    axes[0, 0].legend(fontsize="small", title="init scale")
    return fig


def mds_grids(coords: pd.DataFrame, title: str = "MDS of hidden-layer RDMs", dims: tuple[int, int] = (1, 2)) -> Figure:
    """Each context's 5×5 grid in two MDS dimensions (``dims``, e.g. (1, 2) or (2, 3)), drawn as
    connected lines, one panel per ``panel``.

    ``coords``: ``panel`` (label, e.g. "σ = 0.01"), ``context``, ``branchiness``, ``leafiness``,
    ``dim1``, ``dim2`` [, ``dim3``]. Brown lines join trees along branchiness (leafiness fixed),
    green lines along leafiness; markers take the garden colour; the second context is dashed.
    """
    x, y = (f"dim{d}" for d in dims)
    coords = coords.assign(dim1=coords[x], dim2=coords[y])
    panels = list(dict.fromkeys(coords["panel"]))
    fig, axes = panel_grid(len(panels), f"{title} (dimensions {dims[0]} and {dims[1]})")
    for ax, panel in zip(axes, panels):
        part = coords[coords.panel == panel]
        for i, context in enumerate(dict.fromkeys(part["context"])):
            _grid_lines(ax, part[part.context == context], context_colour(context, i), "-" if i == 0 else "--")
        ax.set_title(str(panel))
        ax.set_xlabel(f"MDS dimension {dims[0]} (a.u.)")
        ax.set_ylabel(f"MDS dimension {dims[1]} (a.u.)")
        ax.set_aspect("equal", adjustable="datalim")
    handles = [axes[0].plot([], [], color=c, label=f)[0] for f, c in FEATURE_COLOURS.items()]
    handles += [axes[0].plot([], [], "o", color=context_colour(c, i), label=f"{c} trees")[0]
                for i, c in enumerate(dict.fromkeys(coords["context"]))]
    fig.legend(handles=handles, loc="outside right upper", fontsize="small", title="lines along / trees")
    return fig


def _grid_lines(ax: Axes, part: pd.DataFrame, colour: str, style: str) -> None:
    for feature, other in (("branchiness", "leafiness"), ("leafiness", "branchiness")):
        for _, line in part.sort_values(feature).groupby(other):
            ax.plot(line["dim1"], line["dim2"], style, color=FEATURE_COLOURS[feature], linewidth=1.2)
    ax.scatter(part["dim1"], part["dim2"], s=12 + 6 * part["leafiness"], color=colour,
               edgecolor="black", linewidth=0.4, zorder=3)
