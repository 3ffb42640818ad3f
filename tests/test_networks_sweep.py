"""Sweeps: the paper's rich-vs-lazy signatures on a reduced sweep, shards, resume, submitit, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from optional import skip_module_without

skip_module_without("torch", "[gpu]")

from garden.core.jobs import Resources  # noqa: E402
from garden.cli import main  # noqa: E402
from garden.modeling.networks import load_results, train_sweep  # noqa: E402
from garden.modeling.networks.config import SweepConfig, TrainConfig  # noqa: E402
from garden.modeling.networks.sweep import prepare_sweep, run_shard  # noqa: E402

SMALL = SweepConfig(scales=(0.01, 3.0), ctx_scales=(0.5, 1.5), seeds=(0, 1, 2),
                    train=TrainConfig(steps=60, threads=1),
                    noise_repeats=3)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def reduced(tmp_path_factory):
    """Scales 0.01 (rich) and 3 (lazy), 4 seeds, 2000 steps: the signatures already hold there."""
    config = SweepConfig(scales=(0.01, 3.0), ctx_scales=(0.5, 1.5), seeds=(0, 1, 2, 3), train=TrainConfig(steps=2000),
                         noise_repeats=10)
    out = train_sweep(config, tmp_path_factory.mktemp("sweep") / "reduced", progress=False)
    return load_results(out)


def test_rich_and_lazy_signatures(reduced):
    s = reduced.summary
    rich, lazy = s[s.scale == 0.01].mean(numeric_only=True), s[s.scale == 3.0].mean(numeric_only=True)
    assert (s.final_accuracy == 1).all()
    assert rich.beta_orthogonal > rich.beta_grid + 0.3          # two orthogonal manifolds
    assert lazy.beta_grid > lazy.beta_orthogonal + 0.3          # a grid
    assert rich.n_task_selective > 2 * lazy.n_task_selective
    assert rich.n_task_selective > rich.n_mixed                  # most live units task-selective
    assert rich.context_weight_corr < -0.3 and rich.context_weight_corr_all < lazy.context_weight_corr_all
    assert rich.steps_to_criterion > 10 * lazy.steps_to_criterion  # rich learns slower...
    assert rich["acc_noise_0.1"] > lazy["acc_noise_0.1"] + 0.05    # ...and is more robust to noise
    assert rich.dim_90 < lazy.dim_90
    assert rich.acc_ablate_task_selective < rich.acc_ablate_mixed  # rich nets run on task-selective units


def test_results_files_and_sidecars(reduced, tmp_path):
    a = reduced.arrays
    assert len(reduced.summary) == 8 and list(reduced.summary.seed) == [0, 1, 2, 3] * 2
    assert a["hidden"].shape == (8, 50, 100) and a["loss"].shape == (8, 201) and a["record_steps"][-1] == 2000
    assert a["unit_class"].shape == (8, 100)
    np.testing.assert_array_equal((a["unit_class"] == 0).sum(1), reduced.summary.n_task_selective)
    assert reduced.config.train.steps == 2000
    np.testing.assert_array_equal(a["accuracy_incongruent"][:, -1], reduced.summary.acc_incongruent)
    steps = a["record_steps"]
    first = {k: steps[np.argmax(a[f"accuracy_{k}"] == 1, axis=1)] for k in ("congruent", "incongruent")}
    assert (first["incongruent"] > first["congruent"]).all()  # the rules conflict: learned later


def test_sidecar_says_which_units_the_context_correlation_uses(tmp_path):
    out = train_sweep(SMALL, tmp_path / "s", progress=False)
    sidecar = json.loads((out / "summary.json").read_text())
    assert "task-selective" in sidecar["columns"]["context_weight_corr"]["Description"].lower()
    assert "ALL" in sidecar["columns"]["context_weight_corr_all"]["Description"]
    assert sidecar["curve_stride_steps"] == 10 and sidecar["config"]["train"]["lr"] == 0.005
    with pytest.raises(ValueError, match="finished sweep"):
        train_sweep(SMALL, out, progress=False)


def test_sharded_resumed_and_submitit_runs_equal_the_single_run(tmp_path):
    single = train_sweep(SMALL, tmp_path / "single", progress=False)
    three = train_sweep(SMALL, tmp_path / "three", shards=3, progress=False)
    # two shards: the first one "from an earlier, interrupted run", the second through submitit
    prepare_sweep(SMALL, tmp_path / "two", 2)
    run_shard(SMALL, tmp_path / "two", 0, 2, progress=False)
    before = (tmp_path / "two" / "shards" / "shard-000-of-002.npz").stat().st_mtime_ns
    with pytest.raises(ValueError, match="other settings"):
        train_sweep(SMALL, tmp_path / "two", shards=3, progress=False)
    two = train_sweep(SMALL, tmp_path / "two", shards=2, executor="local", progress=False,
                      slurm=Resources(keep_logs=True))
    assert (tmp_path / "two" / "shards" / "shard-000-of-002.npz").stat().st_mtime_ns == before  # skipped
    assert len(list((tmp_path / "two.jobs").glob("*_submitted.pkl"))) == 1                   # one job
    # equal up to float32 rounding: the GEMM kernels may block a 2-network chunk differently from a
    # 6-network one on some CPUs, so the last bits of a float32 product can differ
    for other in (three, two):
        pd.testing.assert_frame_equal(pd.read_csv(other / "summary.tsv", sep="\t"),
                                      pd.read_csv(single / "summary.tsv", sep="\t"), rtol=1e-5)
        a, b = load_results(single).arrays, load_results(other).arrays
        assert a.keys() == b.keys()
        assert all(np.allclose(a[k], b[k], rtol=1e-4, atol=1e-6, equal_nan=True) for k in a)


def test_cli_train(tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["train", "--scales", "0.01,3", "--ctx-scales", "0.5,1.5", "--seeds", "2", "--steps", "30",
            "--out", str(out)]
    assert main(args) == 0
    results = load_results(out)
    assert list(results.summary.scale) == [0.01, 0.01, 3.0, 3.0] and results.config.train.steps == 30
    assert main(args) == 2 and "finished sweep" in capsys.readouterr().err
    assert main(["train", "--scales", "0.01,3", "--ctx-scales", "0.5", "--out", str(tmp_path / "x")]) == 2
    assert "error: --scales: init scales and --ctx-scales must pair up: got 2 scales and 1" in capsys.readouterr().err


def test_cli_l2_sweep_at_the_papers_top_value_moves_lazy_nets_towards_rich(tmp_path, capsys):
    """The paper's L2 experiment on a reduced grid (sigma 3 / 1.5, 2 seeds, 3000 steps instead of 10 000):
    one sweep folder per value and every row in settings.tsv; at L2 = 0.1 each seed's hidden RDM is
    more orthogonal and less grid-like than without L2 (measured: beta_orth 0.20 -> 0.44, beta_grid
    0.71 -> 0.44 over 3 seeds)."""
    out = tmp_path / "l2"
    assert main(["train", "--scales", "3", "--ctx-scales", "1.5", "--seeds", "2", "--steps", "3000",
                 "--l2", "0,0.1", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["l2-0", "l2-0.1", "settings.json", "settings.tsv"]
    table = pd.read_csv(out / "settings.tsv", sep="\t")
    assert list(table.columns[:3]) == ["l2", "scale", "ctx_scale"] and len(table) == 4
    assert load_results(out / "l2-0.1").config.train.l2 == 0.1
    wide = table.pivot(index="seed", columns="l2", values=["beta_orthogonal", "beta_grid"])
    assert (wide["beta_orthogonal"][0.1] - wide["beta_orthogonal"][0.0] > 0.1).all()
    assert (wide["beta_grid"][0.0] - wide["beta_grid"][0.1] > 0.1).all()
    assert json.loads((out / "settings.json").read_text())["config"]["swept"] == "l2"
    (out / "settings.json").unlink()   # as if killed before the end: the rerun reuses both finished sweeps
    summary = (out / "l2-0" / "summary.tsv").stat().st_mtime_ns
    assert main(["train", "--scales", "3", "--ctx-scales", "1.5", "--seeds", "2", "--steps", "3000",
                 "--l2", "0,0.1", "--out", str(out)]) == 0
    assert (out / "l2-0" / "summary.tsv").stat().st_mtime_ns == summary
    assert pd.read_csv(out / "settings.tsv", sep="\t").equals(table)
    assert main(["train", "--scales", "3", "--ctx-scales", "1.5", "--l2", "paper", "--lr", "paper",
                 "--out", str(tmp_path / "both")]) == 2
    assert "sweep one setting at a time" in capsys.readouterr().err


def test_the_papers_sweep_values():
    from garden.modeling.networks.config import PAPER_L2S, PAPER_LRS
    assert len(PAPER_L2S) == 8 and PAPER_L2S[0] == 0 and PAPER_L2S[-1] == pytest.approx(0.1)
    assert PAPER_LRS == (0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.01)
