"""Psychometric choice models of the tree task: predict, simulate and fit (paradigm §3).

Models (``MODELS``, see ``modeling.models``): ``factorized`` (k=5), ``factorized_full`` (k=8),
``linear`` (k=4), ``sigmoid_relevant`` and ``sigmoid_irrelevant`` (k=1, slope only).

Parameters are a dict. Boundaries are set by ``delta`` (degrees, [-90, 90]): the rotation of the
boundary normal away from the context's reward gradient (``linear``: from g_A + g_B). Shared
parameters are named by kind, per-context ones carry the context label, e.g. for contexts
north/south::

    factorized:      delta_north, delta_south, slope, offset, lapse
    factorized_full: delta_north, delta_south, slope_north, slope_south, offset_north,
                     offset_south, lapse_north, lapse_south
    linear:          delta, slope, offset, lapse
    sigmoid_*:       slope

slope per feature level ([0, 20]; sigmoids [-20, 20]), offset in feature levels ([-1, 1]),
lapse in [0, 0.5]. ``parameter_names(model, contexts)`` lists them for any two labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modeling.cells import Geometry, centred_features, context_labels, reward_gradients
from modeling.models import DEFAULT_MODELS, MODELS, Model, get_model, p_accept

__all__ = ["MODELS", "DEFAULT_MODELS", "parameter_names", "geometry", "predict", "simulate_choices"]


def _model(model: str | Model) -> Model:
    return model if isinstance(model, Model) else get_model(model)


def parameter_names(model: str | Model, contexts: tuple[str, str] = ("north", "south")) -> list[str]:
    """The parameter names of ``model`` for these two context labels."""
    return _model(model).names(tuple(contexts))


def geometry(trials: pd.DataFrame) -> Geometry:
    """The rule geometry (context labels, reward gradients) of a trial table with two contexts."""
    contexts = context_labels(trials)
    return Geometry(contexts, reward_gradients(trials, contexts))


def predict(model: str | Model, params: dict[str, float], trials: pd.DataFrame,
            geom: Geometry | None = None) -> np.ndarray:
    """p(accept) for every row of ``trials`` (columns context, branchiness, leafiness, reward_value).

    The boundaries are placed relative to the reward gradients of ``trials`` itself (or of
    ``geom``, e.g. from a participant's whole session when predicting a subset of its trials).
    """
    model = _model(model)
    geom = geom or geometry(trials)
    labels = trials["context"].astype(str).to_numpy()
    unknown = sorted(set(labels) - set(geom.contexts))
    if unknown:
        raise ValueError(f"context label(s) {unknown} are not among {list(geom.contexts)}")
    context = np.where(labels == geom.contexts[0], 0, 1)
    theta = model.theta(params, geom.contexts)
    return p_accept(model, theta[None, :], geom, context, centred_features(trials))[0]


def simulate_choices(model: str | Model, params: dict[str, float], trials: pd.DataFrame,
                     rng: np.random.Generator | int, geom: Geometry | None = None) -> np.ndarray:
    """Simulated choices (1 accept / 0 reject, float) for every row of ``trials``.

    ``rng`` is a numpy Generator or an integer seed; the same seed gives the same choices.
    """
    rng = np.random.default_rng(rng)
    p = predict(model, params, trials, geom)
    return (rng.random(len(p)) < p).astype(float)
