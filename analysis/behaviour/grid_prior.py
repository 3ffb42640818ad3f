"""The "grid prior" of each participant: how much the tree-arrangement RDM looks like the grid.

As in Flesch et al. (2018, 2022): Kendall's tau_a between a participant's 25 x 25 arrangement RDM
(``garden.experiment.arrangement.data``: mean over arrangements of the max-normalised distances between
final tree positions) and the grid model RDM of the 25 trees (Euclidean distance between their
(leafiness, branchiness) levels: the one-context block of ``garden.rsa.model_rdms`` "grid"). Higher
tau_a: the trees were laid out more like the 5 x 5 feature grid. The pre-to-post change
(``post - pre``, our summary) shows whether training moved the arrangement towards or away from it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from garden.core.errors import UserError
from garden.experiment.arrangement.data import N_TREES, read_rdm
from garden.rsa.compare import kendall_tau_a
from garden.rsa.model_rdms import model_rdm

GRID_RDM = model_rdm("grid", context_offset=1.0)[:N_TREES, :N_TREES]
"""25 x 25 grid model RDM of the trees (condition order: branchiness-major, leafiness fastest)."""
RDM_FILE = re.compile(r"^sub-([A-Za-z0-9]+)_ses-(\d+)_task-arrangement_phase-([A-Za-z0-9]+)_rdm\.tsv$")


def grid_priors(root: str | os.PathLike) -> pd.DataFrame:
    """One row per arrangement RDM under ``root``: participant_id, session, phase and
    ``grid_prior_tau_a``; UserError when there is none."""
    rows = []
    for path in sorted(Path(root).rglob("*_task-arrangement_phase-*_rdm.tsv")):
        match = RDM_FILE.match(path.name)
        if match:
            rdm = read_rdm(path)
            rows.append({"participant_id": match[1], "session": int(match[2]), "phase": match[3],
                         "grid_prior_tau_a": kendall_tau_a(rdm, GRID_RDM), "file": str(path.relative_to(root))})
    if not rows:
        raise UserError(f"{root}: no arrangement RDMs (sub-*_task-arrangement_phase-*_rdm.tsv) found; "
                        "run `garden arrange` first")
    return pd.DataFrame(rows)


def prior_change(priors: pd.DataFrame, *, before: str = "pre", after: str = "post") -> pd.DataFrame:
    """One row per participant: tau_a ``before`` and ``after`` training (mean over sessions if a
    phase was run more than once; NaN when missing) and ``change`` = after - before."""
    wide = priors.pivot_table(index="participant_id", columns="phase", values="grid_prior_tau_a", aggfunc="mean")
    out = pd.DataFrame({"participant_id": wide.index,
                        f"grid_prior_{before}": wide.get(before, pd.Series(np.nan, index=wide.index)).to_numpy(),
                        f"grid_prior_{after}": wide.get(after, pd.Series(np.nan, index=wide.index)).to_numpy()})
    out["change"] = out[f"grid_prior_{after}"] - out[f"grid_prior_{before}"]
    return out.reset_index(drop=True)


def has_arrangements(root: str | os.PathLike) -> bool:
    """True when ``root`` holds at least one arrangement RDM (``garden arrange`` output)."""
    return any(RDM_FILE.match(p.name) for p in Path(root).rglob("*_task-arrangement_phase-*_rdm.tsv"))


def change_test(change: pd.DataFrame, *, before: str = "pre", after: str = "post") -> pd.DataFrame:
    """Group test of the pre-to-post change (one row): participants with both phases (``n``), the
    median tau_a before and after and of the change, and a two-sided Wilcoxon signed-rank test of
    the paired change against 0 (``wilcoxon_statistic``, ``wilcoxon_p``; NaN with fewer than 2
    participants or no nonzero change)."""
    paired = change.dropna(subset=[f"grid_prior_{before}", f"grid_prior_{after}"])
    statistic = p = np.nan
    if len(paired) >= 2 and (paired["change"] != 0).any():
        result = stats.wilcoxon(paired["change"], alternative="two-sided")
        statistic, p = float(result.statistic), float(result.pvalue)
    return pd.DataFrame([{"n": len(paired), f"median_{before}": paired[f"grid_prior_{before}"].median(),
                          f"median_{after}": paired[f"grid_prior_{after}"].median(),
                          "median_change": paired["change"].median(),
                          "n_increased": int((paired["change"] > 0).sum()),
                          "wilcoxon_statistic": statistic, "wilcoxon_p": p}])
