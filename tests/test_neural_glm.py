"""Simulated BOLD and the first-level GLM: files and ground truth, betas equal to nilearn's
FirstLevelModel on the same runs, and one-line errors for broken inputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import nibabel
import numpy as np
import pandas as pd
import pytest
from neural_helpers import mask_path, shared_bold
from nilearn.glm.first_level import FirstLevelModel
from nilearn.glm.first_level.first_level import mean_scaling, run_glm
from threadpoolctl import threadpool_limits

from garden.analysis.neural.bids import condition_name, find_runs, read_events
from garden.analysis.neural.glm import (
    HRF_MODELS,
    GlmConfig,
    design_events,
    fit_dataset,
    fit_run,
    glm_run,
    load_mask,
    read_confounds,
    read_session_betas,
    run_design,
    run_glm_arrays,
    yule_walker_ar1,
)
from garden.analysis.neural.rdms import RdmConfig, read_roi_rdms, roi_rdms
from garden.analysis.neural.rois import load_rois
from garden.analysis.neural.simulate import SimulationConfig, simulate_dataset
from garden.core.errors import UserError
from garden.cli import main


@pytest.fixture(scope="module")
def bold(tmp_path_factory):
    return shared_bold(tmp_path_factory, [0.1])


def _copy(bold, tmp_path):
    target = tmp_path / "bold"
    shutil.copytree(bold, target)
    return target


def test_simulator_writes_bids_runs_with_ground_truth(bold):
    runs = find_runs(bold)[("sub-01", "ses-2")]
    assert [r.run for r in runs] == [1, 2, 3, 4, 5, 6]
    image = nibabel.load(str(runs[0].bold))
    events = read_events(runs[0].events)
    assert image.ndim == 4 and image.shape[:3] == (20, 10, 10)
    assert image.shape[3] * 2.0 >= (events["onset"] + events["duration"]).max()
    assert json.loads(runs[0].bold_json.read_text())["RepetitionTime"] == 2.0
    assert set(pd.read_csv(runs[0].confounds, sep="\t").columns) >= {"trans_x", "rot_z"}
    truth = json.loads((bold / "ground_truth.json").read_text())
    person = truth["participants"]["sub-01"]
    assert 0.6 < person["accuracy"] < 1 and person["rois"]["rich"]["gain"] == pytest.approx(
        (person["accuracy"] - 0.5) / 0.5)
    assert person["rois"]["noise"]["geometry"] == "none" and truth["roi_voxels"]["rich"] > 50
    assert "masks/" in (bold / ".bidsignore").read_text()
    brain, _ = load_mask(mask_path(bold))
    data = np.asarray(image.dataobj)
    assert (data[~brain] == 0).all() and abs(data[brain].mean() - 100) < 2  # baseline 100 inside the brain


def test_simulation_is_seeded_and_refuses_overwrite(bold, tmp_path):
    config = SimulationConfig(seed=0)
    again = simulate_dataset(bold.parent / "sessions", tmp_path / "again", config)
    first = find_runs(bold)[("sub-01", "ses-2")][2].bold
    second = find_runs(again)[("sub-01", "ses-2")][2].bold
    assert np.array_equal(nibabel.load(str(first)).get_fdata(), nibabel.load(str(second)).get_fdata())
    with pytest.raises(UserError, match="already exists"):
        simulate_dataset(bold.parent / "sessions", again, config)


def test_simulation_is_the_same_in_another_process(bold, tmp_path):
    """Same seed, another Python process with another string-hash seed: the same BOLD (the demo
    relies on it to give the same neural tables run after run)."""
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-m", "garden", "neural", "simulate", str(bold.parent / "sessions"), "--out",
                    str(tmp_path / "again"), "--seed", "0"], check=True, env=env, capture_output=True)
    for first, second in zip(find_runs(bold)[("sub-01", "ses-2")], find_runs(tmp_path / "again")[("sub-01", "ses-2")]):
        assert np.array_equal(nibabel.load(str(first.bold)).get_fdata(), nibabel.load(str(second.bold)).get_fdata())


@pytest.mark.parametrize("noise_model", ["ar1", "ols"])
def test_betas_equal_nilearn_first_level_model(bold, noise_model):
    run = find_runs(bold)[("sub-01", "ses-2")][1]
    brain, mask_image = load_mask(mask_path(bold))
    config = GlmConfig(noise_model=noise_model, confounds=("motion",))
    with threadpool_limits(1):
        fit = glm_run(run, brain, config)
        events = read_events(run.events)
        events["trial_type"] = [condition_name(c) if c >= 0 else t for t, c in zip(events.trial_type, events.condition)]
        model = FirstLevelModel(t_r=2.0, hrf_model="glover", drift_model="cosine", high_pass=0.01,
                                noise_model=noise_model, mask_img=mask_image, signal_scaling=0, minimize_memory=True)
        image = nibabel.load(str(run.bold))  # float64 in memory, as our GLM reads it (the file is float32)
        image = nibabel.Nifti1Image(np.asarray(image.dataobj, dtype=float), image.affine, image.header)
        model.fit(image, events=design_events(events, 2.0),  # the events our design models (no triggers)
                  confounds=read_confounds(run, config, fit.residuals.shape[0]))
        theirs = model.design_matrices_[0]
        assert np.allclose(fit.design[theirs.columns].to_numpy(), theirs.to_numpy())
        for condition in (0, 17, 49):
            effect = model.compute_contrast(condition_name(condition), output_type="effect_size")
            reference = effect.get_fdata()[brain]
            assert np.abs(fit.betas[condition] - reference).max() < 1e-8 * max(1.0, np.abs(reference).max())
    assert fit.dof == fit.residuals.shape[0] - np.linalg.matrix_rank(fit.design.to_numpy())


@pytest.mark.parametrize("hrf", HRF_MODELS)
def test_the_design_equals_nilearns_for_every_hrf(bold, hrf):
    """The LSA design (event regressors evaluated at the volumes only, ``event_regressors``) equals nilearn's
    ``make_first_level_design_matrix`` on a simulated run, with and without confounds and drift, to float rounding."""
    from nilearn.glm.first_level import make_first_level_design_matrix

    run = find_runs(bold)[("sub-01", "ses-2")][2]
    config = GlmConfig(hrf_model=hrf, confounds=("motion",))
    events = read_events(run.events)
    n_volumes = nibabel.load(str(run.bold)).shape[3]
    confounds = read_confounds(run, config, n_volumes)
    ours = run_design(events, n_volumes, 2.0, config, confounds)
    events["trial_type"] = [condition_name(c) if c >= 0 else t for t, c in zip(events.trial_type, events.condition)]
    frame_times = np.arange(n_volumes) * 2.0
    theirs = make_first_level_design_matrix(frame_times, design_events(events, 2.0), hrf_model=hrf,
                                            drift_model="cosine", high_pass=0.01, add_regs=confounds.to_numpy(),
                                            add_reg_names=list(confounds.columns))
    assert sorted(ours.columns) == sorted(theirs.columns) and ("c07_derivative" in ours) == ("+" in hrf)
    assert np.abs(ours[theirs.columns].to_numpy() - theirs.to_numpy()).max() < 1e-12
    bare = run_design(events.assign(trial_type=read_events(run.events).trial_type), n_volumes, 2.0,
                      GlmConfig(hrf_model=hrf, drift_model="none", confounds=()))
    plain = make_first_level_design_matrix(frame_times, design_events(events, 2.0), hrf_model=hrf, drift_model=None)
    assert np.abs(bare[plain.columns].to_numpy() - plain.to_numpy()).max() < 1e-12


@pytest.mark.parametrize("noise_model", ["ar1", "ols"])
def test_the_fit_is_nilearns_run_glm_bit_for_bit(bold, noise_model):
    """``run_glm_arrays`` keeps only what the GLM writes of nilearn's ``run_glm``, computed with the same operations:
    the coefficients and the whitened residuals equal nilearn's to the last bit, its AR(1) bins included."""
    from nilearn.glm.first_level.first_level import _yule_walker

    run = find_runs(bold)[("sub-01", "ses-2")][1]
    brain, _ = load_mask(mask_path(bold))
    data = mean_scaling(nibabel.load(str(run.bold)).get_fdata()[brain].T, axis=0)[0]
    design = run_design(read_events(run.events), data.shape[0], 2.0, GlmConfig()).to_numpy(dtype=float)
    coefficients, residuals = run_glm_arrays(data, design, noise_model)
    labels, results = run_glm(data, design, noise_model=noise_model)
    assert len(results) == (1 if noise_model == "ols" else len(np.unique(labels))) and len(results) < 100
    for label, result in results.items():
        voxels = labels == label
        assert np.array_equal(coefficients[:, voxels], result.theta)
        assert np.array_equal(residuals[:, voxels], result.whitened_residuals)
    ols = data - design @ np.linalg.pinv(design) @ data
    assert np.array_equal(yule_walker_ar1(ols.T), _yule_walker(ols.T, 1)[:, 0])


