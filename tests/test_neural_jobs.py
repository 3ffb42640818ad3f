"""Per-participant GLMs and searchlights as submitit jobs: the local executor writes the same bytes
as the inline run, and an interrupted run resumes, keeping the participants already done."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from neural_helpers import mask_path, shared_bold
from threadpoolctl import threadpool_limits

from garden.analysis.neural.bids import find_runs
from garden.analysis.neural.glm import (
    GlmConfig,
    check_run,
    fit_dataset,
    fit_session,
    load_mask,
)
from garden.analysis.neural.rdms import RdmConfig, searchlight_maps
from garden.core.errors import UserError
from garden.cli import main

GLM = GlmConfig(noise_model="ols")
LIGHT = RdmConfig(method="crossnobis", radius=1.5, models=("grid", "orthogonal"))
VOLATILE = ("created_utc",)
"""Sidecar fields that differ between two runs of the same command (the clock)."""


@pytest.fixture(scope="module")
def bold(tmp_path_factory):
    return shared_bold(tmp_path_factory, [0.1, 0.3])


def _files(folder: Path) -> dict[str, bytes | dict]:
    """Every file of a folder: bytes, or for JSON the parsed record without its creation time."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".json":
            out[str(path.relative_to(folder))] = {k: v for k, v in json.loads(path.read_text()).items()
                                                  if k not in VOLATILE}
        else:
            out[str(path.relative_to(folder))] = path.read_bytes()
    return out


@pytest.fixture(scope="module")
def inline(bold, tmp_path_factory):
    with threadpool_limits(1):
        return fit_dataset(bold, tmp_path_factory.mktemp("inline") / "glm", mask=mask_path(bold), config=GLM)


def test_an_interrupted_glm_resumes_keeping_finished_participants(bold, inline, tmp_path):
    """The interrupted run's folder holds the files its jobs wrote (``fit_session``, as the inline GLM's): sub-01
    finished, sub-02's run 1 cut short before its sidecar, the file that marks a run done."""
    partial = tmp_path / "glm.partial"
    shutil.copytree(inline / "sub-01", partial / "sub-01")  # sub-01 finished
    cut = partial / "sub-02/ses-2/func"
    cut.mkdir(parents=True)
    for path in (inline / "sub-02/ses-2/func").glob("sub-02_ses-2_task-garden_run-1_*"):
        shutil.copy2(path, cut)
    (cut / "sub-02_ses-2_task-garden_run-1_stat-effect_statmap.json").unlink()  # cut short
    assert sorted(p.name for p in cut.iterdir()) == [
        "sub-02_ses-2_task-garden_run-1_desc-residuals_bold.json",
        "sub-02_ses-2_task-garden_run-1_desc-residuals_bold.nii.gz",
        "sub-02_ses-2_task-garden_run-1_stat-effect_statmap.nii.gz"]
    kept = {p: os.stat(p).st_mtime_ns for p in partial.glob("sub-01/ses-2/func/*")}
    out = fit_dataset(bold, tmp_path / "glm", mask=mask_path(bold), config=GLM, executor="local")
    assert {p: os.stat(out / p.relative_to(partial)).st_mtime_ns for p in kept} == kept  # not refitted
    resumed, fresh = _files(out), _files(inline)
    assert {k: v for k, v in resumed.items() if "sub-02" in k} == {k: v for k, v in fresh.items() if "sub-02" in k}
    assert all(resumed[k] == fresh[k] for k in resumed if k.endswith(".nii.gz"))


def test_resuming_with_other_options_is_refused(bold, tmp_path):
    brain, image = load_mask(mask_path(bold))
    first = [check_run(run, brain, GLM) for run in find_runs(bold)[("sub-01", "ses-2")]][:1]
    fit_session(first, brain, image.affine, GLM, tmp_path / "glm.partial", mask_path(bold), "earlier run")
    with pytest.raises(UserError, match="unfinished GLM made with other options"):
        fit_dataset(bold, tmp_path / "glm", mask=mask_path(bold), config=GlmConfig(noise_model="ar1"))


@pytest.mark.slow
def test_local_searchlight_jobs_write_the_inline_maps(bold, inline, tmp_path):
    with threadpool_limits(1):
        one = searchlight_maps(inline, tmp_path / "one", mask=mask_path(bold), config=LIGHT)
    two = searchlight_maps(inline, tmp_path / "two", mask=mask_path(bold), config=LIGHT, executor="local", jobs=2)
    files = _files(two)
    assert len([f for f in files if f.endswith("_statmap.nii.gz")]) == 2 * 2  # 2 participants x 2 models
    assert files == _files(one)


@pytest.mark.slow
def test_local_jobs_write_the_inline_glm_byte_for_byte(bold, inline, tmp_path):
    code = main(["neural", "glm", str(bold), "--mask", str(mask_path(bold)), "--out", str(tmp_path / "glm"),
                 "--noise-model", "ols", "--executor", "local", "--jobs", "2", "--timeout-min", "30"])
    assert code == 0
    files = _files(tmp_path / "glm")
    assert len([f for f in files if f.endswith(".nii.gz")]) == 2 * 6 * 2  # 2 participants x 6 runs x 2 images
    assert files == _files(inline)  # sidecars too: they record this process's command line, not submitit's
    assert not (tmp_path / "glm.partial").exists() and not (tmp_path / "glm.jobs").exists()
