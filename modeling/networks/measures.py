"""Per-network measures that need the weights (docs/networks.md), computed from trained parameters.

Pure numpy on the parameter dicts of ``garden.modeling.networks.train`` (N networks stacked on axis 0).
The RSA read-outs reuse ``garden.rsa.distances``, ``garden.rsa.model_rdms``, ``garden.rsa.compare`` and
``garden.rsa.geometry`` (``rsa`` is a layer below ``modeling``).

Published flaw not copied (docs/networks.md): ablation masks come from each network itself, never
from the rich network of the same run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from garden.core.task import item_congruency
from garden.modeling.networks.config import NOISE_SDS
from garden.modeling.networks.data import TaskData
from garden.rsa.compare import regress_rdms
from garden.rsa.distances import rdm
from garden.rsa.geometry import (
    classify_units,
    context_weight_correlation,
    dimensionality,
    sign_accuracy,
)
from garden.rsa.model_rdms import model_rdms
from garden.rsa.rdms import RDMs

RSA_MODELS = ("grid", "orthogonal", "parallel")
WEIGHT_MATRICES = {"input": "w_input", "context": "w_context", "output": "w_output"}
UNIT_CODES = {"task_selective": 0, "mixed": 1, "dead": 2}


def forward(params: dict[str, np.ndarray], stimulus: np.ndarray, context: np.ndarray,
            keep: np.ndarray | None = None, *, activation: str = "relu") -> tuple[np.ndarray, np.ndarray]:
    """Hidden activity and outputs of N networks.

    ``stimulus`` is (P, D), shared by every network -> hidden (N, P, H), output (N, P); or
    (N, R, P, D), R copies per network (e.g. noisy inputs) -> hidden (N, R, P, H), output (N, R, P).
    ``context`` is (P, 2), or (N, R, P, 2) copies (noisy context units) with (N, R, P, D) stimuli.
    ``keep`` (N, H) zeroes the hidden units that are False (ablation). ``activation``: ``"relu"`` (the
    published units) or ``"linear"`` (the linear-hidden-unit control).
    """
    shared = np.ndim(stimulus) == 2
    s = np.asarray(stimulus, float)[None, None] if shared else np.asarray(stimulus, float)
    c = np.asarray(context, float)
    c = c[None, None] if c.ndim == 2 else c                                                   # (N|1, R|1, P, 2)
    extra = c @ params["w_context"].transpose(0, 2, 1)[:, None] + params["b_hidden"][:, None, None, :]
    hidden = s @ params["w_input"].transpose(0, 2, 1)[:, None] + extra
    if activation == "relu":
        hidden = np.maximum(hidden, 0.0)
    if keep is not None:
        hidden = hidden * keep[:, None, None, :]
    output = (hidden @ params["w_output"][:, None, :, None])[..., 0] + params["b_output"][:, None, None]
    return (hidden[:, 0], output[:, 0]) if shared else (hidden, output)


def relative_changes(init: dict[str, np.ndarray], final: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per network and weight matrix (input, context, output; Frobenius norms):
    ``rel_norm_change_<m>`` = (||W_final|| - ||W_init||) / ||W_init|| (the paper's relative change of
    the norm) and ``rel_change_<m>`` = ||W_final - W_init|| / ||W_init|| (ours: how far the weights
    moved, which a rotation at constant norm also shows)."""
    out = {}
    for name, key in WEIGHT_MATRICES.items():
        axes = tuple(range(1, init[key].ndim))
        before, after = (np.sqrt((w ** 2).sum(axis=axes)) for w in (init[key], final[key]))
        out[f"rel_norm_change_{name}"] = (after - before) / before
        out[f"rel_change_{name}"] = np.sqrt(((final[key] - init[key]) ** 2).sum(axis=axes)) / before
    return pd.DataFrame(out)


def _subset_corr(w_context: np.ndarray, mask: np.ndarray) -> float:
    return context_weight_correlation(w_context[mask]) if mask.sum() >= 3 else float("nan")


def _model_betas(hidden: np.ndarray, context_offset: float) -> np.ndarray:
    """(N, len(RSA_MODELS)) betas of each network's hidden RDM on the model RDMs (``regress_rdms``); NaN
    for a network whose activity is not finite (training diverged) or whose RDM is constant (all units dead)."""
    models = model_rdms(list(RSA_MODELS), context_offset=context_offset)
    n = models.n_conditions
    matrices = [rdm(h) if np.isfinite(h).all() else np.full((n, n), np.nan) for h in hidden]
    table = regress_rdms(RDMs(np.stack(matrices), models.pattern_descriptors), models)
    return table["beta"].to_numpy().reshape(len(hidden), len(RSA_MODELS))