def _closest_to_orthogonal(design: np.ndarray, residuals: np.ndarray) -> np.ndarray:
    """Per voxel (column of ``residuals``), the smallest over nilearn's AR(1) bins rho = k/100 of |wX(rho)' r| /
    (|wX(rho)| |r|), wX(rho) the design whitened with rho (row t less rho times row t - 1, the first row kept)."""
    rhos = np.arange(-100, 101) / 100
    a, b = design.T @ residuals, design[:-1].T @ residuals[1:]  # wX(rho)' r = a - rho b
    norms = np.array([np.linalg.norm(design - rho * np.vstack([np.zeros(design.shape[1]), design[:-1]]))
                      for rho in rhos])
    cosines = np.linalg.norm(a[None] - rhos[:, None, None] * b[None], axis=1) / norms[:, None]
    return (cosines / np.linalg.norm(residuals, axis=0)).min(axis=0)


def test_ar1_residuals_are_the_whitened_runs_residuals(bold):
    """The residuals the GLM writes (noise for crossnobis) are least-squares residuals of the whitened run: for one
    of nilearn's AR(1) coefficients, orthogonal to the design whitened with it. nilearn's ``residuals`` attribute
    (the BOLD less the whitened design times the betas, nilearn/nilearn#2964) is not, in any voxel with rho != 0."""
    run = find_runs(bold)[("sub-01", "ses-2")][2]
    brain, _ = load_mask(mask_path(bold))
    data = nibabel.load(str(run.bold)).get_fdata()[brain].T
    design = run_design(read_events(run.events), data.shape[0], 2.0, GlmConfig())
    _, residuals, _ = fit_run(data, design, noise_model="ar1")
    assert _closest_to_orthogonal(design.to_numpy(), residuals).max() < 1e-9
    labels, results = run_glm(mean_scaling(data, axis=0)[0], design.to_numpy(), noise_model="ar1")
    theirs = np.empty_like(residuals)
    for label, result in results.items():
        theirs[:, labels == label] = result.residuals
    correlated = labels.astype(float) != 0  # where rho is 0 the two are the same
    assert correlated.mean() > 0.9 and _closest_to_orthogonal(design.to_numpy(), theirs[:, correlated]).min() > 1e-5


