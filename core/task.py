"""Task rules: which feature is relevant in which garden, what a tree is worth, what is correct.

Pure and display-free. Two contexts (gardens); the first plays the "north" role (leafiness
relevant in the cardinal rules), the second the "south" role (branchiness relevant). Labels are
free (north/south, blue/orange, ...): pass ``contexts`` to name them.

Values along the relevant axis are -50, -25, 0, +25, +50 points (docs/experiment.md). Four
counterbalancing codes set the direction of each context's rule:

=====  ==========  =============================  ============
code   kind        north / south direction         (2018 data)
=====  ==========  =============================  ============
1      cardinal    high / high                     identity
2      cardinal    low / low
3      cardinal    low / high
4      cardinal    high / low
5..8   diagonal    as 1..4, along l+b (north) and b-l (south), clipped to +-50
=====  ==========  =============================  ============
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from garden.core.errors import UserError

CONTEXTS: tuple[str, str] = ("north", "south")
LEVELS = np.arange(1, 6)
STEP_POINTS = 25.0
MAX_POINTS = 50.0
_DIRECTIONS = {1: (1, 1), 2: (-1, -1), 3: (-1, 1), 4: (1, -1)}


@dataclass(frozen=True)
class Rule:
    """The reward rule of one counterbalancing code.

    ``axes[k]`` is the (branchiness, leafiness) direction of context k's relevant axis in centred
    feature units; ``signs[k]`` is +1 when value rises along it, -1 when it falls.
    """

    code: int
    kind: str
    axes: tuple[tuple[int, int], tuple[int, int]]
    signs: tuple[int, int]

    def value(self, context_index: np.ndarray, branchiness: np.ndarray, leafiness: np.ndarray) -> np.ndarray:
        """Points for accepting each tree in each context (context_index 0 or 1)."""
        k = np.asarray(context_index, dtype=int)
        x = np.stack([np.asarray(branchiness, float) - 3, np.asarray(leafiness, float) - 3], axis=-1)
        axes = np.asarray(self.axes, float)[k]
        signs = np.asarray(self.signs, float)[k]
        return signs * np.clip(STEP_POINTS * np.sum(x * axes, axis=-1), -MAX_POINTS, MAX_POINTS) + 0.0  # no -0.0


RULE_CODES = range(1, 9)
"""Counterbalancing codes: 1..4 cardinal rules, 5..8 diagonal."""


def get_rule(rule_code: int) -> Rule:
    """The rule of a counterbalancing code: 1..4 cardinal, 5..8 diagonal."""
    if rule_code not in range(1, 9):
        raise UserError(f"rule code {rule_code!r} is invalid: use 1..4 (cardinal) or 5..8 (diagonal)")
    diagonal = rule_code > 4
    signs = _DIRECTIONS[(rule_code - 1) % 4 + 1]
    axes = ((1, 1), (1, -1)) if diagonal else ((0, 1), (1, 0))
    return Rule(rule_code, "diagonal" if diagonal else "cardinal", axes, signs)


def _context_orders(labels: list[str]) -> list[tuple[str, str]]:
    """Candidate (north-role, south-role) label pairs: the canonical order first."""
    if len(labels) != 2:
        raise UserError(f"a participant's trials need exactly two contexts, got {labels}")
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


_SYMMETRIES = {1: (1, ((1, 0), (0, 1))), 2: (1, ((-1, 0), (0, -1))), 3: (1, ((1, 0), (0, -1))),
               4: (1, ((-1, 0), (0, 1))), 5: (5, ((1, 0), (0, 1))), 6: (5, ((-1, 0), (0, -1))),
               7: (5, ((0, -1), (-1, 0))), 8: (5, ((0, 1), (1, 0)))}


def canonical_symmetry(rule_code: int) -> tuple[int, np.ndarray]:
    """(canonical code, 2 x 2 matrix M) of a counterbalancing code: M maps centred
    (branchiness, leafiness) of this code's task onto the canonical rule of its kind (1 for
    cardinal codes, 5 for diagonal ones), a symmetry of the grid (mirror, transpose, half turn;
    det M = -1 for a reflection). Values are preserved: value_code(x) = value_canonical(M x)."""
    get_rule(rule_code)
    target, matrix = _SYMMETRIES[rule_code]
    return target, np.array(matrix, float)


def context_index(context, contexts: tuple[str, str] = CONTEXTS) -> np.ndarray:
    """0 for the first (north-role) context label, 1 for the second; UserError for others."""
    labels = np.asarray(context, dtype=object)
    index = np.full(labels.shape, -1)
    for k, name in enumerate(contexts):
        index[labels == name] = k
    if (index < 0).any():
        bad = sorted({str(v) for v in labels[index < 0]})
        raise UserError(f"unknown context label(s) {bad}: expected one of {list(contexts)}")
    return index


def reward_value(context, branchiness, leafiness, rule_code: int = 1,
                 contexts: tuple[str, str] = CONTEXTS) -> np.ndarray:
    """Points (-50..50) for accepting each tree in its context under ``rule_code``."""
    return get_rule(rule_code).value(context_index(context, contexts), branchiness, leafiness)


def correct_choice(value) -> np.ndarray:
    """The correct choice for a reward value: 1 accept (> 0), 0 reject (< 0), NaN for 0 (no answer)."""
    value = np.asarray(value, dtype=float)
    return np.where(value > 0, 1.0, np.where(value < 0, 0.0, np.nan))


def congruency(branchiness, leafiness, rule_code: int = 1) -> np.ndarray:
    """'congruent' where both contexts' rules agree on the correct choice, 'incongruent' where
    they conflict, 'neutral' where either value is 0."""
    rule = get_rule(rule_code)
    b, l = np.broadcast_arrays(np.asarray(branchiness), np.asarray(leafiness))
    return values_congruency(rule.value(np.zeros(b.shape, int), b, l), rule.value(np.ones(b.shape, int), b, l))


def values_congruency(value_first, value_second) -> np.ndarray:
    """'congruent' / 'incongruent' / 'neutral' from a tree's values (points) in the two contexts:
    the signs agree, conflict, or either value is 0."""
    product = np.sign(np.asarray(value_first, float)) * np.sign(np.asarray(value_second, float))
    return np.where(product > 0, "congruent", np.where(product < 0, "incongruent", "neutral"))


def item_congruency(items: pd.DataFrame) -> np.ndarray:
    """Congruency of each row of an item table (``context_index``, ``branchiness``, ``leafiness``,
    ``reward_value``; every cell in both contexts), from the items' own values, so it holds under
    any rule code."""
    rows = condition_index(items["context_index"], items["branchiness"], items["leafiness"])
    if sorted(rows) != list(range(2 * len(LEVELS) ** 2)):
        raise ValueError("item_congruency needs every (context, branchiness, leafiness) condition once")
    value = np.empty(len(rows))
    value[rows] = items["reward_value"].to_numpy(float)
    cells = cell_index(items["branchiness"], items["leafiness"])
    return values_congruency(value[cells], value[len(LEVELS) ** 2 + cells])


def cell_index(branchiness, leafiness, *, n_levels: int = len(LEVELS)) -> np.ndarray:
    """Row of each (branchiness, leafiness) tree in the 25-cell order (leafiness fastest):
    (branchiness - 1) * n_levels + (leafiness - 1)."""
    return (np.asarray(branchiness, int) - 1) * n_levels + (np.asarray(leafiness, int) - 1)


def condition_index(context_index, branchiness, leafiness, *, n_levels: int = len(LEVELS)) -> np.ndarray:
    """Row of each (context, branchiness, leafiness) in the 50-condition order of ``item_table``:
    context_index * n_levels**2 + cell_index."""
    return np.asarray(context_index, int) * n_levels**2 + cell_index(branchiness, leafiness, n_levels=n_levels)


def condition_features(n_levels: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(context_index, branchiness, leafiness) of the 2 * n_levels**2 conditions, leafiness fastest:
    the one condition order of every RDM, the items and the networks' training set (levels 1..n_levels;
    5 for the tree task = 50 conditions, 6 for the Mante et al. design = 72)."""
    if n_levels < 2:
        raise ValueError(f"a grid needs at least 2 levels per feature, got {n_levels}")
    levels = np.arange(1, n_levels + 1)
    ctx, b, l = np.meshgrid(np.arange(2), levels, levels, indexing="ij")
    return ctx.ravel(), b.ravel(), l.ravel()


def item_table(rule_code: int = 1, contexts: tuple[str, str] = CONTEXTS) -> pd.DataFrame:
    """The 50 task items (context x branchiness x leafiness, leafiness fastest) with their values.

    This is the condition order of every 50-condition RDM and of the networks' training set
    (``condition_index``).
    """
    ctx, b, l = condition_features(len(LEVELS))
    value = get_rule(rule_code).value(ctx, b, l)
    return pd.DataFrame({
        "context": np.asarray(contexts, dtype=object)[ctx],
        "context_index": ctx,
        "branchiness": b,
        "leafiness": l,
        "reward_value": value,
        "category": np.sign(value).astype(int),
    })
