"""Figures: each draws what its table holds and is readable alone (title, labelled axes, legend)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from garden.core.task import item_table
from garden.reports import figures
from garden.rsa.model_rdms import model_rdms
from garden.rsa.rdms import RDMs

SCALES = [0.01, 1.0, 3.0]


def _networks(rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    keys = [(s, k) for s in SCALES for k in range(3)]
    return {
        "summary": pd.DataFrame([{"scale": s, "seed": k, "beta_grid": s / 3, "beta_orthogonal": 1 - s / 3,
                                  "beta_parallel": 0.1, "dim_90": 2 + int(s * 5), "n_task_selective": 60 - 10 * s,
                                  "n_mixed": 20 + 10 * s, "n_dead": 20} for s, k in keys]),
        "curves": pd.DataFrame([{"scale": s, "seed": k, "step": t, "loss": np.exp(-t * (s + 0.1) / 100) + 1e-3,
                                 "accuracy": min(1.0, t * (s + 0.1) / 50)}
                                for s, k in keys for t in range(0, 300, 20)]),
        "spectrum": pd.DataFrame([{"scale": s, "seed": k, "component": c + 1, "explained_variance_ratio": v}
                                  for s, k in keys for c, v in enumerate(np.full(10, 0.1))]),
        "weights": pd.DataFrame([{"scale": s, "seed": k, "unit": u, "w_north": a, "w_south": -a,
                                  "unit_class": ("task_selective", "mixed")[u % 2]}
                                 for s, k in keys for u, a in enumerate(rng.normal(size=20))]),
        "ablation": pd.DataFrame([{"scale": s, "seed": k, "ablated": a, "accuracy": 0.5 + 0.1 * i}
                                  for s, k in keys for i, a in enumerate(["none", "task_selective", "mixed"])]),
        "noise": pd.DataFrame([{"scale": s, "seed": k, "noise_sd": n, "accuracy": 1 - n * s}
                               for s, k in keys for n in (0.0, 0.05, 0.1)]),
    }


def _behaviour(rng: np.random.Generator) -> dict[str, object]:
    items = item_table()
    cells = items.assign(p_accept=np.where(items.reward_value > 0, 0.9, 0.1))
    return {
        "cells": pd.concat([cells.assign(group="blocked"), cells.assign(group="interleaved")]),
        "curves": pd.DataFrame([{"feature": f, "context": c, "level": v, "p_accept": 0.5, "p_model": 0.5}
                                for f in ("relevant", "irrelevant") for c in ("north", "south") for v in range(-2, 3)]),
        "boundaries": pd.DataFrame([{"model": m, "participant_id": f"P{i}", "context": c, "angle_deg": a + 10 * (i - 1),
                                     "offset": 0.0} for m in ("factorized", "linear") for i in range(3)
                                    for c, a in (("north", 180.0), ("south", 90.0))]),
        "bms": pd.DataFrame([{"model": m, "expected_frequency": f, "protected_exceedance_probability": f}
                             for m, f in (("factorized", 0.7), ("linear", 0.3))]),
        "recovery": pd.DataFrame([{"parameter": p, "generating_model": m, "true": t, "fitted": t + rng.normal(0, 0.1)}
                                  for m, names in (("factorized", ("slope", "delta_north", "delta_south")),
                                                   ("linear", ("slope", "delta")))
                                  for p in names for t in rng.uniform(0, 1, 10)]),
        "confusion": pd.DataFrame([{"n_test_trials": n, "generating_model": g, "fitted_model": f,
                                    "fraction": 0.9 if g == f else 0.1}
                                   for n in (100, 400) for g in ("factorized", "linear")
                                   for f in ("factorized", "linear")]),
        "betas": pd.DataFrame({"participant_id": ["P1", "P2", "P3"], "beta_factorized": [0.6, 0.5, 0.7],
                               "beta_linear": [0.1, 0.2, 0.0]}),
    }


def _group_behaviour() -> dict[str, Figure]:
    """The group report's per-participant and behavioural-check figures, on known tables."""
    items = item_table()
    people = [("P1", "blocked"), ("P2", "blocked"), ("P3", "interleaved")]
    cells = pd.concat([items.assign(participant_id=p, group=g, p_accept=np.where(items.reward_value > 0, 0.9, 0.1))
                       for p, g in people])
    curves = pd.DataFrame([{"participant_id": p, "group": g, "feature": f, "context": c, "level": v,
                            "p_accept": 0.5 + 0.2 * v * (f == "relevant"), "p_model": 0.5 + 0.2 * v * (f == "relevant")}
                           for p, g in people for f in ("relevant", "irrelevant") for c in ("north", "south")
                           for v in range(-2, 3)])
    band = curves.drop(columns="participant_id").drop_duplicates().assign(
        model="factorized", band_lo=lambda t: t.p_model - 0.1, band_hi=lambda t: t.p_model + 0.1)
    summary = pd.DataFrame([{"group": g, "model": m, "statistic": s, "observed": 1.0, "replicate_mean": 1.0 + d,
                             "replicate_lo": 0.5 + d, "replicate_hi": 1.5 + d}
                            for g in ("all", "blocked") for m, d in (("factorized", 0.0), ("linear", 3.0))
                            for s in ("deviance", "congruency_effect")])
    taus = pd.DataFrame({"participant_id": ["P1", "P2", "P3"], "group": ["blocked", "blocked", "interleaved"],
                         "tau_factorized": [0.5, 0.6, 0.2], "tau_linear": [0.0, 0.1, 0.4]})
    values = pd.DataFrame([{"participant_id": p, "phase": ph, "parameter": m, "value": v + (ph == "scan")}
                           for p, _ in people for ph in ("baseline", "scan") for m, v in (("|bias|", 10.0), ("slope", 2.0))])
    slopes = pd.DataFrame([{"participant_id": p, "group": g, "model": m, "slope": v}
                           for p, g in people for m, v in (("sigmoid_relevant", 3.0), ("sigmoid_irrelevant", 0.2))])
    types = pd.DataFrame([{"group": g, "trial_type": t, "measure": m, "mean": v, "sem": 0.01}
                          for g in ("blocked", "interleaved") for t in ("congruent", "incongruent", "stay", "switch")
                          for m, v in (("accuracy", 0.8), ("median_rt_s", 0.6))])
    return {
        "participant_choice_matrices": figures.participant_choice_matrices(cells),
        "participant_psychometric": figures.participant_psychometric(curves),
        "psychometric_band": figures.psychometric_band(band, band),
        "ppc_statistics": figures.ppc_statistics(summary),
        "behavioural_rsa_taus": figures.behavioural_rsa_taus(taus),
        "phase_change": figures.phase_change(values),
        "sigmoid_slopes": figures.sigmoid_slopes(slopes),
        "trial_type_bars": figures.trial_type_bars(types),
    }


