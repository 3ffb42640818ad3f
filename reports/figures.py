"""Every figure of the report: functions that take tidy tables or arrays and return a Figure.

Why here: one room for plotting, so the numbers are computed elsewhere (networks, fits, RSA) and
each figure only draws. Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas (no
pyplot state, no display), and each is readable alone: a title, axis labels with units, legends.

Conventions: init ``scale`` is the SD of the input-to-hidden weights (small = rich, large = lazy),
drawn on a log axis from rich (left) to lazy (right) (bar charts: as evenly spaced categories);
contexts are drawn in their
garden colours; lines along branchiness are brown and along leafiness green.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from garden.core.task import CONTEXTS
from garden.stimuli.gardens import CONTEXT_COLOURS

FEATURE_COLOURS = {"branchiness": "#8c564b", "leafiness": "#2ca02c"}
SCALE_LABEL = "init scale σ (input→hidden SD; rich → lazy)"
PANEL_W, PANEL_H = 4.0, 3.3  # inches per panel
MAX_COLUMNS = 4  # panels per row of the figures with one panel per scale, group, model, ...


def context_colour(context: str, index: int = 0) -> str:
    """Hex colour of a garden: its own colour for north/south, else the colour of its role."""
    rgb = CONTEXT_COLOURS.get(context, CONTEXT_COLOURS[CONTEXTS[index % 2]])
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _figure(n_rows: int, n_cols: int, title: str, **kw) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(PANEL_W * n_cols + 1.0, PANEL_H * n_rows + 0.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False, **kw))
    fig.suptitle(title)
    return fig, axes


def _panel_grid(n: int, title: str, **kw) -> tuple[Figure, list[Axes]]:
    """``n`` panels in rows of at most ``MAX_COLUMNS`` (unused grid cells removed), flat list."""
    n_cols = min(n, MAX_COLUMNS)
    fig, axes = _figure(-(-n // n_cols), n_cols, title, **kw)
    panels = list(axes.ravel())
    for ax in panels[n:]:
        fig.delaxes(ax)
    return fig, panels[:n]


def _scale_axis(ax: Axes, scales: Sequence[float]) -> None:
    """Init scales on a log axis (data plotted at the scales themselves), ticks at the scales."""
    ax.set_xscale("log")
    ax.set_xticks(list(scales), [f"{s:g}" for s in scales])
    ax.minorticks_off()
    ax.set_xlabel(SCALE_LABEL)


def _scale_categories(ax: Axes, scales: Sequence[float]) -> None:
    """Init scales as evenly spaced categories (bar charts: data plotted at 0, 1, 2, ...)."""
    ax.set_xticks(range(len(scales)), [f"{s:g}" for s in scales])
    ax.set_xlabel(SCALE_LABEL)


def _scale_colours(scales: Sequence[float]) -> dict[float, tuple]:
    cmap = colormaps["viridis"]
    n = max(len(scales) - 1, 1)
    return {s: cmap(i / n) for i, s in enumerate(scales)}


def _mean_sem(table: pd.DataFrame, by: str | list[str], value: str) -> pd.DataFrame:
    stats = table.groupby(by)[value].agg(["mean", "std", "count"]).reset_index()
    stats["sem"] = (stats["std"] / np.sqrt(stats["count"])).fillna(0.0)
    return stats


def _scale_lines(ax: Axes, table: pd.DataFrame, columns: Mapping[str, str]) -> None:
    """Mean ± SEM over seeds of each column, one line per column, scales as categories."""
    scales = sorted(table["scale"].unique())
    x = np.asarray(scales, float)
    for column, label in columns.items():
        stats = _mean_sem(table, "scale", column).set_index("scale").loc[scales]
        ax.errorbar(x, stats["mean"], yerr=stats["sem"], marker="o", capsize=3, label=label)
    _scale_axis(ax, scales)
    ax.legend(fontsize="small")


# ---------------------------------------------------------------- networks

def congruency_curves(curves: pd.DataFrame) -> Figure:
    """Accuracy on congruent and on incongruent trees against training step, one panel per init
    scale (mean over seeds); the two contexts' rules agree on congruent trees and conflict on
    incongruent ones.

    ``curves``: ``scale``, ``seed``, ``step``, ``accuracy_congruent``, ``accuracy_incongruent``.
    """
    scales = sorted(curves["scale"].unique())
    fig, axes = _panel_grid(len(scales), "Accuracy on congruent and incongruent trees over training", sharey=True)
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
    """Loss and accuracy against training step, mean ± SD over seeds, one line per init scale.

    ``curves``: columns ``scale``, ``seed``, ``step``, ``loss`` (½Σ squared error over the 50 items)
    and ``accuracy`` (fraction of non-zero targets with the right sign).
    """
    fig, axes = _figure(1, 2, "Learning curves by init scale")
    scales = sorted(curves["scale"].unique())
    colours = _scale_colours(scales)
    labels = ("loss (½Σ squared error)", "accuracy (fraction correct)")
    for ax, measure, label in zip(axes[0], ("loss", "accuracy"), labels):
        for scale in scales:
            stats = curves[curves.scale == scale].groupby("step")[measure].agg(["mean", "std"]).fillna(0.0)
            ax.plot(stats.index, stats["mean"], color=colours[scale], label=f"σ = {scale:g}")
            ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"],
                            color=colours[scale], alpha=0.2, linewidth=0)
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
    fig, axes = _figure(2, len(matrices), "Relative weight change over training by init scale", sharex=True)
    scales = sorted(table["scale"].unique())
    colours = _scale_colours(scales)
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
    ``rotation_deg``, ``context_offset``.
    """
    panels = {"log_irrelevant_gain": "log(irrelevant / relevant gain)", "north_relevant": "relevant gain (north)",
              "south_relevant": "relevant gain (south)", "rotation_deg": "rotation (degrees)",
              "context_offset": "context offset (data units)"}
    fig, axes = _panel_grid(len(panels), "Compression-model parameters of hidden-layer RDMs by init scale")
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
    fig, axes = _figure(1, 1, "Hidden-layer geometry: model-RDM β by init scale")
    betas = {c: c.removeprefix("beta_") for c in summary.columns if c.startswith("beta_")}
    _scale_lines(axes[0, 0], summary, betas)
    axes[0, 0].axhline(0, color="grey", linewidth=0.8)
    axes[0, 0].set_ylabel("β (z-scored RDM regression, a.u.)")
    return fig


