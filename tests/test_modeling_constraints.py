"""lmfit.Parameters honoured by the batched fitter: fixed, bounded and tied parameters, the checks on
them, and the same optimum as lmfit.minimize on the published data."""

from __future__ import annotations

import numpy as np
import pytest

lmfit = pytest.importorskip("lmfit")

from garden.core.errors import UserError  # noqa: E402
from garden.modeling.cells import participant_cells  # noqa: E402
from garden.modeling.choice_model import ChoiceModel  # noqa: E402
from garden.modeling.constraints import lmfit_result  # noqa: E402
from garden.modeling.flesch2018 import load_trials  # noqa: E402
from garden.modeling.models import MODELS  # noqa: E402
from garden.modeling.psychometric import fit_cells, fit_table  # noqa: E402
from garden.modeling.recovery import simulate_study  # noqa: E402


@pytest.fixture(scope="module")
def study():
    trials, _ = simulate_study(["factorized_full"], [200], 6, (1, 2, 5, 6), seed=4)
    return trials


def _params(*specs: tuple) -> "lmfit.Parameters":
    params = lmfit.Parameters()
    for name, options in specs:
        params.add(name, **options)
    return params


def test_fixed_bounded_and_tied_parameters(study):
    params = _params(("lapse_north", dict(value=0.0, vary=False)), ("lapse_south", dict(value=0.0, vary=False)),
                     ("slope_north", dict(value=3.0, min=0.0, max=2.5)), ("slope_south", dict(expr="slope_north")))
    fits = fit_table(study, ["factorized_full"], n_starts=6, params=params)
    assert (fits.lapse_north == 0).all() and (fits.lapse_south == 0).all()
    np.testing.assert_array_equal(fits.slope_north, fits.slope_south)
    assert (fits.slope_north <= 2.5).all() and (fits.k == 5).all()
    np.testing.assert_allclose(fits.bic, 2 * fits.nll + 5 * np.log(fits.n_obs))
    free = fit_table(study, ["factorized_full"], n_starts=6)
    assert (fits.nll.to_numpy() >= free.nll.to_numpy() - 1e-6).all()   # a constraint never fits better


def test_a_shared_slope_reproduces_the_nested_model(study):
    """factorized_full with both slopes, offsets and lapses tied is the factorized model."""
    params = _params(*[(f"{kind}_north", {}) for kind in ("slope", "offset", "lapse")],
                     *[(f"{kind}_south", dict(expr=f"{kind}_north")) for kind in ("slope", "offset", "lapse")])
    data, _ = participant_cells(study)
    tied = fit_cells(data, ["factorized_full"], n_starts=10, params=params)["factorized_full"]
    nested = fit_cells(data, ["factorized"], n_starts=10)["factorized"]
    np.testing.assert_allclose(tied.nll, nested.nll, atol=1e-4)


def test_bad_parameters_are_refused_in_one_line(study):
    data, _ = participant_cells(study)
    with pytest.raises(UserError, match="not parameters of factorized.*slope"):
        fit_cells(data, ["factorized"], params=_params(("slope_north", {})))
    with pytest.raises(UserError, match="outside the model's bounds"):
        fit_cells(data, ["factorized"], params=_params(("lapse", dict(value=0.9, vary=False))))
    with pytest.raises(UserError, match="one model"):
        fit_table(study, ["factorized", "linear"], params=_params(("lapse", dict(value=0.0, vary=False))))


def test_choice_model_takes_parameters_and_gives_lmfit_reports(study):
    model = ChoiceModel("factorized", params=_params(("lapse", dict(value=0.0, vary=False))), n_starts=6).fit(study)
    assert (model.params_["lapse"] == 0).all()
    result = model.lmfit_result(study, model.params_.index[0])
    assert result.params["lapse"].vary is False
    assert result.residual[0] / 2 == pytest.approx(model.nll_.iloc[0], abs=1e-4)
    assert "[[Variables]]" in lmfit.fit_report(result)


def test_batched_fitter_and_lmfit_minimize_reach_the_same_optimum(flesch2018):
    """Four published participants (exp1a test phase), factorized with the lapse fixed at 0: the
    batched fit's NLL equals lmfit.minimize's best over four starts (the published one and three
    seeded random ones) to 1e-4 nats, never worse."""
    trials = load_trials(flesch2018, "exp1a", phase="test")
    trials = trials[trials.participant_id.isin(trials.participant_id.unique()[:4])]
    params = _params(("lapse", dict(value=0.0, vary=False)))
    data, _ = participant_cells(trials)
    batched = fit_cells(data, ["factorized"], params=params)["factorized"]
    model, rng = MODELS["factorized"], np.random.default_rng(0)
    bounds = model.bounds()
    for i, d in enumerate(data):
        starts = [None] + [rng.uniform(bounds[:, 0], bounds[:, 1]) for _ in range(3)]
        best = min(lmfit_result(model, d, "bernoulli", params, s).residual[0] / 2 for s in starts)
        assert batched.nll[i] <= best + 1e-6
        assert batched.nll[i] == pytest.approx(best, abs=1e-4)
