"""Hidden-layer RDMs of a finished network sweep: per init scale, or as one ``RDMs`` stack.

``summary`` is the sweep's ``summary.tsv`` and ``arrays`` its ``results.npz`` (``load_results``), rows
in the same network order.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from garden.core.task import item_table
from garden.rsa.rdm import rdm
from garden.rsa.rdms import RDMs


def hidden_rdms(summary: pd.DataFrame, arrays: Mapping[str, np.ndarray]) -> dict[float, np.ndarray]:
    """(n_seeds, 50, 50) Euclidean RDMs of the final hidden activity, per init scale."""
    hidden = np.asarray(arrays["hidden"], dtype=float)
    scales = summary["scale"].to_numpy(float)
    return {float(s): np.stack([rdm(h) for h in hidden[scales == s]]) for s in np.unique(scales)}


def network_rdms(summary: pd.DataFrame, arrays: Mapping[str, np.ndarray], rule_code: int = 1) -> RDMs:
    """Euclidean RDMs of every network's final hidden activity as an ``RDMs`` stack: conditions =
    the 50 items of ``rule_code``, descriptors = scale, ctx_scale, seed of each network."""
    hidden = np.asarray(arrays["hidden"], dtype=float)
    conditions = item_table(rule_code)[["context", "branchiness", "leafiness", "reward_value"]]
    descriptors = summary[[c for c in ("scale", "ctx_scale", "seed") if c in summary]].reset_index(drop=True)
    return RDMs(np.stack([rdm(h) for h in hidden]), conditions, descriptors, measure="euclidean (hidden layer)")