def dimensionality(summary: pd.DataFrame, spectrum: pd.DataFrame | None = None) -> Figure:
    """Components needed for 90 % of hidden variance by scale, and the cumulative spectra.

    ``summary``: ``scale``, ``seed``, ``dim_90``. ``spectrum`` (optional): ``scale``, ``seed``,
    ``component`` (1-based) and ``explained_variance_ratio``.
    """
    n_cols = 1 if spectrum is None else 2
    fig, axes = _figure(1, n_cols, "Dimensionality of the hidden layer by init scale")
    _scale_lines(axes[0, 0], summary, {"dim_90": "components for 90 % variance"})
    axes[0, 0].set_ylabel("number of principal components")
    if spectrum is not None:
        ax = axes[0, 1]
        scales = sorted(spectrum["scale"].unique())
        colours = _scale_colours(scales)
        for scale in scales:
            part = spectrum[spectrum.scale == scale].sort_values(["seed", "component"]).copy()
            part["cumulative"] = part.groupby("seed")["explained_variance_ratio"].cumsum()
            mean = part.groupby("component")["cumulative"].mean()
            ax.plot(mean.index, mean.values, marker=".", color=colours[scale], label=f"σ = {scale:g}")
        ax.axhline(0.9, color="grey", linestyle="--", linewidth=0.8, label="90 %")
        ax.set_xlabel("principal component (rank)")
        ax.set_ylabel("cumulative variance explained (fraction)")
        ax.set_title("Cumulative spectrum")
        ax.legend(fontsize="small")
    return fig


def unit_classes(summary: pd.DataFrame) -> Figure:
    """Mean number of task-selective, mixed and dead hidden units per scale (stacked bars).

    ``summary``: ``scale``, ``n_task_selective``, ``n_mixed``, ``n_dead``.
    """
    fig, axes = _figure(1, 1, "Hidden units by class (active in one / both / neither context)")
    ax = axes[0, 0]
    means = summary.groupby("scale")[["n_task_selective", "n_mixed", "n_dead"]].mean()
    bottom = np.zeros(len(means))
    for column, colour in zip(means.columns, ("#1f77b4", "#9467bd", "#7f7f7f")):
        ax.bar(range(len(means)), means[column], bottom=bottom, color=colour,
               label=column.removeprefix("n_").replace("_", "-"))
        bottom += means[column].to_numpy()
    _scale_categories(ax, list(means.index))
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
    fig, panels = _panel_grid(len(scales), "Context→hidden weights per unit, one network per init scale")
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
    fig, axes = _figure(1, len(rules), "Overlap (Jaccard) of the units active in each context by init scale",
                        sharey=True)
    scales = sorted(overlap["scale"].unique())
    for ax, rule in zip(axes[0], rules):
        for when, colour, label in (("init", "tab:grey", "at initialisation"), ("final", "tab:blue", "after training")):
            part = overlap[(overlap.rule == rule) & (overlap.when == when)]
            ax.scatter(part["scale"], part["active_jaccard"], s=8, color=colour, alpha=0.3)
            stats = _mean_sem(part, "scale", "active_jaccard").set_index("scale").loc[scales]
            ax.errorbar(scales, stats["mean"], yerr=stats["sem"], color=colour, marker="o", capsize=3, label=label)
        _scale_axis(ax, scales)
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
    panels = {"ctx_corr_all": "context-weight r, all units", "ctx_corr_selective": "context-weight r, task-selective units",
              "active_jaccard": "Jaccard overlap of active units"}
    fig, axes = _figure(1, len(panels), "Context weights and active-unit overlap over training by init scale")
    scales = sorted(dynamics["scale"].unique())
    colours = _scale_colours(scales)
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
    fig, axes = _figure(1, 1, "Accuracy after ablating unit classes")
    wide = table.pivot_table(index=["scale", "seed"], columns="ablated", values="accuracy").reset_index()
    labels = {c: f"ablate {c}".replace("_", "-") for c in table["ablated"].unique()}
    _scale_lines(axes[0, 0], wide, labels)
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
    fig, axes = _figure(1, len(kinds), "Accuracy under Gaussian input noise by init scale", sharey=True)
    scales = sorted(table["scale"].unique())
    colours = _scale_colours(scales)
    for ax, kind in zip(axes[0], kinds):
        part = table[table.noised == kind]
        for scale in scales:
            stats = _mean_sem(part[part.scale == scale], "noise_sd", "accuracy")
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
    fig, axes = _panel_grid(len(panels), f"{title} (dimensions {dims[0]} and {dims[1]})")
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


