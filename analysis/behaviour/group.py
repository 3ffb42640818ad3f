"""The group report's further behavioural analyses of the papers, as one set of tidy tables.

Why: the demo and ``garden report`` on a participants tree need the same tables, computed from
the same inputs (every trial, the analysed trials, their cell table and fits); this module says
which analysis makes which table, so the pipeline only saves them.

Tables (every one per participant or per group, see the functions named):

* ``ppc_curves``, ``ppc_summary``, ``ppc_participants``: posterior predictive checks of every
  fitted model (``garden.analysis.behaviour.ppc.predictive_checks``).
* ``behavioural_rsa``, ``behavioural_rsa_tests``: the 2018 behavioural RSA (Kendall τ_a on
  sequentially orthogonalised choice-model RDMs; ``garden.analysis.behaviour.measures.behavioural_rsa``,
  ``rsa_tests``).
* ``baseline_scan_values``, ``baseline_scan_tests``: the 2022 baseline vs scan change
  (``garden.analysis.behaviour.phase_change``), when both phases exist.
* ``sigmoid_slopes``, ``slope_tests``: relevant vs irrelevant one-parameter sigmoid slopes (2018).
* ``rt_by_phase``: median RT (s) per group and phase (group means of the participants' medians).
* ``trial_types``: accuracy and median RT (s) per group and trial type (congruent, incongruent,
  stay, switch); ``behaviour_rt_tests``: the paired RT contrasts of those types.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from garden.analysis.behaviour.measures import (
    accuracy_table,
    behaviour_tests,
    behavioural_rsa,
    congruency_table,
    group_means,
    rsa_tests,
    slope_tests,
    switch_stay,
)
from garden.analysis.behaviour.phase_change import PHASES, phase_tests, phase_values
from garden.analysis.behaviour.ppc import N_REPLICATES, predictive_checks
from garden.modeling.psychometric import fit_table

SLOPE_MODELS = ("sigmoid_relevant", "sigmoid_irrelevant")


def trial_types(trials: pd.DataFrame) -> pd.DataFrame:
    """Group means (± SEM over participants) of accuracy and median RT (s) per trial type:
    congruent / incongruent trees and stay / switch trials (``garden.analysis.behaviour.measures``)."""
    per_person = pd.concat([
        congruency_table(trials).query("congruency != 'neutral'").rename(columns={"congruency": "trial_type"}),
        switch_stay(trials).rename(columns={"switch": "trial_type"})], ignore_index=True)
    return pd.concat([group_means(per_person, value, ["group", "trial_type"])
                      for value in ("accuracy", "median_rt_s")], ignore_index=True)


def group_behaviour(all_trials: pd.DataFrame, trials: pd.DataFrame, cells: pd.DataFrame, fits: pd.DataFrame, *,
                    models: Sequence[str], n_replicates: int = N_REPLICATES, seed: int = 0,
                    phases: tuple[str, str] = PHASES) -> dict[str, pd.DataFrame]:
    """Every table of the module docstring. ``all_trials``: every phase; ``trials``: the analysed
    phase (``garden.analysis.behaviour.choices.analysis_trials``), ``cells`` its ``cell_table``, ``fits`` its
    ``fit_table`` of ``models``. ``seed`` seeds the predictive checks' replicates."""
    tables = dict(predictive_checks(cells, fits, models, n_replicates=n_replicates, seed=seed))
    taus = behavioural_rsa(cells)
    tables["behavioural_rsa"] = taus
    tables["behavioural_rsa_tests"] = rsa_tests(taus)
    values = phase_values(all_trials, phases)
    if not values.empty:
        tables["baseline_scan_values"] = values
        tables["baseline_scan_tests"] = phase_tests(values, phases)
    slopes = fit_table(trials, SLOPE_MODELS)
    tables["sigmoid_slopes"] = slopes[["participant_id", "group", "model", "slope"]]
    tables["slope_tests"] = slope_tests(slopes)
    tables["rt_by_phase"] = group_means(accuracy_table(all_trials, by=("phase",)), "median_rt_s", ["group", "phase"])
    tables["trial_types"] = trial_types(trials)
    tables["behaviour_rt_tests"] = behaviour_tests(trials, value="median_rt_s")
    return tables
