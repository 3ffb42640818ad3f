"""Choice models with a learning curve (``garden.modeling.learning_curve``): the baseline that keeps a
gradual learner from being taken for a network. Known answers from the project's agents, whose
curve counts trials (the model counts feedback trials) through the shipped 2018 protocol."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from garden.analysis.networks.recovery import protocol_sequence
from garden.core.task import item_table
from garden.modeling.agents import get_agent
from garden.modeling.cells import participant_cells
from garden.modeling.learning_curve import LEARNING_MODELS, LearningBatch, experience, fit_learning
from garden.modeling.models import MODELS
from garden.modeling.psychometric import fit_table, rule_gradients, predict

TAUS = (30.0, 60.0, 120.0)


def _person(pid: str, curriculum: str, tau: float, rng: np.random.Generator) -> pd.DataFrame:
    trials = protocol_sequence("flesch2018", pid, curriculum)
    agent = get_agent("learner" if tau else "factorized", {"slope": 5.0, "lapse": 0.02, "learning_tau": tau})
    p = agent.p_accept(trials, item_table(int(trials["rule_code"].iloc[0])))
    return trials.assign(choice=(rng.random(len(p)) < p).astype(float))


@pytest.fixture(scope="module")
def fitted():
    """Three learners (tau 30, 60, 120 trials) and two static factorized agents, B200 and interleaved."""
    rng = np.random.default_rng(11)
    people = [_person(f"P{i + 1:03d}", ("B200", "interleaved")[i % 2], tau, rng)
              for i, tau in enumerate((*TAUS, 0.0, 0.0))]
    trials = pd.concat(people, ignore_index=True)
    static = fit_table(trials, ("factorized", "linear"))
    learning = fit_learning(trials, static)
    bic = pd.concat([static, learning]).pivot(index="participant_id", columns="model", values="bic")
    return trials, static, learning, bic


def test_experience_counts_feedback_trials_before_each_trial():
    person = pd.DataFrame({"feedback": [1, 1, 0, 1, 0]})
    assert experience(person).tolist() == [0, 1, 2, 2, 3]


def test_at_the_shortest_time_constant_the_model_is_the_static_one_after_the_first_trial():
    trials = protocol_sequence("flesch2018", "P004", "interleaved")
    trials = trials.assign(choice=np.arange(len(trials)) % 2.0)
    model = MODELS["factorized"]
    params = {"delta_north": 10.0, "delta_south": -5.0, "slope": 4.0, "offset": 0.2, "lapse": 0.05}
    data, _ = participant_cells(trials)
    batch = LearningBatch(model, data, [trials])
    theta = np.append(model.theta(params, data[0].rules.contexts), -1.0)[None, :]
    p = batch.p(theta, np.array([0]))[0]
    static = predict(model, params, trials, rule_gradients(trials))
    assert p[0] == 0.5                                       # no feedback yet: chance
    np.testing.assert_allclose(p[1:], static[1:], atol=1e-4)   # exp(-10) of the way from it


def test_people_of_unequal_lengths_and_conditions_get_each_trial_s_own_curve():
    """Evaluated per condition and read out per trial (``conditions``), p equals the equation at every trial of
    people with different trial counts, counterbalancing and sets of conditions (one without the trees of its
    highest branchiness level: 40 conditions against 50, 480 trials against 600; the rest of its row padding)."""
    long = protocol_sequence("flesch2018", "P001", "B200")
    short = protocol_sequence("flesch2018", "P006", "interleaved")
    short = short[short["branchiness"] < short["branchiness"].max()]
    people = [t.assign(choice=np.arange(len(t)) % 2.0) for t in (long, short)]
    model = MODELS["factorized"]
    params = {"delta_north": 10.0, "delta_south": -5.0, "slope": 4.0, "offset": 0.2, "lapse": 0.05}
    data, _ = participant_cells(pd.concat(people, ignore_index=True))
    batch = LearningBatch(model, data, people)
    assert batch.condition_context.shape[1] == 50 and len(np.unique(batch.condition[1, :len(short)])) == 40
    theta = np.stack([np.append(model.theta(params, d.rules.contexts), 1.5) for d in data])
    p = batch.p(theta, np.arange(2))
    for i, person in enumerate(people):
        static = predict(model, params, person, rule_gradients(person))
        expected = 0.5 + (static - 0.5) * -np.expm1(-experience(person) / 10.0 ** 1.5)
        np.testing.assert_allclose(p[i, :len(person)], expected, rtol=1e-12, atol=1e-15)


def test_learners_are_fitted_better_with_a_learning_curve_and_static_agents_without(fitted):
    _, _, learning, bic = fitted
    learners, static = bic.index[:3], bic.index[3:]
    assert (bic.loc[learners, "factorized_learning"] < bic.loc[learners, "factorized"] - 10).all()
    assert (bic.loc[static, "factorized"] < bic.loc[static, "factorized_learning"]).all()
    tau = learning[learning.model == "factorized_learning"].set_index("participant_id").tau
    np.testing.assert_allclose(tau.loc[learners].to_numpy(), TAUS, rtol=0.6)   # recovered within a factor 1.6
    assert tau.loc[learners].is_monotonic_increasing
    assert set(learning.model) == set(LEARNING_MODELS) and (learning.k == [6, 6, 6, 6, 6, 5, 5, 5, 5, 5]).all()


def test_the_learning_fit_is_never_worse_than_the_static_fit_it_starts_from(fitted):
    _, static, learning, _ = fitted
    nll = pd.concat([static, learning]).pivot(index="participant_id", columns="model", values="nll")
    # the static model is the learning one at tau -> 0, up to the first trial at chance (log 2)
    assert (nll.factorized_learning <= nll.factorized + np.log(2) + 1e-6).all()
    assert (nll.linear_learning <= nll.linear + np.log(2) + 1e-6).all()
