"""Hidden-layer RDMs of a finished network sweep as one ``RDMs`` stack (``rdms.mean("scale")`` per init scale).

``summary`` is the sweep's ``summary.tsv`` and ``arrays`` its ``results.npz`` (``load_results``), rows
in the same network order.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from garden.core.task import item_table
from garden.rsa.distances import rdm
from garden.rsa.rdms import RDMs


def network_rdms(summary: pd.DataFrame, arrays: Mapping[str, np.ndarray], rule_code: int = 1) -> RDMs:
    """Euclidean RDMs of every network's final hidden activity as an ``RDMs`` stack: conditions =
    the 50 items of ``rule_code``, descriptors = scale, ctx_scale, seed of each network."""
    hidden = np.asarray(arrays["hidden"], dtype=float)
    conditions = item_table(rule_code)[["context", "branchiness", "leafiness", "reward_value"]]
    descriptors = summary[[c for c in ("scale", "ctx_scale", "seed") if c in summary]].reset_index(drop=True)
    return RDMs(np.stack([rdm(h) for h in hidden]), conditions, descriptors, "euclidean (hidden layer)")
