"""Group model comparison: VBA_groupBMC reproduced on the published runs, winners, LR tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from garden.modeling.comparison import (
    between_groups,
    bms,
    bms_table,
    exact_bms,
    exceedance_probabilities,
    family_bms,
    family_bms_table,
    likelihood_ratio_tests,
    winners,
)
from garden.modeling.flesch2018 import EXPERIMENTS, load_published_bms, load_published_fits

from benchmarks.bench_bms import FAMILIES, differences, equal_family_datasets, weak_evidence

COMPARED = ["factorized_full", "linear"]


def test_bms_reproduces_every_published_group(flesch2018):
    n_groups = 0
    for exp in EXPERIMENTS:
        fits = load_published_fits(flesch2018, exp)
        published = load_published_bms(flesch2018, exp)
        for group, part in fits[fits.lme.notna()].groupby("group"):
            lme = part.pivot(index="group_index", columns="model", values="lme")[COMPARED]
            res = bms(lme.to_numpy(), stop="vba")  # default prior 1/K = 0.5 and VBA's stopping rule, as published
            ref = published[published.group == group].set_index("model").loc[COMPARED]
            assert res["F"] == pytest.approx(ref.F.iloc[0], abs=1e-6)
            assert res["F0"] == pytest.approx(ref.F0.iloc[0], abs=1e-6)
            assert res["Fffx"] == pytest.approx(ref.Fffx.iloc[0], abs=1e-6)
            assert res["bor"] == pytest.approx(ref.bor.iloc[0], abs=1e-6)
            np.testing.assert_allclose(res["prior"], ref.alpha_prior)
            np.testing.assert_allclose(res["expected_frequency"], ref.Ef, atol=1e-3)
            np.testing.assert_allclose(res["variance_frequency"], ref.Vf, atol=1e-5)
            np.testing.assert_allclose(res["alpha"], ref.alpha, atol=0.01)
            np.testing.assert_allclose(res["exceedance_probability"], ref.ep, atol=0.02)
            np.testing.assert_allclose(res["posterior"].mean(axis=0), ref.mean_r, atol=1e-3)
            r = part.pivot(index="group_index", columns="model", values="bms_posterior_r")[COMPARED]
            np.testing.assert_allclose(res["posterior"], r.to_numpy(), atol=1e-6)
            n_groups += 1
    assert n_groups == 12


def test_bms_known_answers():
    strong = np.column_stack([np.zeros(30), np.full(30, -20.0)])  # everyone: model 1 by 20 nats
    res = bms(strong)
    assert res["expected_frequency"][0] > 0.95 and res["exceedance_probability"][0] > 0.999
    assert res["bor"] < 1e-6
    flat = bms(np.zeros((30, 2)))  # no information: the null wins
    assert flat["bor"] > 0.5
    np.testing.assert_allclose(flat["protected_exceedance_probability"], 0.5, atol=0.1)
    assert bms(strong, prior=1.0)["alpha"][0] == pytest.approx(res["alpha"][0] + 0.5, abs=0.01)


def test_exceedance_probabilities_sampled_and_exact_agree():
    exact = exceedance_probabilities(np.array([12.0, 9.0]))
    three = exceedance_probabilities(np.array([12.0, 9.0, 1e-3]), n_samples=200_000, seed=1)
    np.testing.assert_allclose(three[:2], exact, atol=0.01)
    quadrature = exceedance_probabilities(np.array([12.0, 9.0, 1e-3]))  # exact for K = 3 too
    np.testing.assert_allclose(quadrature[:2], exact, atol=1e-6)
    np.testing.assert_allclose(exceedance_probabilities(np.array([5.0, 5.0, 5.0])), 1 / 3, atol=1e-9)
    np.testing.assert_array_equal(three, exceedance_probabilities(np.array([12.0, 9.0, 1e-3]), 200_000, seed=1))
    assert three.sum() == pytest.approx(1.0)


def _fits() -> pd.DataFrame:
    rows = []
    for i, (nll5, nll8, nll4) in enumerate([(10.0, 9.0, 30.0), (10.0, 2.0, 15.0), (20.0, 19.9, 10.0)]):
        for model, k, nll in (("factorized", 5, nll5), ("factorized_full", 8, nll8), ("linear", 4, nll4)):
            rows.append({"participant_id": f"P{i}", "model": model, "k": k, "nll": nll,
                         "bic": 2 * nll + k * np.log(200), "aic": 2 * nll + 2 * k, "group": "ab"[i % 2]})
    return pd.DataFrame(rows)


def test_winners_and_likelihood_ratio_tests():
    fits = _fits()
    assert list(winners(fits, "bic").winner) == ["factorized", "factorized_full", "linear"]
    lrt = likelihood_ratio_tests(fits)
    np.testing.assert_allclose(lrt.lr_statistic, [2.0, 16.0, 0.2])
    assert (lrt.df == 3).all()
    assert lrt.p_value.iloc[1] == pytest.approx(0.001134, rel=1e-3)  # chi2(3) sf at 16


def test_bms_table_groups_and_columns():
    table = bms_table(_fits(), by="group", models=["factorized", "linear"], criterion="aic")
    assert list(table.columns[:6]) == ["group", "model", "n", "protected_exceedance_probability", "bor",
                                       "expected_frequency"]
    assert len(table) == 4 and table.converged.all() and (table.n_iter > 1).all()
    assert table.groupby("group").expected_frequency.sum().tolist() == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match="not in the fits"):
        bms_table(_fits(), models=["factorized", "nope"])


def test_family_bms_known_answers():
    rng = np.random.default_rng(0)
    L = rng.normal(0, 3, size=(30, 2)) + np.array([2.0, 0.0])
    single = family_bms(L, [[0], [1]])
    plain = bms(L)
    np.testing.assert_allclose(single["alpha"], plain["alpha"])
    np.testing.assert_allclose(single["exceedance_probability"], plain["exceedance_probability"])
    # a duplicate of model 0 in its family barely changes the family inference (its prior is split)
    dup = family_bms(L[:, [0, 0, 1]], [[0, 1], [2]])
    assert dup["alpha"].sum() == pytest.approx(1.0 + 30)
    assert abs(dup["expected_frequency"][0] - plain["expected_frequency"][0]) < 0.05
    with pytest.raises(ValueError, match="split"):
        family_bms(L, [[0], [0, 1]])


def test_family_bms_table_and_between_groups():
    rows = []
    for i in range(40):
        group = "ab"[i % 2]
        best = "factorized_full" if group == "a" else "linear"
        for model in ("factorized", "factorized_full", "linear"):
            rows.append({"participant_id": f"P{i}", "model": model, "group": group,
                         "bic": 100.0 - (12.0 if model == best else 0.0) - (6.0 if model == "factorized" else 0.0)})
    fits = pd.DataFrame(rows)
    table = family_bms_table(fits, by="group").set_index(["group", "family"])
    assert table.loc[("a", "factorized"), "exceedance_probability"] > 0.99
    assert table.loc[("b", "linear"), "exceedance_probability"] > 0.99
    assert table.loc[("a", "factorized"), "models"] == "factorized,factorized_full"
    different = between_groups(fits, "group").iloc[0]
    assert different.groups == "a,b" and different.p_same < 0.01
    same = between_groups(fits.assign(group=fits.participant_id.str[1:].astype(int) % 4 // 2), "group").iloc[0]
    assert same.p_same > 0.5


def test_likelihood_ratio_tests_refuse_the_choice_matrix_loss():
    with pytest.raises(ValueError, match="likelihood fits"):
        likelihood_ratio_tests(_fits().assign(objective="choice-matrix"))


def test_vb_runs_to_its_fixed_point_and_says_so():
    L = weak_evidence()  # 176 x 3, fractions of a nat: VBA's 32 iterations stop far from the fixed point
    fixed, vba = bms(L), bms(L, stop="vba")
    assert fixed["converged"] and fixed["n_iter"] > 100 and vba["n_iter"] <= 31
    assert abs(vba["expected_frequency"] - fixed["expected_frequency"]).max() > 0.05
    again = bms(L, tol=1e-9)  # a tighter tolerance moves nothing that matters
    np.testing.assert_allclose(again["expected_frequency"], fixed["expected_frequency"], atol=1e-6)
    stuck = bms(L, max_iter=10)
    assert stuck["n_iter"] == 10 and not stuck["converged"]


@pytest.mark.parametrize("families,prior", [(None, None), (None, 1.0), (FAMILIES, None), (FAMILIES, 1.0)])
def test_bms_agrees_with_groupbmc(families, prior):
    """groupBMC (PyPI port of VBA_groupBMC, run to its fixed point) on data sets whose families are
    truly equally frequent and on weak evidence: models and families, default and unit priors."""
    pytest.importorskip("groupBMC")
    for L in equal_family_datasets(3, seed=5) + [weak_evidence()]:
        for quantity, difference in differences(L, families, prior).items():
            assert difference < 1e-3, (quantity, difference)


def test_family_null_is_equal_family_frequencies():
    """Evidence that favours no model: F0 is VBA's null free energy with f0 = (1/4, 1/4, 1/2):
    attributions softmax(L) = 1/3 each, so F0 = n (log 3 + mean log f0) (a bound below the null's
    log evidence 0, as in VBA)."""
    L = np.zeros((40, 3))
    res = family_bms(L, FAMILIES)
    assert res["F0"] == pytest.approx(40 * (np.log(3) + np.log([0.25, 0.25, 0.5]).mean()))
    assert res["bor"] == pytest.approx(1 / (1 + np.exp(res["F"] - res["F0"])))
    np.testing.assert_allclose(res["protected_exceedance_probability"],
                               res["exceedance_probability"] * (1 - res["bor"]) + res["bor"] / 2)


def test_family_table_honours_prior_and_models():
    fits = _fits()
    plain = family_bms_table(fits)
    assert list(plain.family) == ["factorized", "linear"] and plain.alpha_prior.tolist() == [0.5, 0.5]
    assert family_bms_table(fits, prior=2.0).alpha_prior.tolist() == [2.0, 2.0]
    two = family_bms_table(fits, models=["factorized", "linear"])
    assert list(two.models) == ["factorized", "linear"]
    np.testing.assert_allclose(two.protected_exceedance_probability,
                               bms_table(fits, models=["factorized", "linear"]).protected_exceedance_probability)
    with pytest.raises(ValueError, match="linear"):
        family_bms_table(fits, models=["factorized", "factorized_full"])


def test_exact_bms_agrees_with_importance_sampling_and_the_published_case(flesch2018):
    """K = 3: quadrature against importance sampling from the Dirichlet prior (an independent
    estimate); K = 2 on the published exp1a group b2, where VB's ep (0.981) is too confident."""
    rng = np.random.default_rng(0)
    L = rng.normal(0, 2, (30, 3)) + np.array([1.0, 0.0, 0.0])
    exact = exact_bms(L)
    r = rng.dirichlet(np.full(3, 1 / 3), 200_000)
    log_lik = np.log(np.exp(L) @ r.T).sum(axis=0)
    w = np.exp(log_lik - log_lik.max())
    np.testing.assert_allclose(exact["expected_frequency"], (w / w.sum()) @ r, atol=0.003)
    np.testing.assert_allclose(exact["exceedance_probability"],
                               np.bincount(r.argmax(axis=1), weights=w / w.sum(), minlength=3), atol=0.01)
    log_e1 = np.log(w.mean()) + log_lik.max()
    assert exact["log_evidence"] == pytest.approx(log_e1, abs=0.01)
    fits = load_published_fits(flesch2018, "exp1a")
    b2 = fits[fits.lme.notna() & (fits.group == "b2")].pivot(index="group_index", columns="model", values="lme")
    published = exact_bms(b2[COMPARED].to_numpy())
    assert published["exceedance_probability"][0] == pytest.approx(0.9645, abs=5e-4)
    assert bms(b2[COMPARED].to_numpy())["exceedance_probability"][0] == pytest.approx(0.9815, abs=5e-4)
    table = bms_table(_fits(), models=["factorized", "linear"], exact=True)
    assert table.exact_expected_frequency.sum() == pytest.approx(1.0)
