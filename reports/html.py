"""The self-contained HTML report: sections of figures (embedded PNG) and tables, plus provenance.

Why: one file the lab can open anywhere (no server, no side files) that shows every result of a
run and says how it was made. The report is built only from the tables a run wrote under
``<results>/tables/`` (TSV + JSON sidecar each), so it can be rebuilt at any time without
recomputing (``garden report DIR``). A section whose tables are missing is kept, with a note
saying why it was skipped (``tables/skipped.json`` holds the pipeline's reasons).
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imsave
from matplotlib.text import Text

from garden.analysis.behaviour.choice_rdms import choice_rdms, group_mean_rdms
from garden.analysis.behaviour.choices import canonical_cells
from garden.core.files import write_file
from garden.core.budget import check_pixels
from garden.core.errors import UserError
from garden.core.progress import progress_bar
from garden.core.provenance import INCOMPLETE, completion, read_json, read_record, sidecar_of
from garden.core.text_tables import MISSING, read_text_table
from garden.reports import figures
from garden.reports.figures.style import group_order
from garden.rsa.model_rdms import choice_model_rdms
from garden.rsa.rdms import RDMs
TABLES_DIR = "tables"
SKIPPED_FILE = "skipped.json"
RUN_FILE = "run.json"
DPI = 100
CONTENT_PX = 1240
"""Widest a figure or table is shown (CSS px): the page's content width (fits a 1 280 px window; page <= 1 400 px)."""
CSS_PX_PER_INCH = 96
MIN_FONT_PT = 9.0
"""Smallest text of any figure as the reader sees it in the page (points at the embedded size)."""
MAX_TABLE_ROWS = 40

Tables = Mapping[str, pd.DataFrame]


@dataclass(frozen=True)
class FigureSpec:
    """One figure: caption, the tables it needs, and how to draw it from them."""

    caption: str
    needs: tuple[str, ...]
    draw: Callable[[Tables], Figure]


@dataclass(frozen=True)
class SectionSpec:
    """One report section: what it shows, its figures and the tables printed under them."""

    key: str
    title: str
    text: str
    figures: tuple[FigureSpec, ...] = ()
    tables: tuple[str, ...] = ()
    images: tuple[tuple[str, str], ...] = ()
    """(caption, PNG path relative to the results folder) shown as they are, e.g. the stimuli."""
    steps: tuple[str, ...] = ()
    """Pipeline steps (besides ``key``) whose skip reasons are shown in this section."""
    findings: Callable[[Tables], str] | None = None
    """Text stating what the numbers show, computed from the tables (figure titles state none)."""
    in_demo: bool = True
    """Whether ``garden demo`` writes this section's tables (False: another command's results only)."""


@dataclass
class Section:
    """A rendered section: figures as PNG bytes, tables, and a note when (part of) it was skipped."""

    key: str
    title: str
    text: str
    figures: list[tuple[str, bytes]] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- reading results

def _checked_table(path: Path, *, sidecar: bool) -> tuple[pd.DataFrame | None, str | None]:
    """(the results table ``path`` as ``read_text_table`` reads it strictly, None), or (None, why it cannot be
    used: cut, unfinished, without rows; without its sidecar when ``sidecar``: the folder's tables have them)."""
    if not path.is_file():
        return None, "not a readable file (a dangling link or a link loop)"
    if sidecar and not sidecar_of(path).exists():
        return None, "has no sidecar (written after the table, so the run was cut)"
    state, reason = completion(path)
    if state == INCOMPLETE:
        return None, reason
    try:
        table = read_text_table(path, strict=True)
        rows = read_record(sidecar_of(path)).get("n_rows") if sidecar_of(path).exists() else None
    except UserError as exc:
        return None, str(exc).removeprefix(f"{path}").lstrip(":").strip()
    if not path.read_bytes().endswith(b"\n"):
        return None, "its last line is cut (no line end)"
    if isinstance(rows, int) and rows != len(table):
        return None, f"has {len(table)} rows, its sidecar says {rows} (cut or changed)"
    if rows is None and sidecar and table.empty:
        return None, "has a header but no rows"
    values = table.iloc[:, 1:].astype(str).apply(lambda column: column.str.strip())  # beside the label column
    if not table.empty and values.shape[1] and values.isin(MISSING).all().all():
        return None, f"has {len(table)} rows but every value in them is missing (NaN or empty)"
    return table, None


