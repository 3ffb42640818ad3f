"""Searchlight spheres and batched RDMs: the sphere geometry, and every sphere's crossnobis RDM
equal to rsatoolbox's calc_rdm with the noise precision from the same residuals."""

from __future__ import annotations

import numpy as np
import pytest
import rsatoolbox
from rsatoolbox.data.noise import prec_from_residuals

from garden.analysis.neural.searchlight import searchlight_rdms, sphere_offsets, spheres
from garden.rsa.compare import regress_rdms, regress_vectors
from garden.rsa.crossval import crossval_correlation_rdm
from garden.rsa.distances import lower, square
from garden.rsa.model_rdms import model_rdms
from garden.rsa.rdms import RDMs


def test_sphere_sizes():
    assert [sphere_offsets(r).shape[0] for r in (0, 1, 2, 3)] == [1, 7, 33, 123]
    assert (sphere_offsets(3)[0] == 0).all()
    # 6 mm with 3 x 3 x 2 mm voxels reaches 2, 2 and 3 voxels along the axes
    assert np.abs(sphere_offsets(6.0, (3.0, 3.0, 2.0))).max(axis=0).tolist() == [2, 2, 3]


def test_spheres_clip_to_the_mask_and_skip_thin_edges():
    mask = np.zeros((9, 9, 9), dtype=bool)
    mask[1:8, 1:8, 1:8] = True
    found = spheres(mask, 2, min_fraction=0.5)
    index = np.flatnonzero(mask.ravel())
    middle = np.flatnonzero(index == np.ravel_multi_index((4, 4, 4), mask.shape))[0]
    assert middle in found.centres
    sizes = {c: m.size for c, m in zip(found.centres, found.members)}
    assert sizes[middle] == 33 and min(sizes.values()) >= 17
    corner = np.flatnonzero(index == np.ravel_multi_index((1, 1, 1), mask.shape))[0]
    assert corner not in found.centres  # a corner keeps 10 of 33 voxels


@pytest.fixture
def volume():
    rng = np.random.default_rng(8)
    mask = np.zeros((7, 7, 6), dtype=bool)
    mask[1:6, 1:6, 1:5] = True
    n_vox = int(mask.sum())
    betas = rng.standard_normal((3, 8, n_vox))
    residuals = rng.standard_normal((60, n_vox))
    residuals[:, 1:] += 0.5 * residuals[:, :-1]  # neighbouring voxels correlate
    return mask, betas, residuals


@pytest.mark.parametrize("shrinkage", ["shrinkage_diag", "shrinkage_eye"])
def test_every_sphere_equals_rsatoolbox_crossnobis(volume, shrinkage):
    mask, betas, residuals = volume
    found = spheres(mask, 1.5)
    ours = searchlight_rdms(betas, found, method="crossnobis", residuals=residuals, dof=50, shrinkage=shrinkage,
                            batch_size=7)
    worst = 0.0
    for k in range(0, found.centres.size, 5):
        members = found.members[k]
        precision = prec_from_residuals(residuals[:, members].copy(), dof=50, method=shrinkage)
        # float labels: rsatoolbox fills NaN into the labels' dtype (int: numpy RuntimeWarning)
        data = rsatoolbox.data.Dataset(betas[:, :, members].reshape(-1, members.size), obs_descriptors={
            "condition": np.tile(np.arange(8), 3).astype(float), "run": np.repeat(np.arange(3), 8).astype(float)})
        theirs = rsatoolbox.rdm.calc_rdm(data, descriptor="condition", method="crossnobis", noise=precision,
                                         cv_descriptor="run")
        worst = max(worst, np.abs(lower(theirs.get_matrices()[0]) - ours[k]).max())
    assert worst < 1e-8


def test_correlation_searchlight_and_batched_model_betas(volume):
    mask, betas, _ = volume
    betas = np.concatenate([betas] * 7, axis=1)[:, :50]  # 50 conditions
    found = spheres(mask, 1)
    vectors = searchlight_rdms(betas, found, method="correlation")
    k = 3
    assert np.allclose(vectors[k], lower(crossval_correlation_rdm(betas[:, :, found.members[k]])))
    models = model_rdms(["grid", "orthogonal", "parallel"])
    together = regress_vectors(vectors, models)[0]
    single = regress_rdms(RDMs(square(vectors[k]), models.pattern_descriptors), models)
    np.testing.assert_allclose(together[k], single.beta, rtol=1e-10)


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown searchlight method"):
        searchlight_rdms(np.zeros((2, 3, 4)), spheres(np.ones((3, 3, 3), bool), 1), method="euclid")
