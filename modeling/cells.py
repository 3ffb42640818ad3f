"""From a trial table to what the choice models see: per-cell choice counts and rule gradients.

A participant's trials are pooled into cells (context x branchiness x leafiness). Trials in one
cell share one predicted p(accept), so the trial-level Bernoulli likelihood is exactly the
binomial likelihood of the cell counts (without the constant binomial coefficient), and the
published choice-matrix loss is a function of the cell proportions.

Rule gradients: each context's reward gradient g (points per feature level, in the (branchiness,
leafiness) plane) is the least-squares slope of ``reward_value`` on the centred features. Model
boundaries are parametrised relative to it, so counterbalanced rules need no remapping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

LEVEL_CENTRE = 3.0
"""Feature levels 1..5 are centred on 3, as in the published model (x = level - 3)."""

FEATURES = ("branchiness", "leafiness")


class Unfittable(ValueError):
    """One participant's data cannot be fitted; the message says why (the participant is skipped)."""


def context_labels(trials: pd.DataFrame) -> tuple[str, str]:
    """The two context labels of a table, sorted (e.g. ('north', 'south')); Unfittable otherwise."""
    labels = sorted({str(c) for c in trials["context"].dropna().unique()})
    if len(labels) != 2:
        raise Unfittable(f"needs exactly two contexts, found {len(labels)} ({', '.join(labels) or 'none'})")
    return labels[0], labels[1]


def centred_features(trials: pd.DataFrame) -> np.ndarray:
    """(n, 2) array of (branchiness - 3, leafiness - 3) in feature levels."""
    return trials[list(FEATURES)].to_numpy(float) - LEVEL_CENTRE


def _angle(vector: np.ndarray) -> float:
    return float(np.arctan2(vector[1], vector[0]))


def _rotate90(vector: np.ndarray) -> np.ndarray:
    return np.array([-vector[1], vector[0]])


@dataclass(frozen=True)
class RuleGradients:
    """The reward rules of one participant as gradients: context labels and their reward gradients.

    ``gradients[c]`` is context c's reward gradient (points per level along branchiness,
    leafiness). Angles are in radians, counter-clockwise from the +branchiness axis.
    """

    contexts: tuple[str, str]
    gradients: np.ndarray

    def unit(self, c: int) -> np.ndarray:
        g = self.gradients[c]
        return g / np.linalg.norm(g)

    def rule_angles(self) -> np.ndarray:
        """Direction of each context's reward gradient (the optimal boundary normal)."""
        return np.array([_angle(self.unit(0)), _angle(self.unit(1))])

    def shared_angle(self) -> float:
        """Direction of unit(g_A + g_B): the normal of the one shared ("linear") boundary."""
        total = self.gradients[0] + self.gradients[1]
        if np.linalg.norm(total) < 1e-9 * np.linalg.norm(self.gradients[0]):
            raise Unfittable("the two contexts' reward gradients cancel (g_A + g_B = 0): no shared boundary")
        return _angle(total)

    def irrelevant_angles(self) -> np.ndarray:
        """Per context, the direction of the other context's gradient orthogonal to this one's
        (positive slope along it = the other rule intrudes); +90 deg when the rules are parallel."""
        out = []
        for c in (0, 1):
            u, other = self.unit(c), self.gradients[1 - c]
            ortho = other - (other @ u) * u
            out.append(_angle(ortho) if np.linalg.norm(ortho) > 1e-9 * np.linalg.norm(other)
                       else _angle(_rotate90(u)))
        return np.array(out)

    def base_angles(self, base: str) -> np.ndarray:
        """Angles (2,) of the boundary normal at delta = 0 for a model's ``base``."""
        if base == "rule":
            return self.rule_angles()
        if base == "shared":
            return np.full(2, self.shared_angle())
        if base == "irrelevant":
            return self.irrelevant_angles()
        raise ValueError(f"unknown boundary base {base!r}")


def reward_gradients(trials: pd.DataFrame, contexts: tuple[str, str]) -> np.ndarray:
    """(2, 2) least-squares gradients of reward_value on the centred features, one row per context.

    Each distinct (context, branchiness, leafiness) cell counts once, so unequal trial counts
    per cell do not tilt the gradient.
    """
    cells = trials.groupby(["context", *FEATURES], sort=True)["reward_value"].mean().reset_index()
    return _gradients(cells, contexts)


