"""Tidy tables of a network sweep for the figures and the report.

Why: a sweep (``garden.modeling.networks.load_results``) stores one summary row per network plus arrays
with a leading network axis; figures want long tables (one row per network x step, unit, noise
level, ...). These functions only reshape: ``summary`` is the sweep's ``summary.tsv`` and ``arrays``
its ``results.npz`` (rows of both in the same network order).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from garden.rsa.geometry import UNIT_CLASSES

MAX_CURVE_POINTS = 200
MAX_COMPONENTS = 20
SUMMARY_MEASURES = ("final_loss", "final_accuracy", "steps_to_criterion", "beta_grid", "beta_orthogonal",
                    "beta_parallel", "dim_90", "dim_90_uncentred", "n_task_selective", "n_mixed", "n_dead",
                    "context_weight_corr", "context_weight_corr_init", "context_weight_corr_all",
                    "context_weight_corr_all_init", "rel_norm_change_input", "rel_norm_change_context",
                    "rel_norm_change_output", "rel_change_input", "rel_change_context", "rel_change_output",
                    "acc_ablate_task_selective", "acc_ablate_mixed",
                    "acc_congruent", "acc_incongruent")


def _keys(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[["scale", "seed"]].reset_index(drop=True)


def curves_table(summary: pd.DataFrame, arrays: Mapping[str, np.ndarray],
                 max_points: int = MAX_CURVE_POINTS) -> pd.DataFrame:
    """``scale``, ``seed``, ``step``, ``loss``, ``accuracy`` (and ``accuracy_congruent`` /
    ``accuracy_incongruent`` when the sweep has them): the recorded curves, thinned to at most
    ``max_points`` evenly spaced recordings per network (always keeping the first and last)."""
    steps = np.asarray(arrays["record_steps"])
    keep = np.unique(np.linspace(0, len(steps) - 1, min(max_points, len(steps))).round().astype(int))
    keys = _keys(summary)
    n = len(keep)
    extra = {k: arrays[k][:, keep].ravel() for k in ("accuracy_congruent", "accuracy_incongruent") if k in arrays}
    return pd.DataFrame({"scale": np.repeat(keys.scale.to_numpy(), n), "seed": np.repeat(keys.seed.to_numpy(), n),
                         "step": np.tile(steps[keep], len(keys)), "loss": arrays["loss"][:, keep].ravel(),
                         "accuracy": arrays["accuracy"][:, keep].ravel(), **extra})


WEIGHT_MATRICES = ("input", "context", "output")


def weight_change_table(summary: pd.DataFrame, arrays: Mapping[str, np.ndarray],
                        max_points: int = MAX_CURVE_POINTS) -> pd.DataFrame:
    """``scale``, ``seed``, ``step``, ``matrix`` (input / context / output), ``rel_norm_change``
    ((||W_t|| - ||W_0||) / ||W_0||, the paper's) and ``rel_change`` (||W_t - W_0|| / ||W_0||, ours)
    over training, thinned like ``curves_table``."""
    steps = np.asarray(arrays["record_steps"])
    keep = np.unique(np.linspace(0, len(steps) - 1, min(max_points, len(steps))).round().astype(int))
    norm, dist = (np.asarray(arrays[k], float)[:, keep] for k in ("weight_norm", "weight_distance"))
    start = norm[:, :1]
    keys = _keys(summary)
    n, m = len(keep), len(WEIGHT_MATRICES)
    return pd.DataFrame({"scale": np.repeat(keys.scale.to_numpy(), n * m), "seed": np.repeat(keys.seed.to_numpy(), n * m),
                         "step": np.tile(np.repeat(steps[keep], m), len(keys)),
                         "matrix": np.tile(WEIGHT_MATRICES, len(keys) * n),
                         "rel_norm_change": ((norm - start) / start).ravel(), "rel_change": (dist / start).ravel()})


def spectrum_table(summary: pd.DataFrame, arrays: Mapping[str, np.ndarray],
                   max_components: int = MAX_COMPONENTS) -> pd.DataFrame:
    """``scale``, ``seed``, ``component`` (1-based), ``explained_variance_ratio`` (first components)."""
    spectrum = np.asarray(arrays["spectrum"])[:, :max_components]
    keys = _keys(summary)
    k = spectrum.shape[1]
    return pd.DataFrame({"scale": np.repeat(keys.scale.to_numpy(), k), "seed": np.repeat(keys.seed.to_numpy(), k),
                         "component": np.tile(np.arange(1, k + 1), len(keys)),
                         "explained_variance_ratio": spectrum.ravel()})


def context_weights_table(summary: pd.DataFrame, arrays: Mapping[str, np.ndarray],
                          contexts: tuple[str, str] = ("north", "south")) -> pd.DataFrame:
    """``scale``, ``seed``, ``unit``, ``w_<context>``: final context->hidden weights of every unit,
    ``w_<context>_init`` the initial ones, and ``unit_class`` (task_selective / mixed / dead)."""
    weights, start = np.asarray(arrays["w_context_final"]), np.asarray(arrays["w_context_init"])  # (N, H, 2)
    keys = _keys(summary)
    h = weights.shape[1]
    names = np.array(UNIT_CLASSES)[np.asarray(arrays["unit_class"], int).ravel()]
    return pd.DataFrame({"scale": np.repeat(keys.scale.to_numpy(), h), "seed": np.repeat(keys.seed.to_numpy(), h),
                         "unit": np.tile(np.arange(h), len(keys)),
                         f"w_{contexts[0]}": weights[:, :, 0].ravel(), f"w_{contexts[1]}": weights[:, :, 1].ravel(),
                         f"w_{contexts[0]}_init": start[:, :, 0].ravel(), f"w_{contexts[1]}_init": start[:, :, 1].ravel(),
                         "unit_class": names})


def ablation_table(summary: pd.DataFrame) -> pd.DataFrame:
    """``scale``, ``seed``, ``ablated`` (none / task_selective / mixed), ``accuracy``."""
    columns = {"none": "final_accuracy", "task_selective": "acc_ablate_task_selective", "mixed": "acc_ablate_mixed"}
    return pd.concat([_keys(summary).assign(ablated=name, accuracy=summary[col].to_numpy())
                      for name, col in columns.items()], ignore_index=True)


def noise_table(summary: pd.DataFrame) -> pd.DataFrame:
    """``scale``, ``seed``, ``noised`` (``stimulus`` units only: ``acc_noise_<SD>``; ``all`` inputs:
    ``acc_noise_all_<SD>``), ``noise_sd`` (input units), ``accuracy``."""
    parts = []
    for c in (c for c in summary.columns if c.startswith("acc_noise_")):
        noised = "all" if c.startswith("acc_noise_all_") else "stimulus"
        parts.append(_keys(summary).assign(noised=noised, noise_sd=float(c.rpartition("_")[2]),
                                           accuracy=summary[c].to_numpy()))
    return pd.concat(parts, ignore_index=True)


def scale_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean of every published measure per init scale (one row per scale, with ``n_networks``)."""
    measures = [m for m in SUMMARY_MEASURES if m in summary]
    table = summary.groupby("scale")[measures].mean()
    return table.assign(n_networks=summary.groupby("scale").size()).reset_index()
