"""The group report's behavioural analyses: posterior predictive checks (known answers on agents),
the 2018 behavioural-RSA tests, and the 2022 baseline vs scan change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from garden.analysis.behaviour.measures import behavioural_rsa, rsa_tests
from garden.analysis.behaviour.choices import cell_table
from garden.analysis.behaviour.phase_change import phase_tests, phase_values
from garden.analysis.behaviour.ppc import binomial_deviance, predictive_checks
from garden.modeling.agents import get_agent
from garden.modeling.psychometric import fit_table
from garden.modeling.recovery import simulated_trials


def _agent_trials(name: str, pid: str, rule_code: int, seed: int, *, n: int = 400, phase: str = "test",
                  **params) -> pd.DataFrame:
    trials = simulated_trials(n, pid, rule_code).sample(frac=1.0, random_state=seed)
    trials = trials.assign(rule_code=rule_code, trial=np.arange(1, n + 1), block=1, phase=phase)
    choice, rt = get_agent(name, params, seed).respond(trials, np.random.default_rng(seed))
    return trials.assign(choice=choice, rt=rt, group=name)


def _people(name: str, n: int, first_seed: int) -> pd.DataFrame:
    return pd.concat([_agent_trials(name, f"{name[0].upper()}{i}", (1, 2, 3, 4, 5, 6)[i % 6], first_seed + i,
                                    slope=4.0, lapse=0.03) for i in range(n)], ignore_index=True)


@pytest.fixture(scope="module")
def factorized_group():
    trials = _people("factorized", 6, 0)
    return cell_table(trials), fit_table(trials, ["factorized", "linear"])


def test_binomial_deviance_by_hand():
    assert binomial_deviance(np.array([5.0]), np.array([10.0]), np.array([0.5]))[0] == pytest.approx(0.0)
    assert binomial_deviance(np.array([0.0]), np.array([4.0]), np.array([0.2]))[0] == pytest.approx(
        -2 * 4 * np.log(0.8))
    assert binomial_deviance(np.array([3.0]), np.array([4.0]), np.array([0.5]))[0] == pytest.approx(
        2 * (3 * np.log(3 / 2) + np.log(1 / 2)))


def test_the_generating_model_passes_its_predictive_check_and_a_wrong_model_fails(factorized_group):
    cells, fits = factorized_group
    checks = predictive_checks(cells, fits, ["factorized", "linear"], n_replicates=400, seed=5)
    summary = checks["ppc_summary"].query("group == 'all'").set_index(["model", "statistic"]).p_value
    # data simulated from the factorized model: its checks are not extreme, the linear model's are
    assert summary["factorized", "deviance"] > 0.05 and summary["factorized", "congruency_effect"] > 0.05
    assert summary["linear", "deviance"] < 0.01 and summary["linear", "congruency_effect"] < 0.01
    people = checks["ppc_participants"].set_index(["model", "participant_id"]).p_value
    assert (people["linear"] < 0.01).all() and (people["factorized"] > 0.01).all() and len(people) == 12
    curves = checks["ppc_curves"]
    assert set(curves.feature) == {"relevant", "irrelevant"} and (curves.band_lo <= curves.band_hi).all()
    inside = curves[curves.model == "factorized"].eval("band_lo - 0.02 <= p_accept <= band_hi + 0.02")
    assert inside.mean() > 0.9  # the observed group means lie in the fitting model's predictive band
    again = predictive_checks(cells, fits, ["factorized", "linear"], n_replicates=400, seed=5)
    pd.testing.assert_frame_equal(again["ppc_summary"], checks["ppc_summary"])  # seeded
    assert (checks["ppc_summary"].seed == 5).all() and (checks["ppc_summary"].n_replicates == 400).all()


def test_a_linear_agents_data_pass_the_linear_check():
    trials = _people("linear", 4, 20)
    checks = predictive_checks(cell_table(trials), fit_table(trials, ["linear"]), ["linear"], n_replicates=300,
                               seed=1)["ppc_summary"]
    assert (checks.query("group == 'all'").p_value > 0.05).all()


def test_rsa_tests_tell_factorized_from_linear_groups():
    trials = pd.concat([_people("factorized", 6, 0), _people("linear", 6, 30)], ignore_index=True)
    tests = rsa_tests(behavioural_rsa(cell_table(trials))).set_index(["comparison", "model", "level_a"])
    zero = tests.loc["against 0"]
    assert zero.loc[("factorized", "factorized"), "p_value"] < 0.05 and zero.loc[("factorized", "factorized"), "n_a"] == 6
    assert zero.loc[("linear", "linear"), "mean_a"] > 0.2 and zero.loc[("linear", "linear"), "p_value"] < 0.05
    between = tests.loc["between groups"]
    # the linear model's unique part separates the groups; factorized participants have none of it
    row = between.loc[("linear", "factorized")]
    assert row.level_b == "linear" and row.difference < -0.2 and row.p_value < 0.01 and row.test == "mann-whitney U"


def test_baseline_vs_scan_change_finds_the_sharper_choices_after_training():
    baseline = pd.concat([_agent_trials("factorized", f"P{i}", 1 + i % 4, i, n=200, phase="baseline",
                                        slope=1.0, lapse=0.05) for i in range(6)], ignore_index=True)
    scan = pd.concat([_agent_trials("factorized", f"P{i}", 1 + i % 4, 50 + i, n=400, phase="scan",
                                    slope=6.0, lapse=0.05) for i in range(6)], ignore_index=True)
    values = phase_values(pd.concat([baseline, scan], ignore_index=True))
    assert set(values.parameter) == {"|bias|", "lapse", "slope", "offset", "beta_factorized", "beta_linear"}
    assert (values.query("parameter == '|bias|'").value >= 0).all()
    tests = phase_tests(values).set_index("parameter")
    # a shallow baseline learner: its factorized choice-RDM beta rises and its fitted lapse falls in
    # every participant (the slope itself is weakly identified: fits at the bound 20, see docs/modeling.md)
    assert tests.loc["beta_factorized", "difference"] < 0 and tests.loc["beta_factorized", "p_value"] < 0.05
    assert tests.loc["lapse", "difference"] > 0 and tests.loc["lapse", "p_value"] < 0.05
    assert tests.loc["slope", "difference"] < 0 and (tests.n_a == 6).all()
    assert (tests.test == "wilcoxon signed-rank").all()
    assert phase_values(scan).empty and phase_tests(phase_values(scan)).empty  # no baseline: nothing to compare
