"""Behavioural analyses of a trial table: accuracy, learning, switch costs, congruency, RTs, tests.

Why: the papers' behavioural results (Flesch et al. 2018: blocked vs interleaved accuracy,
the congruency effect, between-curriculum tests; 2022: baseline vs scan change) and what a lab
checks after every session start from the same trial table, whoever produced it (people,
simulated agents, networks run through the task). Every function returns a tidy table.

Measures (ours where not named by a paper):

* accuracy: over trials with a response and a non-zero reward value, the fraction whose choice
  is correct (accept for positive values, reject for negative ones; ``garden.core.task.correct_choice``);
  chance is 0.5. Trials without a response are counted in ``n_missing``.
* switch / stay: a trial whose garden differs from the previous trial's in the same session,
  phase and block is a switch; the first trial of a block is neither.
* congruent / incongruent: both gardens' rules agree / conflict on the correct choice
  (``garden.core.task.congruency`` under the participant's rule, ``garden.core.task.infer_rule``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from garden.analysis.behaviour.choice_rdms import MODELS
from garden.analysis.behaviour.choices import probability_matrix
from garden.core.task import congruency, correct_choice, infer_rule
from garden.rsa.compare import kendall_tau_a, sequential_orthogonalise
from garden.rsa.model_rdms import choice_model_rdm
from garden.rsa.distances import choice_rdm, lower

CHANCE = 0.5
"""Accuracy of random choices."""
ORDER = ["participant_id", "session", "trial"]


def scored_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """``trials`` in session order with ``correct`` (1/0, NaN without a response or at value 0),
    ``responded``, ``switch`` ('switch'/'stay'/NaN) and ``congruency`` columns, and ``group``
    (the table's own, else its curriculum, else 'all')."""
    table = trials.sort_values([c for c in ORDER if c in trials], kind="stable").reset_index(drop=True)
    target = correct_choice(table["reward_value"])
    choice = table["choice"].to_numpy(float)
    table["responded"] = ~np.isnan(choice)
    table["correct"] = np.where(np.isnan(choice) | np.isnan(target), np.nan, (choice == target).astype(float))
    keys = [c for c in ("participant_id", "session", "phase", "block") if c in table]
    previous = table.groupby(keys, sort=False)["context"].shift()
    table["switch"] = np.where(previous.isna(), None,
                               np.where(previous.astype(str) == table["context"].astype(str), "stay", "switch"))
    table["congruency"] = ""
    for _, part in table.groupby("participant_id", sort=False):
        code, _ = infer_rule(part)  # congruency compares both gardens' rules, whichever is shown
        table.loc[part.index, "congruency"] = congruency(part["branchiness"], part["leafiness"], code)
    if "group" not in table or table["group"].isna().all():
        table["group"] = table["curriculum"] if "curriculum" in table else "all"
    return table


def _summary(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    keys = [c for c in by if c in table]
    out = table.groupby(keys, sort=False, dropna=False).agg(
        n_trials=("correct", "size"), n_scored=("correct", "count"), accuracy=("correct", "mean"),
        n_missing=("responded", lambda r: int((~r).sum())), median_rt_s=("rt", "median"))
    return out.reset_index().assign(chance=CHANCE)


def accuracy_table(trials: pd.DataFrame, by: Sequence[str] = ("phase", "block")) -> pd.DataFrame:
    """Accuracy per participant (and group) and ``by`` (default phase and block): n_trials,
    n_scored, accuracy, n_missing, median_rt_s (s), chance."""
    return _summary(scored_trials(trials), ["participant_id", "group", *by])


def learning_curve(trials: pd.DataFrame, *, bin_trials: int = 50) -> pd.DataFrame:
    """Accuracy in consecutive bins of ``bin_trials`` trials of each phase, per participant:
    ``bin`` (1-based), ``trial_start`` (first trial number of the bin), accuracy, n_scored."""
    table = scored_trials(trials)
    table["bin"] = table.groupby(["participant_id", "phase"], sort=False).cumcount() // bin_trials + 1
    out = _summary(table, ["participant_id", "group", "phase", "bin"])
    starts = table.groupby(["participant_id", "phase", "bin"], sort=False)["trial"].min().rename("trial_start")
    return out.merge(starts.reset_index(), on=["participant_id", "phase", "bin"])


def switch_stay(trials: pd.DataFrame) -> pd.DataFrame:
    """Accuracy and median RT (s) of switch and stay trials per participant and phase."""
    table = scored_trials(trials)
    return _summary(table[table["switch"].notna()], ["participant_id", "group", "phase", "switch"])


def congruency_table(trials: pd.DataFrame) -> pd.DataFrame:
    """Accuracy and median RT (s) of congruent, incongruent and neutral trees per participant and phase."""
    return _summary(scored_trials(trials), ["participant_id", "group", "phase", "congruency"])


def rt_summary(trials: pd.DataFrame, *, too_slow_s: float | None = None) -> pd.DataFrame:
    """Per participant and phase: responses, missing responses, median / mean / 10th and 90th
    percentile RT (s), and with ``too_slow_s`` the count of responses slower than it."""
    table = scored_trials(trials)
    rows = []
    for (pid, phase), part in table.groupby(["participant_id", "phase"], sort=False):
        rt = part["rt"].dropna().to_numpy(float)
        row = {"participant_id": pid, "phase": phase, "n_responses": int(part["responded"].sum()),
               "n_missing": int((~part["responded"]).sum()),
               **{name: float(f(rt)) if len(rt) else np.nan for name, f in (
                   ("median_rt_s", np.median), ("mean_rt_s", np.mean),
                   ("p10_rt_s", lambda v: np.percentile(v, 10)), ("p90_rt_s", lambda v: np.percentile(v, 90)))}}
        if too_slow_s is not None:
            row["n_too_slow"] = int((rt > too_slow_s).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def group_means(table: pd.DataFrame, value: str, by: Sequence[str]) -> pd.DataFrame:
    """Mean, SEM and n over participants of ``value`` per ``by`` (e.g. group x phase)."""
    out = table.groupby(list(by), sort=False)[value].agg(mean="mean", sem="sem", n="count")
    return out.reset_index().assign(measure=value)


def effect_test(table: pd.DataFrame, value: str, column: str, levels: tuple[str, str],
                *, paired: bool, by: Sequence[str] = ()) -> pd.DataFrame:
    """Compare ``value`` between two ``levels`` of ``column`` (per ``by`` cell): Wilcoxon
    signed-rank over participants when ``paired`` (within-person: congruency, switch, baseline vs
    scan), else Mann-Whitney U (between groups, e.g. curricula). Columns: by..., measure, level_a,
    level_b, mean_a, mean_b, difference (a - b), n_a, n_b, statistic, p_value, test."""
    rows = []
    groups = [((), table)] if not by else list(table.groupby(list(by), sort=True))
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        if paired:
            wide = part.pivot_table(index="participant_id", columns=column, values=value, aggfunc="mean").dropna()
            if not set(levels) <= set(wide.columns) or len(wide) < 2:
                continue
            a, b = wide[levels[0]].to_numpy(), wide[levels[1]].to_numpy()
            result = stats.wilcoxon(a, b) if np.any(a != b) else None
            test = "wilcoxon signed-rank"
        else:
            a = part.loc[part[column] == levels[0], value].dropna().to_numpy()
            b = part.loc[part[column] == levels[1], value].dropna().to_numpy()
            if len(a) < 1 or len(b) < 1:
                continue
            result = stats.mannwhitneyu(a, b, alternative="two-sided")
            test = "mann-whitney U"
        rows.append({**dict(zip(by, key)), "measure": value, "level_a": levels[0], "level_b": levels[1],
                     "mean_a": float(np.mean(a)), "mean_b": float(np.mean(b)),
                     "difference": float(np.mean(a) - np.mean(b)), "n_a": len(a), "n_b": len(b),
                     "statistic": float(result.statistic) if result else np.nan,
                     "p_value": float(result.pvalue) if result else 1.0, "test": test})
    return pd.DataFrame(rows)


def parameter_change(fits: pd.DataFrame, parameters: Sequence[str], column: str, levels: tuple[str, str],
                     *, model: str = "factorized") -> pd.DataFrame:
    """Within-person change of fitted parameters between two ``levels`` of ``column`` (e.g. the
    2022 baseline vs scan phases; the fits of ``garden.modeling.psychometric.fit_table`` per phase),
    Wilcoxon signed-rank per parameter. ``bias`` is compared as |bias| (as in the 2022 paper)."""
    own = fits[fits["model"] == model]
    long = []
    for param in parameters:
        values = own[param].abs() if param == "bias" else own[param]
        long.append(own[["participant_id", column]].assign(value=values.to_numpy(),
                                                           parameter="|bias|" if param == "bias" else param))
    table = pd.concat(long, ignore_index=True)
    return effect_test(table, "value", column, levels, paired=True, by=["parameter"])


def behaviour_tests(trials: pd.DataFrame, *, value: str = "accuracy") -> pd.DataFrame:
    """The papers' within-person behavioural contrasts on the analysed trials, per group:
    congruent vs incongruent and stay vs switch ``value`` (``accuracy``, or ``median_rt_s`` in
    seconds; Wilcoxon signed-rank over participants)."""
    return pd.concat([
        effect_test(congruency_table(trials), value, "congruency", ("congruent", "incongruent"), paired=True,
                    by=["group"]),
        effect_test(switch_stay(trials), value, "switch", ("stay", "switch"), paired=True, by=["group"]),
    ], ignore_index=True)


def parameter_group_tests(fits: pd.DataFrame, parameters: Sequence[str], *, column: str = "group",
                          model: str = "factorized") -> pd.DataFrame:
    """Between-group tests of fitted parameters (the 2018 between-curriculum comparisons): for every
    pair of ``column`` values, Mann-Whitney U per parameter of ``model``'s fits (``bias`` as |bias|)."""
    own = fits[fits["model"] == model]
    levels = sorted(own[column].dropna().astype(str).unique())
    long = pd.concat([own[["participant_id"]].assign(
        **{column: own[column].astype(str).to_numpy(), "parameter": "|bias|" if p == "bias" else p,
           "value": (own[p].abs() if p == "bias" else own[p]).to_numpy()}) for p in parameters if p in own],
        ignore_index=True)
    tests = [effect_test(long, "value", column, (a, b), paired=False, by=["parameter"])
             for i, a in enumerate(levels) for b in levels[i + 1:]]
    return pd.concat(tests, ignore_index=True) if tests else pd.DataFrame()


def slope_tests(fits: pd.DataFrame, *, by: Sequence[str] = ("group",)) -> pd.DataFrame:
    """Relevant vs irrelevant sigmoid slopes (2018): per participant the slope of the
    ``sigmoid_relevant`` and the ``sigmoid_irrelevant`` fit (per feature level), Wilcoxon
    signed-rank over participants per ``by`` group (a rule-following learner: relevant >> 0 and
    irrelevant near 0; intrusion of the other rule: irrelevant > 0)."""
    keys = [c for c in by if c in fits]
    own = fits[fits["model"].isin(["sigmoid_relevant", "sigmoid_irrelevant"])]
    long = own[["participant_id", *keys, "model", "slope"]].assign(
        feature=own["model"].str.removeprefix("sigmoid_"))
    return effect_test(long, "slope", "feature", ("relevant", "irrelevant"), paired=True, by=keys)


def behavioural_rsa(cells: pd.DataFrame, models: Sequence[str] = MODELS) -> pd.DataFrame:
    """The 2018 behavioural RSA: each participant's choice RDM |p_i - p_j| (50 conditions, answered
    ones only) against the choice-model RDMs of their rule, sequentially orthogonalised in the order
    of ``models`` (each model keeps only what the earlier ones do not explain), compared by
    Kendall's tau_a. ``cells``: an ``garden.analysis.behaviour.choices.cell_table``. One row per participant:
    participant_id, group (when present), rule_code, ``tau_<model>``."""
    matrix = probability_matrix(cells)
    info = cells.drop_duplicates("participant_id").set_index("participant_id")
    rows = []
    for pid, p in matrix.iterrows():
        code = int(info.loc[pid, "rule_code"])
        keep = np.flatnonzero(np.isfinite(p.to_numpy(float)))
        data = lower(choice_rdm(p.to_numpy(float)[keep]))
        columns = np.column_stack([lower(choice_model_rdm(m, code)[np.ix_(keep, keep)]) for m in models])
        taus = ([kendall_tau_a(data, column) for column in sequential_orthogonalise(columns).T]
                if np.ptp(data) > 0 else [np.nan] * len(models))
        rows.append({"participant_id": pid, **({"group": info.loc[pid, "group"]} if "group" in info else {}),
                     "rule_code": code, **{f"tau_{m}": t for m, t in zip(models, taus)}})
    return pd.DataFrame(rows)


def rsa_tests(taus: pd.DataFrame, *, by: str = "group") -> pd.DataFrame:
    """Tests of the behavioural-RSA τ_a (``behavioural_rsa``): per ``by`` group and model, a
    Wilcoxon signed-rank test of the participants' τ_a against 0 (two-sided), and for every pair of
    groups a Mann-Whitney U test per model. Columns: comparison ('against 0' / 'between groups'),
    model, level_a, level_b ('' against 0), mean_a, mean_b, difference, n_a, n_b, statistic,
    p_value, test."""
    models = [c.removeprefix("tau_") for c in taus.columns if c.startswith("tau_")]
    long = pd.concat([taus[["participant_id", by]].assign(model=m, tau=taus[f"tau_{m}"].to_numpy())
                      for m in models], ignore_index=True).dropna(subset=["tau"])
    rows = []
    for (group, model), part in long.groupby([by, "model"], sort=True):
        x = part["tau"].to_numpy(float)
        result = stats.wilcoxon(x) if len(x) >= 2 and np.any(x != 0) else None
        rows.append({"comparison": "against 0", "model": model, "level_a": str(group), "level_b": "",
                     "mean_a": float(x.mean()), "mean_b": 0.0, "difference": float(x.mean()), "n_a": len(x),
                     "n_b": 0, "statistic": float(result.statistic) if result else np.nan,
                     "p_value": float(result.pvalue) if result else np.nan, "test": "wilcoxon signed-rank"})
    levels = sorted(long[by].astype(str).unique())
    between = [effect_test(long.assign(**{by: long[by].astype(str)}), "tau", by, (a, b), paired=False,
                           by=["model"]) for i, a in enumerate(levels) for b in levels[i + 1:]]
    between = [t.drop(columns=["measure"]).assign(comparison="between groups") for t in between if len(t)]
    return pd.concat([pd.DataFrame(rows), *between], ignore_index=True)
