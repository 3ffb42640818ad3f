"""Figures of behaviour and choice models: choice matrices, psychometric curves, PPCs, behavioural
RSA, phase changes, boundaries, BMS, recovery."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from garden.reports.figures.style import context_colour, group_order, label_panel, new_figure, panel_grid
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def choice_matrices(cells: pd.DataFrame, title: str = "Choice matrices: p(accept) per tree and garden") -> Figure:
    """5×5 heatmaps of p(accept), one per context (columns) and ``group`` (rows, optional).

    ``cells``: ``context``, ``branchiness``, ``leafiness``, ``p_accept`` (fraction of accepted trials;
    averaged over participants when several are given), optional ``group``.
    """
    cells = cells.assign(group=cells["group"] if "group" in cells else "all")
    groups, contexts = group_order(cells["group"]), list(dict.fromkeys(cells["context"]))
    fig, axes = new_figure(len(groups), len(contexts), title)
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
                      title: str = "Psychometric curves: observed, each model's fit and 95 % predictive band",
                      ) -> Figure:
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
    columns = [(g, f) for g in group_order(observed["group"]) for f in ("relevant", "irrelevant")]
    fig, axes = new_figure(len(models), len(columns), title, sharey=True)
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
    labels = {"deviance": "choice-matrix deviance (binomial)",
              "congruency_effect": "congruent − incongruent accuracy"}
    statistics = list(dict.fromkeys(summary["statistic"]))
    fig, axes = panel_grid(len(statistics), "Posterior predictive checks: observed vs replicated statistics")
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
    groups = group_order(taus["group"])
    fig, axes = panel_grid(len(groups), "Behavioural RSA (2018): τ_a with orthogonalised model RDMs", sharey=True)
    for ax, group in zip(axes, groups):
        part = taus[taus.group == group].rename(columns={c: c.removeprefix("tau_") for c in columns})
        _paired_dots(ax, part, [c.removeprefix("tau_") for c in columns])
        label_panel(ax, "model RDM (each orthogonalised on those left of it)", "Kendall τ_a", str(group), zero=True)
    return fig


def phase_change(values: pd.DataFrame) -> Figure:
    """Each participant's value of every measure in two phases (e.g. baseline and scan), joined
    per participant, one panel per measure (``parameter``).

    ``values``: ``participant_id``, ``phase``, ``parameter``, ``value``.
    """
    units = {"|bias|": " (degrees)", "slope": " (per feature level)", "offset": " (feature levels)",
             "lapse": " (probability)"}
    params = list(dict.fromkeys(values["parameter"]))
    phases = list(dict.fromkeys(values["phase"]))
    fig, axes = panel_grid(len(params), f"Per-participant change between phases: {' vs '.join(phases)}")
    for ax, param in zip(axes, params):
        wide = values[values.parameter == param].pivot_table(index="participant_id", columns="phase",
                                                             values="value").dropna()
        _paired_dots(ax, wide, [p for p in phases if p in wide])
        label_panel(ax, "phase", f"{param}{units.get(param, ' (a.u.)')}", param, legend="x-small")
    return fig


def sigmoid_slopes(slopes: pd.DataFrame) -> Figure:
    """Slopes of the one-parameter sigmoids along the relevant and the irrelevant feature, per
    participant (joined), one panel per group.

    ``slopes``: ``participant_id``, ``model`` (``sigmoid_relevant`` / ``sigmoid_irrelevant``),
    ``slope`` (per feature level), optional ``group``.
    """
    slopes = slopes.assign(group=slopes["group"].astype(str) if "group" in slopes else "all",
                           feature=slopes["model"].str.removeprefix("sigmoid_"))
    groups = group_order(slopes["group"])
    fig, axes = panel_grid(len(groups), "Sigmoid slopes along the relevant and the irrelevant feature", sharey=True)
    for ax, group in zip(axes, groups):
        wide = slopes[slopes.group == group].pivot_table(index="participant_id", columns="feature", values="slope")
        _paired_dots(ax, wide, [f for f in ("relevant", "irrelevant") if f in wide])
        label_panel(ax, "feature", "slope (per feature level)", str(group), zero=True)
    return fig


def trial_type_bars(table: pd.DataFrame) -> Figure:
    """Accuracy and median response time per trial type (congruent, incongruent, stay, switch),
    group means ± SEM over participants, one bar per group.

    ``table``: ``group``, ``trial_type``, ``measure`` (``accuracy`` / ``median_rt_s``), ``mean``, ``sem``.
    """
    labels = {"accuracy": "accuracy (fraction correct)", "median_rt_s": "median response time (s)"}
    measures = [m for m in labels if m in set(table["measure"])]
    types = [t for t in ("congruent", "incongruent", "stay", "switch") if t in set(table["trial_type"])]
    groups = group_order(table["group"].astype(str))
    fig, axes = new_figure(1, len(measures), "Accuracy and response time by trial type")
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
    groups = group_order(curves["group"])
    title = f"Psychometric curves with the fitted {model} model" if "p_model" in curves else "Psychometric curves"
    fig, axes = new_figure(len(groups), 2, title, sharey=True)
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


def decision_boundaries(boundaries: pd.DataFrame) -> Figure:
    """Fitted decision boundaries drawn in feature space, one panel per ``model``.

    ``boundaries``: ``model``, ``participant_id``, ``context``, ``angle_deg`` (boundary direction in
    the (branchiness, leafiness) plane, degrees; the normal is angle − 90°), optional ``offset``
    (feature units along the normal). Thin lines: participants; thick: circular mean angle
    (and mean offset) per context.
    """
    models = list(dict.fromkeys(boundaries["model"]))
    fig, axes = panel_grid(len(models), "Decision boundaries in feature space")
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
    groups, models = group_order(bms["group"]), list(dict.fromkeys(bms["model"]))
    fig, axes = new_figure(1, 2, "Bayesian model selection across participants")
    width = 0.8 / len(groups)
    for ax, column, label in zip(axes[0], ("expected_frequency", "protected_exceedance_probability"),
                                 ("expected model frequency (fraction of participants)",
                                  "protected exceedance probability")):
        for g, group in enumerate(groups):
            part = bms[bms.group == group].set_index("model").reindex(models)
            ax.bar(np.arange(len(models)) + (g - (len(groups) - 1) / 2) * width, part[column], width, label=group)
        ax.set_xticks(range(len(models)), models)
        ax.set_ylim(0, 1)
        ax.set_xlabel("choice model")
        ax.set_ylabel(label)
        ax.set_title(label.split(" (")[0].capitalize())
    axes[0, 0].axhline(1 / len(models), color="grey", linestyle="--", linewidth=0.8, label="chance")
    axes[0, 0].legend(fontsize="small", title="group")
    return fig


def fitted_vs_true_parameters(table: pd.DataFrame) -> Figure:
    """Fitted against true parameter values of simulated agents, one panel per parameter kind.

    ``table``: ``parameter`` (e.g. ``slope`` or ``delta_north``; panels pool names by their kind,
    the part before "_"), ``true``, ``fitted`` (same units; angles in degrees), optional
    ``generating_model`` (one colour each).
    """
    table = table.assign(kind=table["parameter"].str.split("_").str[0],
                         generating_model=table["generating_model"] if "generating_model" in table else "agents")
    kinds = list(dict.fromkeys(table["kind"]))
    fig, axes = panel_grid(len(kinds), "Parameter recovery from simulated agents")
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


def model_recovery_confusion(table: pd.DataFrame) -> Figure:
    """Model-recovery confusion matrices: rows = generating model, columns = winning model.

    ``table`` (long): ``generating_model``, ``fitted_model``, ``fraction`` (of that model's agents
    won by the fitted model; rows sum to 1), optional ``n_test_trials`` (one matrix per count).
    """
    table = table.assign(n_test_trials=table["n_test_trials"] if "n_test_trials" in table else "all")
    counts = list(dict.fromkeys(table["n_test_trials"]))
    fig, axes = panel_grid(len(counts), "Model recovery (fraction of simulated agents)")
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
    groups = group_order(betas["group"])
    fig, axes = panel_grid(len(groups), "Choice-pattern RDM regression (2022): factorized vs linear",
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
