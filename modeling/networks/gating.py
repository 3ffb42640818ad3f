"""The gating analysis of Flesch et al. 2022 (docs/networks.md, "Gating"): pure numpy, torch-free.

With ReLU hidden units, the context input can silence a unit in one context, so each task runs through
its own subset of units. Three read-outs of that:

* ``additive_ceiling``: the best accuracy any network whose output is a function of the stimulus plus a
  function of the context can reach (every network with linear hidden units is one: its output is
  linear in the stimulus and context units). It cannot give two incongruent trees of opposite kinds
  both right in both contexts, so it stays below 1 on incongruent trees (the linear-hidden-unit
  control of the paper).
* ``active_units`` / ``overlap_measures``: which hidden units are active (activity > 0) in each context
  and how the two sets overlap (task-selective per context, shared, dead; Jaccard index).
* ``gating_stats``: the overlap measures plus the correlation across units of the north and south
  context weights, over all units and over the task-selective ones; the trainer records them at
  every recorded step (``garden.modeling.networks.train``), the sweep stores them as ``gating_<name>``.
"""

from __future__ import annotations

import numpy as np
from garden.core.task import CONTEXTS, cell_index, item_congruency
from garden.modeling.networks.data import TaskData

ACTIVE_RULES = ("any", "most")
"""A unit is active in a context when its activity is > 0 on ANY of the context's 25 items (the paper's
class rule: mean activity > 0), or on MOST of them (more than half; ours, stricter)."""
OVERLAP_MEASURES = (f"frac_selective_{CONTEXTS[0]}", f"frac_selective_{CONTEXTS[1]}", "frac_shared", "frac_dead",
                    "active_jaccard")
GATING_STATS = (*OVERLAP_MEASURES, "ctx_corr_all", "ctx_corr_selective")
MIN_UNITS = 3
"""Fewest units a context-weight correlation is computed over (NaN below)."""


def additive_ceiling(data: TaskData) -> dict[str, float]:
    """Upper bounds on the sign accuracy (share of non-zero targets whose output has their sign) of any
    network whose output is f(stimulus) + g(context), over all scored items (``accuracy``) and over
    congruent / incongruent / neutral trees (``acc_<kind>``, ``garden.core.task.item_congruency``).

    With d = g(north) - g(south), a tree's two outputs can have the signs (+, +) and (-, -), and
    (+, -) only when d > 0, (-, +) only when d < 0; each bound is the best over d > 0, d = 0, d < 0
    of the sum over trees of the most targets one achievable sign pair gets right (f free per tree:
    an upper bound also when the stimulus code cannot give every f)."""
    items = data.items
    cells = cell_index(items["branchiness"], items["leafiness"])
    ctx = items["context_index"].to_numpy()
    sign = np.zeros((cells.max() + 1, 2))
    sign[cells, ctx] = np.sign(data.targets)
    kinds = np.empty(cells.max() + 1, dtype=object)
    kinds[cells] = item_congruency(items)
    out = {}
    for name, keep in (("accuracy", np.ones(len(kinds), bool)), *((f"acc_{k}", kinds == k)
                                                                   for k in ("congruent", "incongruent", "neutral"))):
        scored = np.count_nonzero(sign[keep])
        if not scored:
            out[name] = float("nan")
            continue
        best = 0
        for order in (1, 0, -1):
            pairs = np.array([(1, 1), (-1, -1)] + ([(order, -order)] if order else []))      # (n_pairs, 2)
            hits = (sign[keep][:, None, :] == pairs[None]).sum(axis=2)                       # (trees, n_pairs)
            best = max(best, int(hits.max(axis=1).sum()))
        out[name] = best / scored
    return out


def active_units(hidden: np.ndarray, context_index: np.ndarray, *, rule: str = "any") -> np.ndarray:
    """(..., 2, H) bool: whether each hidden unit is active (activity > 0) in each context under ``rule``
    (``ACTIVE_RULES``). ``hidden`` (..., P, H) activity of the P items, ``context_index`` (P,) 0 or 1."""
    if rule not in ACTIVE_RULES:
        raise ValueError(f"rule {rule!r}: use one of {list(ACTIVE_RULES)}")
    h, ctx = np.asarray(hidden), np.asarray(context_index)
    per = [h[..., ctx == k, :] > 0 for k in (0, 1)]
    return np.stack([p.any(axis=-2) if rule == "any" else p.mean(axis=-2) > 0.5 for p in per], axis=-2)


def overlap_measures(active: np.ndarray) -> dict[str, np.ndarray]:
    """Per network (leading axes of ``active`` (..., 2, H)): the fractions of hidden units active in
    only the first / only the second context (task-selective per context), in both (shared), in neither
    (dead), and the Jaccard index |A_north ∩ A_south| / |A_north ∪ A_south| of the two active sets
    (NaN when no unit is active)."""
    north, south = active[..., 0, :], active[..., 1, :]
    union = (north | south).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.where(union > 0, (north & south).sum(axis=-1) / union, np.nan)
    return {f"frac_selective_{CONTEXTS[0]}": (north & ~south).mean(axis=-1),
            f"frac_selective_{CONTEXTS[1]}": (south & ~north).mean(axis=-1),
            "frac_shared": (north & south).mean(axis=-1), "frac_dead": (~north & ~south).mean(axis=-1),
            "active_jaccard": jaccard}


def masked_correlation(w_context: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Pearson r across the units where ``mask`` (N, H) of the two context-weight columns of
    ``w_context`` (N, H, 2), per network: ``garden.rsa.geometry.context_weight_correlation`` for many networks
    at once (NaN with < ``MIN_UNITS`` units or a column that does not vary)."""
    w, m = np.asarray(w_context, float), np.asarray(mask, bool)
    n = m.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w * m[..., None]).sum(axis=1) / n[:, None]
        d = (w - mean[:, None, :]) * m[..., None]
        var = (d ** 2).sum(axis=1)
        r = (d[..., 0] * d[..., 1]).sum(axis=1) / np.sqrt(var[:, 0] * var[:, 1])
    return np.where((n >= MIN_UNITS) & (var > 0).all(axis=1), r, np.nan)


def gating_stats(active: np.ndarray, w_context: np.ndarray) -> dict[str, np.ndarray]:
    """``GATING_STATS`` per network from ``active`` (N, 2, H) (``active_units``) and the context weights
    (N, H, 2): ``overlap_measures`` and the context-weight correlation over all units
    (``ctx_corr_all``) and over the units active in exactly one context (``ctx_corr_selective``)."""
    selective = active[:, 0] ^ active[:, 1]
    return {**overlap_measures(active), "ctx_corr_all": masked_correlation(w_context, np.ones_like(selective)),
            "ctx_corr_selective": masked_correlation(w_context, selective)}