@pytest.fixture(scope="module")
def drawn() -> dict[str, Figure]:
    rng = np.random.default_rng(0)
    net, beh = _networks(rng), _behaviour(rng)
    items = item_table()
    mds = pd.concat([items.assign(panel=f"σ = {s:g}", dim1=items.branchiness + 6 * items.context_index,
                                  dim2=items.leafiness * s, dim3=items.branchiness * s) for s in SCALES])
    profile = pd.DataFrame([{"group": "all", "scale": s, "similarity": m, "ci_low": m - 0.1, "ci_high": m + 0.1}
                            for s, m in zip(SCALES, (0.5, 0.3, 0.1))])
    best = pd.DataFrame({"group": "all", "best_scale": SCALES, "fraction": [0.9, 0.1, 0.0]})
    people = pd.DataFrame({"curriculum": ["b200"] * 3 + ["int"] * 3, "best_scale": [0.01, 0.1, 3.0] * 2,
                           "scale_lo": [0.01, 0.01, 1.0] * 2, "scale_hi": [0.1, 0.4, 3.0] * 2,
                           "p_rich": [0.95, 0.9, 0.02] * 2, "verdict": ["rich", "undecided", "lazy"] * 2})
    return {
        "best_scale_intervals": figures.best_scale_intervals(people),
        "verdict_shares": figures.verdict_shares(people),
        "learning_curves": figures.learning_curves(net["curves"]),
        "congruency_over_training": figures.congruency_over_training(net["curves"].assign(
            accuracy_congruent=net["curves"].accuracy, accuracy_incongruent=net["curves"].accuracy / 2)),
        "compression_by_scale": figures.compression_by_scale(pd.DataFrame(
            [{"scale": sc, "seed": k, "log_irrelevant_gain": np.log10(sc) - 1, "north_relevant": 1.0,
              "south_relevant": 1.1, "rotation_deg": 5.0 * k, "context_offset": 0.5} for sc in SCALES for k in range(3)])),
        "weight_change_curves": figures.weight_change_curves(pd.DataFrame(
            [{"scale": sc, "seed": k, "step": t, "matrix": m, "rel_norm_change": t / 100 / sc, "rel_change": t / 50 / sc}
             for sc in SCALES for k in range(2) for t in range(0, 300, 50) for m in ("input", "context", "output")])),
        "betas_by_scale": figures.betas_by_scale(net["summary"]),
        "dimensionality_by_scale": figures.dimensionality_by_scale(net["summary"], net["spectrum"]),
        "unit_classes": figures.unit_classes(net["summary"]),
        "context_weight_scatter": figures.context_weight_scatter(net["weights"]),
        "gating_overlap": figures.gating_overlap(pd.DataFrame(
            [{"scale": sc, "seed": k, "when": w, "rule": r, "active_jaccard": (0.9 if w == "init" else 0.3 + 0.1 * sc)}
             for sc in SCALES for k in range(3) for w in ("init", "final") for r in ("any", "most")])),
        "gating_dynamics": figures.gating_dynamics(pd.DataFrame(
            [{"scale": sc, "seed": k, "step": t, "ctx_corr_all": -t / 1000 / sc, "ctx_corr_selective": -0.5,
              "active_jaccard": 0.9 - t / 1000} for sc in SCALES for k in range(2) for t in range(0, 300, 50)])),
        "ablation_accuracy": figures.ablation_accuracy(net["ablation"]),
        "noise_curves": figures.noise_curves(net["noise"]),
        "mds_grids": figures.mds_grids(mds),
        "choice_matrices": figures.choice_matrices(beh["cells"]),
        "psychometric_curves": figures.psychometric_curves(beh["curves"]),
        "decision_boundaries": figures.decision_boundaries(beh["boundaries"]),
        "bms_bars": figures.bms_bars(beh["bms"]),
        "fitted_vs_true_parameters": figures.fitted_vs_true_parameters(beh["recovery"]),
        "model_recovery_confusion": figures.model_recovery_confusion(beh["confusion"]),
        "choice_rdm_betas": figures.choice_rdm_betas(beh["betas"]),
        "similarity_by_scale": figures.similarity_by_scale(profile, best),
        "person_vs_matched_networks": figures.person_vs_matched_networks(pd.DataFrame(
            [{"participant_id": f"P{i}", "best_scale": s, "parameter": p, "person": i + 1.0, "networks": i + 2.0}
             for i, s in enumerate((0.01, 3.0, 3.0)) for p in ("bias", "slope")])),
        "grid_prior_pre_post": figures.grid_prior_pre_post(pd.DataFrame(
            {"participant_id": ["P1", "P2", "P3"], "grid_prior_pre": [0.2, 0.5, np.nan],
             "grid_prior_post": [0.4, 0.3, 0.6]})),
        "matched_accuracy": figures.matched_accuracy(pd.DataFrame(
            [{"participant_id": f"P{i}", "phase": phase, "scale": s, "accuracy_networks": 0.5 + 0.1 * np.log10(s / 0.01),
              "accuracy_person": 0.8} for i in range(3) for phase in ("train", "test") for s in SCALES])),
        "neural_model_betas": figures.neural_model_betas(pd.DataFrame(
            [{"roi": r, "model": m, "n": 12, "mean": b, "ci_low": b - 0.1, "ci_high": b + 0.1}
             for r in ("rich", "lazy") for m, b in (("grid", 0.1), ("orthogonal", 0.4))])),
        "neural_accuracy": figures.neural_accuracy(
            pd.DataFrame([{"participant_id": f"sub-{i}", "roi": "rich", "model": "orthogonal", "beta": 0.1 * i}
                          for i in range(4)]),
            pd.DataFrame({"participant_id": [f"sub-{i}" for i in range(4)], "accuracy": [0.6, 0.7, 0.8, 0.9]})),
        "neural_searchlight_slices": figures.neural_searchlight_slices(pd.DataFrame(
            [{"model": "orthogonal", "z": 4, "x": x, "y": y, "t": float(x - y), "significant": int(x - y > 2)}
             for x in range(6) for y in range(5)])),
        "plot_rdms": figures.plot_rdms(RDMs.concat([model_rdms(["grid", "orthogonal"]),
                                                    model_rdms(["parallel"])])),
        **_group_behaviour(),
    }


