"""The notebook API: ``import garden`` gives ChoiceModel, RDMs and the readers; the README's
notebook example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

import garden
from garden.core.errors import UserError
from garden.core.task import item_table
from garden.modeling.psychometric import fit_table, predict, simulate_choices

README = Path(__file__).resolve().parents[1] / "README.md"


def _agents(n: int, slope: float, seed: int) -> pd.DataFrame:
    """``n`` simulated factorized participants, 4 repeats of the 50 items each (rule 1)."""
    rng = np.random.default_rng(seed)
    items = item_table(1)
    tables = []
    for i in range(n):
        t = pd.concat([items] * 4, ignore_index=True).assign(participant_id=f"S{i}", session=1, phase="test", block=1)
        t["trial"] = np.arange(1, len(t) + 1)
        t["exemplar"], t["rt"] = "a", 0.5
        params = {"delta_north": 0.0, "delta_south": 0.0, "slope": slope, "offset": 0.0, "lapse": 0.02}
        t["choice"] = simulate_choices("factorized", params, t, rng)
        tables.append(t)
    return pd.concat(tables, ignore_index=True)


def test_choice_model_equals_fit_table_and_keeps_skipped_as_an_attribute():
    trials = _agents(3, 4.0, seed=1)
    broken = trials[trials.participant_id == "S0"].assign(participant_id="S9", context="north")  # one garden only
    model = garden.ChoiceModel("factorized").fit(pd.concat([trials, broken]))
    reference = fit_table(trials, ("factorized",))
    assert list(model.params_.index) == ["S0", "S1", "S2"]
    np.testing.assert_allclose(model.nll_.to_numpy(), reference["nll"].to_numpy())
    assert set(model.skipped_) == {"S9"} and "context" in model.skipped_["S9"]
    assert model.to_frame().attrs == {}
    assert list(model.params_.columns) == ["delta_north", "delta_south", "slope", "offset", "lapse"]
    np.testing.assert_allclose(model.bic_ - model.aic_, 5 * np.log(200) - 10)
    assert abs(model.params_["slope"].mean() - 4.0) < 1.5          # recovered from the simulation


def test_predict_proba_is_the_fitted_models_prediction():
    trials = _agents(2, 6.0, seed=2)
    model = garden.ChoiceModel("factorized").fit(trials)
    proba = model.predict_proba(trials)
    assert proba.shape == (len(trials), 2) and list(model.classes_) == [0.0, 1.0]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    p = proba[:, 1]
    s1 = (trials.participant_id == "S1").to_numpy()
    params = model.params_.loc["S1"].to_dict()
    np.testing.assert_array_equal(p[s1], predict("factorized", params, trials[s1]))
    assert np.all((p > 0) & (p < 1))
    observed = trials.assign(p=p).groupby(["participant_id", "context", "branchiness", "leafiness"])
    # the prediction tracks each cell's observed p(accept)
    assert np.corrcoef(observed["p"].mean(), observed["choice"].mean())[0, 1] > 0.8
    unknown = trials.assign(participant_id="nobody")
    assert np.isnan(model.predict_proba(unknown)).all()
    with pytest.raises(NotFittedError, match="not fitted"):
        garden.ChoiceModel("linear").to_frame()


def test_rdms_carry_their_descriptors_and_convert_to_rsatoolbox():
    rsatoolbox = pytest.importorskip("rsatoolbox")
    trials = _agents(3, 4.0, seed=3).assign(group="g")
    rdms = garden.choice_rdms(garden.cell_table(trials))
    assert len(rdms) == 3 and rdms.n_conditions == 50
    assert list(rdms.rdm_descriptors.participant_id) == ["S0", "S1", "S2"]
    assert list(rdms.pattern_descriptors.columns[:3]) == ["context", "branchiness", "leafiness"]
    assert rdms.pattern_descriptors.iloc[25][["context", "branchiness", "leafiness"]].tolist() == ["south", 1, 1]
    assert len(rdms.subset(participant_id=["S1", "S2"])) == 2
    toolbox = rdms.to_rsatoolbox()
    assert isinstance(toolbox, rsatoolbox.rdm.RDMs) and toolbox.n_rdm == 3
    np.testing.assert_allclose(toolbox.get_matrices(), rdms.matrices)
    assert list(toolbox.rdm_descriptors["participant_id"]) == ["S0", "S1", "S2"]
    back = garden.RDMs.from_rsatoolbox(toolbox)
    np.testing.assert_allclose(back.matrices, rdms.matrices)
    assert back.pattern_descriptors.equals(rdms.pattern_descriptors.astype(back.pattern_descriptors.dtypes))
    with pytest.raises(ValueError, match="symmetric"):
        garden.RDMs(np.arange(4.0).reshape(1, 2, 2), rdms.pattern_descriptors.iloc[:2])


def test_the_readme_notebook_example_runs_twice(tmp_path, monkeypatch, capsys):
    text = README.read_text(encoding="utf-8")
    block = re.search(r"## In a notebook.*?```python\n(.*?)```", text, re.S)
    assert block, "README has a '## In a notebook' section with a python block"
    code = block.group(1)
    assert len(code.strip().splitlines()) <= 12
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    first = capsys.readouterr().out
    table = next(tmp_path.glob("participants/sub-P01/ses-1/beh/*_beh.tsv"))
    before = table.read_bytes()
    exec(compile(code, "README.md", "exec"), {})  # a notebook cell run again replaces its session
    assert capsys.readouterr().out == first and "slope" in first and "P01" in first and "participant_id" in first
    assert table.read_bytes() == before  # seeded: the same session again
    assert sorted(p.name for p in (tmp_path / "participants" / "sub-P01").iterdir()) == ["ses-1"]  # nothing set aside


def test_overwrite_is_refused_by_default_and_a_failed_replacement_keeps_the_old_session(tmp_path):
    protocol = garden.load_protocol("flesch2018")
    agent = garden.get_agent("factorized", {"slope": 1.5}, seed=1)
    path = garden.simulate_session(protocol, "P01", 1, agent, tmp_path, seed=1)
    old = path.read_bytes()
    with pytest.raises(UserError, match="already exists; refusing to overwrite"):
        garden.simulate_session(protocol, "P01", 1, agent, tmp_path, seed=1)
    with pytest.raises(UserError, match="curriculum"):  # fails after the old one was set aside
        garden.simulate_session(protocol, "P01", 1, agent, tmp_path, seed=1, curriculum="no-such", overwrite=True)
    assert path.read_bytes() == old and not list(tmp_path.glob("sub-P01/*.replaced"))
    table = garden.read_trials(path)
    assert garden.write_table(table, tmp_path / "t.tsv") and (tmp_path / "t.tsv").exists()
    with pytest.raises(FileExistsError):
        garden.write_table(table, tmp_path / "t.tsv")
    garden.write_table(table.head(3), tmp_path / "t.tsv", overwrite=True)
    assert len(garden.read_trials(tmp_path / "t.tsv")) == 3
