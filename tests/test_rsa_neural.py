"""Neural pattern loaders: tables, .npy, Mante et al. unit files (synthetic, in their format)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.io import savemat

from garden.analysis.neural.patterns import mante_patterns, read_mante_unit, read_patterns, roi_patterns
from garden.core.errors import UserError
from garden.core.task import condition_features
from garden.rsa.crossval import crossnobis_rdm
from garden.rsa.model_rdms import model_rdm
from garden.rsa.distances import rdm


def feature_table(n_channels: int = 3, runs: int = 2, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ctx, b, l = condition_features(5)
    frames = []
    for run in range(runs):
        frame = pd.DataFrame({"run": run + 1, "context": np.array(["north", "south"])[ctx],
                              "branchiness": b, "leafiness": l})
        for k in range(n_channels):
            frame[f"v{k}"] = rng.normal(size=50)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def test_table_rows_in_any_order_are_sorted_into_rsa_order(tmp_path):
    table = feature_table()
    path = tmp_path / "roi.tsv"
    table.sample(frac=1, random_state=1).to_csv(path, sep="\t", index=False)
    patterns = read_patterns(path)
    assert patterns.values.shape == (2, 50, 3) and patterns.n_levels == 5
    assert patterns.channels == ["v0", "v1", "v2"] and sorted(patterns.runs) == ["1", "2"]
    run = patterns.runs.index("2")
    np.testing.assert_allclose(patterns.values[run], table[table.run == 2][["v0", "v1", "v2"]].to_numpy())


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**31), st.sampled_from([".tsv", ".csv"]))
def test_any_row_order_round_trips_through_a_table(n_channels, runs, seed, suffix):
    table = feature_table(n_channels, runs, seed)
    shuffled = table.sample(frac=1, random_state=seed % 2**16)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"roi{suffix}"
        shuffled.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
        patterns = read_patterns(path)
    channels = [f"v{k}" for k in range(n_channels)]
    for r, run in enumerate(patterns.runs):
        np.testing.assert_array_equal(patterns.values[r], table[table.run == int(run)][channels].to_numpy())


def test_condition_index_column_and_csv(tmp_path):
    values = np.arange(72 * 2, dtype=float).reshape(72, 2)
    path = tmp_path / "monkey.csv"
    table = pd.DataFrame({"condition": np.arange(72)[::-1], "a": values[::-1, 0], "b": values[::-1, 1]})
    table.to_csv(path, index=False)
    patterns = read_patterns(path)
    assert patterns.n_levels == 6
    np.testing.assert_array_equal(patterns.mean(), values)


def test_npy_patterns_with_and_without_runs(tmp_path):
    array = np.random.default_rng(2).normal(size=(4, 50, 6))
    np.save(tmp_path / "runs.npy", array)
    np.save(tmp_path / "mean.npy", array[0])
    np.testing.assert_array_equal(read_patterns(tmp_path / "runs.npy").values, array)
    assert read_patterns(tmp_path / "mean.npy").values.shape == (1, 50, 6)
    np.save(tmp_path / "odd.npy", array[0, :49])
    with pytest.raises(UserError, match="49 conditions is not 2 contexts"):
        read_patterns(tmp_path / "odd.npy")


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.drop(index=3), "run '1' has condition 3 0 times"),
    (lambda t: t.assign(v1=t.v1.astype(object).where(t.index != 7, "n/a")), "row 9, column 'v1': value 'n/a'"),
    (lambda t: t.assign(context=t.context.where(t.index != 4, "east")), "row 6, column 'context': 'east'"),
    (lambda t: t.assign(leafiness=t.leafiness.where(t.index != 0, 2.5)), "row 2, column 'leafiness': '2.5'"),
    (lambda t: t.drop(columns=["context"]), "columns \\['context'\\] missing"),
])
def test_bad_tables_raise_one_line_user_errors(tmp_path, edit, message):
    path = tmp_path / "bad.tsv"
    edit(feature_table()).to_csv(path, sep="\t", index=False)
    with pytest.raises(UserError, match=message) as error:
        read_patterns(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        read_patterns(tmp_path / "none.tsv")
    (tmp_path / "x.txt").write_text("1")
    with pytest.raises(UserError, match="unknown pattern file type"):
        read_patterns(tmp_path / "x.txt")


def write_mante_unit(path, gains, rng, trials_per_condition=4, context_labels=(1, -1)):
    """A unit file in the Mante et al. format; rate = gains . (motion level, colour level, context)."""
    motion = np.array([-0.5, -0.15, -0.05, 0.05, 0.15, 0.5])
    colour = np.array([-0.3, -0.1, -0.03, 0.03, 0.1, 0.3])
    m, c, ctx = (g.ravel() for g in np.meshgrid(np.arange(6), np.arange(6), context_labels, indexing="ij"))
    m, c, ctx = (np.repeat(v, trials_per_condition) for v in (m, c, ctx))
    time = np.arange(-0.1, 0.8, 0.05)
    rate = gains[0] * m + gains[1] * c + gains[2] * (ctx == -1)
    response = rate[:, None] + rng.normal(0, 0.01, (rate.size, time.size))
    response[:, time < 0] = 100.0  # outside the analysis window
    savemat(path, {"unit": {"response": response, "time": time, "task_variable": {
        "stim_dir": motion[m], "stim_col": colour[c], "context": ctx.astype(float),
        "correct": np.ones(rate.size), "targ_dir": np.sign(motion[m])}}})


def test_mante_units_bin_into_72_conditions_in_rsa_order(tmp_path):
    rng = np.random.default_rng(3)
    gains = [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 5.0)]
    paths = []
    for k, g in enumerate(gains):
        paths.append(tmp_path / f"unit{k}.mat")
        write_mante_unit(paths[-1], g, rng)
    unit = read_mante_unit(paths[0])
    assert unit.response.shape == (288, unit.time_s.size) and set(unit.trials.context) == {1, -1}
    patterns = mante_patterns(paths, window_s=(0.0, 0.8))
    assert patterns.values.shape == (1, 72, 3) and patterns.channels == ["unit0", "unit1", "unit2"]
    ctx, b, l = condition_features(6)
    # motion plays leafiness (fastest), colour branchiness, colour context second
    np.testing.assert_allclose(patterns.mean(), np.column_stack([l - 1, b - 1, 5.0 * ctx]), atol=0.02)
    # a pure grid code gives the grid model RDM (context offset 5)
    np.testing.assert_allclose(rdm(patterns.mean()), model_rdm("grid", 5.0, n_levels=6), atol=0.05)
    split = mante_patterns(paths, window_s=(0.0, 0.8), n_splits=2, seed=1)
    assert split.values.shape == (2, 72, 3)
    np.testing.assert_allclose(crossnobis_rdm(split.values) * 3, model_rdm("grid", 5.0, 6) ** 2,
                               rtol=0.01, atol=0.05)


def test_mante_loader_errors(tmp_path):
    rng = np.random.default_rng(4)
    write_mante_unit(tmp_path / "few.mat", (1, 0, 0), rng, trials_per_condition=1)
    with pytest.raises(UserError, match="fewer than n_splits=2"):
        mante_patterns([tmp_path / "few.mat"], n_splits=2)
    with pytest.raises(UserError, match="no unit has every condition"):
        mante_patterns([tmp_path / "few.mat"], n_splits=2, skip_incomplete=True)
    with pytest.raises(UserError, match="6 motion coherences .* expected 5"):
        mante_patterns([tmp_path / "few.mat"], n_levels=5)
    with pytest.raises(UserError, match="no time bin in the window"):
        mante_patterns([tmp_path / "few.mat"], window_s=(2.0, 3.0))
    write_mante_unit(tmp_path / "ctx.mat", (1, 0, 0), rng, context_labels=(1, 2))
    with pytest.raises(UserError, match="must be \\+1 \\(motion\\) or -1"):
        read_mante_unit(tmp_path / "ctx.mat")
    savemat(tmp_path / "other.mat", {"neuron": np.zeros(3)})
    with pytest.raises(UserError, match="no variable 'unit'"):
        read_mante_unit(tmp_path / "other.mat")


def test_nifti_roi_extraction(tmp_path):
    nibabel = pytest.importorskip("nibabel")
    rng = np.random.default_rng(5)
    betas = rng.normal(size=(4, 5, 3, 6))
    mask = np.zeros((4, 5, 3))
    mask[1:3, 2, 1] = 1
    nibabel.save(nibabel.Nifti1Image(betas, np.eye(4)), tmp_path / "betas.nii.gz")
    nibabel.save(nibabel.Nifti1Image(betas[..., 0], np.eye(4)), tmp_path / "one.nii.gz")
    nibabel.save(nibabel.Nifti1Image(mask, np.eye(4)), tmp_path / "roi.nii.gz")
    values = roi_patterns([tmp_path / "betas.nii.gz", tmp_path / "one.nii.gz"], tmp_path / "roi.nii.gz")
    assert values.shape == (7, 2)
    np.testing.assert_allclose(values[:6], betas[1:3, 2, 1].T)
    np.testing.assert_allclose(values[6], betas[1:3, 2, 1, 0])
    nibabel.save(nibabel.Nifti1Image(mask[:3], np.eye(4)), tmp_path / "small.nii.gz")
    with pytest.raises(UserError, match="differs from the mask"):
        roi_patterns([tmp_path / "one.nii.gz"], tmp_path / "small.nii.gz")
