"""The pieces the robust defaults rest on: the design's VIFs, the run-wise noise estimate, the
relevance index and the sensitivity flag, on inputs whose answer is known exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from garden.analysis.neural.design import design_matrix, design_table
from garden.analysis.neural.noise import noise_covariance, run_deviations
from garden.analysis.neural.rdms import BRAIN_MODELS
from garden.analysis.neural.relevance import relevance, verdict
from garden.analysis.neural.sensitivity import flag
from garden.rsa.compare import variance_inflation as vif
from garden.rsa.model_rdms import model_rdms


def test_squared_distances_make_the_seven_model_design_collinear_and_the_pair_design_is_not():
    table = design_table({"seven": BRAIN_MODELS, "pair": ("orthogonal", "grid")}, 1.0, squared=True).set_index(
        ["design", "model"])
    assert table.loc[("seven", "grid"), "vif"] == pytest.approx(175.49, abs=0.05)
    assert table.loc[("seven", "grid"), "flagged"] and not table.loc[("seven", "orthogonal"), "flagged"]
    assert table.loc[("pair", "grid"), "vif"] == pytest.approx(1.4344, abs=1e-3)
    plain = design_table({"seven": BRAIN_MODELS}, 1.0, squared=False).set_index("model")
    assert plain.loc["grid", "vif"] == pytest.approx(14.19, abs=0.05)
    assert plain["condition_number"].iloc[0] == pytest.approx(10.27, abs=0.01)


def test_vif_of_an_exact_combination_is_infinite():
    x = np.random.default_rng(0).standard_normal((100, 2))
    assert np.isinf(vif(np.column_stack([x, x.sum(axis=1)]))).all()
    assert vif(design_matrix(("grid",), 1.0, squared=False)).tolist() == [1.0]


def test_run_deviations_hold_no_condition_signal():
    rng = np.random.default_rng(1)
    signal = rng.standard_normal((1, 50, 30)) * 10.0
    noise = rng.standard_normal((6, 50, 30)) * np.linspace(0.5, 2.0, 30)
    deviations, dof = run_deviations(signal + noise)
    same, _ = run_deviations(noise)
    assert dof == 250 and np.allclose(deviations, same)  # the signal cancels exactly
    variance = np.diag(noise_covariance(signal + noise, [], [], source="runs-diag", shrinkage="shrinkage_diag"))
    assert np.corrcoef(variance, np.linspace(0.5, 2.0, 30) ** 2)[0, 1] > 0.95
    assert noise_covariance(noise, [], [], source="none", shrinkage="shrinkage_diag") is None


def test_relevance_tells_the_orthogonal_geometry_from_its_mirror():
    rdms = dict(zip(["orthogonal", "grid", "parallel"], model_rdms(["orthogonal", "grid", "parallel"], 1.0).matrices))
    orthogonal = pd.DataFrame(relevance(rdms["orthogonal"])).set_index("context")
    assert orthogonal.loc["north", "relevant"] == pytest.approx(2.0) and orthogonal.loc["north", "irrelevant"] == 0
    assert orthogonal["index"].tolist() == pytest.approx([2.0, 2.0])
    mirror = rdms["orthogonal"].reshape(2, 5, 5, 2, 5, 5).transpose(0, 2, 1, 3, 5, 4).reshape(50, 50)
    assert [row["index"] for row in relevance(mirror)] == pytest.approx([-2.0, -2.0])
    assert [row["index"] for row in relevance(rdms["grid"])] == pytest.approx([0.0, 0.0])
    assert verdict(0.001, 0.999) == "relevant > irrelevant" and verdict(0.999, 0.001).startswith("irrelevant >")


def test_a_reading_that_changes_across_analyses_is_flagged():
    table = pd.DataFrame({"roi": ["a", "a", "b", "b"], "reading": ["orthogonal > grid", "n.s.", "n.s.", "n.s."],
                          "relevance_reading": ["x", "x", "y", "y"]})
    assert flag(table)["flagged"].tolist() == [True, True, False, False]


def test_the_report_says_not_a_finding_for_a_flagged_roi():
    from garden.reports.html import _neural_findings

    contrasts = pd.DataFrame({"roi": ["a", "b"], "contrast": "orthogonal>grid", "mean": [0.5, -0.9], "n": 8,
                              "p_one_sided": [0.003, 1.0], "p_reverse": [0.997, 1e-8]})
    sensitivity = pd.DataFrame({"roi": ["a", "a", "b", "b"], "reading": ["orthogonal > grid", "n.s.", "x", "x"],
                                "flagged": ["True", "True", "False", "False"]})  # as read back from the TSV
    text = _neural_findings({"neural_roi_contrasts": contrasts, "neural_sensitivity": sensitivity})
    a, b = text.split(" b: ")
    assert "NOT A FINDING" in a and "n.s., orthogonal > grid across 2 analyses" in a
    assert "NOT A FINDING" not in b and "the same reading under all 2" in b
