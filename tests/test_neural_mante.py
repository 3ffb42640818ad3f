"""The Mante et al. monkey units through the neural RDM/model route: a grid-coding population is
recognised as grid, an orthogonal (context-gated) one as orthogonal."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.io import savemat

from garden.cli import main

MOTION = np.array([-0.5, -0.15, -0.05, 0.05, 0.15, 0.5])
COLOUR = np.array([-0.3, -0.1, -0.03, 0.03, 0.1, 0.3])


def _units(folder, gated: bool, rng, n_units: int = 30, trials: int = 4) -> list:
    m, c, ctx = (g.ravel() for g in np.meshgrid(np.arange(6), np.arange(6), (1, -1), indexing="ij"))
    m, c, ctx = (np.repeat(v, trials) for v in (m, c, ctx))
    time = np.arange(0.0, 0.5, 0.05)
    paths = []
    for k in range(n_units):
        w = rng.standard_normal(3)
        motion, colour = (m - 2.5), (c - 2.5)
        if gated:  # only the context's relevant feature, each context on its own units' mixture
            rate = np.where(ctx == 1, w[0] * motion, w[1] * colour) + w[2] * (ctx == -1)
        else:
            rate = w[0] * motion + w[1] * colour + w[2] * (ctx == -1)
        response = rate[:, None] + rng.normal(0, 0.3, (rate.size, time.size))
        paths.append(folder / f"unit{k:02d}.mat")
        savemat(paths[-1], {"unit": {"response": response, "time": time, "task_variable": {
            "stim_dir": MOTION[m], "stim_col": COLOUR[c], "context": ctx.astype(float),
            "correct": np.ones(rate.size)}}})
    return paths


def test_grid_and_orthogonal_populations_are_told_apart(tmp_path):
    rng = np.random.default_rng(2)
    betas = {}
    for name, gated in (("grid", False), ("orthogonal", True)):
        folder = tmp_path / name
        folder.mkdir()
        paths = _units(folder, gated, rng)
        out = tmp_path / f"out-{name}"
        assert main(["neural", "mante", *map(str, paths), "--out", str(out), "--restarts", "3"]) == 0
        table = pd.read_csv(out / "tables" / "neural_mante_betas.tsv", sep="\t").set_index("model")["beta"]
        assert pd.read_csv(out / "tables" / "neural_mante_rdm.tsv", sep="\t").shape == (72, 72)
        betas[name] = table
    assert betas["grid"]["grid"] > betas["grid"]["orthogonal"]
    assert betas["orthogonal"]["orthogonal"] > betas["orthogonal"]["grid"]
    assert main(["neural", "mante", str(paths[0]), "--out", str(out)]) == 2  # never overwrites


def test_the_papers_compression_model_is_selectable_and_reads_a_gated_population_as_compressed(tmp_path):
    paths = _units(tmp_path, True, np.random.default_rng(2))
    fits = {}
    for model in ("ours", "paper"):
        out = tmp_path / f"out-{model}"
        assert main(["neural", "mante", *map(str, paths), "--out", str(out), "--restarts", "5",
                     "--compression-model", model]) == 0
        fits[model] = pd.read_csv(out / "tables" / "neural_mante_compression.tsv", sep="\t").iloc[0]
    for model, fit in fits.items():
        assert fit["compression_model"] == model
        for context in ("north", "south"):   # each context codes only its relevant feature
            assert fit[f"{context}_irrelevant"] < 0.3 * fit[f"{context}_relevant"], (model, context)
    assert fits["paper"]["north_relevant"] <= 1 and fits["paper"]["context_offset"] <= 2   # c in [0, 1], max-scaled
