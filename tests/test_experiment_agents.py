"""Simulated participants: choices follow their model, RTs are plausible, learners improve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from garden.core.errors import UserError
from garden.core.task import congruency, item_table
from garden.experiment.config import load_protocol
from garden.experiment.sequences import assign, session_sequence
from garden.modeling.agents import get_agent, parse_params

P2022 = load_protocol("flesch2022")


@pytest.fixture(scope="module")
def trials() -> pd.DataFrame:
    return session_sequence(P2022, assign(P2022, "P003"), 1)  # rule code 3


def _accuracy(trials, choice, mask):
    value = trials.reward_value.to_numpy()
    keep = mask & (value != 0)
    return float(np.mean(choice[keep] == (value[keep] > 0)))


def test_agents_choose_as_their_models_say(trials):
    rng = np.random.default_rng(0)
    kind = congruency(trials.branchiness, trials.leafiness, rule_code=3)
    congruent, incongruent = kind == "congruent", kind == "incongruent"
    items = item_table(3)
    fac, _ = get_agent("factorized", {"slope": 8, "lapse": 0}).respond(trials, rng, items)
    lin, _ = get_agent("linear", {"slope": 8, "lapse": 0}).respond(trials, rng, items)
    rnd, _ = get_agent("random").respond(trials, rng, items)
    everything = np.ones(len(trials), bool)
    assert _accuracy(trials, fac, everything) > 0.97
    # one shared boundary: right where the rules agree, at chance where they conflict
    assert _accuracy(trials, lin, congruent) > 0.97 and abs(_accuracy(trials, lin, incongruent) - 0.5) < 0.1
    assert _accuracy(trials, fac, incongruent) > 0.95
    assert abs(_accuracy(trials, rnd, everything) - 0.5) < 0.05


def test_p_accept_is_the_models_prediction():
    items = item_table(1)
    p = get_agent("factorized", {"slope": 20, "lapse": 0.1}).p_accept(items, items)
    value = items.reward_value.to_numpy()
    assert np.allclose(p[value > 0], 0.9, atol=1e-6) and np.allclose(p[value < 0], 0.1, atol=1e-6)
    assert np.allclose(p[value == 0], 0.5)


def test_learner_improves_over_trials(trials):
    choice, _ = get_agent("learner").respond(trials, np.random.default_rng(1), item_table(3))
    first = np.arange(len(trials)) < 100
    last = np.arange(len(trials)) >= len(trials) - 300
    assert _accuracy(trials, choice, first) < 0.75 < 0.9 < _accuracy(trials, choice, last)


def test_rts_are_plausible_and_slower_for_hard_trees(trials):
    _, rt = get_agent("factorized", {"rt_min_s": 0.3, "rt_mean_s": 0.7}).respond(
        trials, np.random.default_rng(2), item_table(3))
    assert rt.min() > 0.3 and 0.45 < np.median(rt) < 1.0 and np.quantile(rt, 0.99) < 2.5
    value = trials.reward_value.abs().to_numpy()
    assert rt[value == 0].mean() > rt[value == 50].mean() + 0.1


def test_same_seed_same_responses_and_bad_params_refused(trials):
    a = get_agent("factorized").respond(trials, np.random.default_rng(5), item_table(3))
    b = get_agent("factorized").respond(trials, np.random.default_rng(5), item_table(3))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert parse_params("slope=5, lapse=0.1") == {"slope": 5.0, "lapse": 0.1}
    with pytest.raises(UserError, match="not name=number"):
        parse_params("slope:5")
    with pytest.raises(UserError, match="unknown parameter"):
        get_agent("linear", {"delta_north": 3}).p_accept(trials, item_table(3))
    with pytest.raises(UserError, match="unknown agent"):
        get_agent("genius")