def test_every_figure_has_a_title_labelled_axes_and_a_legend(drawn):
    for name, fig in drawn.items():
        assert fig.get_suptitle(), name
        panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        assert panels, name
        for ax in panels:
            assert ax.get_xlabel() and ax.get_ylabel(), f"{name}: unlabelled axis {ax.get_title()!r}"
        has_legend = any(ax.get_legend() for ax in panels) or fig.legends
        has_colorbar = len(fig.axes) > len(panels)
        assert has_legend or has_colorbar, f"{name}: no legend or colour bar"


def test_public_figure_functions_are_all_exercised(drawn):
    public = {n for n, f in vars(figures).items() if callable(f) and getattr(f, "__module__", "").startswith(figures.__name__ + ".")
              and not n.startswith("_") and n != "context_colour"}
    assert public == set(drawn)


def test_neural_figures_draw_one_panel_per_roi_with_the_values(drawn):
    betas = drawn["neural_model_betas"]
    assert [ax.get_title() for ax in betas.axes] == ["rich (n = 12)", "lazy (n = 12)"]
    assert [round(bar.get_height(), 2) for bar in betas.axes[0].patches] == [0.1, 0.4]
    slice_panel = drawn["neural_searchlight_slices"].axes[0]
    assert slice_panel.images[0].get_array()[0, 5] == 5.0  # t at x = 5, y = 0 (image rows are y)
    assert len(slice_panel.collections[0].get_offsets()) == 6  # x - y > 2: (3,0) (4,0) (4,1) (5,0) (5,1) (5,2)
    points = drawn["neural_accuracy"].axes[0].collections[0].get_offsets()
    assert np.allclose(points, [[0.6, 0.0], [0.7, 0.1], [0.8, 0.2], [0.9, 0.3]])


