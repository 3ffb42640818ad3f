"""Network input codes: Gaussian blobs exactly as docs/networks.md, one-hot context, image codes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from garden.stimuli.codes import context_onehot, gaussian_blobs, image_codes, network_inputs


def test_centre_blob_has_peak_one_at_the_centre_unit_and_known_neighbours():
    centre = gaussian_blobs(normalise=False)[12].reshape(5, 5)  # branchiness 3, leafiness 3
    assert centre[2, 2] == 1.0 and centre.argmax() == 12
    # neighbour one grid step (0.25) away: exp(-0.25**2 / (2 * 0.08))
    assert centre[2, 3] == pytest.approx(np.exp(-0.0625 / 0.16))
    assert centre[1, 1] == pytest.approx(np.exp(-0.125 / 0.16))  # one step along both axes
    assert centre[0, 0] == pytest.approx(np.exp(-0.5 / 0.16))  # the corner unit


def test_every_blob_peaks_at_one_and_matches_the_published_pdf_construction():
    blobs = gaussian_blobs(normalise=False)
    np.testing.assert_allclose(blobs.max(axis=1), 1.0)
    grid = np.stack(np.meshgrid(np.linspace(0, 1, 5), np.linspace(0, 1, 5)), axis=-1)  # (y, x, [x, y])
    centres = np.linspace(0.2, 0.8, 5)
    for row, (mu_b, mu_l) in enumerate((b, l) for b in centres for l in centres):
        pdf = multivariate_normal([mu_l, mu_b], [[0.08, 0], [0, 0.08]]).pdf(grid)
        np.testing.assert_allclose(blobs[row], (pdf / pdf.max()).ravel(), rtol=1e-12)


def test_blobs_are_symmetric_under_swapping_and_mirroring_the_features():
    blobs = gaussian_blobs(normalise=False).reshape(5, 5, 5, 5)  # b, l, unit row, unit column
    np.testing.assert_allclose(blobs, blobs.transpose(1, 0, 3, 2))  # swap features
    np.testing.assert_allclose(blobs, blobs[::-1, :, ::-1, :])  # mirror branchiness levels


def test_published_normalisation_gives_unit_frobenius_norms():
    x, c = network_inputs(normalise=True)
    assert x.shape == (50, 25) and c.shape == (50, 2)
    assert np.linalg.norm(x) == pytest.approx(1.0) and np.linalg.norm(c) == pytest.approx(1.0)
    np.testing.assert_allclose(gaussian_blobs(True), gaussian_blobs(False) / np.linalg.norm(
        np.vstack([gaussian_blobs(False)] * 2)))
    np.testing.assert_allclose(x[:25], x[25:])


def test_context_onehot_order_north_then_south():
    c = context_onehot(normalise=False)
    assert (c[:25] == [1, 0]).all() and (c[25:] == [0, 1]).all()
    assert context_onehot(True)[0, 0] == pytest.approx(1 / np.sqrt(50))


def test_image_codes_shapes_ranges_and_backgrounds():
    grey = image_codes(24)
    assert grey.shape == (25, 24 * 24) and grey.dtype == np.float32
    assert grey.min() == 0.0 and 0 < grey.max() <= 1.0
    assert len({row.tobytes() for row in grey}) == 25  # every cell looks different
    scenes = image_codes(24, rgb=True, background=True)
    assert scenes.shape == (50, 3 * 24 * 24)
    assert not np.allclose(scenes[:25], scenes[25:])  # north and south gardens differ
    np.testing.assert_array_equal(image_codes(24), grey)  # deterministic