def geometry_measures(data: TaskData, hidden: np.ndarray, w_context: np.ndarray, context_offset: float = 1.0,
                      w_context_init: np.ndarray | None = None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Per network: betas of the hidden RDM on the grid/orthogonal/parallel model RDMs, ``dim_90``
    (item-centred SVD, ours) and ``dim_90_uncentred`` (the paper's SVD of the raw activity), unit
    classes and context-weight correlations over task-selective and over all units, of the final
    weights and (with ``w_context_init``) of the initial weights on the same units (the baseline:
    how much of the correlation the selection of units alone gives); arrays: spectrum (N, P)
    (centred), unit_class (N, H) codes. A network with non-finite activity (its training diverged)
    gets NaN betas and dimensionalities, and its units count as dead."""

    ctx = data.items["context_index"].to_numpy()
    rows, spectra, classes = [], [], []
    inits = w_context_init if w_context_init is not None else [None] * len(hidden)
    all_betas = _model_betas(hidden, context_offset)
    for h, wc, w0, betas in zip(hidden, w_context, inits, all_betas):
        finite = bool(np.isfinite(h).all())   # False for a network whose training diverged: no geometry
        dim, spectrum = dimensionality(h, 0.9) if finite else (float("nan"), np.full(min(h.shape), np.nan))
        labels = classify_units(h, ctx)
        selective, every = labels == "task_selective", np.ones(len(wc), bool)
        row = {**{f"beta_{m}": b for m, b in zip(RSA_MODELS, betas)}, "dim_90": dim,
               "dim_90_uncentred": dimensionality(h, 0.9, centre=False)[0] if finite else float("nan"),
               "n_task_selective": int(selective.sum()), "n_mixed": int((labels == "mixed").sum()),
               "n_dead": int((labels == "dead").sum()),
               "context_weight_corr": _subset_corr(wc, selective), "context_weight_corr_all": _subset_corr(wc, every)}
        if w0 is not None:
            row.update(context_weight_corr_init=_subset_corr(w0, selective),
                       context_weight_corr_all_init=_subset_corr(w0, every))
        rows.append(row)
        spectra.append(spectrum)
        classes.append([UNIT_CODES[c] for c in labels])
    return pd.DataFrame(rows), {"spectrum": np.asarray(spectra), "unit_class": np.asarray(classes, np.int8)}


def readout_measures(data: TaskData, params: dict[str, np.ndarray], unit_class: np.ndarray, seeds,
                     noise_sds=NOISE_SDS, noise_repeats: int = 20, noise_seed: int = 0, *,
                     activation: str = "relu") -> pd.DataFrame:
    """Per network: accuracy after ablating its own task-selective / mixed units; under Gaussian
    noise of SD ``noise_sds`` on the stimulus units only (``acc_noise_<SD>``, ours) and on all
    inputs, stimulus and context units (``acc_noise_all_<SD>``, the paper's), ``noise_repeats`` draws
    from ``default_rng([noise_seed, seed])`` (the same draws scaled for every SD); and on congruent
    vs incongruent items (congruency from the items' own values, ``garden.core.task.item_congruency``);
    hidden units ``activation`` (``forward``)."""

    y = data.targets
    out = {}
    for name, code in (("task_selective", 0), ("mixed", 1)):
        _, output = forward(params, data.stimulus, data.context, keep=unit_class != code, activation=activation)
        out[f"acc_ablate_{name}"] = sign_accuracy(output, y)
    width = data.stimulus.shape[1] + data.context.shape[1]
    draws = np.stack([np.random.default_rng([noise_seed, int(s)]).standard_normal((noise_repeats, len(y), width))
                      for s in seeds])                                      # (N, R, P, D + 2)
    d = data.stimulus.shape[1]
    for sd in noise_sds:
        _, output = forward(params, data.stimulus + sd * draws[..., :d], data.context, activation=activation)
        out[f"acc_noise_{sd:g}"] = sign_accuracy(output, y).mean(axis=1)
    for sd in noise_sds:
        _, output = forward(params, data.stimulus + sd * draws[..., :d], data.context + sd * draws[..., d:],
                            activation=activation)
        out[f"acc_noise_all_{sd:g}"] = sign_accuracy(output, y).mean(axis=1)
    kind = item_congruency(data.items)
    _, output = forward(params, data.stimulus, data.context, activation=activation)
    for name in ("congruent", "incongruent"):
        out[f"acc_{name}"] = sign_accuracy(output[:, kind == name], y[kind == name])
    return pd.DataFrame(out)


def congruency_curves(data: TaskData, output_curve: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy curves (N, n_rec) on the items of congruent and of incongruent trees, from the
    outputs at the recorded steps (N, n_rec, 50)."""

    kind = item_congruency(data.items)
    return {f"accuracy_{name}": sign_accuracy(output_curve[..., kind == name], data.targets[kind == name])
            for name in ("congruent", "incongruent")}
