"""RDM comparisons: regression recovery, orthogonalisation, tau_a with ties, rsatoolbox agreement."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from garden.rsa.compare import COMPARISONS, kendall_tau_a, regress_rdms, spearman, zscore
from garden.rsa.distances import square
from garden.rsa.model_rdms import model_rdms
from garden.rsa.rdms import RDMs

MODELS = model_rdms(["grid", "orthogonal", "parallel"])
M = dict(zip(["grid", "orthogonal", "parallel"], MODELS.vectors()))


def brute_force_tau_a(a, b):
    pairs = list(itertools.combinations(range(len(a)), 2))
    return sum(np.sign(a[i] - a[j]) * np.sign(b[i] - b[j]) for i, j in pairs) / len(pairs)


def _data(*vectors: np.ndarray) -> RDMs:
    """Data RDMs from lower vectors, rdm descriptor ``k``."""
    return RDMs(np.stack([square(v) for v in vectors]), MODELS.pattern_descriptors,
                pd.DataFrame({"k": range(len(vectors))}))


def _betas(data: np.ndarray, models: RDMs = MODELS, **options) -> pd.Series:
    return regress_rdms(_data(data), models, **options).set_index("model").beta


def test_regression_recovers_known_betas_of_a_model_mixture():
    z = {k: zscore(v) for k, v in M.items()}
    data = 2.0 * z["grid"] + 0.5 * z["orthogonal"] - 0.0 * z["parallel"]
    data = data - data.min()  # dissimilarities: shifting them changes no z-scored beta
    betas = _betas(data)
    scale = data.std()  # the data vector is z-scored too
    assert betas["grid"] * scale == pytest.approx(2.0)
    assert betas["orthogonal"] * scale == pytest.approx(0.5)
    assert betas["parallel"] == pytest.approx(0.0, abs=1e-10)
    with_intercept = _betas(data, intercept=True)
    assert with_intercept["intercept"] == pytest.approx(0.0, abs=1e-10)
    assert with_intercept["grid"] == pytest.approx(betas["grid"])


def test_regression_is_tidy_carries_the_descriptors_and_reports_each_models_vif():
    rng = np.random.default_rng(2)
    vectors = [M["orthogonal"] + rng.normal(0, s, 1225) + 5 for s in (0.1, 0.5, 1.0)]
    table = regress_rdms(_data(*vectors), MODELS)
    assert list(table.columns) == ["k", "model", "beta", "vif"] and len(table) == 9
    assert table.k.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert table.model.tolist() == ["grid", "orthogonal", "parallel"] * 3
    # batched = one RDM at a time
    for k, v in enumerate(vectors):
        np.testing.assert_allclose(table[table.k == k].beta, _betas(v).to_numpy(), rtol=1e-10)
    # VIF = 1 / (1 - R^2) of each z-scored model on the others (and a constant)
    design = np.column_stack(list(M.values()))
    for j, name in enumerate(M):
        others = np.column_stack([np.ones(1225), np.delete(design, j, axis=1)])
        fit = others @ np.linalg.lstsq(others, design[:, j], rcond=None)[0]
        r2 = 1 - np.sum((design[:, j] - fit) ** 2) / np.sum((design[:, j] - design[:, j].mean()) ** 2)
        assert table[table.model == name].vif.iloc[0] == pytest.approx(1 / (1 - r2))
    assert (table.vif > 1).all()
    np.testing.assert_allclose(regress_rdms(_data(*vectors), MODELS, orthogonalise=True).vif, 1.0)


def test_regression_with_noise_ranks_the_true_model_first():
    rng = np.random.default_rng(0)
    data = M["orthogonal"] + rng.normal(0, 0.5, size=1225) + 5
    betas = _betas(data)
    assert betas["orthogonal"] > 0.5 > max(abs(betas["grid"]), abs(betas["parallel"]))


def test_sequential_orthogonalisation_gives_the_first_model_all_shared_variance():
    rng = np.random.default_rng(1)
    data = M["grid"] + M["orthogonal"] + rng.normal(size=1225) + 10
    betas = _betas(data, orthogonalise=True)
    r_first = np.corrcoef(data, M["grid"])[0, 1]
    assert betas["grid"] == pytest.approx(r_first)  # as if it were the only model
    plain = _betas(data)
    assert betas["grid"] > plain["grid"]


def test_regression_rejects_collinear_and_constant_models_and_gives_nan_for_constant_data():
    grid = MODELS.subset(model="grid")
    names = pd.DataFrame({"model": ["a", "b"]})
    with pytest.raises(ValueError, match="collinear"):
        regress_rdms(grid, RDMs(np.stack([grid.matrices[0], 2 * grid.matrices[0]]), grid.pattern_descriptors, names))
    flat = RDMs(1 - np.eye(50), grid.pattern_descriptors, pd.DataFrame({"model": ["flat"]}))
    with pytest.raises(ValueError, match="model 'flat' is constant"):
        regress_rdms(grid, flat)
    with pytest.raises(ValueError, match="50 conditions, model RDMs of 3"):
        regress_rdms(grid, RDMs(1 - np.eye(3), pd.DataFrame({"c": range(3)})))
    assert regress_rdms(RDMs(1 - np.eye(50), grid.pattern_descriptors), MODELS).beta.isna().all()
    assert regress_rdms(RDMs(np.full((50, 50), np.nan), grid.pattern_descriptors), MODELS).beta.isna().all()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_regression_betas_equal_rsatoolbox_s_weighted_model_fit():
    """rsatoolbox's ``ModelWeighted`` fitted by ``fit_regress`` (OLS of the data vector on the model
    vectors, no intercept; theta not normalised) gives our betas once both sides are z-scored as ours are."""
    rsatoolbox = pytest.importorskip("rsatoolbox")
    rng = np.random.default_rng(3)
    data = M["orthogonal"] + 0.3 * M["grid"] + rng.normal(0, 0.5, size=1225) + 5
    z = lambda v: (v - v.mean()) / v.std()  # noqa: E731
    theirs_models = rsatoolbox.rdm.RDMs(np.stack([z(v) for v in M.values()]))
    model = rsatoolbox.model.ModelWeighted("weighted", theirs_models)
    theta = rsatoolbox.model.fitter.fit_regress(model, rsatoolbox.rdm.RDMs(z(data)[None]), normalize=False)
    np.testing.assert_allclose(_betas(data).to_numpy(), theta, rtol=1e-8)


def test_tau_a_counts_ties_as_neither_concordant_nor_discordant():
    assert kendall_tau_a(np.array([1.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0])) == pytest.approx(2 / 3)
    assert kendall_tau_a(np.array([1.0, 1.0, 1.0]), np.array([1.0, 2.0, 3.0])) == 0.0
    assert kendall_tau_a(np.array([3.0, 2.0, 1.0]), np.array([1.0, 2.0, 3.0])) == pytest.approx(-1.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=2, max_size=30))
def test_tau_a_equals_its_definition_on_tied_data(pairs):
    a, b = (np.array(v, dtype=float) for v in zip(*pairs))
    assert kendall_tau_a(a, b) == pytest.approx(brute_force_tau_a(a, b), abs=1e-12)


def test_spearman_of_monotone_transforms_is_one():
    x = np.random.default_rng(2).normal(size=40)
    assert spearman(x, np.exp(x)) == pytest.approx(1.0)
    assert set(COMPARISONS) == {"tau_a", "spearman", "pearson"}


def test_comparisons_agree_with_rsatoolbox():
    rsatoolbox = pytest.importorskip("rsatoolbox")
    rng = np.random.default_rng(3)
    cases = [(M["grid"], M["orthogonal"]),  # many ties
             (rng.integers(0, 4, 300).astype(float), rng.integers(0, 3, 300).astype(float)),
             (rng.normal(size=190), rng.normal(size=190))]
    for a, b in cases:
        ours = {"tau-a": kendall_tau_a(a, b), "spearman": spearman(a, b)}
        for method, value in ours.items():
            theirs = rsatoolbox.rdm.compare(rsatoolbox.rdm.RDMs(a[None]), rsatoolbox.rdm.RDMs(b[None]),
                                            method=method)
            assert value == pytest.approx(float(theirs[0, 0]), abs=1e-10), method
