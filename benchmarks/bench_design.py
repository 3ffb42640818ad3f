"""The GLM's design matrix (``garden.analysis.neural.glm.run_design``) against nilearn's
``make_first_level_design_matrix`` on the same run, side by side.

``python -m benchmarks design``. One scanner session of the shipped flesch2022 protocol played by a seeded agent (as
``garden run --simulate`` plays it), its simulated BOLD's 6 runs; per run and HRF the LSA design (50 conditions, the
other event types, cosine drift) built by ours and by nilearn, each ``REPEATS`` times, CPU seconds per design. Also
the largest absolute difference between the two designs (they must agree to float rounding)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import nibabel
import numpy as np

from garden.analysis.neural.bids import find_runs, read_events
from garden.analysis.neural.glm import HRF_MODELS, GlmConfig, condition_name, design_events, run_design
from garden.analysis.neural.simulate import SimulationConfig, simulate_dataset
from garden.experiment.config import load_protocol
from garden.experiment.simulate import simulate_session
from garden.modeling.agents import get_agent

REPEATS = 5
TR_S = 2.0


def _runs(folder: Path) -> list[tuple]:
    """(events, volumes) of each run of one simulated scanner session."""
    simulate_session(load_protocol("flesch2022"), "01", 2, get_agent("factorized", {"lapse": 0.1}, seed=0),
                     folder / "sessions")
    bold = simulate_dataset(folder / "sessions", folder / "bold", SimulationConfig())
    return [(read_events(run.events), nibabel.load(str(run.bold)).shape[3])
            for runs in find_runs(bold).values() for run in runs]


def _cpu_per_design(build, runs: list[tuple]) -> float:
    start = time.process_time()
    for _ in range(REPEATS):
        for events, volumes in runs:
            build(events, volumes)
    return (time.process_time() - start) / (REPEATS * len(runs))


def main() -> dict:
    from nilearn.glm.first_level import make_first_level_design_matrix

    with tempfile.TemporaryDirectory() as folder:
        runs = _runs(Path(folder))
    result = {"runs": len(runs), "volumes": [v for _, v in runs], "events_per_run": [len(e) for e, _ in runs],
              "repeats": REPEATS, "hrfs": {}}
    for hrf in HRF_MODELS:
        config = GlmConfig(hrf_model=hrf, confounds=())

        def ours(events, volumes):
            return run_design(events, volumes, TR_S, config)

        def nilearns(events, volumes):
            named = events.assign(trial_type=[condition_name(c) if c >= 0 else str(t)
                                              for t, c in zip(events["trial_type"], events["condition"])])
            return make_first_level_design_matrix(np.arange(volumes) * TR_S, design_events(named, TR_S),
                                                  hrf_model=hrf, drift_model="cosine", high_pass=config.high_pass_hz)

        difference = max(float(np.abs(ours(e, v)[nilearns(e, v).columns].to_numpy() - nilearns(e, v).to_numpy()).max())
                         for e, v in runs)
        ours_s, theirs_s = _cpu_per_design(ours, runs), _cpu_per_design(nilearns, runs)
        result["hrfs"][hrf] = {"ours_cpu_ms": round(ours_s * 1e3, 2), "nilearn_cpu_ms": round(theirs_s * 1e3, 2),
                               "speedup": round(theirs_s / ours_s, 1), "max_abs_difference": difference}
    return result