# ---------------------------------------------------------------- behaviour

def choice_matrices(cells: pd.DataFrame, title: str = "Choice matrices: p(accept) per tree and garden") -> Figure:
    """5×5 heatmaps of p(accept), one per context (columns) and ``group`` (rows, optional).

    ``cells``: ``context``, ``branchiness``, ``leafiness``, ``p_accept`` (fraction of accepted trials;
    averaged over participants when several are given), optional ``group``.
    """
    cells = cells.assign(group=cells["group"] if "group" in cells else "all")
    groups, contexts = list(dict.fromkeys(cells["group"])), list(dict.fromkeys(cells["context"]))
    fig, axes = _figure(len(groups), len(contexts), title)
    image = None
    for r, group in enumerate(groups):
        for c, context in enumerate(contexts):
            ax = axes[r, c]
            image = ax.imshow(_choice_grid(cells[(cells.group == group) & (cells.context == context)]),
                              vmin=0, vmax=1, cmap="RdBu_r", origin="lower", extent=(0.5, 5.5, 0.5, 5.5))
            ax.set_title(f"{group}: {context} garden" if len(groups) > 1 else f"{context} garden",
                         color=context_colour(context, c))
            ax.set_xlabel("leafiness (level 1–5)")
            ax.set_ylabel("branchiness (level 1–5)")
    fig.colorbar(image, ax=axes, label="p(accept)", shrink=0.8)
    return fig


def _choice_grid(part: pd.DataFrame) -> np.ndarray:
    """5×5 p(accept) (rows branchiness 1–5, columns leafiness 1–5; mean over the rows given, NaN
    where none) of one garden's cells."""
    return part.pivot_table(index="branchiness", columns="leafiness", values="p_accept").reindex(
        index=range(1, 6), columns=range(1, 6)).to_numpy(float)


GAP_CMAP = colormaps["RdBu_r"].with_extremes(bad="#bbbbbb")  # grey: the gap between gardens, or no trials
SMALL_W, SMALL_H = 1.9, 1.35  # inches per small-multiple panel (one participant)
SMALL_COLUMNS = 8  # at least; more for many participants (about twice as many columns as rows)


def _small_multiples(n: int, title: str) -> tuple[Figure, list[Axes]]:
    """``n`` small panels (one per participant): ``SMALL_COLUMNS`` per row, or √(2n) when more (60
    participants: 11 columns x 6 rows)."""
    n_cols = max(1, min(n, max(SMALL_COLUMNS, int(np.ceil(np.sqrt(2 * n))))))
    n_rows = max(1, -(-n // n_cols))
    fig = Figure(figsize=(SMALL_W * n_cols + 1.2, SMALL_H * n_rows + 0.8), layout="constrained")
    axes = list(np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False)).ravel())
    for ax in axes[n:]:
        fig.delaxes(ax)
    fig.suptitle(title)
    return fig, axes[:n]


def _participant_order(table: pd.DataFrame) -> list[tuple[str, str]]:
    """(participant_id, group) pairs sorted by group, then participant."""
    table = table.assign(group=table["group"].astype(str) if "group" in table else "all")
    pairs = table[["participant_id", "group"]].drop_duplicates().astype(str)
    return list(pairs.sort_values(["group", "participant_id"]).itertuples(index=False, name=None))


def participant_choice_matrices(cells: pd.DataFrame) -> Figure:
    """One small panel per participant (sorted by group): p(accept) of the two gardens' 5×5
    matrices side by side (left: first garden, right: second; rows branchiness 1–5 bottom to top,
    columns leafiness 1–5; grey: the gap between them, or a tree without trials), so 20–60
    participants stay readable on one page.

    ``cells``: ``participant_id``, ``context``, ``branchiness``, ``leafiness``, ``p_accept``,
    optional ``group``.
    """
    people = _participant_order(cells)
    contexts = list(dict.fromkeys(cells["context"]))[:2]
    fig, axes = _small_multiples(len(people), "Choice matrices per participant: p(accept) per tree, two gardens")
    image = None
    for ax, (pid, group) in zip(axes, people):
        part = cells[cells["participant_id"].astype(str) == pid]
        grids = [_choice_grid(part[part.context == c]) for c in contexts]
        both = np.hstack([grids[0], np.full((5, 1), np.nan), *grids[1:]])
        image = ax.imshow(both, vmin=0, vmax=1, cmap=GAP_CMAP, origin="lower")
        ax.set_xticks([2, 8][:len(contexts)], contexts, fontsize="x-small")
        ax.set_yticks([])
        ax.set_xlabel("leafiness 1–5 per garden", fontsize="xx-small")
        ax.set_ylabel("branchiness 1–5", fontsize="xx-small")
        ax.set_title(f"{pid} ({group})", fontsize="small")
    if image is not None:
        fig.colorbar(image, ax=axes, label="p(accept)", shrink=0.6)
    return fig


