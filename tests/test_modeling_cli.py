"""`garden fit`, `garden bms` and `garden recover` end to end on simulated participants."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from garden.core.trials import write_table
from garden.cli import main
from garden.modeling.psychometric import simulate_choices
from garden.modeling.recovery import recovery_summary, simulated_trials


@pytest.fixture
def trials_file(tmp_path):
    tables = []
    for i, model in enumerate(["factorized", "linear", "factorized", "linear"]):
        params = ({"delta_north": 0, "delta_south": 0, "slope": 5, "offset": 0, "lapse": 0.05}
                  if model == "factorized" else {"delta": 0, "slope": 3, "offset": 0, "lapse": 0.05})
        t = simulated_trials(200, f"P{i}").assign(group="ab"[i % 2])
        t["choice"] = simulate_choices(model, params, t, i)
        tables.append(t)
    tables.append(simulated_trials(100, "P9").assign(group="a", choice=0.0))  # all identical: skipped
    return write_table(pd.concat(tables, ignore_index=True), tmp_path / "trials.tsv")


def test_fit_then_bms(tmp_path, trials_file, capsys):
    fits_path, bms_path = tmp_path / "fits.tsv", tmp_path / "bms.tsv"
    assert main(["fit", str(trials_file), "--out", str(fits_path), "--models", "factorized,linear"]) == 0
    assert "skipped participant P9" in capsys.readouterr().err
    fits = pd.read_csv(fits_path, sep="\t")
    assert len(fits) == 8 and set(fits.model) == {"factorized", "linear"}
    assert {"participant_id", "k", "n_obs", "nll", "aic", "bic", "converged", "group", "delta_north",
            "slope_se", "angle_south", "bias"} <= set(fits.columns)
    sidecar = json.loads((tmp_path / "fits.json").read_text())
    assert "P9" in sidecar["skipped"] and sidecar["config"]["models"] == ["factorized", "linear"]
    best = fits.loc[fits.groupby("participant_id").bic.idxmin()].set_index("participant_id").model
    assert list(best) == ["factorized", "linear", "factorized", "linear"]

    assert main(["fit", str(trials_file), "--out", str(fits_path)]) == 2  # never overwrites
    assert "refusing to overwrite" in capsys.readouterr().err

    winners = tmp_path / "winners.tsv"
    assert main(["bms", str(fits_path), "--out", str(bms_path), "--by", "group", "--winners", str(winners)]) == 0
    bms = pd.read_csv(bms_path, sep="\t")
    assert list(bms.columns[:2]) == ["group", "model"] and len(bms) == 4
    assert {"alpha", "expected_frequency", "exceedance_probability", "bor",
            "protected_exceedance_probability"} <= set(bms.columns)
    np.testing.assert_allclose(bms.groupby("group").expected_frequency.sum(), 1.0)
    assert len(pd.read_csv(winners, sep="\t")) == 4
    assert (tmp_path / "bms.json").exists()
    assert main(["bms", str(fits_path), "--out", str(tmp_path / "x.tsv"), "--models", "nope,linear"]) == 2


def test_fit_with_posterior_intervals(tmp_path, trials_file, capsys):
    fits_path = tmp_path / "post.tsv"
    assert main(["fit", str(trials_file), "--out", str(fits_path), "--models", "linear", "--posterior",
                 "--seed", "4"]) == 0
    fits = pd.read_csv(fits_path, sep="\t")
    assert (fits["slope_post_lo"] < fits["slope_post_median"]).all() and (fits["rhat_max"] < 1.1).all()
    assert ((fits["delta_post_lo"] < 0) & (0 < fits["delta_post_hi"])).all()    # generated at delta 0
    sidecar = json.loads((tmp_path / "post.json").read_text())
    assert sidecar["config"]["posterior"] is True and sidecar["seed"] == 4
    assert main(["fit", str(trials_file), "--out", str(tmp_path / "cm.tsv"), "--objective", "choice-matrix",
                 "--posterior"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "error: --posterior: needs --objective bernoulli (the choice-matrix loss" in err[-1]
    assert "Traceback" not in "".join(err)


def test_fit_reports_when_nothing_can_be_fitted(tmp_path, capsys):
    path = write_table(simulated_trials(100, "Q1").assign(choice=1.0), tmp_path / "t.tsv")
    assert main(["fit", str(path), "--out", str(tmp_path / "f.tsv")]) == 1
    assert "nothing fitted" in capsys.readouterr().err and not (tmp_path / "f.tsv").exists()
    assert main(["fit", str(path), "--out", str(tmp_path / "g.tsv"), "--phase", "scan"]) == 2


def test_recover_writes_tidy_tables(tmp_path):
    out = tmp_path / "recovery"
    assert main(["recover", "--out", str(out), "--models", "factorized,linear", "--trials", "200",
                 "--n-sim", "4", "--seed", "3"]) == 0
    confusion = pd.read_csv(out / "model_recovery.tsv", sep="\t")
    assert confusion.groupby("generating_model").fraction.sum().tolist() == pytest.approx([1.0, 1.0])
    diagonal = confusion[confusion.generating_model == confusion.fitted_model].fraction
    assert diagonal.min() >= 0.75
    recovered = pd.read_csv(out / "parameter_recovery.tsv", sep="\t")
    assert len(recovered) == 4 * 5 + 4 * 4
    delta = recovered[recovered.parameter == "delta"]
    assert np.abs(delta.fitted - delta.true).max() < 15.0  # degrees, 200 trials
    assert sorted(recovered.rule_code.unique()) == [1, 2, 5, 6]  # the default codes, cycled
    summary = pd.read_csv(out / "recovery_summary.tsv", sep="\t")
    assert {"fraction_at_bound", "coverage", "n_with_se", "n_skipped"} <= set(summary.columns)
    assert summary.fraction_at_bound.between(0, 1).all() and (summary.n_skipped == 0).all()
    confusion = pd.read_csv(out / "model_confusion.tsv", sep="\t")
    assert set(confusion.criterion) == {"aic", "bic"}
    # inversion: among agents a fitted model wins, generating fractions sum to 1
    won = confusion[confusion.n_wins.groupby([confusion.criterion, confusion.fitted_model]).transform("sum") > 0]
    assert won.groupby(["criterion", "fitted_model"]).inversion.sum().tolist() == pytest.approx([1.0] * 4)
    assert (out / "model_recovery.json").exists()
    assert main(["recover", "--out", str(out)]) == 2  # folder not empty
    assert main(["recover", "--out", str(tmp_path / "x"), "--rule-codes", "1,nine"]) == 2


def test_recover_with_one_model_drawn_from_the_prior(tmp_path):
    """One model, its agents' parameters from the Jeffreys prior (``--truth prior``), recorded in the sidecars."""
    out = tmp_path / "one"
    assert main(["recover", "--out", str(out), "--models", "factorized", "--trials", "100",
                 "--n-sim", "3", "--rule-codes", "3", "--truth", "prior"]) == 0
    confusion = pd.read_csv(out / "model_recovery.tsv", sep="\t")
    assert confusion.fraction.tolist() == [1.0] and confusion.inversion.tolist() == [1.0]
    recovered = pd.read_csv(out / "parameter_recovery.tsv", sep="\t")
    assert len(recovered) == 3 * 5 and set(recovered.rule_code) == {3}
    config = json.loads((out / "parameter_recovery.json").read_text())["config"]
    assert config["truth"] == "prior" and config["parameter_ranges"] is None


