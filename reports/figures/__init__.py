"""Every figure of the report, one module per section: functions that take tidy tables or arrays
and return a Figure.

Why here: one room for plotting, so the numbers are computed elsewhere (networks, fits, RSA) and
each figure only draws. Sections: ``networks``, ``behaviour``, ``people_vs_networks``, ``neural``,
``arrangement``, ``person_fits``; ``rdms`` draws any ``RDMs`` stack (``plot_rdms``); ``style`` holds what they share; every
figure is importable from this package.
Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas (no pyplot state, no
display), and each is readable alone: a title, axis labels with units, legends.

Conventions: init ``scale`` is the SD of the input-to-hidden weights (small = rich, large = lazy),
drawn on a log axis from rich (left) to lazy (right) (bar charts: as evenly spaced categories);
contexts are drawn in their garden colours; lines along branchiness are brown and along leafiness
green.
"""

from garden.reports.figures.arrangement import (
    grid_prior_pre_post,
)
from garden.reports.figures.rdms import (
    plot_rdms,
)
from garden.reports.figures.behaviour import (
    behavioural_rsa_taus,
    bms_bars,
    choice_matrices,
    choice_rdm_betas,
    decision_boundaries,
    fitted_vs_true_parameters,
    model_recovery_confusion,
    participant_choice_matrices,
    participant_psychometric,
    phase_change,
    ppc_statistics,
    psychometric_band,
    psychometric_curves,
    sigmoid_slopes,
    trial_type_bars,
)
from garden.reports.figures.networks import (
    ablation_accuracy,
    betas_by_scale,
    compression_by_scale,
    congruency_over_training,
    context_weight_scatter,
    dimensionality_by_scale,
    gating_dynamics,
    gating_overlap,
    learning_curves,
    mds_grids,
    noise_curves,
    unit_classes,
    weight_change_curves,
)
from garden.reports.figures.neural import (
    neural_accuracy,
    neural_model_betas,
    neural_searchlight_slices,
)
from garden.reports.figures.person_fits import (
    best_scale_intervals,
    verdict_shares,
)
from garden.reports.figures.people_vs_networks import (
    matched_accuracy,
    person_vs_matched_networks,
    similarity_by_scale,
)
from garden.reports.figures.style import FEATURE_COLOURS, SCALE_LABEL, context_colour

__all__ = [
    "FEATURE_COLOURS",
    "SCALE_LABEL",
    "context_colour",
    "congruency_over_training",
    "learning_curves",
    "weight_change_curves",
    "compression_by_scale",
    "betas_by_scale",
    "dimensionality_by_scale",
    "unit_classes",
    "context_weight_scatter",
    "gating_overlap",
    "gating_dynamics",
    "ablation_accuracy",
    "noise_curves",
    "mds_grids",
    "choice_matrices",
    "participant_choice_matrices",
    "participant_psychometric",
    "psychometric_band",
    "ppc_statistics",
    "behavioural_rsa_taus",
    "phase_change",
    "sigmoid_slopes",
    "trial_type_bars",
    "psychometric_curves",
    "decision_boundaries",
    "bms_bars",
    "fitted_vs_true_parameters",
    "model_recovery_confusion",
    "choice_rdm_betas",
    "similarity_by_scale",
    "person_vs_matched_networks",
    "matched_accuracy",
    "best_scale_intervals",
    "verdict_shares",
    "neural_model_betas",
    "neural_accuracy",
    "neural_searchlight_slices",
    "grid_prior_pre_post",
    "plot_rdms",
]