def _curve(ax: Axes, sub: pd.DataFrame, colour: str, label: str, model: str | None = None,
           marker: str = "o", line: str = "-") -> None:
    """Observed p(accept) (markers) against level and, with ``model``, the fitted ``p_model`` (line)."""
    sub = sub.sort_values("level")
    ax.plot(sub["level"], sub["p_accept"], marker, color=colour, label=f"{label} observed")
    if model is not None and "p_model" in sub:
        ax.plot(sub["level"], sub["p_model"], line, color=colour, label=f"{label} {model}")


def participant_psychometric(curves: pd.DataFrame, model: str = "factorized") -> Figure:
    """One small panel per participant (sorted by group): p(accept) against the tree's value in
    rule steps along the relevant feature (dark, filled) and the irrelevant feature (light, open),
    both gardens pooled (mean over contexts), with the fitted ``model`` (lines).

    ``curves``: a ``psychometric_table`` (``participant_id``, ``feature``, ``context``, ``level``,
    ``p_accept``, optional ``p_model`` and ``group``).
    """
    people = _participant_order(curves)
    values = ["p_accept"] + (["p_model"] if "p_model" in curves else [])
    pooled = curves.assign(participant_id=curves["participant_id"].astype(str)).groupby(
        ["participant_id", "feature", "level"], sort=False)[values].mean().reset_index()
    fig, axes = _small_multiples(len(people), f"Psychometric curves per participant (lines: fitted {model} model)")
    styles = {"relevant": ("#222222", "o", "-"), "irrelevant": ("#aaaaaa", "s", "--")}
    for ax, (pid, group) in zip(axes, people):
        for feature, (colour, marker, line) in styles.items():
            _curve(ax, pooled[(pooled.participant_id == pid) & (pooled.feature == feature)], colour, feature,
                   model if "p_model" in pooled else None, marker, line)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"{pid} ({group})", fontsize="small")
        ax.tick_params(labelsize="x-small")
        ax.set_xlabel("value (rule steps)", fontsize="xx-small")
        ax.set_ylabel("p(accept)", fontsize="xx-small")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize="small")
    return fig


def psychometric_band(observed: pd.DataFrame, band: pd.DataFrame,
                      title: str = "Psychometric curves: observed, each model's fit and 95 % predictive band") -> Figure:
    """Observed p(accept) (dots) along the relevant and irrelevant feature, with each model's fit
    (line) and its 95 % posterior predictive band (shaded): one row per model, one column per
    feature (and per ``group`` when both tables have one).

    ``observed``: ``feature``, ``context``, ``level`` (rule steps), ``p_accept`` [, ``group``];
    ``band``: ``model``, the same keys, ``p_model``, ``band_lo``, ``band_hi``.
    """
    by_group = "group" in observed and "group" in band
    observed = observed.assign(group=observed["group"].astype(str) if by_group else "")
    band = band.assign(group=band["group"].astype(str) if by_group else "")
    models = list(dict.fromkeys(band["model"])) if len(band) else ["none"]
    columns = [(g, f) for g in dict.fromkeys(observed["group"]) for f in ("relevant", "irrelevant")]
    fig, axes = _figure(len(models), len(columns), title, sharey=True)
    for r, model in enumerate(models):
        for ax, (group, feature) in zip(axes[r], columns):
            obs = observed[(observed.group == group) & (observed.feature == feature)]
            for i, context in enumerate(dict.fromkeys(obs["context"])):
                colour = context_colour(context, i)
                _curve(ax, obs[obs.context == context], colour, str(context))
                fit = band[(band.model == model) & (band.group == group) & (band.feature == feature)
                           & (band.context == context)].sort_values("level") if len(band) else band
                if len(fit):
                    ax.plot(fit["level"], fit["p_model"], "-", color=colour, label=f"{context} {model}")
                    ax.fill_between(fit["level"], fit["band_lo"], fit["band_hi"], color=colour, alpha=0.2)
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel(f"{feature} feature (value in rule steps of 25 points)")
            ax.set_ylabel("p(accept)")
            ax.set_title(f"{model}: {group + ', ' if group else ''}{feature} feature")
        axes[r, 0].legend(fontsize="x-small")
    return fig


