"""``RDMs``: indexing, subsets, joins and the one vector order, each checked against rsatoolbox's RDMs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from garden.rsa.distances import lower
from garden.rsa.model_rdms import model_rdms
from garden.rsa.rdms import RDMs

rsatoolbox = pytest.importorskip("rsatoolbox")


@pytest.fixture
def rdms() -> RDMs:
    """Four model RDMs with a second descriptor and a measure."""
    models = model_rdms(["grid", "orthogonal", "parallel", "diagonal"])
    return RDMs(models.matrices, models.pattern_descriptors,
                models.rdm_descriptors.assign(kind=["a", "b", "a", "b"]), "euclidean")


def test_vectors_and_frame_use_the_lower_triangle_and_hold_rsatoolbox_s_pairs(rdms):
    theirs = rdms.to_rsatoolbox()
    n = rdms.n_conditions
    i, j = np.tril_indices(n, -1)
    np.testing.assert_array_equal(rdms.vectors(), np.stack([lower(m) for m in rdms.matrices]))
    # rsatoolbox stores the upper triangle row by row: the same pairs, another order
    np.testing.assert_allclose(rdms.vectors(), theirs.get_matrices()[:, i, j])
    frame = rdms.to_frame()
    assert len(frame) == 4 * n * (n - 1) // 2 and (frame.condition_i > frame.condition_j).all()
    np.testing.assert_array_equal(frame.dissimilarity.to_numpy(), rdms.vectors().ravel())
    assert frame.model.iloc[0] == "grid" and frame.kind.iloc[-1] == "b"
    assert theirs.dissimilarity_measure == "euclidean"
    assert list(theirs.pattern_descriptors["context"][:2]) == ["north", "north"]


def test_indexing_subsets_and_joins_agree_with_rsatoolbox(rdms):
    theirs = rdms.to_rsatoolbox()
    assert len(rdms) == 4 and len(rdms[1]) == 1 and len(rdms[1:3]) == 2
    np.testing.assert_allclose(rdms[[3, 0]].matrices, theirs[[3, 0]].get_matrices())
    assert rdms[[3, 0]].rdm_descriptors.model.tolist() == ["diagonal", "grid"]
    subset = rdms.subset(kind="a")
    np.testing.assert_allclose(subset.matrices, theirs.subset("kind", "a").get_matrices())
    assert subset.rdm_descriptors.model.tolist() == ["grid", "parallel"]
    assert rdms.subset(model=["grid", "diagonal"], kind="b").rdm_descriptors.model.tolist() == ["diagonal"]
    with pytest.raises(KeyError, match="no rdm descriptor 'roi'"):
        rdms.subset(roi="V1")
    joined = RDMs.concat([rdms[2:], rdms[:2]])
    theirs_joined = rsatoolbox.rdm.concat([theirs[[2, 3]], theirs[[0, 1]]])
    np.testing.assert_allclose(joined.matrices, theirs_joined.get_matrices())
    assert joined.rdm_descriptors.model.tolist() == list(theirs_joined.rdm_descriptors["model"])
    means = rdms.mean("kind")
    assert means.rdm_descriptors.kind.tolist() == ["a", "b"]
    np.testing.assert_allclose(means.matrices[0], theirs.subset("kind", "a").mean().get_matrices()[0])
    assert [value for value, _ in rdms.groupby("kind")] == ["a", "b"]


def test_joins_refuse_other_conditions_or_measures_and_a_round_trip_keeps_everything(rdms):
    with pytest.raises(ValueError, match="different conditions"):
        RDMs.concat([rdms, RDMs(1 - np.eye(3), pd.DataFrame({"c": range(3)}))])
    with pytest.raises(ValueError, match="different measures"):
        RDMs.concat([rdms, rdms.transform(np.square, "squared euclidean")])
    back = RDMs.from_rsatoolbox(rdms.to_rsatoolbox())
    np.testing.assert_allclose(back.matrices, rdms.matrices)
    assert back.rdm_descriptors.equals(rdms.rdm_descriptors) and back.dissimilarity_measure == "euclidean"
    with pytest.raises(ValueError, match="3 rdm descriptor rows for 4 RDMs"):
        RDMs(rdms.matrices, rdms.pattern_descriptors, rdms.rdm_descriptors.iloc[:3])
    with pytest.raises(ValueError, match="symmetric"):
        RDMs(np.arange(4.0).reshape(1, 2, 2), pd.DataFrame({"c": [0, 1]}))
