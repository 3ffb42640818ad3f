"""The folders `garden neural` writes, checked by the real BIDS validator (bids-validator 1.15,
installed by `make test`): the simulated raw dataset is valid BIDS (0 errors); the derivative
folders (GLM, ROI RDMs, searchlight maps) pass everything the 1.x validator checks of a derivative
dataset, and their file names follow BIDS-derivatives naming (checked here)."""

from __future__ import annotations

import gzip
import json
import re
import shutil

import nibabel
import numpy as np
import pandas as pd
import pytest
from neural_helpers import mask_path, shared_bold

from garden.analysis.neural.bids import write_image
from garden.cli import main

RAW_ONLY = {"NOT_INCLUDED", "NO_VALID_DATA_FOUND_FOR_SUBJECT"}
"""What 1.x raises for any file of a derivative dataset: it knows only raw-data file names (every
derivative file is NOT_INCLUDED, so no subject has 'valid data'); everything else is checked."""
ENTITY_ORDER = ("sub", "ses", "task", "run", "roi", "model", "stat", "desc")
"""Entities of our file names in the order they appear (BIDS order; desc last)."""
NAME = re.compile(r"^(?P<entities>(?:[a-z]+-[A-Za-z0-9]+_)+)(?P<suffix>[A-Za-z0-9]+)\.(?P<ext>nii\.gz|tsv|json)$")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """{name: folder} of a simulated dataset (2 participants) and the neural steps' outputs."""
    root = tmp_path_factory.mktemp("neural_bids")
    bold = shared_bold(tmp_path_factory, [0.1, 0.3])
    out = {"raw": bold, **{name: root / name for name in ("glm", "rdms", "searchlight", "stats")}}
    brain = str(mask_path(bold))
    for argv in (["glm", bold, "--mask", brain, "--out", out["glm"], "--noise-model", "ols"],
                 ["rdms", out["glm"], "--out", out["rdms"], "--roi", f"rich={mask_path(bold, 'rich')}"],
                 ["searchlight", out["glm"], "--mask", brain, "--out", out["searchlight"], "--radius", "1.5",
                  "--models", "grid,orthogonal"],
                 ["stats", out["rdms"], "--out", out["stats"], "--models", "grid,orthogonal", "--n-perm", "10",
                  "--restarts", "1", "--searchlight", out["searchlight"], "--mask", brain,
                  "--atlas", _atlas(bold, root), "--atlas-labels", root / "labels.txt"]):
        assert main(["neural", *map(str, argv)]) == 0
    return out


def _atlas(bold, root):
    """An atlas of the simulator's ROIs (labels 1..3) and its nilearn-style label list (root/labels.txt)."""
    brain = nibabel.load(str(mask_path(bold)))
    data = np.zeros(brain.shape, dtype=np.int16)
    for label, name in enumerate(("rich", "lazy", "noise"), start=1):
        data[np.asarray(nibabel.load(str(mask_path(bold, name))).dataobj) > 0] = label
    nibabel.Nifti1Image(data, brain.affine).to_filename(root / "atlas.nii.gz")
    (root / "labels.txt").write_text("Background\nrich\nlazy\nnoise\n")
    return root / "atlas.nii.gz"


def _codes(errors: list[str]) -> set[str]:
    return {e.split(":")[0] for e in errors}


def test_simulated_raw_dataset_is_valid_bids(folders, bids_errors):
    assert bids_errors(folders["raw"]) == []
    func = folders["raw"] / "sub-01" / "ses-2" / "func"
    assert {p.name.split("_run-1_")[1] for p in func.glob("*_run-1_*")} == {
        "bold.nii.gz", "bold.json", "events.tsv", "events.json", "desc-confounds_timeseries.tsv"}


@pytest.mark.parametrize("step", ["glm", "rdms", "searchlight"])
def test_derivatives_pass_what_the_validator_checks(folders, bids_errors, step):
    assert _codes(bids_errors(folders[step])) <= RAW_ONLY
    description = json.loads((folders[step] / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative" and description["GeneratedBy"][0]["Name"] == "garden"
    assert (folders[step] / "README").is_file()


def test_the_validator_checks_a_derivative_description(folders, bids_errors, tmp_path):
    broken = shutil.copytree(folders["rdms"], tmp_path / "rdms")
    path = broken / "dataset_description.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "DatasetType": "derivatives"}))
    assert "JSON_SCHEMA_VALIDATION_ERROR" in _codes(bids_errors(broken))


@pytest.mark.parametrize("step", ["glm", "rdms", "searchlight"])
def test_derivative_file_names_follow_bids_naming(folders, step):
    files = sorted(p for p in folders[step].glob("sub-*/ses-*/func/*") if p.is_file())
    assert files
    for path in files:
        match = NAME.match(path.name)
        assert match, path.name
        keys = [part.split("-")[0] for part in match["entities"].rstrip("_").split("_")]
        subject, session = path.parts[-4], path.parts[-3]
        assert path.name.startswith(f"{subject}_{session}_task-"), path.name
        assert keys == sorted(keys, key=ENTITY_ORDER.index), path.name
        if match["ext"] != "json":
            assert path.with_name(path.name.replace(f".{match['ext']}", ".json")).is_file(), f"{path.name}: no sidecar"


def test_group_statistics_count_atlas_rois_and_are_not_a_subject_dataset(folders, bids_errors):
    description = json.loads((folders["stats"] / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative"
    counts = pd.read_csv(folders["stats"] / "tables" / "neural_searchlight.tsv", sep="\t")
    assert counts.model.tolist() == ["grid", "orthogonal"] and (counts.n_maps == 2).all()
    assert {f"significant_in_{name}" for name in ("rich", "lazy", "noise")} <= set(counts.columns)  # atlas ROIs
    assert _codes(bids_errors(folders["stats"])) == {"QUICK_VALIDATION_FAILED"}  # no sub-* folders: 1.x stops


def test_written_images_are_gzip_of_nibabels_bytes_and_the_same_each_time(tmp_path):
    """``write_image``'s ``.nii.gz`` (ISA-L's igzip) decompresses with Python's gzip to the bytes nibabel writes for
    the image as ``.nii``, reads back with its voxels, affine and TR, is byte-identical when written again (mtime 0,
    no file name in the header) and replaces a leftover of an interrupted run; no partial file stays behind."""
    rng = np.random.default_rng(0)
    image = nibabel.Nifti1Image(rng.normal(100, 1, (7, 6, 5, 12)).astype(np.float32), np.diag([3.0, 3.0, 3.0, 1.0]))
    image.header.set_zooms((3.0, 3.0, 3.0, 2.0))
    first, again, plain = (write_image(image, tmp_path / name) for name in ("a.nii.gz", "b.nii.gz", "c.nii"))
    assert gzip.decompress(first.read_bytes()) == image.to_bytes() == plain.read_bytes()
    assert first.read_bytes() == again.read_bytes()
    assert first.read_bytes()[3] == 0 and first.read_bytes()[4:8] == bytes(4)  # gzip FLG (no name), MTIME 0
    back = nibabel.load(str(first))
    assert np.array_equal(np.asarray(back.dataobj), np.asarray(image.dataobj))
    assert np.array_equal(back.affine, image.affine) and back.header.get_zooms()[3] == 2.0
    leftover = nibabel.Nifti1Image(np.zeros((2, 2, 2), np.uint8), np.eye(4))
    write_image(leftover, first)
    assert nibabel.load(str(first)).shape == (2, 2, 2)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.nii.gz", "b.nii.gz", "c.nii"]