def test_fit_uses_the_test_phase_by_default_and_refuses_unclear_mixes(tmp_path, capsys):
    test = simulated_trials(200, "M1")
    test["choice"] = simulate_choices("linear", {"delta": 0, "slope": 3, "offset": 0, "lapse": 0.05}, test, 1)
    training = test.assign(phase="training", choice=1.0 - test["choice"], trial=test["trial"] + 1000)  # opposite
    path = write_table(pd.concat([training, test], ignore_index=True), tmp_path / "t.tsv")
    assert main(["fit", str(path), "--out", str(tmp_path / "f.tsv"), "--models", "linear"]) == 0
    fits = pd.read_csv(tmp_path / "f.tsv", sep="\t")
    assert fits.n_obs.tolist() == [200] and fits.phase.tolist() == ["test"]
    assert main(["fit", str(path), "--out", str(tmp_path / "g.tsv"), "--models", "linear", "--phase", "all"]) == 0
    assert pd.read_csv(tmp_path / "g.tsv", sep="\t").n_obs.tolist() == [400]
    practice = training.assign(phase="warm-up", trial=training["trial"] + 1000)
    mixed = write_table(pd.concat([training, practice]), tmp_path / "m.tsv")
    assert main(["fit", str(mixed), "--out", str(tmp_path / "h.tsv")]) == 2
    assert "--phase" in capsys.readouterr().err


