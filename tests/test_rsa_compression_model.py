"""The 6-parameter compression/rotation/offset model: recovery and best-restart selection."""

from __future__ import annotations

import numpy as np
import pytest

from garden.rsa.compression_model import (
    PARAMETERS,
    compression_distances,
    fit_compression_model,
)
from garden.rsa.model_rdms import model_rdm
from garden.rsa.distances import lower

TRUE = {"north_relevant": 1.5, "north_irrelevant": 0.2, "south_relevant": 1.2, "south_irrelevant": 0.4,
        "rotation_deg": -60.0, "context_offset": 2.0}


def test_distances_of_grid_parameters_are_the_grid_model_rdm():
    grid = dict(zip(PARAMETERS, (1.0, 1.0, 1.0, 1.0, 0.0, 3.0)))
    np.testing.assert_allclose(compression_distances(grid), lower(model_rdm("grid", 3.0)), atol=1e-12)
    with pytest.raises(ValueError, match="missing"):
        compression_distances({"north_relevant": 1.0})


def test_fit_recovers_known_parameters_from_noisy_distances_and_keeps_the_best_restart():
    rng = np.random.default_rng(0)
    data = np.abs(compression_distances(TRUE) + rng.normal(0, 0.05, 1225))
    fit = fit_compression_model(data, n_restarts=8, seed=1)
    for name, value in TRUE.items():
        assert fit.params[name] == pytest.approx(value, abs=0.05 * max(1, abs(value))), name
    assert fit.cost == min(fit.restart_costs)
    assert fit.rmse == pytest.approx(0.05, rel=0.2)
    assert fit_compression_model(data, n_restarts=8, seed=1).to_dict() == fit.to_dict()  # seeded


def test_fit_places_an_orthogonal_geometry_at_zero_irrelevant_gain():
    fit = fit_compression_model(model_rdm("orthogonal", 1.0), n_restarts=4, seed=0)
    assert fit.rmse < 1e-4
    assert fit.params["north_irrelevant"] == pytest.approx(0.0, abs=1e-3)
    assert fit.params["south_irrelevant"] == pytest.approx(0.0, abs=1e-3)
    assert fit.params["north_relevant"] == pytest.approx(1.0, abs=1e-3)


def test_fit_reads_the_grid_size_of_the_72_condition_monkey_design():
    fit = fit_compression_model(model_rdm("grid", 2.0, n_levels=6), n_restarts=1, seed=0)
    assert fit.n_levels == 6 and fit.rmse < 1e-6
    assert fit.params["context_offset"] == pytest.approx(2.0)


def test_fit_rejects_rdms_that_are_not_two_square_grids():
    with pytest.raises(ValueError, match="2 \\* n_levels\\*\\*2 conditions, got 10"):
        fit_compression_model(np.ones(45))
