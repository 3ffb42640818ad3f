"""Simulation-based calibration of the posterior intervals (Talts, Betancourt, Simpson, Vehtari &
Gelman 2018, arXiv:1804.06788): ``bench_uncertainty``'s coverage study with the generating
parameters drawn from the prior the posterior assumes (the Jeffreys prior on the model's bounds,
``garden.modeling.recovery.prior_parameters``) instead of ``PARAMETER_RANGES``.

Drawn from the prior, the true parameters given the data follow the posterior exactly, so an
exact sampler's 95 % intervals cover them 95 % of the time given any feature of the data: in
interior fits and in fits at a bound alike. A cell outside 93-97 % beyond its Wilson interval is
then the sampler's error (or Monte Carlo error), not the prior's; the same study with parameters
from ``PARAMETER_RANGES`` (``bench_uncertainty``) measures coverage where the truth does not
follow the prior. Posterior intervals only (``GARDEN_BENCH_PROFILE`` is ignored), 500 agents per
model and trial count unless ``GARDEN_BENCH_AGENTS``, the models of ``GARDEN_BENCH_MODELS``.
"""

from __future__ import annotations

from benchmarks import bench_uncertainty


def main() -> dict:
    """Coverage of the posterior intervals of agents drawn from the prior (``bench_uncertainty.main``)."""
    return bench_uncertainty.main(profile=False, truth="prior")
