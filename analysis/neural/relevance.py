"""Model-free relevance analysis: is the relevant feature more distinct than the irrelevant one in
each context?

Per RDM and context: the mean distance between conditions of that context that differ only in the
context's relevant feature (north: leafiness, south: branchiness; same level of the other
feature) and the mean distance between those that differ only in the irrelevant feature; the
relevance index is their difference (RDM units). No model RDM is involved, so the index tells the
orthogonal geometry (relevant > irrelevant in both contexts) from its label-swapped mirror
(branchiness and leafiness, or north and south, swapped in the events: irrelevant > relevant), which
the orthogonal - grid contrast cannot (both are orthogonal).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from garden.core.task import CONTEXTS, LEVELS
from garden.rsa.rdms import RDMs

RELEVANT = {0: "leafiness", 1: "branchiness"}
"""The relevant feature of each context (0 = north role, 1 = south role), as in the task's rule 1."""


def _pairs(context: int, feature: str) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of conditions of ``context`` differing only in ``feature``."""
    n = LEVELS.size
    b, l = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    index = context * n * n + b * n + l
    i, j = [], []
    for a in range(n):
        for x in range(n):
            for y in range(x + 1, n):
                if feature == "leafiness":  # same branchiness a, leafiness x vs y
                    i.append(index[a, x]), j.append(index[a, y])
                else:
                    i.append(index[x, a]), j.append(index[y, a])
    return np.asarray(i), np.asarray(j)


def relevance(rdm: np.ndarray) -> list[dict[str, float]]:
    """Per context of a (50, 50) RDM: context label, mean relevant and irrelevant feature distance and
    their difference ``index``."""
    rdm = np.asarray(rdm, dtype=float)
    rows = []
    for context, relevant in RELEVANT.items():
        irrelevant = "branchiness" if relevant == "leafiness" else "leafiness"
        rel = float(rdm[_pairs(context, relevant)].mean())
        irr = float(rdm[_pairs(context, irrelevant)].mean())
        rows.append({"context": CONTEXTS[context], "relevant": rel, "irrelevant": irr, "index": rel - irr})
    return rows


def relevance_table(rdms: RDMs) -> pd.DataFrame:
    """participant_id, roi, context, relevant, irrelevant, index for every RDM of a ``read_roi_rdms`` stack."""
    return pd.DataFrame([{"participant_id": row["participant_id"], "roi": row["roi"], **values}
                         for row, rdm in zip(rdms.rdm_descriptors.to_dict("records"), rdms.matrices)
                         for values in relevance(rdm)])


def verdict(p_greater: float, p_less: float, *, alpha: float = 0.01) -> str:
    """The reading of a group relevance test at ``alpha`` (one-sided in each direction)."""
    if p_greater < alpha:
        return "relevant > irrelevant"
    if p_less < alpha:
        return "irrelevant > relevant: the mirror geometry (feature or context labels swapped?)"
    return "not significant"
