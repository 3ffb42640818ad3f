"""Choice patterns of a trial table: p(accept) per condition and along each feature.

Why: the choice matrices, the psychometric curves and the choice-pattern RSA all start from the
same per-participant summary of the 50 conditions (context x branchiness x leafiness, leafiness
fastest; ``garden.core.task.item_table`` order). Each participant's rule (counterbalancing code)
and the role of each context label are read from the table's own ``rule_code`` column or, when
absent, inferred from its ``reward_value`` column, so counterbalanced data need no remapping.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from garden.core.errors import UserError
from garden.core.task import CONTEXTS, STEP_POINTS, condition_index, get_rule, infer_rule
from garden.core.trials import participant_columns, participant_table, without_practice
from garden.modeling.psychometric import parameter_names, predict

ANALYSIS_PHASES = ("test", "scan")
"""Phases whose choices are analysed (the first present; no feedback there); else all trials but
the practice (``garden.core.trials.PRACTICE_PHASE``)."""
CELL = ["context", "branchiness", "leafiness"]


def analysis_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials to analyse: the first of ``ANALYSIS_PHASES`` present (else all but the practice),
    with a ``group`` column (the table's own, else its curriculum, else "all").

    Why: choices in feedback phases mix learning with the learned rule; the test (2018) and
    scanner (2022) phases are the published analyses' data.
    """
    phase = next((p for p in ANALYSIS_PHASES if (trials["phase"] == p).any()), None)
    chosen = trials[trials["phase"] == phase] if phase else without_practice(trials)
    # columns constant only within the chosen phase (e.g. feedback) are not participant-level
    spurious = set(participant_columns(chosen)) - set(participant_columns(trials))
    chosen = chosen.drop(columns=sorted(spurious))
    if "group" not in chosen or chosen["group"].isna().all():
        chosen = chosen.assign(group=chosen["curriculum"] if "curriculum" in chosen else "all")
    return chosen.reset_index(drop=True)


def fit_phase(trials: pd.DataFrame, phase: str | None) -> str | None:
    """The phase ``garden fit`` fits: ``phase`` as given (None for 'all'), else the first of the
    test/scan phases present, else the only phase (the practice aside); UserError naming --phase for other mixes."""
    if phase is not None:
        return None if phase == "all" else phase
    phases = sorted(map(str, without_practice(trials)["phase"].dropna().unique()))
    chosen = next((p for p in ANALYSIS_PHASES if p in phases), None)
    if chosen is not None or len(phases) <= 1:
        return chosen
    raise UserError(f"--phase: the trials mix phases {phases} and none is a test or scan phase; "
                    "choose one with --phase NAME (or pool them with --phase all)")


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


CANONICAL_MAPS: dict[int, tuple[int, Callable[[pd.Series, pd.Series], tuple[pd.Series, pd.Series]], int]] = {
    1: (1, lambda b, l: (b, l), 1),
    2: (1, lambda b, l: (6 - b, 6 - l), 1),
    3: (1, lambda b, l: (b, 6 - l), -1),
    4: (1, lambda b, l: (6 - b, l), -1),
    5: (5, lambda b, l: (b, l), 1),
    6: (5, lambda b, l: (6 - b, 6 - l), 1),
    7: (5, lambda b, l: (6 - l, 6 - b), -1),
    8: (5, lambda b, l: (l, b), -1),
}
"""rule code -> (canonical code, map of (branchiness, leafiness) levels onto it, determinant of the map).

Every code is a symmetry of the 5 x 5 grid (mirror, transpose, half turn) away from rule 1 (cardinal)
or rule 5 (diagonal); the determinant is -1 for a reflection, which turns boundary rotations around."""


def canonical_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """Cells mapped onto the canonical rule of their kind (1 for cardinal codes, 5 for diagonal ones;
    ``CANONICAL_MAPS``), context labels set to ``CONTEXTS``, ``rule_code`` set to the canonical code.

    Why: choice patterns of people under different counterbalancing codes (and of networks trained
    on rule 1) are only comparable cell by cell in one frame; each code is a symmetry of the grid away
    from its canonical rule, so each cell (with its p(accept)) moves to where that symmetry sends it.
    """
    out = []
    for code, part in cells.groupby("rule_code", sort=True):
        target, mapping, _ = CANONICAL_MAPS[int(code)]
        canonical = get_rule(target)
        b, l = mapping(part["branchiness"], part["leafiness"])
        k = part["context_index"].to_numpy()
        out.append(part.assign(branchiness=b, leafiness=l, context=np.asarray(CONTEXTS, dtype=object)[k],
                               reward_value=canonical.value(k, b, l), other_value=canonical.value(1 - k, b, l),
                               rule_code=target))
    if not out:
        return cells.iloc[:0]
    order = ["participant_id", "context_index", "branchiness", "leafiness"]
    return pd.concat(out).sort_values(order).reset_index(drop=True)


def probability_matrix(cells: pd.DataFrame) -> pd.DataFrame:
    """(participants x 50) p(accept) in condition order, index = participant_id."""
    index = condition_index(cells["context_index"], cells["branchiness"], cells["leafiness"])
    return cells.assign(condition=index).pivot(index="participant_id", columns="condition", values="p_accept")