def test_similarity_by_scale_labels_what_is_compared():
    profile = pd.DataFrame([{"roi": "rich", "scale": s, "similarity": 0.3, "ci_low": 0.2, "ci_high": 0.4}
                            for s in SCALES])
    fig = figures.similarity_by_scale(profile, by="roi", legend="ROI", title="ROI RDMs vs network hidden-layer RDMs",
                                      measure="RDM similarity (Spearman ρ)")
    ax = fig.axes[0]
    assert fig.get_suptitle() == "ROI RDMs vs network hidden-layer RDMs"
    assert ax.get_ylabel() == "RDM similarity (Spearman ρ)" and ax.get_legend().get_title().get_text() == "ROI"


def test_choice_matrices_show_the_cell_values_per_group_and_context(drawn):
    fig = drawn["choice_matrices"]
    images = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(images) == 4  # 2 groups x 2 contexts
    north = np.asarray(images[0])  # rows = branchiness 1..5, columns = leafiness 1..5
    assert north.shape == (5, 5)
    np.testing.assert_allclose(north[:, 4], 0.9)  # leafiness 5 is worth +50 in the north garden
    np.testing.assert_allclose(north[:, 0], 0.1)
    south = np.asarray(images[1])
    np.testing.assert_allclose(south[4, :], 0.9)  # branchiness 5 in the south garden


def test_mds_grids_join_each_context_along_both_features(drawn):
    fig = drawn["mds_grids"]
    panel = fig.axes[0]
    # per context: 5 lines along branchiness + 5 along leafiness
    drawn_lines = [line for line in panel.lines if len(line.get_xdata()) == 5]
    assert len(drawn_lines) == 20
    colours = {line.get_color() for line in drawn_lines}
    assert colours == set(figures.FEATURE_COLOURS.values())
    assert [ax.get_title() for ax in fig.axes] == ["σ = 0.01", "σ = 1", "σ = 3"]


