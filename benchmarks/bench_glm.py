"""A run's GLM against nilearn's, side by side: the design matrix (``garden.analysis.neural.glm.run_design`` against
``make_first_level_design_matrix``) and the fit (``run_glm_arrays`` against ``run_glm``, AR(1) and OLS).

``python -m benchmarks glm``. One scanner session of the shipped flesch2022 protocol played by a seeded agent (as
``garden run --simulate`` plays it), its simulated BOLD's 6 runs; per run and HRF the LSA design (50 conditions, the
other event types, cosine drift) built by ours and by nilearn, each ``REPEATS`` times, CPU seconds per design, and the
largest absolute difference between the two designs (they must agree to float rounding); per run and noise model
the fit of the brain mask's voxels (percent signal change) under the glover design, CPU seconds per fit, and whether
the coefficients and whitened residuals are nilearn's to the last bit. BLAS runs on one thread."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import nibabel
import numpy as np

from garden.analysis.neural.bids import find_runs, read_events
from garden.analysis.neural.glm import (
    HRF_MODELS,
    GlmConfig,
    condition_name,
    design_events,
    load_mask,
    run_design,
    run_glm_arrays,
)
from garden.analysis.neural.simulate import SimulationConfig, simulate_dataset
from garden.experiment.config import load_protocol
from garden.experiment.simulate import simulate_session
from garden.modeling.agents import get_agent
from threadpoolctl import threadpool_limits

REPEATS = 5
TR_S = 2.0


def _runs(folder: Path) -> list[tuple]:
    """(events, volumes, BOLD of the brain mask's voxels (volumes, voxels)) of each run of one simulated scanner
    session."""
    simulate_session(load_protocol("flesch2022"), "01", 2, get_agent("factorized", {"lapse": 0.1}, seed=0),
                     folder / "sessions")
    bold = simulate_dataset(folder / "sessions", folder / "bold", SimulationConfig())
    brain, _ = load_mask(bold / "masks" / "brain_mask.nii.gz")
    return [(read_events(run.events), image.shape[3], image.get_fdata()[brain].T)
            for runs in find_runs(bold).values() for run in runs for image in [nibabel.load(str(run.bold))]]


def _cpu_per_design(build, runs: list[tuple]) -> float:
    start = time.process_time()
    for _ in range(REPEATS):
        for events, volumes, _ in runs:
            build(events, volumes)
    return (time.process_time() - start) / (REPEATS * len(runs))


def _fits(runs: list[tuple]) -> dict:
    """Per noise model: CPU ms per run of ours and nilearn's fit, and whether every run's results are bit-equal."""
    from nilearn.glm.first_level.first_level import mean_scaling, run_glm

    prepared = [(mean_scaling(data, axis=0)[0], run_design(events, volumes, TR_S, GlmConfig(confounds=()))
                 .to_numpy(dtype=float)) for events, volumes, data in runs]
    out = {}
    for noise_model in ("ar1", "ols"):
        start = time.process_time()
        ours = [run_glm_arrays(data, design, noise_model) for data, design in prepared]
        ours_s = time.process_time() - start
        start = time.process_time()
        theirs = [run_glm(data, design, noise_model=noise_model) for data, design in prepared]
        theirs_s = time.process_time() - start
        equal = all(np.array_equal(coefficients[:, labels == label], result.theta)
                    and np.array_equal(residuals[:, labels == label], result.whitened_residuals)
                    for (coefficients, residuals), (labels, results) in zip(ours, theirs)
                    for label, result in results.items())
        out[noise_model] = {"ours_cpu_ms": round(ours_s / len(runs) * 1e3, 1),
                            "nilearn_cpu_ms": round(theirs_s / len(runs) * 1e3, 1),
                            "speedup": round(theirs_s / ours_s, 2), "bit_equal": equal}
    return out


def main() -> dict:
    with tempfile.TemporaryDirectory() as folder, threadpool_limits(1):
        return _measure(_runs(Path(folder)))


def _measure(runs: list[tuple]) -> dict:
    """The measurements of the module docstring on ``runs`` (``_runs``)."""
    from nilearn.glm.first_level import make_first_level_design_matrix

    result = {"runs": len(runs), "volumes": [v for _, v, _ in runs], "events_per_run": [len(e) for e, _, _ in runs],
              "voxels": runs[0][2].shape[1], "repeats": REPEATS, "fits": _fits(runs), "hrfs": {}}
    for hrf in HRF_MODELS:
        config = GlmConfig(hrf_model=hrf, confounds=())

        def ours(events, volumes):
            return run_design(events, volumes, TR_S, config)

        def nilearns(events, volumes):
            named = events.assign(trial_type=[condition_name(c) if c >= 0 else str(t)
                                              for t, c in zip(events["trial_type"], events["condition"])])
            return make_first_level_design_matrix(np.arange(volumes) * TR_S, design_events(named, TR_S),
                                                  hrf_model=hrf, drift_model="cosine", high_pass=config.high_pass_hz)

        difference = max(float(np.abs(ours(e, v)[theirs.columns].to_numpy() - theirs.to_numpy()).max())
                         for e, v, _ in runs for theirs in [nilearns(e, v)])
        ours_s, theirs_s = _cpu_per_design(ours, runs), _cpu_per_design(nilearns, runs)
        result["hrfs"][hrf] = {"ours_cpu_ms": round(ours_s * 1e3, 2), "nilearn_cpu_ms": round(theirs_s * 1e3, 2),
                               "speedup": round(theirs_s / ours_s, 1), "max_abs_difference": difference}
    return result