def psychometric_table(cells: pd.DataFrame, predicted: pd.DataFrame | None = None) -> pd.DataFrame:
    """p(accept) along the relevant and the irrelevant feature, per participant and context.

    ``level`` is the tree's value in rule steps (value / 25 points, −2..2): in this garden for the
    relevant feature, in the other garden for the irrelevant one (so both curves rise with the
    rule, whatever the counterbalancing). ``predicted`` (optional): ``predicted_cells``, whose
    ``p_model`` (a fitted model's p(accept)) is averaged beside the observed ``p_accept``. Rows are per
    participant (and ``group`` when present), feature, context and level.
    """
    cells = cells.copy()
    if predicted is not None:
        keys = ["participant_id"] + CELL
        cells = cells.merge(predicted[keys + ["p_model"]], on=keys)
    extra = ["group"] if "group" in cells else []
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


def predicted_cells(cells: pd.DataFrame, fits: pd.DataFrame, model: str = "factorized") -> pd.DataFrame:
    """``cells`` with ``p_model``: ``model``'s p(accept) from each participant's fit (``p_accept`` stays
    the observed fraction; the two names keep the data and the model apart in every table).

    ``fits`` is a ``garden.modeling.psychometric.fit_table`` (parameters named for ``context_a``/``context_b``).
    Participants without a fit of ``model`` are left out.
    """

    rows = fits[fits["model"] == model].set_index("participant_id")
    parts = []
    for pid, part in cells.groupby("participant_id", sort=False):
        if pid not in rows.index:
            continue
        fit = rows.loc[pid]
        names = parameter_names(model, (fit["context_a"], fit["context_b"]))
        parts.append(part.assign(p_model=predict(model, {n: float(fit[n]) for n in names}, part)))
    return pd.concat(parts, ignore_index=True) if parts else cells.iloc[:0]


CANONICAL_NORMALS_DEG = {(1, "rule"): (90.0, 0.0), (1, "shared"): (45.0, 45.0),
                         (5, "rule"): (45.0, -45.0), (5, "shared"): (0.0, 0.0)}
"""Boundary normals at delta = 0 under the canonical rules (degrees from +branchiness): rule 1, north's
value rises with leafiness (90), south's with branchiness (0), the shared (linear) normal is their sum
(45); rule 5, north along b + l (45), south along b - l (-45), shared along +branchiness (0)."""


def canonical_boundaries(fits: pd.DataFrame) -> pd.DataFrame:
    """Fitted boundaries drawn in the frame of the canonical rule of their kind (see ``canonical_cells``).

    Boundaries are fitted relative to each participant's own rules (delta, degrees), so they map
    exactly: normal = canonical normal + delta x determinant of the grid symmetry, boundary angle =
    normal + 90 deg; offsets are unchanged (the symmetries preserve distances). Columns:
    ``participant_id``, ``model``, ``rule_code`` (1 or 5), ``context`` (north/south), ``angle_deg``,
    ``offset`` and ``group`` when present. Context roles come from the participant's rule
    (``north_role`` / ``south_role``, written by ``fit_table`` from ``garden.core.task.infer_rule``);
    without them the labels must be north/south (ValueError otherwise). Participants without a
    ``rule_code`` count as rule 1.
    """
    rows = []
    for _, fit in fits.iterrows():
        if not _delta_names(fit):
            continue
        code = int(fit["rule_code"]) if "rule_code" in fit and pd.notna(fit["rule_code"]) else 1
        target, _, determinant = CANONICAL_MAPS[code]
        normals = CANONICAL_NORMALS_DEG[(target, "shared" if fit["model"] == "linear" else "rule")]
        labels = (fit["context_a"], fit["context_b"])
        if "north_role" in fit and pd.notna(fit["north_role"]):
            role_labels = (fit["north_role"], fit["south_role"])
        elif set(labels) == set(CONTEXTS):
            role_labels = CONTEXTS
        else:
            raise ValueError(f"participant {fit['participant_id']}: contexts {labels} have no known roles; "
                             "fit with garden.modeling.psychometric.fit_table, which infers them from the rule")
        for k, context in enumerate(CONTEXTS):
            label = role_labels[k]
            delta = _first_value(fit, (f"delta_{label}", "delta"))
            offset = _first_value(fit, (f"offset_{label}", "offset"), 0.0)
            rows.append({"participant_id": fit["participant_id"], "model": fit["model"], "rule_code": target,
                         "context": context, "angle_deg": (normals[k] + determinant * delta + 90.0) % 360.0,
                         "offset": offset, **({"group": fit["group"]} if "group" in fit else {})})
    return pd.DataFrame(rows)


def _first_value(fit: pd.Series, names: tuple[str, ...], default: float = np.nan) -> float:
    """The first of ``names`` that this fit row has a value for (a fit table holds every model's
    columns, empty where a model lacks the parameter)."""
    return next((float(fit[n]) for n in names if n in fit and pd.notna(fit[n])), default)


def _delta_names(fit: pd.Series) -> list[str]:
    return [n for n in fit.index if (n == "delta" or n.startswith("delta_")) and not n.endswith("_se")
            and pd.notna(fit[n])]


def fit_summary(fits: pd.DataFrame, criterion: str = "bic") -> pd.DataFrame:
    """Per group (when present) and model: participants, mean NLL and criterion, and how many
    participants the model fits best by ``criterion`` (lowest wins)."""
    by = ["group"] if "group" in fits else []
    best = fits.loc[fits.groupby("participant_id")[criterion].idxmin(), ["participant_id", "model"]]
    wins = fits.merge(best.rename(columns={"model": "winner"}), on="participant_id").assign(
        wins=lambda t: t["model"] == t["winner"])
    table = wins.groupby(by + ["model"], sort=False).agg(
        n_participants=("participant_id", "nunique"), mean_nll=("nll", "mean"),
        **{f"mean_{criterion}": (criterion, "mean")}, **{f"n_best_{criterion}": ("wins", "sum")})
    return table.reset_index()