def test_boundary_means_are_circular_means_of_the_angles(drawn):
    legend = [t.get_text() for t in drawn["decision_boundaries"].axes[0].get_legend().get_texts()]
    assert legend == ["north (mean 180°)", "south (mean 90°)"]


def test_context_weight_titles_give_the_weight_correlation(drawn):
    titles = [ax.get_title() for ax in drawn["context_weight_scatter"].axes]
    assert titles == [f"σ = {s}, seed 0 (r all -1.00, task-sel. -1.00)" for s in ("0.01", "1", "3")]


def test_scale_figures_order_scales_from_rich_to_lazy(drawn):
    for name in ("betas_by_scale", "unit_classes", "ablation_accuracy"):
        ticks = [t.get_text() for t in drawn[name].axes[0].get_xticklabels()]
        assert ticks == ["0.01", "1", "3"], name


def test_recovery_panels_pool_parameters_by_kind_and_matrices_by_trial_count(drawn):
    assert [ax.get_title().split(" (")[0] for ax in drawn["fitted_vs_true_parameters"].axes] == ["slope", "delta"]
    matrices = [ax for ax in drawn["model_recovery_confusion"].axes if ax.images]
    assert [ax.get_title() for ax in matrices] == ["100 test trials", "400 test trials"]
    np.testing.assert_allclose(np.asarray(matrices[0].images[0].get_array()), [[0.9, 0.1], [0.1, 0.9]])


def test_matched_accuracy_draws_networks_on_a_log_scale_beside_the_people(drawn):
    fig = drawn["matched_accuracy"]
    for ax in fig.axes:
        assert ax.get_xscale() == "log"
        line = next(l for l in ax.get_lines() if l.get_label() == "networks (mean)")
        np.testing.assert_allclose(line.get_ydata(), 0.5 + 0.1 * np.log10(np.array(SCALES) / 0.01))
        people = next(l for l in ax.get_lines() if l.get_label() == "people (mean)")
        assert people.get_ydata()[0] == pytest.approx(0.8)


def test_context_weights_are_one_network_per_panel_with_task_selective_units_marked(drawn):
    fig = drawn["context_weight_scatter"]
    for ax in fig.axes:
        points = {c.get_label(): c.get_offsets() for c in ax.collections}
        assert len(points["task-selective"]) == 10 and len(points["mixed"]) == 10   # 20 units of one seed
        np.testing.assert_allclose(points["task-selective"][:, 1], -points["task-selective"][:, 0])
        assert "r all -1.00" in ax.get_title()


def test_scale_lines_use_a_log_axis(drawn):
    ax = drawn["betas_by_scale"].axes[0]
    assert ax.get_xscale() == "log"
    np.testing.assert_allclose(sorted(ax.lines[0].get_xdata()), SCALES)


def test_mds_grids_draw_the_chosen_dimensions():
    items = item_table()
    coords = items.assign(panel="a", dim1=0.0, dim2=items.leafiness * 1.0, dim3=items.branchiness * 2.0)
    fig = figures.mds_grids(coords, dims=(2, 3))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "MDS dimension 2 (a.u.)" and "dimensions 2 and 3" in fig.get_suptitle()
    points = ax.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 1] / 2, np.asarray(points[:, 1] / 2).round())  # dim3 = 2 * branchiness
    assert set(points[:, 0]) <= {1.0, 2.0, 3.0, 4.0, 5.0}


def test_congruency_curves_draw_both_kinds_of_tree_per_scale(drawn):
    fig = drawn["congruency_over_training"]
    assert [ax.get_title() for ax in fig.axes] == ["σ = 0.01", "σ = 1", "σ = 3"]
    for ax in fig.axes:
        congruent, incongruent = (l.get_ydata() for l in ax.get_lines())
        np.testing.assert_allclose(incongruent, congruent / 2)


