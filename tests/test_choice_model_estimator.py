"""ChoiceModel as a scikit-learn estimator: clone, get/set_params, NotFittedError, settings checked
at fit in one line, predict_proba (n, 2), predict, score = mean log-likelihood per trial, and the
scikit-learn ``check_estimator`` checks that apply to an estimator of trial tables."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_estimator

from garden.modeling.choice_model import ChoiceModel
from garden.modeling.recovery import simulate_study

APPLICABLE = {
    "check_estimator_cloneable", "check_estimator_tags_renamed", "check_valid_tag_types", "check_estimator_repr",
    "check_no_attributes_set_in_init", "check_estimators_unfitted", "check_do_not_raise_errors_in_init_or_set_params",
    "check_mixin_order", "check_estimators_partial_fit_n_features", "check_non_transformer_estimators_n_iter",
    "check_decision_proba_consistency", "check_parameters_default_constructible", "check_get_params_invariance",
    "check_set_params", "check_classifiers_one_label_sample_weights",
}
"""check_estimator checks that apply: those that do not fit on numeric arrays. The others feed
``fit`` a random feature matrix (ndarray, sparse, memmap, 1-D, complex, NaN/inf, multiclass y);
ChoiceModel's X is a trial table (participants, contexts, the trees' features, choices), so they
are refused with a TypeError saying so: they cannot apply."""


@pytest.fixture(scope="module")
def trials() -> pd.DataFrame:
    return simulate_study(["factorized"], [200], 3, (1, 2, 5, 6), seed=9)[0]


def test_clone_params_and_not_fitted():
    model = ChoiceModel("linear", n_starts=5)
    assert model.get_params(deep=True)["n_starts"] == 5 and model.get_params()["model"] == "linear"
    copy = clone(model.set_params(objective="choice-matrix"))
    assert copy.get_params() == model.get_params() and copy is not model
    assert not hasattr(model, "params_") and not hasattr(model, "bic_")
    with pytest.raises(NotFittedError):
        model.predict_proba(pd.DataFrame())


def test_bad_settings_are_refused_at_fit_in_one_line(trials):
    for setting in ({"objective": "nonsense"}, {"model": "nope"}, {"n_starts": 0}, {"missing": "keep"}):
        with pytest.raises(ValueError, match=next(iter(setting))) as info:
            ChoiceModel(**setting).fit(trials)
        assert "\n" not in str(info.value)
    with pytest.raises(TypeError, match="trial table"):
        ChoiceModel().fit(np.zeros((10, 3)))


def test_predict_proba_predict_and_score(trials):
    model = ChoiceModel("factorized", n_starts=6).fit(trials)
    proba = model.predict_proba(trials)
    assert proba.shape == (len(trials), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(trials), (proba[:, 1] > 0.5).astype(float))
    # every trial has a choice and was fitted: the mean log-likelihood is -(sum of NLLs) / trials
    assert model.score(trials) == pytest.approx(-model.nll_.sum() / model.to_frame().n_obs.sum(), rel=1e-9)
    flipped = model.score(trials, 1.0 - trials["choice"])
    assert flipped < model.score(trials)
    fitted_again = clone(model).fit(trials)
    np.testing.assert_allclose(fitted_again.nll_, model.nll_)


def test_the_check_estimator_checks_that_apply_pass():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(ChoiceModel(), on_fail=None)
    status = {}
    for r in results:
        status.setdefault(r["check_name"], set()).add(r["status"])
    assert APPLICABLE <= set(status)
    assert all(status[name] == {"passed"} for name in APPLICABLE), {n: status[n] for n in APPLICABLE}
    failed = [r for r in results if r["status"] == "failed"]
    assert all(isinstance(r["exception"], (TypeError, AssertionError)) for r in failed)