def ppc_statistics(summary: pd.DataFrame) -> Figure:
    """Posterior predictive check statistics: per statistic (panel) and model (rows of points),
    the observed value (black diamond) and the replicates' mean and 95 % range (bar), per group.

    ``summary``: ``group``, ``model``, ``statistic``, ``observed``, ``replicate_mean``,
    ``replicate_lo``, ``replicate_hi``.
    """
    labels = {"deviance": "choice-matrix deviance (binomial, summed)",
              "congruency_effect": "accuracy congruent − incongruent (fraction)"}
    statistics = list(dict.fromkeys(summary["statistic"]))
    fig, axes = _panel_grid(len(statistics), "Posterior predictive checks: observed vs replicated statistics")
    rows = summary[["group", "model"]].drop_duplicates().astype(str)
    names = [f"{m} ({g})" for g, m in rows.itertuples(index=False, name=None)]
    for ax, statistic in zip(axes, statistics):
        part = summary[summary.statistic == statistic].astype({"group": str, "model": str})
        part = rows.merge(part, on=["group", "model"], how="left")
        y = np.arange(len(part))
        ax.errorbar(part["replicate_mean"], y, xerr=[part["replicate_mean"] - part["replicate_lo"],
                                                     part["replicate_hi"] - part["replicate_mean"]],
                    fmt="o", color="tab:blue", capsize=3, label="replicates: mean, 95 % range")
        ax.plot(part["observed"], y, "D", color="black", label="observed")
        ax.set_yticks(y, names, fontsize="small")
        ax.invert_yaxis()
        ax.set_xlabel(labels.get(statistic, statistic))
        ax.set_ylabel("model (group)")
        ax.set_title(statistic.replace("_", " "))
    axes[0].legend(fontsize="small")
    return fig


def _paired_dots(ax: Axes, wide: pd.DataFrame, columns: Sequence[str]) -> None:
    """Each row's values at x = 0, 1, ... joined by a grey line, with the mean ± SEM in black."""
    x = np.arange(len(columns))
    for _, row in wide.iterrows():
        ax.plot(x, row[list(columns)].to_numpy(float), color="grey", alpha=0.4, marker=".")
    means, sems = wide[list(columns)].mean(), wide[list(columns)].sem()
    ax.errorbar(x, means, yerr=sems.fillna(0.0), color="black", linewidth=2, marker="o", capsize=4,
                label=f"mean ± SEM (n = {len(wide)})")
    ax.set_xticks(x, list(columns))
    ax.set_xlim(-0.4, len(columns) - 0.6)


def behavioural_rsa_taus(taus: pd.DataFrame) -> Figure:
    """The 2018 behavioural RSA: each participant's Kendall τ_a of their choice RDM with the
    sequentially orthogonalised factorized and linear model RDMs (joined per participant), one
    panel per group.

    ``taus``: ``participant_id``, ``tau_<model>`` columns, optional ``group``.
    """
    taus = taus.assign(group=taus["group"].astype(str) if "group" in taus else "all")
    columns = [c for c in taus.columns if c.startswith("tau_")]
    groups = list(dict.fromkeys(taus["group"]))
    fig, axes = _panel_grid(len(groups), "Behavioural RSA (2018): τ_a with orthogonalised model RDMs", sharey=True)
    for ax, group in zip(axes, groups):
        part = taus[taus.group == group].rename(columns={c: c.removeprefix("tau_") for c in columns})
        _paired_dots(ax, part, [c.removeprefix("tau_") for c in columns])
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xlabel("model RDM (each orthogonalised on those left of it)")
        ax.set_ylabel("Kendall τ_a")
        ax.set_title(str(group))
        ax.legend(fontsize="small")
    return fig


def phase_change(values: pd.DataFrame) -> Figure:
    """Each participant's value of every measure in two phases (e.g. baseline and scan), joined
    per participant, one panel per measure (``parameter``).

    ``values``: ``participant_id``, ``phase``, ``parameter``, ``value``.
    """
    units = {"|bias|": " (degrees)", "slope": " (per feature level)", "offset": " (feature levels)", "lapse": " (probability)"}
    params = list(dict.fromkeys(values["parameter"]))
    phases = list(dict.fromkeys(values["phase"]))
    fig, axes = _panel_grid(len(params), f"Per-participant change between phases: {' vs '.join(phases)}")
    for ax, param in zip(axes, params):
        wide = values[values.parameter == param].pivot_table(index="participant_id", columns="phase",
                                                             values="value").dropna()
        _paired_dots(ax, wide, [p for p in phases if p in wide])
        ax.set_xlabel("phase")
        ax.set_ylabel(f"{param}{units.get(param, ' (a.u.)')}")
        ax.set_title(param)
        ax.legend(fontsize="x-small")
    return fig


def sigmoid_slopes(slopes: pd.DataFrame) -> Figure:
    """Slopes of the one-parameter sigmoids along the relevant and the irrelevant feature, per
    participant (joined), one panel per group.

    ``slopes``: ``participant_id``, ``model`` (``sigmoid_relevant`` / ``sigmoid_irrelevant``),
    ``slope`` (per feature level), optional ``group``.
    """
    slopes = slopes.assign(group=slopes["group"].astype(str) if "group" in slopes else "all",
                           feature=slopes["model"].str.removeprefix("sigmoid_"))
    groups = list(dict.fromkeys(slopes["group"]))
    fig, axes = _panel_grid(len(groups), "Sigmoid slopes along the relevant and the irrelevant feature", sharey=True)
    for ax, group in zip(axes, groups):
        wide = slopes[slopes.group == group].pivot_table(index="participant_id", columns="feature", values="slope")
        _paired_dots(ax, wide, [f for f in ("relevant", "irrelevant") if f in wide])
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xlabel("feature")
        ax.set_ylabel("slope (per feature level)")
        ax.set_title(str(group))
        ax.legend(fontsize="small")
    return fig


