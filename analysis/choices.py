"""Choice patterns of a trial table: p(accept) per condition and along each feature.

Why: the choice matrices, the psychometric curves and the choice-pattern RSA all start from the
same per-participant summary of the 50 conditions (context x branchiness x leafiness, leafiness
fastest; ``experiment.task.item_table`` order). Each participant's rule (counterbalancing code)
and the role of each context label are read from the table's own ``rule_code`` column or, when
absent, inferred from its ``reward_value`` column, so counterbalanced data need no remapping.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from common.errors import UserError
from experiment.task import CONTEXTS, STEP_POINTS, get_rule
from experiment.trials import participant_table

RULE_CODES = range(1, 9)
CELL = ["context", "branchiness", "leafiness"]


def _context_orders(labels: list[str]) -> list[tuple[str, str]]:
    """Candidate (north-role, south-role) label pairs: the canonical order first."""
    if len(labels) != 2:
        raise UserError(f"choice patterns need exactly two contexts, got {labels}")
    if set(labels) == set(CONTEXTS):
        return [CONTEXTS]
    first, second = sorted(labels)
    return [(first, second), (second, first)]


def infer_rule(trials: pd.DataFrame) -> tuple[int, tuple[str, str]]:
    """(rule code, (north-role label, south-role label)) of one participant's trials.

    Uses the ``rule_code`` column when present, else the code whose values match every
    ``reward_value`` of the table; UserError naming the participant when none does.
    """
    labels = sorted(trials["context"].astype(str).unique())
    codes = [int(trials["rule_code"].iloc[0])] if "rule_code" in trials and trials["rule_code"].notna().all() \
        else list(RULE_CODES)
    b, l = trials["branchiness"].to_numpy(), trials["leafiness"].to_numpy()
    for order in _context_orders(labels):
        index = np.where(trials["context"].astype(str).to_numpy() == order[0], 0, 1)
        for code in codes:
            if np.allclose(get_rule(code).value(index, b, l), trials["reward_value"].to_numpy()):
                return code, order
    pid = trials["participant_id"].iloc[0]
    raise UserError(f"participant {pid}: reward_value matches no rule code 1..8 for contexts {labels}; "
                    "check the reward_value and context columns")


def participant_cells(trials: pd.DataFrame) -> pd.DataFrame:
    """The 50 conditions of one participant: observed p(accept), trial counts, both gardens' values.

    Columns: ``context``, ``context_index`` (0 north-role, 1 south-role), ``branchiness``,
    ``leafiness``, ``rule_code``, ``reward_value`` (points here), ``other_value`` (points for the
    same tree in the other garden), ``n_trials`` (responded trials), ``p_accept`` (NaN when none).
    Trials without a response are left out.
    """
    code, order = infer_rule(trials)
    rule = get_rule(code)
    ctx, b, l = np.meshgrid(np.arange(2), np.arange(1, 6), np.arange(1, 6), indexing="ij")
    ctx, b, l = ctx.ravel(), b.ravel(), l.ravel()
    cells = pd.DataFrame({"context": np.asarray(order, dtype=object)[ctx], "context_index": ctx,
                          "branchiness": b, "leafiness": l, "rule_code": code,
                          "reward_value": rule.value(ctx, b, l), "other_value": rule.value(1 - ctx, b, l)})
    answered = trials[trials["choice"].notna()].assign(context=lambda t: t["context"].astype(str))
    counts = answered.groupby(CELL)["choice"].agg(n_trials="count", p_accept="mean").reset_index()
    cells = cells.merge(counts, on=CELL, how="left")
    cells["n_trials"] = cells["n_trials"].fillna(0).astype(int)
    return cells


def cell_table(trials: pd.DataFrame) -> pd.DataFrame:
    """``participant_cells`` for every participant, with their participant-level columns (e.g. group)."""
    parts = [participant_cells(group).assign(participant_id=pid)
             for pid, group in trials.groupby("participant_id", sort=True)]
    if not parts:
        raise UserError("no trials: the trial table is empty")
    cells = pd.concat(parts, ignore_index=True)
    people = participant_table(trials)
    people = people[[c for c in people.columns if c == "participant_id" or c not in cells.columns]]
    cells = cells.merge(people, on="participant_id", how="left")
    return cells[["participant_id"] + [c for c in cells.columns if c != "participant_id"]]


def canonical_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """Cells of cardinal-rule participants mapped onto rule 1 (value rising with leafiness in the
    north-role garden and with branchiness in the south-role one), labels set to ``CONTEXTS``.

    Why: RDMs of people under different counterbalancing codes (and of networks trained on rule 1)
    are only comparable cell by cell in one frame. A falling rule is a mirrored feature axis, so
    the levels are mirrored (level -> 6 - level). Diagonal-rule participants have no such mirror
    onto rule 1 and are left out.
    """
    canonical, out = get_rule(1), []
    for code, part in cells.groupby("rule_code", sort=True):
        rule = get_rule(int(code))
        if rule.kind != "cardinal":
            continue
        north_sign, south_sign = rule.signs
        b = part["branchiness"] if south_sign > 0 else 6 - part["branchiness"]
        l = part["leafiness"] if north_sign > 0 else 6 - part["leafiness"]
        k = part["context_index"].to_numpy()
        out.append(part.assign(branchiness=b, leafiness=l, context=np.asarray(CONTEXTS, dtype=object)[k],
                               reward_value=canonical.value(k, b, l), other_value=canonical.value(1 - k, b, l),
                               rule_code=1))
    if not out:
        return cells.iloc[:0]
    order = ["participant_id", "context_index", "branchiness", "leafiness"]
    return pd.concat(out).sort_values(order).reset_index(drop=True)


def probability_matrix(cells: pd.DataFrame) -> pd.DataFrame:
    """(participants x 50) p(accept) in condition order, index = participant_id."""
    index = cells["context_index"] * 25 + (cells["branchiness"] - 1) * 5 + (cells["leafiness"] - 1)
    return cells.assign(condition=index).pivot(index="participant_id", columns="condition", values="p_accept")


def psychometric_table(cells: pd.DataFrame, predicted: pd.DataFrame | None = None) -> pd.DataFrame:
    """p(accept) along the relevant and the irrelevant feature, per participant and context.

    ``level`` is the tree's value in rule steps (value / 25 points, −2..2): in this garden for the
    relevant feature, in the other garden for the irrelevant one (so both curves rise with the
    rule, whatever the counterbalancing). ``predicted`` (optional): a cell table whose
    ``p_accept`` is a fitted model's prediction; it becomes ``p_model``.
    """
    cells = cells.copy()
    if predicted is not None:
        keys = ["participant_id"] + CELL
        cells = cells.merge(predicted[keys + ["p_accept"]].rename(columns={"p_accept": "p_model"}), on=keys)
    extra = [c for c in participant_table_columns(cells)]
    values = ["p_accept"] + (["p_model"] if "p_model" in cells else [])
    frames = []
    for feature, column in (("relevant", "reward_value"), ("irrelevant", "other_value")):
        part = cells.assign(level=cells[column] / STEP_POINTS, feature=feature)
        frames.append(part.groupby(["participant_id"] + extra + ["feature", "context", "level"], sort=False)[values]
                      .mean().reset_index())
    return pd.concat(frames, ignore_index=True)


def participant_table_columns(cells: pd.DataFrame) -> list[str]:
    """Participant-level columns carried in a cell table (e.g. ``group``), in table order."""
    own = {"participant_id", "context", "context_index", "branchiness", "leafiness", "rule_code",
           "reward_value", "other_value", "n_trials", "p_accept", "p_model"}
    return [c for c in cells.columns if c not in own]
