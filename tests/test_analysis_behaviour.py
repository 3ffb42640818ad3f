"""Behavioural analyses: known answers on simulated agents, and the published 2018 effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from garden.analysis.behaviour.measures import (
    accuracy_table,
    behavioural_rsa,
    congruency_table,
    effect_test,
    learning_curve,
    parameter_change,
    parameter_group_tests,
    rt_summary,
    scored_trials,
    slope_tests,
    switch_stay,
)
from garden.analysis.behaviour.choices import cell_table
from garden.modeling.agents import get_agent
from garden.modeling.flesch2018 import load_trials
from garden.modeling.psychometric import fit_table
from garden.modeling.recovery import simulated_trials


def _agent_trials(name: str, pid: str, rule_code: int = 1, seed: int = 0, **params) -> pd.DataFrame:
    trials = simulated_trials(400, pid, rule_code).sample(frac=1.0, random_state=seed)
    trials = trials.assign(rule_code=rule_code, trial=np.arange(1, 401), block=np.arange(400) // 100 + 1)
    choice, rt = get_agent(name, params, seed).respond(trials, np.random.default_rng(seed))
    return trials.assign(choice=choice, rt=rt, group=name)


def test_scoring_switches_and_congruency_by_hand():
    trials = pd.DataFrame({"participant_id": "P", "session": 1, "phase": "test", "block": [1, 1, 1, 2],
                           "trial": [1, 2, 3, 4], "context": ["north", "north", "south", "south"],
                           "branchiness": [1, 5, 1, 5], "leafiness": [5, 5, 5, 3],
                           "reward_value": [50.0, 50.0, -50.0, 50.0], "choice": [1.0, 0.0, np.nan, 1.0],
                           "rt": [0.5, 0.7, np.nan, 0.6]})
    scored = scored_trials(trials)
    assert scored.correct.tolist()[:2] == [1.0, 0.0] and np.isnan(scored.correct[2]) and scored.correct[3] == 1.0
    assert scored.switch.isna().tolist() == [True, False, False, True]
    assert scored.switch[1:3].tolist() == ["stay", "switch"]
    # rule 1: north values leafiness, south branchiness; (1, 5) conflicts, (5, 5) agrees, (5, 3) is neutral
    assert scored.congruency.tolist() == ["incongruent", "congruent", "incongruent", "neutral"]
    acc = accuracy_table(trials, by=("phase",)).iloc[0]
    assert acc.n_scored == 3 and acc.accuracy == pytest.approx(2 / 3) and acc.n_missing == 1 and acc.chance == 0.5


def test_agents_show_the_expected_patterns():
    trials = pd.concat([_agent_trials("factorized", f"F{i}", code, i, slope=6.0, lapse=0.0)
                        for i, code in enumerate((1, 2, 5, 6))]
                       + [_agent_trials("random", f"R{i}", 1, 10 + i) for i in range(4)]
                       + [_agent_trials("linear", f"L{i}", 1, 20 + i, slope=6.0, lapse=0.0) for i in range(4)],
                       ignore_index=True)
    acc = accuracy_table(trials, by=("phase",)).set_index("participant_id").accuracy
    assert (acc.filter(like="F") > 0.9).all() and (acc.filter(like="R").between(0.4, 0.6)).all()
    cong = congruency_table(trials)
    effect = effect_test(cong, "accuracy", "congruency", ("congruent", "incongruent"), paired=True,
                         by=["group"]).set_index("group")
    # a linear (one-boundary) agent fails incongruent trees only; a factorized one has no congruency effect
    assert effect.loc["linear", "difference"] > 0.3 and abs(effect.loc["factorized", "difference"]) < 0.1
    groups = acc.rename("accuracy").reset_index().assign(group=lambda t: t.participant_id.str[0])
    between = effect_test(groups, "accuracy", "group", ("F", "R"), paired=False).iloc[0]
    assert between.test == "mann-whitney U" and between.difference > 0.3 and between.n_a == 4
    assert set(switch_stay(trials)["switch"]) == {"switch", "stay"}
    rts = rt_summary(trials, too_slow_s=1.0)
    assert (rts.median_rt_s > 0.25).all() and (rts.n_too_slow >= 0).all()


def test_learning_curve_rises_for_a_learner():
    trials = _agent_trials("learner", "A1", 1, 3, learning_tau=80.0, slope=8.0, lapse=0.0)
    curve = learning_curve(trials, bin_trials=100)
    assert curve.bin.tolist() == [1, 2, 3, 4] and curve.trial_start.tolist() == [1, 101, 201, 301]
    assert curve.accuracy.iloc[-1] - curve.accuracy.iloc[0] > 0.15


def test_parameter_change_uses_absolute_bias():
    fits = pd.DataFrame({"participant_id": np.repeat([f"P{i}" for i in range(8)], 2), "model": "factorized",
                         "phase": ["baseline", "scan"] * 8, "bias": [10.0, -2.0] * 8,
                         "lapse": [0.1, 0.05] * 8})
    table = parameter_change(fits, ["bias", "lapse"], "phase", ("baseline", "scan")).set_index("parameter")
    assert table.loc["|bias|", "difference"] == pytest.approx(8.0) and table.loc["lapse", "p_value"] < 0.05


def test_published_2018_effects(flesch2018):
    """Exp 1a test phase: blocked (200 trials per block) above interleaved accuracy, and every group
    more accurate on congruent than on incongruent trees (docs/behaviour.md has the numbers)."""
    trials = load_trials(flesch2018, "exp1a")
    test = accuracy_table(trials, by=("phase",))
    test = test[test.phase == "test"]
    means = test.groupby("group").accuracy.mean()
    assert means["b200"] > means["int"] and means["b200"] == max(means)
    cong = congruency_table(trials)
    effect = effect_test(cong[cong.phase == "test"], "accuracy", "congruency", ("congruent", "incongruent"),
                         paired=True, by=["group"])
    assert (effect.difference > 0).all() and (effect.p_value < 0.01).all() and len(effect) == 4


def test_parameter_group_tests_find_a_lapse_difference():
    rng = np.random.default_rng(1)
    fits = pd.DataFrame({"participant_id": [f"P{i}" for i in range(30)], "model": "factorized",
                         "group": ["blocked"] * 15 + ["interleaved"] * 15,
                         "lapse": np.r_[rng.uniform(0.0, 0.05, 15), rng.uniform(0.1, 0.2, 15)],
                         "bias": rng.normal(0, 10, 30)})
    table = parameter_group_tests(fits, ["lapse", "bias"]).set_index("parameter")
    assert table.loc["lapse", "p_value"] < 1e-4 and table.loc["lapse", "difference"] < 0
    assert table.loc["|bias|", "p_value"] > 0.01 and table.loc["lapse", "test"] == "mann-whitney U"


def test_relevant_slopes_exceed_irrelevant_ones_for_rule_followers():
    trials = pd.concat([_agent_trials("factorized", f"F{i}", 1, i, slope=3.0, lapse=0.02) for i in range(6)],
                       ignore_index=True)
    fits = fit_table(trials, ["sigmoid_relevant", "sigmoid_irrelevant"])
    row = slope_tests(fits).iloc[0]
    assert row.group == "factorized" and row.n_a == 6
    assert row.mean_a > 1.0 and abs(row.mean_b) < 0.5 and row.p_value < 0.05


def test_behavioural_rsa_tells_factorized_from_linear_agents():
    trials = pd.concat([_agent_trials("factorized", f"F{i}", code, i, slope=6.0, lapse=0.02)
                        for i, code in enumerate((1, 2, 5))]
                       + [_agent_trials("linear", f"L{i}", code, 10 + i, slope=6.0, lapse=0.02)
                          for i, code in enumerate((1, 2, 5))], ignore_index=True)
    taus = behavioural_rsa(cell_table(trials)).set_index("participant_id")
    assert (taus.filter(like="F", axis=0).tau_factorized > 0.3).all()
    # the linear model's unique part (after the factorized one) explains the linear agents, not the others
    assert taus.filter(like="L", axis=0).tau_linear.min() > taus.filter(like="F", axis=0).tau_linear.max()