def trial_types(table: pd.DataFrame) -> Figure:
    """Accuracy and median response time per trial type (congruent, incongruent, stay, switch),
    group means ± SEM over participants, one bar per group.

    ``table``: ``group``, ``trial_type``, ``measure`` (``accuracy`` / ``median_rt_s``), ``mean``, ``sem``.
    """
    labels = {"accuracy": "accuracy (fraction correct)", "median_rt_s": "median response time (s)"}
    measures = [m for m in labels if m in set(table["measure"])]
    types = [t for t in ("congruent", "incongruent", "stay", "switch") if t in set(table["trial_type"])]
    groups = list(dict.fromkeys(table["group"].astype(str)))
    fig, axes = _figure(1, len(measures), "Accuracy and response time by trial type")
    width = 0.8 / len(groups)
    for ax, measure in zip(axes[0], measures):
        for g, group in enumerate(groups):
            part = table[(table.measure == measure) & (table.group.astype(str) == group)].set_index("trial_type")
            part = part.reindex(types)
            ax.bar(np.arange(len(types)) + (g - (len(groups) - 1) / 2) * width, part["mean"], width,
                   yerr=part["sem"].fillna(0.0), capsize=3, label=group)
        ax.set_xticks(range(len(types)), types)
        ax.set_xlabel("trial type")
        ax.set_ylabel(labels[measure])
        ax.set_title(labels[measure].split(" (")[0].capitalize())
    axes[0, 0].legend(fontsize="small", title="group")
    return fig


def psychometric_curves(curves: pd.DataFrame, model: str = "model") -> Figure:
    """p(accept) along the relevant and the irrelevant feature, observed (dots) and fitted (lines).

    ``curves``: ``feature`` ("relevant"/"irrelevant"), ``context``, ``level`` (feature value in rule
    steps, −2..2: the tree's value in this garden, or in the other garden, divided by 25 points),
    ``p_accept`` (observed fraction accepted), optional ``p_model`` (fitted model's mean p) and ``group``.
    """
    curves = curves.assign(group=curves["group"] if "group" in curves else "all")
    groups = list(dict.fromkeys(curves["group"]))
    title = f"Psychometric curves with the fitted {model} model" if "p_model" in curves else "Psychometric curves"
    fig, axes = _figure(len(groups), 2, title, sharey=True)
    for r, group in enumerate(groups):
        for ax, feature in zip(axes[r], ("relevant", "irrelevant")):
            part = curves[(curves.group == group) & (curves.feature == feature)]
            for i, context in enumerate(dict.fromkeys(part["context"])):
                _curve(ax, part[part.context == context], context_colour(context, i), str(context), model)
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel(f"{feature} feature (value in rule steps of 25 points)")
            ax.set_ylabel("p(accept)")
            ax.set_title(f"{group}: {feature} feature" if len(groups) > 1 else f"{feature.capitalize()} feature")
    axes[0, 0].legend(fontsize="small")
    return fig


def boundary_angles(boundaries: pd.DataFrame) -> Figure:
    """Fitted decision boundaries drawn in feature space, one panel per ``model``.

    ``boundaries``: ``model``, ``participant_id``, ``context``, ``angle_deg`` (boundary direction in
    the (branchiness, leafiness) plane, degrees; the normal is angle − 90°), optional ``offset``
    (feature units along the normal). Thin lines: participants; thick: circular mean angle
    (and mean offset) per context.
    """
    models = list(dict.fromkeys(boundaries["model"]))
    fig, axes = _panel_grid(len(models), "Decision boundaries in feature space")
    for ax, model in zip(axes, models):
        part = boundaries[boundaries.model == model]
        for i, context in enumerate(dict.fromkeys(part["context"])):
            sub, colour = part[part.context == context], context_colour(context, i)
            offsets = sub["offset"] if "offset" in sub else np.zeros(len(sub))
            for angle, offset in zip(sub["angle_deg"], offsets):
                _boundary(ax, angle, offset, colour, 0.8, 0.3)
            mean = np.degrees(np.angle(np.mean(np.exp(1j * np.radians(sub["angle_deg"]))))) % 360  # circular mean
            _boundary(ax, mean, float(np.mean(offsets)), colour, 3.0, 1.0, label=f"{context} (mean {mean:.0f}°)")
        ax.set_xlim(0.5, 5.5)
        ax.set_ylim(0.5, 5.5)
        ax.set_aspect("equal")
        ax.set_xlabel("branchiness (level 1–5)")
        ax.set_ylabel("leafiness (level 1–5)")
        ax.set_title(f"{model}")
        ax.legend(fontsize="small")
    return fig


def _boundary(ax: Axes, angle_deg: float, offset: float, colour: str, width: float, alpha: float,
              label: str | None = None) -> None:
    theta = np.radians(angle_deg)
    direction = np.array([np.cos(theta), np.sin(theta)])
    normal = np.array([np.cos(theta - np.pi / 2), np.sin(theta - np.pi / 2)])
    centre = np.array([3.0, 3.0]) + offset * normal
    ends = centre + np.outer([-4, 4], direction)
    ax.plot(ends[:, 0], ends[:, 1], color=colour, linewidth=width, alpha=alpha, label=label)


