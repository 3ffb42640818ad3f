"""The known answer on data the project did not make: an independent simulator (tests/fmriprep_sim.py:
its own double-gamma HRF, AR(1) noise, drifts, a global signal, head motion with spikes) writes a
raw BIDS dataset with fMRIPrep derivatives; `garden neural glm` + `rdms` + `stats` with their DEFAULT
options (Glover HRF, which the data do not follow) must recover the rich, lazy and null ROIs, and
the relevance analysis must read label-swapped events (branchiness and leafiness swapped) as the
mirror geometry, irrelevant > relevant."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from fmriprep_sim import write_dataset

from garden.analysis.neural.bids import EventColumns, find_runs, read_events
from garden.cli import main
from garden.core.errors import UserError

ROIS = ("rich", "lazy", "noise")


def _garden(*args) -> None:
    assert main([str(a) for a in args]) == 0


def _pipeline(root, out):
    """Default glm, rdms, stats; the stats tables by name."""
    rois = [x for name in ROIS for x in ("--roi", f"{name}={root / 'rois' / f'roi-{name}_mask.nii.gz'}")]
    _garden("neural", "glm", root, "--out", out / "glm")
    _garden("neural", "rdms", out / "glm", "--out", out / "rdms", *rois)
    _garden("neural", "stats", out / "rdms", "--out", out / "stats", "--n-perm", 500, "--restarts", 2)
    return lambda name: pd.read_csv(out / "stats" / "tables" / f"neural_{name}.tsv", sep="\t",
                                    keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("known") / "ds", n_participants=6, n_runs=4, snr=1.0, seed=3)


@pytest.mark.slow
def test_defaults_recover_the_known_geometry(dataset, tmp_path):
    table = _pipeline(dataset, tmp_path)
    contrasts = table("roi_contrasts").set_index("roi")
    assert (contrasts["contrast"] == "orthogonal>grid").all() and (contrasts["design"] == "pair").all()
    assert contrasts.loc["rich", "p_one_sided"] < 0.01 and contrasts.loc["rich", "mean"] > 0
    assert contrasts.loc["lazy", "p_reverse"] < 1e-4
    assert min(contrasts.loc["noise", ["p_one_sided", "p_reverse"]]) > 0.05
    relevance = table("relevance_group").set_index("roi")
    assert relevance.loc["rich", "p_one_sided"] < 0.01 and relevance.loc["rich", "reading"] == "relevant > irrelevant"
    assert relevance.loc["noise", "reading"] == "not significant"
    assert table("compression_group").set_index("roi").loc["rich", "reading"] == "relevant > irrelevant"
    design = table("design")
    seven = design[design["design"] == "models"].set_index("model")
    assert seven.loc["grid", "vif"] > 100 and seven.loc["grid", "flagged"]  # squared distances: grid not identifiable
    assert design[design["design"] == "orthogonal>grid"]["vif"].max() < 2


@pytest.mark.slow
def test_relevance_flags_label_swapped_events(dataset, tmp_path):
    swapped = tmp_path / "swapped"
    shutil.copytree(dataset, swapped)
    for path in sorted(swapped.glob("sub-*/func/*_events.tsv")):  # branchiness <-> leafiness in the events only
        events = pd.read_csv(path, sep="\t", dtype=str)
        events[["branchiness", "leafiness"]] = events[["leafiness", "branchiness"]].to_numpy()
        events.to_csv(path, sep="\t", index=False)
    table = _pipeline(swapped, tmp_path)
    assert table("roi_contrasts").set_index("roi").loc["rich", "p_one_sided"] > 0.05  # no longer orthogonal > grid
    relevance = table("relevance_group").set_index("roi")
    assert relevance.loc["rich", "p_reverse"] < 0.01 and relevance.loc["rich", "reading"].startswith("irrelevant >")
    compression = table("compression_group").set_index("roi")  # the compression model reads it the same way
    assert compression.loc["rich", "reading"].startswith("irrelevant >")


def test_fmriprep_layout_is_read_with_its_entities(tmp_path):
    root = write_dataset(tmp_path / "ds", n_participants=2, n_runs=2, seed=1)
    prep = root / "derivatives" / "fmriprep"
    found = find_runs(root, derivatives=prep)
    assert list(found) == [("sub-01", ""), ("sub-02", "")]
    run = found[("sub-01", "")][1]
    assert run.run == 2 and run.stem == "sub-01_task-garden_run-02" and run.session_label == ""
    assert run.bold == prep / "sub-01/func/sub-01_task-garden_run-02_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz"
    assert run.mask.name.endswith("_desc-brain_mask.nii.gz") and run.confounds.name.endswith("_timeseries.tsv")
    assert find_runs(root, derivatives=prep, filters={"run": 1}, participants=["02"])[("sub-02", "")][0].run == 1
    with pytest.raises(UserError, match="no sub-.*matching.*'task': 'rest'"):
        find_runs(root, derivatives=prep, task="rest")
    for path in sorted(root.rglob("sub-02_task-garden_run-01_*")):  # a second acquisition of one run
        shutil.copy(path, path.with_name(path.name.replace("_run-01_", "_acq-mb4_run-01_")))
    with pytest.raises(UserError, match="several events files per run number.*--filter acq=X"):
        find_runs(root, derivatives=prep)
    [run] = find_runs(root, derivatives=prep, filters={"acq": "mb4"})[("sub-02", "")]
    assert run.stem == "sub-02_task-garden_acq-mb4_run-01" and "_acq-mb4_run-01_space-" in run.bold.name


def test_condition_columns_are_mapped_and_named_in_errors(tmp_path):
    root = write_dataset(tmp_path / "ds", n_participants=1, n_runs=1, seed=2)
    path = root / "sub-01/func/sub-01_task-garden_run-01_events.tsv"
    events = pd.read_csv(path, sep="\t").rename(columns={"context": "rule", "leafiness": "leaves"})
    events["trial_type"] = events["trial_type"].replace({"tree": "stimulus"})
    events.to_csv(path, sep="\t", index=False)
    with pytest.raises(UserError, match=r"run-01_events.tsv: column 'trial_type' has no 'tree' events"):
        read_events(path)
    with pytest.raises(UserError, match=r"run-01_events.tsv: column\(s\) \['context', 'leafiness'\] missing"):
        read_events(path, columns=EventColumns(trial_type="stimulus"))
    mapped = read_events(path, columns=EventColumns.parse("trial_type=stimulus,context=rule,leafiness=leaves"))
    assert sorted(mapped.loc[mapped["condition"] >= 0, "condition"].unique()) == list(range(50))
    with pytest.raises(UserError, match="--conditions: 'colour=x' is not KEY=VALUE"):
        EventColumns.parse("colour=x")