def test_glm_folder_round_trip(bold, tmp_path):
    with threadpool_limits(1):
        out = fit_dataset(bold, tmp_path / "glm", mask=mask_path(bold), config=GlmConfig(noise_model="ols"))
    brain, _ = load_mask(mask_path(bold))
    [session] = read_session_betas(out, brain)
    assert session.betas.shape == (6, 50, brain.sum()) and len(session.residuals) == 6
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative" and description["GeneratedBy"][1]["Name"] == "nilearn"
    assert description["SourceDatasets"][0]["URL"].startswith("file:///")
    sidecar = json.loads(next(out.glob("sub-01/ses-2/func/*_run-1_stat-effect_statmap.json")).read_text())
    assert sidecar["conditions"][:2] == ["c00", "c01"] and sidecar["config"]["noise_model"] == "ols"
    with pytest.raises(UserError, match="already exists"):
        fit_dataset(bold, out, mask=mask_path(bold), config=GlmConfig())
    rois, affine = load_rois({"rich": mask_path(bold, "rich")})
    rdms = roi_rdms(out, tmp_path / "rdms", rois=rois, affine=affine, config=RdmConfig())
    found = read_roi_rdms(rdms)
    [row] = found.rdm_descriptors.to_dict("records")
    assert row["roi"] == "rich" and found.matrices.shape == (1, 50, 50) and found.dissimilarity_measure == row["method"]
    with pytest.raises(UserError, match="already exists"):
        roi_rdms(out, rdms, rois=rois, affine=affine, config=RdmConfig())


def _break(bold, how):
    func = bold / "sub-01" / "ses-2" / "func"
    stem = "sub-01_ses-2_task-garden_run-3"
    if how == "missing run":
        (func / f"{stem}_events.tsv").unlink()
    elif how == "mismatched TR":
        (func / f"{stem}_bold.json").write_text(json.dumps({"RepetitionTime": 2.5}))
    elif how == "events outside the scan":
        image = nibabel.load(str(func / f"{stem}_bold.nii.gz"))
        nibabel.Nifti1Image(np.asarray(image.dataobj)[..., :200], image.affine, image.header).to_filename(
            func / f"{stem}_bold.nii.gz")
    elif how == "condition absent":
        events = pd.read_csv(func / f"{stem}_events.tsv", sep="\t", dtype=str, keep_default_na=False)
        keep = ~((events.trial_type == "tree") & (events.context == "north") & (events.branchiness == "1")
                 & (events.leafiness == "1"))
        events[keep].to_csv(func / f"{stem}_events.tsv", sep="\t", index=False)
    elif how == "missing BOLD":
        (func / f"{stem}_bold.nii.gz").unlink()


@pytest.mark.parametrize("how, message", [
    ("missing run", r"run\(s\) \[3\] missing"),
    ("mismatched TR", r"mismatched TRs .*bold.json 2.5 s.*header 2 s"),
    ("events outside the scan", r"run-3_events.tsv: row \d+: event .* outside the scan \(0..400 s"),
    ("condition absent", r"run-3_events.tsv: condition\(s\) \[0\] absent from this run"),
    ("missing BOLD", r"run-3_bold.nii.gz: missing BOLD image"),
])
def test_broken_inputs_give_one_line_and_exit_2(bold, tmp_path, capsys, how, message):
    broken = _copy(bold, tmp_path)
    _break(broken, how)
    code = main(["neural", "glm", str(broken), "--mask", str(mask_path(broken)), "--out", str(tmp_path / "glm"),
                 "--noise-model", "ols"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("garden neural: error:")
    assert pytest.importorskip("re").search(message, err), err
    assert not (tmp_path / "glm").exists()
