"""The 2022 choice-pattern comparison: is each person's choice pattern factorized or linear?

Each participant's 50-cell p(accept) vector gives an RDM |p_i − p_j| (``garden.rsa.distances.choice_rdm``),
regressed (z-scored, no intercept; ``garden.rsa.compare.regress_rdms``) on the RDMs of the ideal
factorized and linear choice patterns for that participant's rule
(``garden.rsa.model_rdms.choice_model_rdms``). Conditions the participant never answered are left out
of all RDMs. The betas are then compared across participants with paired tests (scipy.stats).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from garden.analysis.behaviour.choices import (
    canonical_cells,
    participant_table_columns,
    probability_matrix,
)
from garden.core.task import item_table
from garden.rsa.compare import regress_rdms
from garden.rsa.model_rdms import CHOICE_MODELS, choice_model_rdms, condition_table
from garden.rsa.distances import choice_rdm
from garden.rsa.rdms import RDMs

MODELS = tuple(CHOICE_MODELS)  # ("factorized", "linear")


def pattern_rdms(p_accept: np.ndarray, rdm_descriptors: pd.DataFrame | None = None) -> RDMs:
    """Choice RDMs |p_i - p_j| of (n, 50) p(accept) rows (NaN: a condition never answered), conditions
    as ``garden.rsa.model_rdms.condition_table``, one ``rdm_descriptors`` row per pattern."""
    p = np.atleast_2d(np.asarray(p_accept, dtype=float))
    return RDMs(np.stack([choice_rdm(row) for row in p]), condition_table(),
                pd.DataFrame() if rdm_descriptors is None else rdm_descriptors, "|p_i - p_j|")


def participant_betas(cells: pd.DataFrame, models: tuple[str, ...] = MODELS) -> pd.DataFrame:
    """One row per participant: ``participant_id``, participant-level columns, ``rule_code``,
    ``beta_<model>`` per model: each participant's choice RDM regressed (``regress_rdms``) on the
    choice-model RDMs of their rule. ``cells`` is an ``garden.analysis.behaviour.choices.cell_table``.

    Conditions a participant never answered are left out of their RDM and the model RDMs alike; a
    participant whose choices are constant (nothing to regress) gets NaN betas, so the table still
    lists them.
    """
    matrix = probability_matrix(cells)
    info = cells.drop_duplicates("participant_id").set_index("participant_id")
    codes = info.loc[matrix.index, "rule_code"].astype(int)
    data = pattern_rdms(matrix.to_numpy(float), pd.DataFrame({"participant_id": matrix.index,
                                                               "rule_code": codes.to_numpy()}))
    betas = pd.concat([regress_rdms(data.subset(rule_code=code), choice_model_rdms(models, code))
                       for code in dict.fromkeys(codes)])
    wide = betas.pivot(index="participant_id", columns="model", values="beta")
    rows = [{"participant_id": pid, **{c: info.loc[pid, c] for c in participant_table_columns(cells)},
             "rule_code": int(codes[pid]), **{f"beta_{m}": wide.loc[pid, m] for m in models}}
            for pid in matrix.index]
    return pd.DataFrame(rows)


def participant_rdms(cells: pd.DataFrame, rule_code: int | None = 1) -> dict[str, np.ndarray]:
    """participant_id -> 50 x 50 choice RDM in the frame of the participant's canonical rule
    (``garden.analysis.behaviour.choices.canonical_cells``), for those whose canonical rule is ``rule_code`` (1:
    cardinal codes, 5: diagonal ones, None: everyone). ``cells`` is a ``cell_table``."""
    cells = canonical_cells(cells)
    if rule_code is not None:
        cells = cells[cells["rule_code"] == rule_code]
    return {pid: choice_rdm(p.to_numpy()) for pid, p in probability_matrix(cells).iterrows()} if len(cells) else {}


def choice_rdms(cells: pd.DataFrame, rule_code: int | None = 1) -> RDMs:
    """``participant_rdms`` as an ``RDMs`` stack: conditions = the 50 items of the canonical rule
    (context, branchiness, leafiness), descriptors = participant_id and group. ``cells`` is a
    ``cell_table``."""
    rdms, groups = participant_rdms(cells, rule_code), participant_groups(cells)
    conditions = item_table(rule_code or 1)[["context", "branchiness", "leafiness", "reward_value"]]
    descriptors = pd.DataFrame({"participant_id": list(rdms), "group": [groups[p] for p in rdms]})
    matrices = np.stack(list(rdms.values())) if rdms else np.empty((0, len(conditions), len(conditions)))
    return RDMs(matrices, conditions, descriptors, "|p_i - p_j|")


def participant_groups(cells: pd.DataFrame) -> dict[str, str]:
    """participant_id -> group (the unit people are pooled over) of a ``cell_table``."""
    return dict(cells.drop_duplicates("participant_id")[["participant_id", "group"]].astype(str).to_numpy())


def group_mean_rdms(rdms: RDMs, by: str = "group") -> RDMs:
    """Mean RDM (NaN-aware) per value of the rdm descriptor ``by``, for the groups whose mean is finite
    everywhere (every condition answered by someone), in sorted group order."""
    means = rdms.mean(by)
    means = means[np.argsort(means.rdm_descriptors[by].astype(str).to_numpy(), kind="stable")]
    return means[np.isfinite(means.matrices).all(axis=(1, 2))]


def paired_tests(betas: pd.DataFrame, a: str = "factorized", b: str = "linear",
                 by: str | None = "group") -> pd.DataFrame:
    """Paired t-test and Wilcoxon signed-rank test of beta_a vs beta_b, for all and per ``by`` group.

    Columns: ``subset``, ``n``, ``mean_<a>``, ``mean_<b>``, ``mean_difference``, ``t``, ``t_p``,
    ``wilcoxon_w``, ``wilcoxon_p`` (two-sided; NaN where fewer than 2 participants).
    """
    subsets = [("all", betas)]
    if by and by in betas:
        subsets += [(f"{by}={value}", part) for value, part in betas.groupby(by, sort=True)]
    return pd.DataFrame([_paired_row(name, part.dropna(subset=[f"beta_{a}", f"beta_{b}"]), a, b)
                         for name, part in subsets])


def _paired_row(name: str, part: pd.DataFrame, a: str, b: str) -> dict[str, float | str | int]:
    x, y = part[f"beta_{a}"].to_numpy(), part[f"beta_{b}"].to_numpy()
    row: dict[str, float | str | int] = {"subset": name, "n": len(x), f"mean_{a}": np.mean(x) if len(x) else np.nan,
                                         f"mean_{b}": np.mean(y) if len(y) else np.nan,
                                         "mean_difference": np.mean(x - y) if len(x) else np.nan}
    enough = len(x) >= 2 and np.any(x != y)
    t = stats.ttest_rel(x, y) if enough else None
    w = stats.wilcoxon(x, y) if enough else None
    row.update(t=t.statistic if t else np.nan, t_p=t.pvalue if t else np.nan,
               wilcoxon_w=w.statistic if w else np.nan, wilcoxon_p=w.pvalue if w else np.nan)
    return row
