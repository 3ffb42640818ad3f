"""Read-outs of a representation that need only activity and outputs, not a network's weights.

Pure functions on arrays: rows are items/conditions, columns are units (hidden units, voxels).
"""

from __future__ import annotations

import numpy as np

UNIT_CLASSES = ("task_selective", "mixed", "dead")


def explained_variance(activity: np.ndarray, *, centre: bool = True) -> np.ndarray:
    """Share of variance per principal component of (n_items, n_units) activity, largest first.

    From the singular values of the item-centred activity (``centre``; ours), or of the raw
    activity (``centre=False``: the published networks' SVD, whose first component then carries
    the mean activity); sums to 1 (all zeros when there is nothing to explain, e.g. a network
    with only dead units).
    """
    x = np.asarray(activity, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"activity must be items x units, got shape {x.shape}")
    singular = np.linalg.svd(x - x.mean(axis=0) if centre else x, compute_uv=False)
    power = singular**2
    total = power.sum()
    return power / total if total > 0 else power


def dimensionality(activity: np.ndarray, threshold: float = 0.9, *, centre: bool = True) -> tuple[int, np.ndarray]:
    """(number of principal components needed to explain ``threshold`` of the variance, spectrum).

    ``threshold`` is a share in (0, 1]; the spectrum is ``explained_variance(activity, centre=...)``.
    Activity without variance has dimensionality 0.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be a share of variance in (0, 1], got {threshold}")
    ratio = explained_variance(activity, centre=centre)
    if ratio.sum() == 0:
        return 0, ratio
    cumulative = np.cumsum(ratio)
    n_components = int(np.searchsorted(cumulative, threshold - 1e-12) + 1)
    return min(n_components, ratio.size), ratio


def classify_units(hidden: np.ndarray, context_index: np.ndarray, tol: float = 0.0) -> np.ndarray:
    """Class of each unit by its mean activity per context (docs/networks.md).

    'task_selective' when the mean over one context's items is > ``tol`` and the other's is not,
    'mixed' when both are, 'dead' when neither is. ``hidden`` is (n_items, n_units),
    ``context_index`` (n_items,) holds 0 or 1.
    """
    h = np.asarray(hidden, dtype=float)
    ctx = np.asarray(context_index)
    if h.ndim != 2 or ctx.shape != (h.shape[0],):
        raise ValueError(f"hidden must be items x units and context_index one per item, "
                         f"got {h.shape} and {ctx.shape}")
    if not np.isin(ctx, (0, 1)).all() or np.unique(ctx).size != 2:
        raise ValueError("context_index must hold 0 and 1 (both contexts present)")
    active = np.stack([h[ctx == k].mean(axis=0) > tol for k in (0, 1)])
    n_active = active.sum(axis=0)
    return np.asarray(UNIT_CLASSES, dtype=object)[np.select([n_active == 1, n_active == 2], [0, 1], 2)]


def class_counts(classes: np.ndarray) -> dict[str, int]:
    """Number of units per class, every class present as a key (0 when absent)."""
    labels = np.asarray(classes)
    return {name: int(np.sum(labels == name)) for name in UNIT_CLASSES}


def sign_accuracy(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Share of items whose output has the target's sign, over items with a non-zero target.

    Works along the last axis, so (n_runs, n_items) outputs give one accuracy per run. (The
    published helper compared a sigmoid with 0 and always returned 0.5; this one compares signs.)
    """
    y_hat, y = np.broadcast_arrays(np.asarray(outputs, float), np.asarray(targets, float))
    scored = y != 0
    if not scored.any(axis=-1).all():
        raise ValueError("every target is 0: accuracy is undefined")
    hits = (np.sign(y_hat) == np.sign(y)) & scored
    return hits.sum(axis=-1) / scored.sum(axis=-1)


def first_step_at(curve: np.ndarray, level: float = 1.0) -> int | None:
    """Index of the first step where a learning curve reaches ``level`` (None when never)."""
    reached = np.flatnonzero(np.asarray(curve, dtype=float) >= level)
    return int(reached[0]) if reached.size else None


def context_weight_correlation(context_weights: np.ndarray) -> float:
    """Pearson correlation across units of the two context-input weight columns, (n_units, 2).

    Rich networks have anticorrelated context weights (each unit serves one task); NaN when
    a column does not vary over units.
    """
    w = np.asarray(context_weights, dtype=float)
    if w.ndim != 2 or w.shape[1] != 2:
        raise ValueError(f"context weights must be units x 2 contexts, got shape {w.shape}")
    if np.ptp(w[:, 0]) == 0 or np.ptp(w[:, 1]) == 0:
        return float("nan")
    return float(np.corrcoef(w[:, 0], w[:, 1])[0, 1])
