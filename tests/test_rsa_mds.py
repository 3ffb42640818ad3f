"""MDS: classical exactness, metric recovery, seeding, Procrustes alignment."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from garden.rsa.mds import classical_mds, mds, procrustes_align, smacof_mds
from garden.rsa.model_rdms import model_coordinates, model_rdm


def test_classical_mds_reproduces_a_euclidean_rdm_exactly():
    grid = model_rdm("grid", context_offset=2.0)
    coordinates = classical_mds(grid, n_components=3)
    np.testing.assert_allclose(squareform(pdist(coordinates)), grid, atol=1e-10)
    aligned = procrustes_align(coordinates, model_coordinates("grid", 2.0))
    np.testing.assert_allclose(aligned, model_coordinates("grid", 2.0), atol=1e-10)


def test_classical_mds_pads_missing_dimensions_with_zeros():
    line = squareform(pdist(np.arange(4.0)[:, None]))
    coordinates = classical_mds(line, n_components=3)
    assert coordinates.shape == (4, 3)
    np.testing.assert_allclose(coordinates[:, 1:], 0.0, atol=1e-7)


def test_metric_mds_recovers_a_planar_geometry_and_is_seeded():
    orthogonal = model_rdm("orthogonal", context_offset=0.0)  # two crossing lines in a plane
    coordinates, stress = smacof_mds(orthogonal, n_components=2, seed=3)
    assert stress < 1e-6
    np.testing.assert_allclose(squareform(pdist(coordinates)), orthogonal, atol=1e-3)
    np.testing.assert_array_equal(mds(orthogonal, kind="metric", seed=3), coordinates)


def test_mds_rejects_non_rdms_and_unknown_kinds():
    with pytest.raises(ValueError, match="zero diagonal"):
        mds(np.ones((3, 3)), kind="classical")
    with pytest.raises(ValueError, match="square"):
        mds(np.zeros((2, 3)), kind="classical")
    with pytest.raises(ValueError, match="unknown MDS kind"):
        mds(np.zeros((3, 3)), kind="tsne")


def test_procrustes_align_undoes_rotation_reflection_and_scale():
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(10, 2))
    turned = 3.0 * reference @ np.array([[0.0, 1.0], [1.0, 0.0]]) + 5.0
    np.testing.assert_allclose(procrustes_align(turned, reference, scale=True), reference, atol=1e-10)
    assert not np.allclose(procrustes_align(turned, reference), reference)
