"""Network sweep results reshaped into tidy tables: nothing lost, nothing misaligned."""

from __future__ import annotations

import numpy as np
import pandas as pd

from garden.analysis.networks import tables as nt
from garden.modeling.networks.rdms import network_rdms
def _sweep(n_steps: int = 501):
    summary = pd.DataFrame({"scale": [0.01, 0.01, 3.0], "seed": [0, 1, 0], "final_accuracy": [1.0, 0.9, 0.8],
                            "acc_ablate_task_selective": [0.5, 0.6, 0.7], "acc_ablate_mixed": [0.9, 0.8, 0.3],
                            "acc_noise_0": [1.0, 1.0, 1.0], "acc_noise_0.1": [0.9, 0.8, 0.5], "dim_90": [2, 4, 9]})
    rng = np.random.default_rng(0)
    arrays = {"record_steps": np.arange(n_steps) * 10, "loss": rng.random((3, n_steps)),
              "accuracy": rng.random((3, n_steps)), "spectrum": np.tile(np.linspace(1, 0, 50), (3, 1)),
              "w_context_final": rng.normal(size=(3, 100, 2)), "w_context_init": rng.normal(size=(3, 100, 2)),
              "unit_class": rng.integers(0, 3, size=(3, 100)), "hidden": rng.random((3, 50, 100))}
    return summary, arrays


def test_curves_are_thinned_but_keep_the_ends_and_their_network():
    summary, arrays = _sweep()
    curves = nt.curves_table(summary, arrays, max_points=50)
    per_net = curves.groupby(["scale", "seed"]).size()
    assert (per_net == 50).all()
    last = curves[(curves.scale == 3.0)].iloc[-1]
    assert last.step == 5000 and last.loss == arrays["loss"][2, -1]
    assert curves.iloc[0].loss == arrays["loss"][0, 0]


def test_weights_ablation_noise_and_spectrum_tables_align_with_the_summary():
    summary, arrays = _sweep()
    weights = nt.context_weights_table(summary, arrays)
    assert len(weights) == 300
    row = weights[(weights.scale == 0.01) & (weights.seed == 1) & (weights.unit == 7)].iloc[0]
    assert (row.w_north, row.w_south) == tuple(arrays["w_context_final"][1, 7])
    assert (row.w_north_init, row.w_south_init) == tuple(arrays["w_context_init"][1, 7])
    assert row.unit_class == ("task_selective", "mixed", "dead")[arrays["unit_class"][1, 7]]
    ablation = nt.ablation_table(summary).set_index(["scale", "seed", "ablated"]).accuracy
    assert ablation[3.0, 0, "none"] == 0.8 and ablation[3.0, 0, "mixed"] == 0.3
    noise = nt.noise_table(summary)
    assert sorted(noise.noise_sd.unique()) == [0.0, 0.1]
    assert noise[(noise.seed == 1) & (noise.noise_sd == 0.1)].accuracy.item() == 0.8
    spectrum = nt.spectrum_table(summary, arrays)
    assert spectrum.component.max() == nt.MAX_COMPONENTS and len(spectrum) == 3 * nt.MAX_COMPONENTS


def test_scale_summary_and_rdms_group_networks_by_scale():
    summary, arrays = _sweep()
    table = nt.scale_summary(summary).set_index("scale")
    assert table.loc[0.01, "dim_90"] == 3 and table.loc[0.01, "n_networks"] == 2
    rdms = network_rdms(summary, arrays)
    assert len(rdms.subset(scale=0.01)) == 2 and len(rdms.subset(scale=3.0)) == 1
    assert list(rdms.mean("scale").rdm_descriptors.scale) == [0.01, 3.0]
    np.testing.assert_allclose(rdms.subset(scale=3.0).matrices[0, 0, 1],
                               np.linalg.norm(arrays["hidden"][2, 0] - arrays["hidden"][2, 1]))


def test_weight_change_table_is_relative_to_the_initial_norm_and_noise_kinds_are_named():
    summary, arrays = _sweep(n_steps=3)
    arrays["weight_norm"] = np.array([[[1.0, 2.0, 4.0], [2.0, 2.0, 2.0], [3.0, 1.0, 8.0]]] * 3)
    arrays["weight_distance"] = np.array([[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [2.0, 3.0, 4.0]]] * 3)
    table = nt.weight_change_table(summary, arrays).set_index(["scale", "seed", "step", "matrix"])
    assert table.loc[(0.01, 1, 20, "input"), "rel_norm_change"] == 2.0
    assert table.loc[(0.01, 1, 20, "context"), "rel_norm_change"] == -0.5
    assert table.loc[(3.0, 0, 20, "output"), "rel_change"] == 1.0
    noise = nt.noise_table(summary.assign(**{"acc_noise_all_0.1": [0.1, 0.2, 0.3]}))
    assert noise[noise.noised == "all"].accuracy.tolist() == [0.1, 0.2, 0.3]
    assert set(noise[noise.noised == "stimulus"].noise_sd) == {0.0, 0.1}


def test_curves_carry_the_congruency_curves_when_the_sweep_has_them():
    summary, arrays = _sweep(n_steps=5)
    arrays["accuracy_congruent"], arrays["accuracy_incongruent"] = arrays["accuracy"] + 1, arrays["accuracy"] + 2
    curves = nt.curves_table(summary, arrays)
    np.testing.assert_allclose(curves.accuracy_incongruent - curves.accuracy_congruent, 1.0)