def _gradients(cells: pd.DataFrame, contexts: tuple[str, str]) -> np.ndarray:
    """Gradients from a table with one row per distinct cell (context, features, reward_value)."""
    labels = cells["context"].astype(str).to_numpy()
    x, reward = centred_features(cells), cells["reward_value"].to_numpy(float)
    rows = []
    for label in contexts:
        sel = labels == label
        design = np.column_stack([np.ones(sel.sum()), x[sel]])
        coef = np.linalg.lstsq(design, reward[sel], rcond=None)[0] if sel.sum() >= 3 else np.zeros(3)
        if np.linalg.norm(coef[1:]) < 1e-9:
            raise Unfittable(f"context {label!r}: reward_value does not vary along the features "
                             "(needs at least 3 distinct trees with different values)")
        rows.append(coef[1:])
    return np.array(rows)


def coded_choices(trials: pd.DataFrame, missing: str = "drop", max_rt: float | None = None) -> np.ndarray:
    """Choices as floats (1 accept, 0 reject, NaN = left out) under a missing-response policy.

    ``max_rt`` (s): responses slower than this count as missing (the published coding uses 5 s).
    ``missing='drop'`` leaves missing responses out; ``'reject'`` codes them as 0 (published).
    """
    if missing not in ("drop", "reject"):
        raise ValueError(f"missing must be 'drop' or 'reject', not {missing!r}")
    choice = trials["choice"].to_numpy(float).copy()
    if max_rt is not None and "rt" in trials:
        rt = trials["rt"].to_numpy(float)
        with np.errstate(invalid="ignore"):
            choice[rt > max_rt] = np.nan
    if missing == "reject":
        choice[np.isnan(choice)] = 0.0
    return choice


@dataclass(frozen=True)
class CellData:
    """One participant's choices pooled into cells (context x branchiness x leafiness).

    ``context`` (n_cells,) holds context indices 0/1 into ``rules.contexts``; ``x`` (n_cells, 2)
    the centred features; ``n`` the trials with a choice and ``k`` the accepts per cell.
    """

    participant_id: str
    rules: RuleGradients
    context: np.ndarray
    x: np.ndarray
    n: np.ndarray
    k: np.ndarray

    @property
    def n_trials(self) -> int:
        return int(self.n.sum())


def _one_participant(pid: str, cells: pd.DataFrame) -> CellData:
    """CellData from one participant's cell table (context, branchiness, leafiness, reward_value, n, k)."""
    contexts = context_labels(cells)
    rules = RuleGradients(contexts, _gradients(cells, contexts))
    n, k = cells["n"].to_numpy(float), cells["k"].to_numpy(float)
    if n.sum() == 0:
        raise Unfittable("no trial has a choice (all responses missing)")
    if k.sum() in (0, n.sum()):
        raise Unfittable(f"all {int(n.sum())} choices are identical ({'accept' if k.sum() else 'reject'})")
    context = np.where(cells["context"].astype(str).to_numpy() == contexts[0], 0, 1)
    order = np.argsort(context, kind="stable")
    return CellData(pid, rules, context[order], centred_features(cells)[order], n[order], k[order])


def participant_cells(trials: pd.DataFrame, missing: str = "drop", max_rt: float | None = None
                      ) -> tuple[list[CellData], dict[str, str]]:
    """Pool every participant's trials into cells (one pandas pass over the whole table).

    Returns the fittable participants' CellData (in order of first appearance) and, for the
    others, ``{participant_id: reason}`` (NaN features, not two contexts, no or identical choices).
    """
    choice = coded_choices(trials, missing, max_rt)
    frame = trials[["participant_id", "context", *FEATURES, "reward_value"]].copy()
    frame["participant_id"] = frame["participant_id"].astype(str)
    frame["valid"], frame["accept"] = ~np.isnan(choice), np.nan_to_num(choice)
    skipped: dict[str, str] = {}
    bad = frame[[*FEATURES, "reward_value", "context"]].isna().any(axis=1)
    for pid in frame.loc[bad, "participant_id"].unique():
        part = frame[frame["participant_id"] == pid]
        skipped[pid] = f"missing values (NaN) in column(s) {[c for c in part if part[c].isna().any()]}"
    frame = frame[~frame["participant_id"].isin(skipped)]
    frame["context"] = frame["context"].astype(str)
    cells = frame.groupby(["participant_id", "context", *FEATURES], sort=True).agg(
        reward_value=("reward_value", "mean"), n=("valid", "sum"), k=("accept", "sum")).reset_index()
    data = {}
    for pid, part in cells.groupby("participant_id", sort=False):
        try:
            data[pid] = _one_participant(pid, part)
        except Unfittable as exc:
            skipped[pid] = str(exc)
    order = [p for p in pd.unique(trials["participant_id"].astype(str)) if p in data]
    return [data[p] for p in order], skipped