def bms_bars(bms: pd.DataFrame) -> Figure:
    """Random-effects BMS: expected model frequencies and protected exceedance probabilities.

    ``bms``: ``model``, ``expected_frequency``, ``protected_exceedance_probability``, optional
    ``group`` (one set of bars per group).
    """
    bms = bms.assign(group=bms["group"] if "group" in bms else "all")
    groups, models = list(dict.fromkeys(bms["group"])), list(dict.fromkeys(bms["model"]))
    fig, axes = _figure(1, 2, "Bayesian model selection across participants")
    width = 0.8 / len(groups)
    for ax, column, label in zip(axes[0], ("expected_frequency", "protected_exceedance_probability"),
                                 ("expected model frequency", "protected exceedance probability")):
        for g, group in enumerate(groups):
            part = bms[bms.group == group].set_index("model").reindex(models)
            ax.bar(np.arange(len(models)) + (g - (len(groups) - 1) / 2) * width, part[column], width, label=group)
        ax.set_xticks(range(len(models)), models)
        ax.set_ylim(0, 1)
        ax.set_xlabel("choice model")
        ax.set_ylabel(f"{label} (probability)")
        ax.set_title(label.capitalize())
    axes[0, 0].axhline(1 / len(models), color="grey", linestyle="--", linewidth=0.8, label="chance")
    axes[0, 0].legend(fontsize="small", title="group")
    return fig


def parameter_recovery(table: pd.DataFrame) -> Figure:
    """Fitted against true parameter values of simulated agents, one panel per parameter kind.

    ``table``: ``parameter`` (e.g. ``slope`` or ``delta_north``; panels pool names by their kind,
    the part before "_"), ``true``, ``fitted`` (same units; angles in degrees), optional
    ``generating_model`` (one colour each).
    """
    table = table.assign(kind=table["parameter"].str.split("_").str[0],
                         generating_model=table["generating_model"] if "generating_model" in table else "agents")
    kinds = list(dict.fromkeys(table["kind"]))
    fig, axes = _panel_grid(len(kinds), "Parameter recovery from simulated agents")
    for ax, kind in zip(axes, kinds):
        part = table[table.kind == kind]
        for model in dict.fromkeys(part["generating_model"]):
            sub = part[part.generating_model == model]
            ax.scatter(sub["true"], sub["fitted"], s=10, alpha=0.6, label=str(model))
        r = np.corrcoef(part["true"], part["fitted"])[0, 1] if len(part) > 2 and part["fitted"].std() > 0 else np.nan
        lims = [min(part["true"].min(), part["fitted"].min()), max(part["true"].max(), part["fitted"].max())]
        ax.plot(lims, lims, color="grey", linestyle="--", linewidth=0.8, label="identity")
        ax.set_title(f"{kind} (r = {r:.2f})")
        ax.set_xlabel(f"true {kind}" + (" (degrees)" if kind == "delta" else ""))
        ax.set_ylabel(f"fitted {kind}" + (" (degrees)" if kind == "delta" else ""))
    axes[0].legend(fontsize="small", title="generating model")
    return fig


def model_recovery(table: pd.DataFrame) -> Figure:
    """Model-recovery confusion matrices: rows = generating model, columns = winning model.

    ``table`` (long): ``generating_model``, ``fitted_model``, ``fraction`` (of that model's agents
    won by the fitted model; rows sum to 1), optional ``n_test_trials`` (one matrix per count).
    """
    table = table.assign(n_test_trials=table["n_test_trials"] if "n_test_trials" in table else "all")
    counts = list(dict.fromkeys(table["n_test_trials"]))
    fig, axes = _panel_grid(len(counts), "Model recovery (fraction of simulated agents)")
    image = None
    for ax, count in zip(axes, counts):
        grid = table[table.n_test_trials == count].pivot_table(index="generating_model", columns="fitted_model",
                                                               values="fraction", sort=False)
        image = ax.imshow(grid.to_numpy(float), vmin=0, vmax=1, cmap="Blues")
        for (i, j), value in np.ndenumerate(grid.to_numpy(float)):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="white" if value > 0.5 else "black")
        ax.set_xticks(range(grid.shape[1]), grid.columns, rotation=30)
        ax.set_yticks(range(grid.shape[0]), grid.index)
        ax.set_xlabel("best-fitting model (BIC)")
        ax.set_ylabel("generating model")
        ax.set_title(f"{count} test trials" if count != "all" else "")
    fig.colorbar(image, ax=axes, label="fraction of agents", shrink=0.8)
    return fig