def check_results(results: str | os.PathLike, names: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """UserError naming every missing or damaged table of ``<results>/tables`` (``names``: the tables
    the run recorded it wrote; checked to be present). A demo folder (``RUN_FILE``, written last, or
    tables with sidecars) needs every table's sidecar and ``RUN_FILE``; a folder written whole by
    another step (``garden neural stats``: built aside and renamed) has neither. Returns the tables it read,
    keyed by file name without ``.tsv`` (``load_tables`` takes them rather than reading each file again)."""
    folder = Path(results) / TABLES_DIR
    try:
        present = sorted(folder.glob("*.tsv"))
    except OSError as exc:
        raise UserError(f"{folder}: cannot be listed ({exc.strerror}); rebuild the results folder") from None
    finished = (Path(results) / RUN_FILE).exists()
    demo = finished or any(sidecar_of(p).exists() for p in present)
    checked = {p: _checked_table(p, sidecar=demo) for p in present}
    problems = [f"{p.name} {why}" for p, (_, why) in checked.items() if why]
    if demo and not finished:
        problems.append(f"{RUN_FILE} is missing (written last: the run that made the folder did not finish)")
    problems += [f"{name}.tsv is missing" for name in names or [] if not (folder / f"{name}.tsv").exists()]
    if problems:
        raise UserError(f"{folder}: {len(problems)} missing or damaged table(s): {'; '.join(problems[:5])}"
                        f"{' ...' if len(problems) > 5 else ''}; rerun `garden demo` (results are never patched)")
    return {p.name.removesuffix(".tsv"): table for p, (table, _) in checked.items()}


RENAMED_COLUMNS = {"subject": "participant_id"}
"""Columns of tables written by older versions (the neural tables said ``subject``) -> today's names."""
RENAMED_TABLE_COLUMNS = {name: {"unit": "group"}
                         for name in ("similarity_profile", "best_scale", "best_scale_bootstrap", "beta_profiles")}
"""Columns of one table renamed since (the people-vs-networks tables said ``unit`` for the participants' group;
``unit`` elsewhere is a hidden unit, so the rename is per table)."""


def load_tables(results: str | os.PathLike, read: Mapping[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """Every ``<results>/tables/<name>.tsv`` as a DataFrame keyed by ``name`` (``check_results`` first: ``read``
    is what it returned, the same tables as read here); a column of an older version is read under its new
    name (``RENAMED_COLUMNS``, ``RENAMED_TABLE_COLUMNS``)."""
    tables, read = {}, read or {}
    for path in sorted((Path(results) / TABLES_DIR).glob("*.tsv")):
        name = path.name.removesuffix(".tsv")
        renamed = RENAMED_COLUMNS | RENAMED_TABLE_COLUMNS.get(name, {})
        table = read[name] if name in read else read_text_table(path, strict=True)
        tables[name] = table.rename(columns=renamed)
    return tables


def load_json(path: Path) -> dict[str, Any]:
    """A JSON file as a dict, or an empty dict when it does not exist."""
    return read_json(path, what="results file") if path.exists() else {}


# ---------------------------------------------------------------- what the report shows

def _group_mean(table: pd.DataFrame, keys: list[str], values: list[str]) -> pd.DataFrame:
    """Mean of the ``values`` columns present, per ``group`` (when there is one) and ``keys``."""
    keys = (["group"] if "group" in table else []) + keys
    values = [v for v in values if v in table]
    return table.groupby(keys, sort=False)[values].mean().reset_index()


def _largest_count(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of the largest ``n_test_trials`` (all rows when the column is absent)."""
    return table[table["n_test_trials"] == table["n_test_trials"].max()] if "n_test_trials" in table else table


def _by_frame(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` labelled with the canonical rule frame when both frames (rules 1 and 5) occur."""
    if "rule_code" not in table or table["rule_code"].nunique() < 2:
        return table
    frame = table["rule_code"].map({1: "cardinal rules", 5: "diagonal rules"})
    return table.assign(**{column: table[column].astype(str) + " (" + frame + ")"})


def _choice_matrices(t: Tables) -> Figure:
    cells = canonical_cells(t["choice_cells"])
    cells = _by_frame(cells.assign(group=cells["group"] if "group" in cells else "all"), "group")
    return figures.choice_matrices(_group_mean(cells, ["context", "branchiness", "leafiness"], ["p_accept"]))


def _psychometric_curves(t: Tables) -> Figure:
    curves = _group_mean(t["psychometric_curves"], ["feature", "context", "level"], ["p_accept", "p_model"])
    return figures.psychometric_curves(curves, "factorized")


def _choice_rdms(t: Tables) -> Figure:
    """Group-mean choice RDMs (cardinal rules, in the rule-1 frame) beside the two choice-model RDMs."""
    people = group_mean_rdms(choice_rdms(t["choice_cells"], 1))
    return figures.plot_rdms(RDMs.concat([people, choice_model_rdms(rule_code=1)]),
                             "Choice RDMs |p_i − p_j|: group means and the choice models (rule-1 frame)")


def _participant_choice_matrices(t: Tables) -> Figure:
    return figures.participant_choice_matrices(canonical_cells(t["choice_cells"]))


def _ppc_curves(t: Tables) -> Figure:
    curves = t["ppc_curves"]
    observed = curves.drop_duplicates(["group", "feature", "context", "level"])
    return figures.psychometric_band(observed, curves, "Posterior predictive check: group-mean psychometric curves, "
                                     "each model's prediction and 95 % band of replicated groups")


def _p(value: float) -> str:
    return "p n/a" if pd.isna(value) else f"p = {value:.2g}"


def _ppc_findings(t: Tables) -> str:
    """Each model's check over all participants, from ``ppc_summary``."""
    summary = t["ppc_summary"]
    rows = summary[summary["group"].astype(str) == "all"]
    parts = []
    for model, part in rows.groupby("model", sort=False):
        stats = part.set_index("statistic")
        text = "; ".join(f"{name.replace('_', ' ')} observed {row.observed:.3g} vs replicates {row.replicate_lo:.3g}"
                         f"–{row.replicate_hi:.3g} ({_p(row.p_value)})" for name, row in stats.iterrows())
        parts.append(f"{model}: {text}.")
    flagged = sorted(set(rows.loc[rows["p_value"] < 0.05, "model"]))
    verdict = (f"Models with a check at p < 0.05 (misfit): {', '.join(flagged)}." if flagged
               else "No model has a check at p < 0.05.")
    return (f"Over all {int(rows['n_participants'].max())} participants, {int(rows['n_replicates'].max())} replicated "
            f"groups per model: " + " ".join(parts) + " " + verdict)


def _rsa_findings(t: Tables) -> str:
    """Mean τ_a per group and model against 0, and the between-group tests, from ``behavioural_rsa_tests``."""
    tests = t["behavioural_rsa_tests"]
    zero = tests[tests["comparison"] == "against 0"]
    parts = [f"{row.level_a}, {row.model}: mean τ_a {row.mean_a:+.3f} (n = {row.n_a}, {_p(row.p_value)})"
             for row in zero.itertuples()]
    between = [f"{row.model}: {row.level_a} − {row.level_b} {row.difference:+.3f} ({_p(row.p_value)})"
               for row in tests[tests["comparison"] == "between groups"].itertuples()]
    text = "Against 0 (Wilcoxon signed-rank): " + "; ".join(parts) + "."
    return text + (" Between groups (Mann-Whitney U): " + "; ".join(between) + "." if between else "")


def _baseline_findings(t: Tables) -> str:
    """Mean of each measure in both phases and the signed-rank p, from ``baseline_scan_tests``."""
    tests = t["baseline_scan_tests"]
    parts = [f"{row.parameter} {row.mean_a:.3g} → {row.mean_b:.3g} ({_p(row.p_value)})" for row in tests.itertuples()]
    changed = [row.parameter for row in tests.itertuples() if row.p_value < 0.05]
    first = tests.iloc[0]
    return (f"{first.level_a} → {first.level_b}, n = {first.n_a} participants (Wilcoxon signed-rank): "
            + "; ".join(parts) + ". " + (f"Changed at p < 0.05: {', '.join(changed)}." if changed
                                          else "No measure changed at p < 0.05."))


def _slope_findings(t: Tables) -> str:
    """Relevant vs irrelevant sigmoid slopes per group, from ``slope_tests``."""
    parts = [f"{row.group}: relevant {row.mean_a:.3g} vs irrelevant {row.mean_b:.3g} per feature level "
             f"(n = {row.n_a}, {_p(row.p_value)})" for row in t["slope_tests"].itertuples()]
    return "Sigmoid slopes (Wilcoxon signed-rank): " + "; ".join(parts) + "."


MEASURE_NAMES = {
    "log_irrelevant_gain": "compression of the irrelevant feature (log irrelevant / relevant gain of {model} compression "
                           "model; 0 like a grid, below 0 compressed)",
    "beta_orthogonal": "fit of the orthogonal model RDM (β)",
    "beta_grid": "fit of the grid model RDM (β)",
    "dim_90": "dimensionality (components for 90 % of the variance)",
    "dim_90_uncentred": "dimensionality without centring (components for 90 %)",
    "n_task_selective": "task-selective hidden units",
    "context_weight_corr": "correlation of the two context units' weights",
    "context_weight_corr_all": "correlation of the two context units' weights (all hidden units)",
    "steps_to_criterion": "training steps to criterion",
    "acc_noise_all_0.1": "accuracy with input noise of SD 0.1",
}
"""Plain names of the network measures in the report's text; the column names stay in its glossary."""


def _compression_model_name(t: Tables) -> str:
    """Which compression model the network fits used (``garden.rsa.compression_model``), for the text."""
    fits = t.get("network_compression")
    version = fits["compression_model"].iloc[0] if fits is not None and "compression_model" in fits and len(fits) else "ours"
    return "the paper's" if version == "paper" else "our"


def _paired_findings(t: Tables) -> str:
    """One sentence per paired test of ``network_paired_tests``, from its numbers, and a glossary of
    the plain names used against the table's column names."""
    parts, used = [], {}
    for row in t["network_paired_tests"].itertuples():
        name = used.setdefault(row.measure, MEASURE_NAMES.get(row.measure, str(row.measure).replace("_", " "))
                               .format(model=_compression_model_name(t)))
        parts.append(f"{name[0].upper()}{name[1:]}: median slope {row.slope_median:+.3g} per decade of σ over "
                     f"{row.n_seeds} "
                     f"seeds (one-sided Wilcoxon p = {row.slope_wilcoxon_p:.2g} for a slope "
                     f"{row.slope_alternative} than 0); σ = {row.rich_scale:g} vs {row.lazy_scale:g}: median "
                     f"{row.rich_median:.3g} vs {row.lazy_median:.3g} (paired p = {row.rich_vs_lazy_wilcoxon_p:.2g}).")
    glossary = "; ".join(f"{plain.split(' (')[0]} = {column}" for column, plain in used.items())
    return ("Paired by seed (seeds share their initial draws across scales): " + " ".join(parts)
            + f" Glossary (column names of the tables): {glossary}.")


def _grid_prior_findings(t: Tables) -> str:
    """What the grid-prior numbers show, from ``grid_prior_test``."""
    row = t["grid_prior_test"].iloc[0]
    if not row["n"]:
        return "No participant has both a pre and a post arrangement yet."
    test = (f"two-sided Wilcoxon signed-rank test of the change: W = {row['wilcoxon_statistic']:.4g}, "
            f"p = {row['wilcoxon_p']:.2g}" if pd.notna(row["wilcoxon_p"]) else "too few changes for a test")
    return (f"Over {row['n']:.0f} participants with both arrangements, the median grid prior was "
            f"{row['median_pre']:.3f} before and {row['median_post']:.3f} after training. The median of the "
            f"participants' own changes is {row['median_change']:+.3f} (it need not equal the change of the two "
            f"medians, {row['median_post'] - row['median_pre']:+.3f}; {row['n_increased']:.0f} of {row['n']:.0f} "
            f"increased; {test}).")


def _neural_findings(t: Tables) -> str:
    """Per ROI, from the numbers: the orthogonal - grid β contrast (both one-sided p) and, when the
    networks were compared, the best-matching init scale with its bootstrap interval."""
    best = t["neural_network_best"].set_index("roi") if "neural_network_best" in t else None
    parts = []
    for row in t["neural_roi_contrasts"].itertuples():
        a, b = row.contrast.split(">")
        text = (f"{row.roi}: β {a} − β {b} = {row.mean:+.3g} (n = {row.n}; one-sided p = {row.p_one_sided:.2g}, "
                f"reverse p = {row.p_reverse:.2g})")
        if best is not None and row.roi in best.index:
            b = best.loc[row.roi]
            text += (f", best-matching init scale σ = {b.best_scale:g} (bootstrap 95 % CI {b.best_scale_ci_low:g}–"
                     f"{b.best_scale_ci_high:g})")
        parts.append(text + _neural_caveats(t, row.roi) + ".")
    return " ".join(parts)


def _neural_caveats(t: Tables, roi: str) -> str:
    """The relevance reading of an ROI and, when the sensitivity table flags it, that its conclusion
    changes with the HRF or the distance (so it is not a finding)."""
    text = ""
    if "neural_relevance_group" in t and roi in set(t["neural_relevance_group"]["roi"]):
        r = t["neural_relevance_group"].set_index("roi").loc[roi]
        text += (f"; relevance index {r['mean']:+.3g} (p = {r['p_one_sided']:.2g}, reverse p = "
                 f"{r['p_reverse']:.2g}: {r['reading']})")
    if "neural_sensitivity" in t:
        part = t["neural_sensitivity"][t["neural_sensitivity"]["roi"] == roi]
        if len(part) and part["flagged"].astype(str).str.lower().isin(("true", "1")).any():  # TSV text or bool
            readings = ", ".join(sorted(set(part["reading"])))
            text += (f"; NOT A FINDING: the conclusion changes with the HRF or the distance ({readings} across "
                     f"{len(part)} analyses, see neural_sensitivity)")
        elif len(part):
            text += f"; the same reading under all {len(part)} HRF × distance analyses"
    return text


def _evidence_findings(t: Tables) -> str:
    """The conclusion chain, one sentence per ROI (``garden neural networks``: neural evidence first,
    behaviour as the check), from its table."""
    return " ".join(f"{sentence}." for sentence in t["neural_networks_conclusion"]["conclusion"])


def _figure_spec(caption: str, table: str, draw: Callable[[pd.DataFrame], Figure]) -> FigureSpec:
    """A figure drawn from one table by one figure function."""
    return FigureSpec(caption, (table,), lambda t: draw(t[table]))


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        "stimuli", "Stimuli", "One exemplar per cell of the stimulus set (rows: branchiness 1–5, columns: "
        "leafiness 1–5).", images=(("Contact sheet of the stimulus set", "stimuli/contact_sheet.png"),)),
    SectionSpec(
        "behaviour", "Behaviour", "How often each tree was accepted in each garden, and how choice probability "
        "follows the relevant and the irrelevant feature (trials of the analysed phase: test or scan).",
        (FigureSpec("Choice matrices per garden (group means; counterbalanced rules mapped onto rule 1, or "
                    "rule 5 for diagonal rules)", ("choice_cells",), _choice_matrices),
         FigureSpec("Psychometric curves (lines: fitted factorized model)", ("psychometric_curves",),
                    _psychometric_curves)),
        ("accuracy_by_phase", "behaviour_tests")),
    SectionSpec(
        "behaviour_participants", "Behaviour per participant", "Every participant's choice matrices (mapped onto "
        "rule 1, or rule 5 for diagonal rules) and psychometric curves (both gardens pooled) in the analysed phase, "
        "sorted by group.",
        (FigureSpec("Choice matrices per participant", ("choice_cells",), _participant_choice_matrices),
         _figure_spec("Psychometric curves per participant (lines: fitted factorized model)", "psychometric_curves",
                      figures.participant_psychometric)),
        steps=("behaviour",)),
    SectionSpec(
        "ppc", "Posterior predictive checks", "For every model, each participant's fitted parameters simulate "
        "replicated data sets (binomial choices at each tree's observed trial count, seeded); observed statistics "
        "are compared with the replicates': the group-mean psychometric curves, the binomial deviance of the choice "
        "matrices (one-sided p, large = misfit) and the congruency effect on accuracy (two-sided p). A plug-in "
        "check (parameters fixed at the fit, replicates not refitted), so p-values lean towards 1 for a model that "
        "fits; a small p marks a misfit.",
        (FigureSpec("Posterior predictive psychometric curves per model and group", ("ppc_curves",), _ppc_curves),
         _figure_spec("Posterior predictive statistics per model", "ppc_summary", figures.ppc_statistics)),
        ("ppc_summary",), steps=("behaviour_checks",), findings=_ppc_findings),
    SectionSpec(
        "behavioural_rsa", "Behavioural RSA (2018)", "Each participant's choice RDM |p_i − p_j| against the "
        "factorized and the linear choice-model RDMs of their rule, sequentially orthogonalised (the linear RDM "
        "keeps only what the factorized one does not explain), compared by Kendall's τ_a; τ_a tested against 0 per "
        "group and between groups.",
        (_figure_spec("Behavioural RSA: τ_a per participant", "behavioural_rsa", figures.behavioural_rsa_taus),),
        ("behavioural_rsa_tests",), steps=("behaviour_checks",), findings=_rsa_findings),
    SectionSpec(
        "baseline_scan", "Baseline vs scan (2022)", "The factorized model fitted separately to each participant's "
        "baseline test and scan phase (|bias|, lapse, slope, offset) and the choice-RDM betas of each phase, "
        "compared within participants. Fitted slopes and lapses depend on a phase's trial count (the slope is "
        "weakly identified with few trials), so their change between phases of different lengths is not by "
        "itself a change of behaviour.",
        (_figure_spec("Per-participant measures in the baseline and scan phases", "baseline_scan_values",
                      figures.phase_change),),
        ("baseline_scan_tests",), steps=("behaviour_checks",), findings=_baseline_findings),
    SectionSpec(
        "behaviour_more", "Slopes, response times and trial types", "One-parameter sigmoids of p(accept) along the "
        "relevant and the irrelevant feature (2018), median response times per phase, and accuracy and response "
        "time on congruent vs incongruent trees and stay vs switch trials (analysed phase; paired tests per group).",
        (_figure_spec("Relevant vs irrelevant sigmoid slopes per participant", "sigmoid_slopes",
                      figures.sigmoid_slopes),
         _figure_spec("Accuracy and response time by trial type", "trial_types", figures.trial_type_bars)),
        ("slope_tests", "rt_by_phase", "behaviour_rt_tests"), steps=("behaviour_checks",), findings=_slope_findings),
    SectionSpec(
        "grid_prior", "Arrangement task: grid prior", "Each participant's grid prior (garden grid-prior): Kendall "
        "τ_a between the arrangement RDM (mean over arrangements of the normalised distances between the 25 "
        "trees) and the grid model RDM of the trees' (leafiness, branchiness) levels, before (pre) and after "
        "(post) training; change = post − pre (our summary). A perfect grid layout scores 0.905 (the grid "
        "model's tied pairs).",
        (FigureSpec("Grid prior per participant, pre and post", ("grid_prior",),
                    lambda t: figures.grid_prior_pre_post(t["grid_prior"])),),
        ("grid_prior", "grid_prior_test"), findings=_grid_prior_findings),
    SectionSpec(
        "choice_models", "Choice models", "Factorized (one boundary per garden), factorized_full and linear (one "
        "shared boundary) models fitted per participant; random-effects Bayesian model selection across "
        "participants.",
        (_figure_spec("Fitted decision boundaries (mapped onto rule 1, or rule 5 for diagonal rules)", "boundaries",
                      lambda table: figures.decision_boundaries(_by_frame(table, "model"))),
         _figure_spec("Bayesian model selection", "bms", figures.bms_bars)),
        ("bms", "bms_families", "bms_between_groups", "fit_summary", "parameter_group_tests"),
        steps=("model_comparison",)),
    SectionSpec(
        "recovery", "Parameter and model recovery", "Simulated agents with known parameters (every item equally "
        "often in a test phase of each trial count), fitted with the same models: how well parameters (largest "
        "trial count shown) and the generating model are recovered.",
        (_figure_spec("Parameter recovery", "parameter_recovery",
                      lambda table: figures.fitted_vs_true_parameters(_largest_count(table))),
         _figure_spec("Model recovery", "model_recovery", figures.model_recovery_confusion)),
        ("recovery_summary", "model_confusion")),
    SectionSpec(
        "choice_rdms", "Choice-pattern RSA (2022)", "Each participant's 50-cell choice-probability vector gives an "
        "RDM |p_i − p_j|, regressed (z-scored, no intercept) on the factorized and linear choice-model RDMs; the "
        "betas are compared across participants (paired tests).",
        (FigureSpec("Group-mean choice RDMs beside the factorized and linear model RDMs (cardinal rules, "
                    "rule-1 frame)", ("choice_cells",), _choice_rdms),
         _figure_spec("Choice-RDM betas per participant", "choice_rdm_betas", figures.choice_rdm_betas)),
        ("choice_rdm_tests",)),
    SectionSpec(
        "networks", "Rich and lazy networks", "Networks trained from small (rich) to large (lazy) initial "
        "weights: learning, weight change, hidden-layer geometry (model-RDM betas, compression-model fits), unit "
        "classes, context weights, the gating analysis (units active in each context, context weights over "
        "training), ablations and robustness to input noise.",
        (_figure_spec("Learning curves", "network_curves", figures.learning_curves),
         _figure_spec("Congruent vs incongruent trees over training", "network_curves", figures.congruency_over_training),
         _figure_spec("Relative weight change over training", "network_weight_change", figures.weight_change_curves),
         _figure_spec("Model-RDM betas", "network_summary", figures.betas_by_scale),
         _figure_spec("Compression model fitted to each network", "network_compression", figures.compression_by_scale),
         FigureSpec("Dimensionality", ("network_summary",),
                    lambda t: figures.dimensionality_by_scale(t["network_summary"], t.get("network_spectrum"))),
         _figure_spec("Unit classes", "network_summary", figures.unit_classes),
         _figure_spec("Context weights per unit (one network per init scale)", "context_weights",
                      figures.context_weight_scatter),
         _figure_spec("Overlap of the units active in each context (gating)", "network_gating_overlap",
                      figures.gating_overlap),
         _figure_spec("Context weights and active-unit overlap over training (gating)", "network_gating_dynamics",
                      figures.gating_dynamics),
         _figure_spec("Ablations", "network_ablation", figures.ablation_accuracy),
         _figure_spec("Input noise", "network_noise", figures.noise_curves)),
        ("network_scale_summary", "network_paired_tests", "network_gating_tests"), findings=_paired_findings),
    SectionSpec(
        "geometry", "Geometry (MDS)", "Three-dimensional metric MDS of the networks' hidden-layer RDMs (one panel "
        "per init scale; dimensions 1–2 and 2–3) and of the participants' choice RDMs (one panel per group).",
        (_figure_spec("MDS of network hidden layers, dimensions 1–2", "mds_networks",
                      lambda table: figures.mds_grids(table, "MDS of hidden-layer RDMs by init scale")),
         _figure_spec("MDS of network hidden layers, dimensions 2–3", "mds_networks",
                      lambda table: figures.mds_grids(table, "MDS of hidden-layer RDMs by init scale", (2, 3))),
         _figure_spec("MDS of participants' choice patterns", "mds_people",
                      lambda table: figures.mds_grids(table, "MDS of choice RDMs by group")))),
    SectionSpec(
        "people_vs_networks", "People vs networks: choices against choices",
        "Behaviour is compared with behaviour. Each participant's choice RDM (|p_i − p_j| over the 50 "
        "conditions) is compared (Spearman ρ) with the choice RDMs of the networks' outputs "
        "(p(accept) = sigmoid(output / T)) at every init scale, and with the test-phase choices of networks "
        "run through that participant's own trial sequence (online SGD on the feedback trials); the "
        "factorized model is fitted to people and matched networks alike. What this can say: whether a "
        "person's choices look like those of networks of a given scale — which boundaries, how noisy, "
        "whether the first-trained garden was forgotten. What it cannot say: anything about the person's "
        "internal geometry. Fully trained rich and lazy networks make the same correct choices, so their "
        "choice RDMs differ only through their output scale; matched networks differ by scale only where "
        "learning speed or forgetting differ (rich networks learn too slowly to solve the task within a "
        "400-trial training phase). Hidden-layer RDMs are compared with model RDMs (Geometry) and with "
        "neural RDMs, not with choices.",
        (FigureSpec("Choice-RDM similarity of people and trained networks by init scale", ("similarity_profile",),
                    lambda t: figures.similarity_by_scale(t["similarity_profile"], t.get("best_scale_bootstrap"))),
         _figure_spec("Accuracy by phase of networks run through each person's sequence", "matched_accuracy",
                      figures.matched_accuracy),
         _figure_spec("Psychometric parameters of people and their matched networks", "matched_parameters",
                      figures.person_vs_matched_networks)),
        ("best_scale", "beta_profiles", "matched_best_scale", "matched_parameters"), steps=("matched_networks",)),
    SectionSpec(
        "neural", "Neural geometry", "Cross-validated RDMs of the 50 conditions in each region (garden neural): "
        "z-scored regression on the 7 brain model RDMs per participant with one-sided group tests, the "
        "orthogonal-minus-grid contrast, compression, noise ceilings, the orthogonal β against task accuracy, "
        "the match with the networks' hidden layers across init scales, searchlight voxels surviving FDR, and "
        "classical MDS of each ROI's group-mean RDM (lines join neighbouring trees of each garden's 5 × 5 grid).",
        (_figure_spec("Model-RDM betas per ROI", "neural_roi_group", figures.neural_model_betas),
         FigureSpec("Orthogonal β vs accuracy", ("neural_roi_betas", "neural_accuracy"),
                    lambda t: figures.neural_accuracy(t["neural_roi_betas"], t["neural_accuracy"])),
         _figure_spec("ROI RDMs vs network hidden layers by init scale", "neural_network_profile",
                      lambda table: figures.similarity_by_scale(
                          table, by="roi", legend="ROI",
                          title="ROI RDMs vs network hidden-layer RDMs",
                          measure="RDM similarity (Spearman ρ)")),
         _figure_spec("Searchlight group maps", "neural_searchlight_slices", figures.neural_searchlight_slices),
         _figure_spec("Classical MDS of each ROI's group-mean RDM, dimensions 1–2", "neural_mds",
                      lambda table: figures.mds_grids(table, "MDS of group-mean ROI RDMs")),
         _figure_spec("Classical MDS of each ROI's group-mean RDM, dimensions 2–3", "neural_mds",
                      lambda table: figures.mds_grids(table, "MDS of group-mean ROI RDMs", (2, 3)))),
        ("neural_roi_contrasts", "neural_relevance_group", "neural_sensitivity", "neural_design",
         "neural_compression_group", "neural_noise_ceiling", "neural_accuracy_relation", "neural_network_best",
         "neural_searchlight"), findings=_neural_findings),
    SectionSpec(
        "evidence", "Rich or lazy? The evidence", "Each scanned person's ROI RDMs against the hidden-layer RDMs of "
        "the networks fitted to their own choices (garden neural networks; one network per init scale, trained "
        "through the person's sequence at their fitted learning rate, RDMs averaged over init seeds), Spearman ρ "
        "with leave-one-participant-out noise ceilings on the same measure. Neural evidence is primary: per ROI, "
        "the best similarity over rich scales (σ ≤ 0.4) minus the best over lazy ones, with a bootstrap 95 % "
        "interval across people, reads rich, lazy or cannot tell (interval spanning 0, lower noise ceiling < 0.1 "
        "or best similarity < 0.1); the people's networks-fit verdicts are the consistency check. The noise "
        "ceiling assumes one geometry shared by everyone: each person's own network can exceed it.",
        (_figure_spec("ROI RDMs vs the hidden RDMs of each person's fitted networks, by init scale",
                      "neural_networks_profile",
                      lambda table: figures.similarity_by_scale(
                          table, by="roi", legend="ROI",
                          title="ROI RDMs vs each person's own fitted networks",
                          measure="RDM similarity (Spearman ρ)")),),
        ("neural_networks_conclusion", "neural_networks_reading", "neural_networks_ceiling",
         "neural_networks_people"), findings=_evidence_findings, in_demo=False),
)


def build_sections(tables: Tables, skipped: Mapping[str, str] | None = None,
                   specs: tuple[SectionSpec, ...] = SECTIONS, dpi: int = DPI,
                   results: Path | None = None, progress: bool = True, note_missing: bool = True) -> list[Section]:
    """Draw every figure whose tables exist; note the ones that could not be drawn and why (``note_missing``
    False: leave them out silently, for results whose kind never has them, e.g. the networks of a behavioural
    dataset). A section with no figure, no table and no step that was skipped is left out (it does not apply to
    these results). Images of ``spec.images`` are read from ``results``."""
    skipped = skipped or {}
    sections = []
    for spec in progress_bar(specs, desc="report sections", unit="section", enabled=progress):
        section = Section(spec.key, spec.title, spec.text)
        reasons = [skipped[step] for step in (spec.key, *spec.steps) if step in skipped]
        section.notes += [f"Skipped: {reason}" for reason in reasons]
        for caption, relative in spec.images:
            path = results / relative if results is not None else None
            if path is not None and path.exists():
                section.figures.append((caption, path.read_bytes()))
            elif not reasons and note_missing:
                section.notes.append(f"{caption}: not shown (no {relative}).")
        for fig_spec in spec.figures:
            missing = [name for name in fig_spec.needs if name not in tables or tables[name].empty]
            if missing:
                if not reasons and note_missing:
                    section.notes.append(f"{fig_spec.caption}: not drawn (no {', '.join(missing)} table).")
                continue
            try:
                figure = fig_spec.draw(tables)
            except KeyError as exc:  # a table garden wrote lacks a column: damaged, or from another version
                raise UserError(f"{fig_spec.caption}: table(s) {', '.join(fig_spec.needs)} lack column {exc}; the "
                                "results folder is damaged or from another garden version: rerun garden demo") from None
            section.figures.append((fig_spec.caption, figure_png(figure, dpi)))
        section.tables = [(name, tables[name]) for name in spec.tables if name in tables]
        if spec.findings is not None:
            try:
                section.text += " " + spec.findings(tables)
            except KeyError:   # the tables the findings need are absent (e.g. a bare participants tree)
                pass
        if section.figures or section.tables or reasons:  # else nothing of it applies to these results
            sections.append(section)
    return sections


# ---------------------------------------------------------------- rendering

def shown_scale(fig: Figure) -> float:
    """How much the page shrinks the figure (<= 1): it is shown at its printed size (a CSS inch is 96 px,
    whatever the PNG's dpi) up to ``CONTENT_PX`` wide."""
    width_px = fig.get_figwidth() * CSS_PX_PER_INCH
    return min(width_px, CONTENT_PX) / width_px


def figure_texts(fig: Figure, draw: bool = True) -> list[Text]:
    """Every visible, non-empty text artist of the figure (titles, labels, tick labels, legends), drawn first to
    create its tick labels (``draw`` False: as last drawn, e.g. by ``readable``)."""
    if draw:
        fig.draw_without_rendering()
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def smallest_font_pt(fig: Figure) -> float:
    """The smallest text of the figure in points as shown in the page (font size × ``shown_scale``)."""
    return min((t.get_fontsize() for t in figure_texts(fig)), default=float("inf")) * shown_scale(fig)


def legend_over_data(ax: Axes) -> bool:
    """Whether the legend inside ``ax`` covers a plotted point (line vertices, scatter points) or a bar
    (display coordinates of the last draw)."""
    legend = ax.get_legend()
    if legend is None:
        return False
    box = legend.get_window_extent()
    points = [line.get_transform().transform(line.get_xydata()) for line in ax.lines if line.get_visible()]
    points += [c.get_offset_transform().transform(c.get_offsets()) for c in ax.collections
               if c.get_visible() and len(c.get_offsets()) > 1]
    inside = any(np.any(np.isfinite(p).all(axis=1) & (p[:, 0] >= box.x0) & (p[:, 0] <= box.x1)
                        & (p[:, 1] >= box.y0) & (p[:, 1] <= box.y1)) for p in points if len(p))
    return inside or any(patch.get_window_extent().overlaps(box) for patch in ax.patches if patch.get_visible())


def readable(fig: Figure) -> Figure:
    """The figure with every text at least ``MIN_FONT_PT`` as shown in the page (constrained layout
    makes room for the larger text when it is drawn), and any legend that covers data moved out of its
    axes, to the right; left drawn as it ends (drawn again when a legend moved), so ``figure_texts(fig,
    draw=False)`` and ``legend_over_data`` read the final drawing."""
    enlarge_text(fig)
    fig.draw_without_rendering()
    if move_covering_legends(fig):
        fig.draw_without_rendering()
    return fig


def enlarge_text(fig: Figure) -> None:
    """Every text of the figure raised to ``MIN_FONT_PT`` as shown in the page, the labels of its ticks
    (``tick_labels``) too: no draw, the one that follows lays the figure out with the final sizes."""
    least = MIN_FONT_PT / shown_scale(fig)
    for text in (*figure_texts(fig, draw=False), *tick_labels(fig)):
        if text.get_fontsize() < least:
            text.set_fontsize(least)


def tick_labels(fig: Figure) -> list[Text]:
    """The labels of the ticks every axis a draw would draw (visible axes with their axis on) holds now, their
    text set or not yet: ticks a draw adds (a longer axis, more ticks) copy the first tick's font, so they get
    its size, and a draw sets the texts. Cheaper than setting them first (``Axis.get_ticklabels`` runs the
    locators and formatters, which the draw runs again)."""
    return [label for ax in fig.findobj(Axes) if ax.get_visible() and ax.axison
            for axis in ax.get_children() if isinstance(axis, Axis) and axis.get_visible()
            for tick in (*axis.majorTicks, *axis.minorTicks) for label in (tick.label1, tick.label2)]


def move_covering_legends(fig: Figure) -> bool:
    """Move each legend that covers data in the figure's last draw out of its axes, to the right; whether any
    moved."""
    covering = [ax.get_legend() for ax in fig.axes if legend_over_data(ax)]
    for legend in covering:
        legend.set_loc("upper left")
        legend.set_bbox_to_anchor((1.02, 1.0), transform=legend.axes.transAxes)
    return bool(covering)


def figure_png(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes at ``dpi`` (pixels = inches × dpi), its text made ``readable`` first (the legends
    checked on the drawing, and the figure drawn again only when one moved); UserError past the pixel budget
    (``garden.core.budget``), before the pixels are allocated.

    The PNG is the one ``fig.savefig(dpi=dpi)`` writes, byte for byte (tests/test_report_html.py), from one Agg
    draw: savefig draws a figure with a layout engine twice, once to lay it out and once to render it
    (``python -m benchmarks figures``: 1.42x less CPU)."""
    width, height = fig.get_size_inches()
    check_pixels(width, height, dpi, f"--dpi {dpi}: {fig.get_label() or 'a figure'} of {width:.3g} x {height:.3g} in")
    enlarge_text(fig)
    shown_dpi, shown_canvas = fig.dpi, fig.canvas  # put back afterwards, as savefig does
    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    try:
        canvas.draw()
        if move_covering_legends(fig):
            canvas.draw()
        buffer = io.BytesIO()
        imsave(buffer, canvas.buffer_rgba(), format="png", dpi=dpi)
    finally:
        fig.set_dpi(shown_dpi)
        fig.set_canvas(shown_canvas)
    return buffer.getvalue()


def in_group_order(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a table with a ``group`` column in the figures' group order (``group_order``; stable, so the
    order within a group is kept); other tables as they are."""
    if "group" not in table or table.empty:
        return table
    rank = {group: k for k, group in enumerate(group_order(table["group"]))}
    return table.iloc[table["group"].map(rank).argsort(kind="stable")]


def _table_html(name: str, table: pd.DataFrame) -> str:
    shown = in_group_order(table).head(MAX_TABLE_ROWS)
    more = len(table) - len(shown)
    where = f"<code>{TABLES_DIR}/{html.escape(name)}.tsv</code>"
    tail = f"<p class='more'>… {more} more rows in {where}</p>" if more > 0 else ""
    body = shown.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0, classes="table")
    return f"<h3>{html.escape(name.replace('_', ' '))}</h3>\n<div class='scroll'>{body}</div>\n{tail}"


def _printed_px(png: bytes) -> int:
    """CSS width (px) of a PNG at its printed size: pixels / its dpi × 96 (pixels when it records no dpi)."""
    with Image.open(io.BytesIO(png)) as image:
        dpi = image.info.get("dpi", (CSS_PX_PER_INCH,))[0] or CSS_PX_PER_INCH
        return round(image.width / float(dpi) * CSS_PX_PER_INCH)


def _section_html(section: Section) -> str:
    parts = [f"<section id='{section.key}'>", f"<h2>{html.escape(section.title)}</h2>",
             f"<p>{html.escape(section.text)}</p>"]
    parts += [f"<p class='note'>{html.escape(note)}</p>" for note in section.notes]
    for caption, png in section.figures:
        data = base64.b64encode(png).decode("ascii")
        parts.append(f"<figure><img alt='{html.escape(caption)}' style='width:{_printed_px(png)}px' "
                     f"src='data:image/png;base64,{data}'>"
                     f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    parts += [_table_html(name, table) for name, table in section.tables]
    parts.append("</section>")
    return "\n".join(parts)


def _provenance_html(run: Mapping[str, Any], sidecars: Mapping[str, Mapping[str, Any]]) -> str:
    rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{html.escape(str(meta.get('seed')))}</td>"
                   f"<td>{html.escape(str(meta.get('created_utc', '')))}</td></tr>" for name, meta in sidecars.items())
    return ("<section id='provenance'><h2>Provenance</h2>"
            f"<pre>{html.escape(json.dumps(run, indent=2, default=str))}</pre>"
            "<h3>tables</h3><table class='table'><tr><th>table</th><th>seed</th><th>created (UTC)</th></tr>"
            f"{rows}</table></section>")


STYLE = f"""body{{font-family:sans-serif;max-width:{CONTENT_PX}px;margin:auto;padding:1em;color:#222}}
img{{max-width:100%}}figure{{margin:1em 0}}figcaption{{color:#555;font-size:90%}}
.scroll{{max-width:100%;overflow-x:auto}}pre{{max-width:100%;overflow-x:auto}}
.note{{background:#fff4d6;border-left:4px solid #e0a800;padding:.4em .8em}}
.table{{border-collapse:collapse;font-size:85%}}.table td,.table th{{padding:2px 8px;border-bottom:1px solid #ddd}}
nav a{{margin-right:1em}}"""


def render_html(sections: list[Section], run: Mapping[str, Any],
                sidecars: Mapping[str, Mapping[str, Any]] | None = None, title: str = "garden report") -> str:
    """The whole report as one HTML string (figures inline as base64 PNG)."""
    nav = "".join(f"<a href='#{s.key}'>{html.escape(s.title)}</a>" for s in sections)
    body = "\n".join(_section_html(s) for s in sections)
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1><nav>{nav}"
            f"<a href='#provenance'>Provenance</a></nav>\n{_overview_html(sections, run)}\n{body}\n"
            f"{_provenance_html(run, sidecars or {})}</body></html>\n")


def _overview_html(sections: list[Section], run: Mapping[str, Any]) -> str:
    """When, with which seed and settings the results were made, and what is missing."""
    config = run.get("config", {})
    facts = [f"created {run['created_utc']} (UTC)" if run.get("created_utc") else f"report drawn {_now()} (UTC)",
             f"seed {run['seed']}" if run.get("seed") is not None else "no seed recorded for the whole run "
             "(each table's seed: Provenance)"]
    facts += [f"{k.replace('_', ' ')} {config[k]}" for k in ("participants", "protocol", "scales", "network_seeds",
                                                            "steps") if k in config]
    if "total_s" in run:
        facts.append(f"run time {run['total_s']} s")
    incomplete = [s.title for s in sections if s.notes]
    missing = (f"<p class='note'>Incomplete sections (see their notes): {html.escape(', '.join(incomplete))}.</p>"
               if incomplete else "")
    return f"<p>{html.escape('; '.join(facts))}.</p>{missing}"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def write_report(results: str | os.PathLike, out: str | os.PathLike | None = None, *,
                 extra_tables: Tables | None = None, extra_skipped: Mapping[str, str] | None = None,
                 overwrite: bool = False, dpi: int = DPI, note_missing: bool = True) -> Path:
    """Build the report from ``<results>/tables`` (plus ``extra_tables``) and write it as HTML.

    ``out`` defaults to ``<results>/report.html``; an existing file is kept unless ``overwrite``.
    ``extra_tables`` and ``extra_skipped`` (step -> reason) add to what ``<results>/tables`` holds.
    ``note_missing``: see ``build_sections`` (False for a participants tree: only behaviour applies).
    Figures are embedded at ``dpi`` (pixels per inch of figure size).
    """
    results = Path(results)
    out = Path(out) if out is not None else results / "report.html"
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out}: already exists; pass --overwrite to rebuild it or --out another file")
    run = load_json(results / RUN_FILE)
    read = None if extra_tables is not None else check_results(
        results, run.get("tables") if isinstance(run.get("tables"), list) else None)
    tables = {**load_tables(results, read), **(extra_tables or {})}
    folder = results / TABLES_DIR
    skipped = {**load_json(folder / SKIPPED_FILE), **(extra_skipped or {})}
    sidecars = {name: load_json(folder / f"{name}.json") for name in tables if (folder / f"{name}.json").exists()}
    sections = build_sections(tables, skipped, dpi=dpi, results=results, note_missing=note_missing)
    text = render_html(sections, run, sidecars)
    return write_file(out, text, overwrite=overwrite)
