"""RSA toolkit timings on task-sized inputs (50 conditions), with side-by-side ratios.

``python -m benchmarks rsa``. Seeded inputs; each figure is the best of a few repeats (seconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def _best_s(function: Callable[[], object], repeats: int = 3) -> float:
    """Fastest wall time of ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def _tau_a_pairs(a: np.ndarray, b: np.ndarray) -> float:
    """Textbook O(n^2) tau_a, the baseline for the O(n log n) one."""
    s = np.sign(a[:, None] - a[None, :]) * np.sign(b[:, None] - b[None, :])
    return s.sum() / (a.size * (a.size - 1))


def main() -> dict:
    from garden.rsa.compare import kendall_tau_a, regress_rdms
    from garden.rsa.crossval import crossnobis_rdm, shrinkage_covariance
    from garden.rsa.compression_model import fit_compression_model
    from garden.rsa.mds import mds
    from garden.rsa.model_rdms import model_rdm, model_rdms
    from garden.rsa.distances import rdm, square
    from garden.rsa.rdms import RDMs

    rng = np.random.default_rng(0)
    runs = rng.normal(size=(6, 50, 1000))  # 6 fMRI runs x 50 conditions x 1000 voxels
    models = model_rdms(["grid", "orthogonal", "parallel"])
    data = models.vectors()[1] + rng.normal(0, 0.5, 1225)
    grid = models.vectors()[0]
    data_rdms = RDMs(np.stack([square(data - data.min())] * 100), models.pattern_descriptors)
    residuals = (runs - runs.mean(axis=0)).reshape(-1, runs.shape[2])
    out = {
        "rdm_correlation_50x1000_s": _best_s(lambda: rdm(runs[0], "correlation")),
        "crossnobis_rdm_6x50x1000_s": _best_s(lambda: crossnobis_rdm(runs)),
        "crossnobis_ledoit_wolf_6x50x1000_s": _best_s(lambda: crossnobis_rdm(runs, noise_cov=shrinkage_covariance(
            residuals, dof=5 * 50, method="shrinkage_eye", centred=True)), 1),
        "regress_rdms_100_rdms_3_models_s": _best_s(lambda: regress_rdms(data_rdms, models)),
        "tau_a_1225_s": _best_s(lambda: kendall_tau_a(data, grid)),
        "tau_a_1225_pairwise_s": _best_s(lambda: _tau_a_pairs(data, grid)),
        "metric_mds_50_s": _best_s(lambda: mds(model_rdm("grid"), kind="metric", seed=0), 1),
        "compression_fit_10_restarts_s": _best_s(lambda: fit_compression_model(data, n_restarts=10, seed=0), 1),
        "compression_fit_paper_100_restarts_s": _best_s(
            lambda: fit_compression_model(data, n_restarts=100, seed=0, model="paper"), 1),
    }
    out["tau_a_speedup_vs_pairwise"] = out["tau_a_1225_pairwise_s"] / out["tau_a_1225_s"]
    try:
        import rsatoolbox
    except ImportError:
        return {k: round(v, 5) for k, v in out.items()}
    pair = (rsatoolbox.rdm.RDMs(data[None]), rsatoolbox.rdm.RDMs(grid[None]))
    out["tau_a_1225_rsatoolbox_s"] = _best_s(lambda: rsatoolbox.rdm.compare(*pair, method="tau-a"))
    out["tau_a_speedup_vs_rsatoolbox"] = out["tau_a_1225_rsatoolbox_s"] / out["tau_a_1225_s"]
    return {k: round(v, 5) for k, v in out.items()}