def choice_rdm_betas(betas: pd.DataFrame) -> Figure:
    """Per-participant β of the choice RDM on the factorized and linear model RDMs (paired lines).

    ``betas``: ``participant_id``, ``beta_factorized``, ``beta_linear``, optional ``group``.
    """
    betas = betas.assign(group=betas["group"] if "group" in betas else "all")
    groups = list(dict.fromkeys(betas["group"]))
    fig, axes = _panel_grid(len(groups), "Choice-pattern RDM regression (2022): factorized vs linear",
                            sharey=True)
    for ax, group in zip(axes, groups):
        part = betas[betas.group == group]
        for _, row in part.iterrows():
            ax.plot([0, 1], [row.beta_factorized, row.beta_linear], color="grey", alpha=0.4, marker=".")
        means = part[["beta_factorized", "beta_linear"]].mean()
        ax.plot([0, 1], means, color="black", linewidth=3, marker="o", label=f"mean (n = {len(part)})")
        ax.set_xticks([0, 1], ["factorized", "linear"])
        ax.set_xlim(-0.4, 1.4)
        ax.set_xlabel("model RDM")
        ax.set_ylabel("β (z-scored regression, a.u.)")
        ax.set_title(str(group))
        ax.legend(fontsize="small")
    return fig


# ---------------------------------------------------------------- people vs networks

def similarity_by_scale(profile: pd.DataFrame, best: pd.DataFrame | None = None, *,
                        title: str = "Choice-RDM similarity of people and networks by init scale",
                        measure: str = "choice-RDM similarity (Spearman ρ)", units: str = "people") -> Figure:
    """RDM similarity between people (or brain regions) and networks across init scales, with
    bootstrap intervals; ``measure`` labels the y axis, ``units`` the legend.

    ``profile``: ``unit`` (participant group or region), ``scale``, ``similarity`` (mean over
    participants), ``ci_low``, ``ci_high``. ``best`` (optional): ``unit``, ``best_scale``,
    ``fraction`` (share of bootstrap samples where that scale matched best).
    """
    n_cols = 1 if best is None else 2
    fig, axes = _figure(1, n_cols, title)
    ax = axes[0, 0]
    scales = sorted(profile["scale"].unique())
    for unit in dict.fromkeys(profile["unit"]):
        part = profile[profile.unit == unit].sort_values("scale")
        xs = part["scale"]
        line = ax.plot(xs, part["similarity"], marker="o", label=str(unit))[0]
        ax.fill_between(xs, part["ci_low"], part["ci_high"], color=line.get_color(), alpha=0.2, linewidth=0)
    _scale_axis(ax, scales)
    ax.set_ylabel(measure)
    ax.set_title("Similarity profile (95 % bootstrap CI)")
    ax.legend(fontsize="small", title=units)
    if best is not None:
        ax = axes[0, 1]
        units = list(dict.fromkeys(best["unit"]))
        width = 0.8 / len(units)
        for u, unit in enumerate(units):
            part = best[best.unit == unit].set_index("best_scale").reindex(scales).fillna(0.0)
            x = np.arange(len(scales)) + (u - (len(units) - 1) / 2) * width
            ax.bar(x, part["fraction"], width, label=str(unit))
        _scale_categories(ax, scales)
        ax.set_ylim(0, 1)
        ax.set_ylabel("fraction of bootstrap samples")
        ax.set_title("Best-matching init scale")
        ax.legend(fontsize="small", title=units)
    return fig


def matched_parameters(table: pd.DataFrame) -> Figure:
    """Each person's psychometric parameter against the mean of their matched networks' (one panel
    per parameter): networks run through that person's trials at the person's best-matching scale.

    ``table``: ``participant_id``, ``parameter``, ``person``, ``networks``, ``best_scale``.
    """
    params = list(dict.fromkeys(table["parameter"]))
    fig, axes = _panel_grid(len(params), "People vs their matched networks: factorized-model parameters")
    scales = sorted(table["best_scale"].unique())
    colours = _scale_colours(scales)
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
    fig, axes = _panel_grid(len(phases), "Accuracy by phase: matched networks and people", sharey=True)
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


# ---------------------------------------------------------------- neural geometry

def neural_model_betas(group: pd.DataFrame) -> Figure:
    """Group-mean β of each ROI's RDM on the model RDMs, with 95 % t intervals, one panel per ROI.

    ``group``: ``roi``, ``model``, ``mean``, ``ci_low``, ``ci_high``, ``n``.
    """
    rois = list(dict.fromkeys(group["roi"].astype(str)))
    fig, axes = _panel_grid(len(rois), "ROI RDMs regressed on the model RDMs (group mean β, 95 % CI)", sharey=True)
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

    ``betas``: ``subject``, ``roi``, ``model``, ``beta``; ``accuracy``: ``subject``, ``accuracy``.
    """
    merged = betas[betas["model"] == model].merge(accuracy, on="subject")
    rois = list(dict.fromkeys(merged["roi"].astype(str)))
    fig, axes = _panel_grid(len(rois), f"{model.replace('_', ' ').capitalize()} β vs task accuracy per participant",
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
    fig, axes = _panel_grid(len(models), "Searchlight group t maps (one axial slice per model)")
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


# ---------------------------------------------------------------- arrangement task

def grid_prior_pre_post(table: pd.DataFrame) -> Figure:
    """Each participant's grid prior (Kendall τ_a of the arrangement RDM with the grid model) before
    and after training: one line per participant, the medians in black.

    ``table``: ``participant_id``, ``grid_prior_pre``, ``grid_prior_post`` (NaN where missing).
    """
    fig, axes = _figure(1, 1, "Grid prior before and after training")
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
