"""The gating analysis: linear-hidden-unit control, overlap of the units active per context, context-weight
dynamics (garden.modeling.networks.gating, the trainer's recording, garden.analysis.networks.gating, garden gating)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from optional import skip_module_without

skip_module_without("torch", "[gpu]")

from garden.analysis.networks.gating import (  # noqa: E402
    control_table,
    dynamics_table,
    gating_tests,
    overlap_table,
    tree_accuracy_table,
)
from garden.core.errors import UserError  # noqa: E402
from garden.core.task import cell_index  # noqa: E402
from garden.cli import main  # noqa: E402
from garden.modeling.networks import load_results, train_sweep  # noqa: E402
from garden.modeling.networks.config import SweepConfig, TrainConfig  # noqa: E402
from garden.modeling.networks.curriculum import interleaved_sequences, run_curriculum  # noqa: E402
from garden.modeling.networks.data import task_data  # noqa: E402
from garden.modeling.networks.gating import (  # noqa: E402
    active_units,
    additive_ceiling,
    gating_stats,
    masked_correlation,
    overlap_measures,
)
from garden.modeling.networks.measures import forward, geometry_measures  # noqa: E402
from garden.modeling.networks.sweep import prepare_sweep  # noqa: E402
from garden.modeling.networks.train import init_params, train  # noqa: E402
from garden.rsa.geometry import context_weight_correlation, sign_accuracy  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small(activation: str, steps: int, lr: float, dtype: str = "float64") -> SweepConfig:
    """Rich (0.01) and lazy (3) scales, 3 seeds, no noise read-outs to speak of."""
    return SweepConfig(scales=(0.01, 3.0), ctx_scales=(0.5, 1.5), seeds=(0, 1, 2), noise_sds=(0.0,), noise_repeats=1,
                       train=TrainConfig(steps=steps, lr=lr, dtype=dtype, record_every=50, hidden_activation=activation))


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """A ReLU sweep long enough to solve the task at both scales, and the linear-hidden control."""
    root = tmp_path_factory.mktemp("gating")
    relu = train_sweep(small("relu", 1500, 5e-3), root / "relu", progress=False)
    linear = train_sweep(small("linear", 1500, 2.5e-3), root / "linear", progress=False)
    return {"relu": load_results(relu), "linear": load_results(linear), "folders": (relu, linear)}


# ---------------------------------------------------------------- the linear-hidden-unit control

@pytest.mark.parametrize("rule_code", [1, 2, 3, 4])
def test_additive_ceiling_known_answer(rule_code):
    # 8 incongruent trees, 4 of each kind: one kind can be right in both contexts, the other in one only
    ceiling = additive_ceiling(task_data(rule_code=rule_code))
    assert ceiling == {"accuracy": pytest.approx(36 / 40), "acc_congruent": 1.0,
                       "acc_incongruent": pytest.approx(12 / 16), "acc_neutral": 1.0}


def test_additive_ceiling_is_reached_and_not_exceeded():
    data = task_data()
    cells = cell_index(data.items.branchiness, data.items.leafiness)
    ctx = data.items.context_index.to_numpy()
    signs = np.zeros((25, 2))
    signs[cells, ctx] = np.sign(data.targets)
    # f(tree) + g(context) with g = (+1, -1): (+, -) trees get f = 0, every other tree the sign it needs most
    f = np.where((signs[:, 0] > 0) & (signs[:, 1] < 0), 0.0, 5 * np.where(signs.sum(1) != 0, np.sign(signs.sum(1)),
                                                                             np.sign(signs[:, 1])))
    built = f[cells] + np.where(ctx == 0, 1.0, -1.0)
    assert sign_accuracy(built, data.targets) == pytest.approx(0.9)
    random = np.random.default_rng(0).normal(size=(2000, 25))[:, cells] + np.random.default_rng(1).normal(
        size=(2000, 2))[:, ctx]
    assert sign_accuracy(random, data.targets).max() <= 0.9


def test_linear_hidden_trainer_matches_plain_gradient_descent():
    """Five full-batch steps of a linear-hidden network against the same steps written out in numpy."""
    data = task_data()
    params = init_params(25, [0.3, 3.0], [0.5, 1.5], [4, 5], n_hidden=7)
    steps, lr = 5, 1e-2
    result = train(data, params, TrainConfig(steps=steps, lr=lr, n_hidden=7, dtype="float64", hidden_activation="linear"))
    x = np.column_stack([data.stimulus, data.context])
    for i in range(2):
        w, b, w2, b2 = (np.concatenate([params["w_input"][i], params["w_context"][i]], axis=1),
                        params["b_hidden"][i].copy(), params["w_output"][i].copy(), float(params["b_output"][i]))
        for _ in range(steps):
            z = x @ w.T + b
            e = z @ w2 + b2 - data.targets
            gz = np.outer(e, w2)
            w, b, w2, b2 = w - lr * gz.T @ x, b - lr * gz.sum(0), w2 - lr * z.T @ e, b2 - lr * e.sum()
        np.testing.assert_allclose(result.params_final["w_input"][i], w[:, :25], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(result.params_final["w_context"][i], w[:, 25:], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(result.params_final["w_output"][i], w2, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(result.params_final["b_output"][i], b2, rtol=1e-10)


@pytest.mark.slow  # trains the module's two sweeps (the fixture): handed out early under xdist
def test_linear_control_fails_incongruent_trees_relu_solves_them(sweeps):
    linear, relu = control_table(sweeps["linear"]), control_table(sweeps["relu"])
    assert set(linear.scale) == {0.01, 3.0} and (linear.hidden_activation == "linear").all()
    assert (linear.accuracy <= linear.ceiling_accuracy + 1e-12).all()
    assert (linear.acc_incongruent <= linear.ceiling_incongruent + 1e-12).all()
    assert linear.groupby("scale").acc_incongruent.mean().between(0.3, 0.7).all()   # at chance, rich and lazy
    assert (linear.acc_congruent == 1).all() and (linear.acc_neutral == 1).all()
    assert (relu.accuracy == 1).all() and (relu.acc_incongruent == 1).all()          # ReLU nets gate
    assert (linear.final_loss > 10 * relu.final_loss).all()
    # a linear-hidden network's output is additive: north - south is the same for every tree
    s = sweeps["linear"]
    out = np.asarray(s.arrays["outputs"])
    diff = out[:, :25] - out[:, 25:]
    np.testing.assert_allclose(diff, diff[:, :1].repeat(25, axis=1), atol=1e-9)
    trees = tree_accuracy_table(s)
    assert len(trees) == 6 * 40
    by_kind = trees.groupby("congruency").correct.mean()
    np.testing.assert_allclose(by_kind["incongruent"], linear.acc_incongruent.mean())


# ---------------------------------------------------------------- overlap of the units active per context

def test_overlap_of_a_hand_built_network():
    """Units: 0 north only, 1 south only, 2-3 both, 4 neither, 5 all north items and a few south ones."""
    data = task_data()
    ctx = data.items.context_index.to_numpy()
    cv = data.context.max()
    cell0 = data.stimulus[0]
    w_input = np.zeros((1, 6, 25))
    w_input[0, 5] = cell0 / (cell0 @ cell0) * 10 * cv
    w_context = np.array([[[1, -1], [-1, 1], [0, 0], [1, 1], [0, 0], [1, -8.5]]], float)
    params = {"w_input": w_input, "w_context": w_context, "b_hidden": np.array([[0, 0, 1, 0, -1, 0]], float),
              "w_output": np.ones((1, 6)), "b_output": np.zeros(1)}
    hidden, _ = forward(params, data.stimulus, data.context)
    south_on = (hidden[0, ctx == 1, 5] > 0).sum()
    assert south_on == 4                                        # a few south trees, not most
    any_ = active_units(hidden, ctx, rule="any")[0]
    np.testing.assert_array_equal(any_, [[1, 0, 1, 1, 0, 1], [0, 1, 1, 1, 0, 1]])
    m = overlap_measures(active_units(hidden, ctx, rule="any"))
    assert [m[k][0] for k in ("frac_selective_north", "frac_selective_south", "frac_shared", "frac_dead")] == \
        pytest.approx([1 / 6, 1 / 6, 3 / 6, 1 / 6])
    assert m["active_jaccard"][0] == pytest.approx(3 / 5)
    most = overlap_measures(active_units(hidden, ctx, rule="most"))
    assert most["frac_selective_north"][0] == pytest.approx(2 / 6) and most["active_jaccard"][0] == pytest.approx(2 / 5)
    dead = overlap_measures(np.zeros((1, 2, 4), bool))
    assert np.isnan(dead["active_jaccard"][0]) and dead["frac_dead"][0] == 1


def test_masked_correlation_matches_the_single_network_measure():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(5, 40, 2))
    mask = rng.random((5, 40)) < np.array([1, 0.5, 0.2, 0.05, 0])[:, None]
    got = masked_correlation(w, mask)
    want = [context_weight_correlation(w[i][mask[i]]) if mask[i].sum() >= 3 else np.nan for i in range(5)]
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
    assert np.isnan(got[-1])


def test_overlap_table_and_paired_tests(sweeps):
    overlap = overlap_table(sweeps["relu"])
    assert len(overlap) == 6 * 2 * 2 and set(overlap.when) == {"init", "final"}
    fractions = overlap[["frac_selective_north", "frac_selective_south", "frac_shared", "frac_dead"]].sum(axis=1)
    np.testing.assert_allclose(fractions, 1.0)
    final = overlap[(overlap.when == "final") & (overlap.rule == "any")]
    s = sweeps["relu"].summary
    np.testing.assert_allclose(final.frac_shared * 100, s.n_mixed)                    # the sweep's unit classes
    np.testing.assert_allclose((final.frac_selective_north + final.frac_selective_south) * 100, s.n_task_selective)
    by_scale = final.groupby("scale").active_jaccard.mean()
    assert by_scale[0.01] < by_scale[3.0] - 0.1                                       # rich nets share fewer units
    tests = gating_tests(overlap, s).set_index("measure")
    assert tests.loc["active_jaccard", "n_seeds"] == 3 and tests.loc["active_jaccard", "slope_median"] > 0
    assert "ctx_corr_all_change" in tests.index and "active_jaccard_init" in tests.index


# ---------------------------------------------------------------- context-weight dynamics

def test_dynamics_first_row_is_the_at_init_measure_and_last_the_final(sweeps):
    s = sweeps["relu"]
    dyn = dynamics_table(s.summary, s.arrays)
    steps = np.asarray(s.arrays["record_steps"])
    assert len(dyn) == 6 * len(steps) and dyn.step.iloc[0] == 0
    first, last = dyn[dyn.step == 0].reset_index(drop=True), dyn[dyn.step == steps[-1]].reset_index(drop=True)
    overlap = overlap_table(s, rules=("any",))
    for when, rows in (("init", first), ("final", last)):
        want = overlap[overlap.when == when].reset_index(drop=True)
        for name in ("frac_selective_north", "frac_selective_south", "frac_shared", "frac_dead", "active_jaccard"):
            np.testing.assert_allclose(rows[name], want[name], atol=1e-12)
    np.testing.assert_allclose(first.ctx_corr_all, s.summary.context_weight_corr_all_init, atol=1e-12)
    np.testing.assert_allclose(last.ctx_corr_all, s.summary.context_weight_corr_all, atol=1e-12)
    np.testing.assert_allclose(last.ctx_corr_selective, s.summary.context_weight_corr, atol=1e-12)
    data = task_data()
    hidden, _ = forward({k: s.arrays[f"{k}_init"] for k in ("w_input", "w_context", "b_hidden", "w_output",
                                                               "b_output")}, data.stimulus, data.context)
    at_init = gating_stats(active_units(hidden, data.items.context_index.to_numpy()), s.arrays["w_context_init"])
    np.testing.assert_allclose(first.ctx_corr_selective, at_init["ctx_corr_selective"], atol=1e-12)
    rich = dyn[dyn.scale == 0.01].groupby("step").ctx_corr_all.mean()
    assert rich.iloc[-1] < rich.iloc[0] - 0.1                                         # anticorrelation grows


def test_gating_curves_do_not_change_the_training(sweeps):
    """The recording reads the state: weights and curves equal those of a plain train() call."""
    s = sweeps["relu"]
    data = task_data()
    params = {k: s.arrays[f"{k}_init"][:2] for k in ("w_input", "w_context", "b_hidden", "w_output", "b_output")}
    again = train(data, params, s.config.train)
    # float64 training of 2 networks here vs the sweep's batch: BLAS sums in a batch-size-dependent order,
    # so weights differ by rounding (measured up to 1.6e-14 absolute, 6.6e-12 relative on some CPUs);
    # 1e-9 is far above that and far below any change the recording could make to the training
    np.testing.assert_allclose(again.params_final["w_input"], s.arrays["w_input_final"][:2], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(again.gating_curve["active_jaccard"], s.arrays["gating_active_jaccard"][:2])


# ---------------------------------------------------------------- settings and command line

def test_settings_refuse_and_old_sweeps_resume(tmp_path):
    with pytest.raises(UserError, match="^hidden_activation: .tanh. is invalid"):
        TrainConfig(hidden_activation="tanh")
    config = small("relu", 10, 5e-3)
    out = prepare_sweep(config, tmp_path / "old", 1)
    recorded = json.loads((out / "sweep.json").read_text())
    del recorded["config"]["sweep"]["train"]["hidden_activation"]          # a sweep from before the option
    del recorded["config"]["sweep"]["input_norm"]                          # and from before input_norm
    (out / "sweep.json").write_text(json.dumps(recorded))
    assert prepare_sweep(config, out, 1) == out
    with pytest.raises(UserError, match="other settings"):
        prepare_sweep(small("linear", 10, 5e-3), out, 1)
    trials = interleaved_sequences(1, n_train=10)
    with pytest.raises(UserError, match="ReLU hidden units only"):
        run_curriculum(trials, small("linear", 10, 5e-3))


def test_garden_gating_command(sweeps, tmp_path, capsys):
    relu, linear = sweeps["folders"]
    out = tmp_path / "gating"
    assert main(["gating", str(relu), str(linear), "--out", str(out)]) == 0
    assert "incongruent 1.000" in capsys.readouterr().out
    control = pd.read_csv(out / "gating_control.tsv", sep="\t")
    assert set(control.hidden_activation) == {"relu", "linear"} and len(control) == 12
    for name in ("gating_control", "gating_trees", "gating_overlap", "gating_dynamics", "gating_tests"):
        assert json.loads((out / f"{name}.json").read_text())["config"]["sweeps"] == [str(relu), str(linear)]
    assert main(["gating", str(relu), "--out", str(out)]) == 2                 # never overwrites
    assert main(["gating", str(tmp_path), "--out", str(tmp_path / "x")]) == 2  # not a sweep
    assert not (tmp_path / "x").exists()


def test_a_diverged_network_gets_nan_geometry_not_a_crash():
    """Linear units at lr 5e-3 and σ 3 can diverge (docs/networks.md): the sweep's measures must go on."""
    data = task_data()
    params = init_params(25, [3.0, 3.0], [1.5, 1.5], [0, 1])
    hidden, _ = forward(params, data.stimulus, data.context)
    hidden[1, 3, 5] = np.nan
    table, arrays = geometry_measures(data, hidden, params["w_context"])
    assert np.isfinite(table.loc[0, ["beta_grid", "dim_90", "dim_90_uncentred"]].astype(float)).all()
    assert table.loc[1, ["beta_grid", "dim_90", "dim_90_uncentred"]].isna().all()
    assert np.isnan(arrays["spectrum"][1]).all() and arrays["spectrum"].shape[0] == 2
