"""Model RDMs: known distances of each geometry, explicit context offset, other grid sizes."""

from __future__ import annotations

import numpy as np
import pytest

from garden.core.task import condition_features, item_table
from garden.rsa.compare import kendall_tau_a
from garden.rsa.model_rdms import (
    CHOICE_MODELS,
    MODEL_RDMS,
    choice_model_rdm,
    compression_maps,
    mapped_coordinates,
    model_coordinates,
    model_rdm,
    model_rdms,
)


def idx(context: int, branchiness: int, leafiness: int, n_levels: int = 5) -> int:
    return context * n_levels**2 + (branchiness - 1) * n_levels + (leafiness - 1)


def test_condition_order_matches_the_task_item_table():
    ctx, b, l = condition_features(5)
    items = item_table()
    np.testing.assert_array_equal(ctx, items.context_index)
    np.testing.assert_array_equal(b, items.branchiness)
    np.testing.assert_array_equal(l, items.leafiness)


def test_registry_holds_the_seven_published_geometries():
    assert {"grid", "orthogonal", "parallel", "rotated_grid", "only_branchiness", "only_leafiness",
            "diagonal"} <= set(MODEL_RDMS)
    rdms = model_rdms()
    assert rdms.rdm_descriptors.model.tolist() == list(MODEL_RDMS)
    assert rdms.pattern_descriptors.equals(item_table()[["context", "branchiness", "leafiness"]])
    for name, matrix in zip(rdms.rdm_descriptors.model, rdms.matrices):
        assert matrix.shape == (50, 50), name
        np.testing.assert_allclose(matrix, matrix.T)
        assert np.all(np.diag(matrix) == 0)


def test_grid_rdm_distances_are_feature_steps_and_the_context_offset():
    grid = model_rdm("grid", context_offset=3.0)
    assert grid[idx(0, 1, 1), idx(0, 1, 2)] == pytest.approx(1.0)
    assert grid[idx(0, 1, 1), idx(0, 5, 5)] == pytest.approx(np.sqrt(32))
    assert grid[idx(0, 2, 4), idx(1, 2, 4)] == pytest.approx(3.0)
    assert grid[idx(0, 1, 1), idx(1, 2, 2)] == pytest.approx(np.sqrt(1 + 1 + 9))


def test_orthogonal_collapses_the_irrelevant_feature_on_orthogonal_axes():
    orthogonal = model_rdm("orthogonal", context_offset=0.0)
    assert orthogonal[idx(0, 1, 3), idx(0, 5, 3)] == 0  # north: branchiness irrelevant
    assert orthogonal[idx(1, 3, 1), idx(1, 3, 5)] == 0  # south: leafiness irrelevant
    assert orthogonal[idx(0, 1, 5), idx(1, 5, 1)] == pytest.approx(np.sqrt(8))  # (2, 0) vs (0, 2)
    assert orthogonal[idx(0, 3, 3), idx(1, 3, 3)] == 0  # both centres at the origin without offset


def test_parallel_puts_both_relevant_features_on_one_axis():
    parallel = model_rdm("parallel", context_offset=1.5)
    # north leafiness level k and south branchiness level k coincide up to the offset
    for k in range(1, 6):
        assert parallel[idx(0, 2, k), idx(1, k, 4)] == pytest.approx(1.5)


def test_rotated_grid_keeps_each_context_grid_and_changes_only_between_context_distances():
    grid, rotated = model_rdm("grid"), model_rdm("rotated_grid")
    north, south = slice(0, 25), slice(25, 50)
    np.testing.assert_allclose(rotated[north, north], grid[north, north])
    np.testing.assert_allclose(rotated[south, south], grid[south, south])
    assert not np.allclose(rotated[north, south], grid[north, south])


def test_single_feature_and_diagonal_models():
    only_b, only_l, diag = (model_rdm(n, context_offset=0.0)
                            for n in ("only_branchiness", "only_leafiness", "diagonal"))
    assert only_b[idx(0, 2, 1), idx(1, 2, 5)] == 0 and only_b[idx(0, 1, 1), idx(0, 4, 1)] == 3
    assert only_l[idx(0, 1, 2), idx(1, 5, 2)] == 0 and only_l[idx(0, 1, 1), idx(0, 1, 4)] == 3
    assert diag[idx(0, 1, 5), idx(1, 5, 1)] == 0  # same b + l: same point on the diagonal
    assert diag[idx(0, 1, 1), idx(0, 5, 5)] == pytest.approx(np.sqrt(32))


def test_grid_and_orthogonal_are_distinguishable():
    assert kendall_tau_a(model_rdm("grid"), model_rdm("orthogonal")) < 0.6


def test_context_offset_changes_only_between_context_distances():
    near, far = model_rdm("orthogonal", 0.0), model_rdm("orthogonal", 3.0)
    np.testing.assert_allclose(near[:25, :25], far[:25, :25])
    np.testing.assert_allclose(far[:25, 25:] ** 2, near[:25, 25:] ** 2 + 9)


def test_six_level_monkey_grid_has_72_conditions_centred_on_3_5():
    points = model_coordinates("grid", context_offset=1.0, n_levels=6)
    assert points.shape == (72, 3)
    np.testing.assert_allclose(points[:36, :2].mean(axis=0), 0.0)
    grid = model_rdm("grid", n_levels=6)
    assert grid[idx(0, 1, 1, 6), idx(0, 6, 6, 6)] == pytest.approx(np.sqrt(50))


def test_compression_maps_reproduce_the_registry_geometries():
    cases = {"grid": (1, 1, 1, 1, 0), "orthogonal": (1, 0, 1, 0, 0), "parallel": (1, 0, 1, 0, -90),
             "rotated_grid": (1, 1, 1, 1, -90), "only_branchiness": (0, 1, 1, 0, 0),
             "only_leafiness": (1, 0, 0, 1, 0)}
    for name, params in cases.items():
        np.testing.assert_allclose(mapped_coordinates(compression_maps(*params), 2.0),
                                   model_coordinates(name, 2.0), atol=1e-12, err_msg=name)


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match="unknown model RDM 'gird'"):
        model_rdm("gird")
    with pytest.raises(ValueError, match="unknown choice model"):
        choice_model_rdm("lineal")


def test_factorized_choice_model_steps_along_the_relevant_feature():
    p = CHOICE_MODELS["factorized"](1)
    np.testing.assert_array_equal(p[idx(0, 1, 1):idx(0, 1, 5) + 1], [0, 0, 0.5, 1, 1])  # north: leafiness
    np.testing.assert_array_equal(p[[idx(1, b, 1) for b in range(1, 6)]], [0, 0, 0.5, 1, 1])  # south
    reversed_north = CHOICE_MODELS["factorized"](3)  # code 3: north low-is-good
    np.testing.assert_array_equal(reversed_north[:5], [1, 1, 0.5, 0, 0])
    rdm = choice_model_rdm("factorized")
    assert rdm[idx(0, 1, 1), idx(0, 5, 5)] == 1 and rdm[idx(0, 1, 1), idx(0, 5, 1)] == 0


def test_linear_choice_model_uses_one_diagonal_boundary_for_both_contexts():
    p = CHOICE_MODELS["linear"](1)
    np.testing.assert_array_equal(p[:25], p[25:])
    _, b, l = condition_features(5)
    np.testing.assert_array_equal(p[:25], (np.sign(b + l - 6)[:25] + 1) / 2)
    assert choice_model_rdm("linear")[idx(0, 1, 5), idx(1, 5, 1)] == 0