def test_participant_grids_draw_one_panel_per_participant_sorted_by_group(drawn):
    matrices = [ax for ax in drawn["participant_choice_matrices"].axes if ax.get_label() != "<colorbar>"]
    assert [ax.get_title() for ax in matrices] == ["P1 (blocked)", "P2 (blocked)", "P3 (interleaved)"]
    image = matrices[0].images[0].get_array()
    assert image.shape == (5, 11) and np.ma.is_masked(image[0, 5])  # north | gap | south
    assert image[0, 0] == pytest.approx(0.9) or image[0, 0] == pytest.approx(0.1)
    curves = drawn["participant_psychometric"].axes
    assert len(curves) == 3 and len(curves[0].lines) == 4  # relevant and irrelevant: observed and fitted


def test_group_check_figures_draw_the_values(drawn):
    band = drawn["psychometric_band"]
    assert [ax.get_title() for ax in band.axes][:2] == ["factorized: blocked, relevant feature",
                                                        "factorized: blocked, irrelevant feature"]
    ppc = drawn["ppc_statistics"].axes[0]
    assert [t.get_text() for t in ppc.get_yticklabels()] == ["factorized (all)", "linear (all)",
                                                             "factorized (blocked)", "linear (blocked)"]
    rsa = drawn["behavioural_rsa_taus"].axes
    assert [ax.get_title() for ax in rsa] == ["blocked", "interleaved"]
    means = [ln for ln in rsa[0].lines if ln.get_color() == "black" and ln.get_linestyle() == "-"]  # the mean
    assert len(means) == 1 and list(means[0].get_ydata()) == pytest.approx([0.55, 0.05])
    change = drawn["phase_change"].axes
    assert [ax.get_title() for ax in change] == ["|bias|", "slope"]
    assert [tuple(line.get_ydata()) for line in change[1].lines[:3]] == [(2.0, 3.0)] * 3


def test_gating_overlap_draws_the_mean_jaccard_per_scale_on_a_log_axis(drawn):
    fig = drawn["gating_overlap"]
    assert [ax.get_title() for ax in fig.axes] == ["unit active on any trees of a context",
                                                   "unit active on most trees of a context"]
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    final = ax.containers[1].lines[0]                                               # init, then final
    np.testing.assert_allclose(np.asarray(final.get_ydata(), float), [0.3 + 0.1 * s for s in SCALES])


def test_gating_dynamics_draw_one_line_per_scale_in_each_panel(drawn):
    fig = drawn["gating_dynamics"]
    assert len(fig.axes) == 3 and all(len(ax.lines) == len(SCALES) for ax in fig.axes)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [-t / 1000 / SCALES[0] for t in range(0, 300, 50)])


def test_plot_rdms_titles_panels_by_rdm_descriptor_and_labels_conditions_by_pattern_descriptor(drawn):
    fig = drawn["plot_rdms"]
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert [ax.get_title() for ax in panels] == ["model=grid", "model=orthogonal", "model=parallel"]
    assert [t.get_text() for t in panels[0].get_xticklabels()] == ["north", "south"]
    assert panels[0].get_xlabel() == "context (then branchiness, leafiness)"
    np.testing.assert_array_equal(panels[1].images[0].get_array(), model_rdms(["orthogonal"]).matrices[0])
    assert fig.axes[-1].get_ylabel() == "euclidean"  # one colour bar, named by the dissimilarity measure
    small = figures.plot_rdms(RDMs(1 - np.eye(3), pd.DataFrame({"tree": ["a", "b", "c"]})), "three trees")
    assert small.get_suptitle() == "three trees" and small.axes[0].get_title() == "RDM 1"
    assert [t.get_text() for t in small.axes[0].get_yticklabels()] == ["a", "b", "c"]


def test_both_legends_of_the_similarity_profile_are_titled():
    """The best-scale panel's legend once read "['blocked', 'interleaved']" (the title variable was reused)."""
    from garden.reports.figures.people_vs_networks import similarity_by_scale

    profile = pd.DataFrame({"group": ["blocked"] * 2 + ["interleaved"] * 2, "scale": [0.01, 3] * 2,
                            "similarity": [0.2, 0.5, 0.4, 0.1], "ci_low": 0.0, "ci_high": 0.6})
    best = pd.DataFrame({"group": ["blocked", "interleaved"], "best_scale": [3, 0.01], "fraction": [0.9, 0.8]})
    fig = similarity_by_scale(profile, best, legend="people")
    assert [ax.get_legend().get_title().get_text() for ax in fig.axes] == ["people", "people"]
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ["blocked", "interleaved"]