def test_bms_families_between_groups_and_lrt(tmp_path, trials_file, capsys):
    fits_path = tmp_path / "fits.tsv"
    assert main(["fit", str(trials_file), "--out", str(fits_path)]) == 0
    families, between, lrt = tmp_path / "families.tsv", tmp_path / "between.tsv", tmp_path / "lrt.tsv"
    assert main(["bms", str(fits_path), "--out", str(tmp_path / "bms.tsv"), "--by", "group",
                 "--families", str(families), "--between", str(between), "--lrt", str(lrt)]) == 0
    table = pd.read_csv(families, sep="\t")
    assert set(table.family) == {"factorized", "linear"} and len(table) == 4 and table.converged.all()
    assert main(["bms", str(fits_path), "--out", str(tmp_path / "p.tsv"), "--prior", "2",
                 "--families", str(tmp_path / "pf.tsv")]) == 0
    assert pd.read_csv(tmp_path / "pf.tsv", sep="\t").alpha_prior.tolist() == [2.0, 2.0]  # --prior honoured
    np.testing.assert_allclose(table.groupby("group").expected_frequency.sum(), 1.0)
    assert 0 <= pd.read_csv(between, sep="\t").p_same.iloc[0] <= 1
    assert len(pd.read_csv(lrt, sep="\t")) == 4
    published = tmp_path / "cm.tsv"
    assert main(["fit", str(trials_file), "--out", str(published), "--objective", "choice-matrix"]) == 0
    assert main(["bms", str(published), "--out", str(tmp_path / "b2.tsv"), "--lrt", str(tmp_path / "l2.tsv")]) == 2
    assert "not a likelihood" in capsys.readouterr().err
    assert main(["bms", str(fits_path), "--out", str(tmp_path / "b3.tsv"), "--between", str(tmp_path / "x.tsv")]) == 2


def test_recovery_summary_counts_skipped_simulations():
    recovered = pd.DataFrame({"generating_model": "linear", "n_test_trials": 200, "parameter": "slope",
                              "true": [1.0, 2.0, 3.0], "fitted": [1.1, 2.2, 20.0], "at_bound": [False, False, True],
                              "covered": [True, False, np.nan], "covered_profile": [True, True, True],
                              "interior": [True, True, False], "covered_wald": [True, True, np.nan],
                              "covered_posterior": [True, False, True]})
    skipped = pd.DataFrame({"participant_id": ["a", "b"], "generating_model": ["linear", "factorized"],
                            "n_test_trials": [200, 200]})
    row = recovery_summary(recovered, skipped).iloc[0]
    assert row.n_skipped == 1 and row.fraction_at_bound == pytest.approx(1 / 3)
    assert row.coverage == 0.5 and row.n_with_se == 2 and row.coverage_profile == 1.0
    assert row.coverage_wald_transformed == 1.0 and row.coverage_profile_interior == 1.0
    assert row.coverage_posterior == pytest.approx(2 / 3)
    # Wilson interval of 1 covered out of 2, by hand: (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)
    z = 1.959963984540054
    centre, half = (0.5 + z * z / 4) / (1 + z * z / 2), z * np.sqrt(0.25 / 2 + z * z / 16) / (1 + z * z / 2)
    assert (row.coverage_ci_lo, row.coverage_ci_hi) == pytest.approx((centre - half, centre + half))


def test_bms_takes_a_foreign_bic_table_and_says_so(tmp_path, capsys):
    rng = np.random.default_rng(4)
    rows = [{"participant_id": f"S{i}", "model": model, "bic": 200 + rng.normal(0, 4) - (6 if model == "linear" else 0)}
            for i in range(30) for model in ("factorized", "linear")]
    foreign = write_table(pd.DataFrame(rows), tmp_path / "other_tool.tsv")
    assert main(["bms", str(foreign), "--out", str(tmp_path / "b.tsv")]) == 0
    assert "foreign table" in capsys.readouterr().err
    table = pd.read_csv(tmp_path / "b.tsv", sep="\t").set_index("model")
    assert table.protected_exceedance_probability["linear"] > 0.9
    assert json.loads((tmp_path / "b.json").read_text())["config"]["foreign"] is True
