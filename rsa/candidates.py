"""Which candidate RDM set matches best: people's RDMs against candidate RDM stacks keyed by a
parameter (e.g. networks at each init scale), the best candidate per person, and bootstrap intervals
over the people of each group (a curriculum ``group``, or a ``roi`` when the RDMs are one region's).

Why here: people's choice RDMs against networks' (``garden.analysis.networks``) and ROI RDMs against
networks' hidden-layer RDMs (``garden.analysis.neural``) are the same statistics; the analysis rooms
share them through this module instead of importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from garden.rsa.compare import COMPARISONS
from garden.rsa.rdms import RDMs


def finite_conditions(rdm: np.ndarray) -> np.ndarray:
    """Indices of the conditions to keep so that no NaN is left (e.g. cells never answered):
    repeatedly drops the condition with the most NaN dissimilarities among those kept."""
    keep = np.arange(len(rdm))
    missing = np.isnan(rdm)
    while missing[np.ix_(keep, keep)].any():
        keep = np.delete(keep, np.argmax(missing[np.ix_(keep, keep)].sum(axis=1)))
    return keep


def similarity_table(people: RDMs, candidates: RDMs, method: str = "spearman", *, by: str = "scale") -> pd.DataFrame:
    """Long table ``participant_id``, ``scale``, ``similarity``: each person vs each candidate's mean RDM.

    ``people``: one RDM per person, named by their rdm descriptor ``participant_id`` (NaN rows allowed: those
    conditions are left out of both); ``candidates``: RDMs of the same conditions and the same kind
    (e.g. networks' choice RDMs, ``network_choice_rdms``), averaged per value of their rdm descriptor
    ``by`` (e.g. the init scale), in sorted order. ``method`` is a key of
    ``garden.rsa.compare.COMPARISONS`` (spearman, tau_a, pearson).
    """
    compare = COMPARISONS[method]
    means = candidates.mean(by)
    labels = means.rdm_descriptors[by].to_list()
    rows = []
    for pid, rdm in zip(people.rdm_descriptors["participant_id"], people.matrices):
        keep = finite_conditions(rdm)
        for k in np.argsort(labels, kind="stable"):
            rows.append({"participant_id": pid, "scale": labels[k],
                         "similarity": compare(rdm[np.ix_(keep, keep)], means.matrices[k][np.ix_(keep, keep)])})
    return pd.DataFrame(rows)


def best_scales(similarity: pd.DataFrame) -> pd.DataFrame:
    """Per participant: the best-matching ``best_scale`` and its ``best_similarity``."""
    best = similarity.loc[similarity.groupby("participant_id", sort=False)["similarity"].idxmax()]
    return best.rename(columns={"scale": "best_scale", "similarity": "best_similarity"}).reset_index(drop=True)


def bootstrap_profiles(similarity: pd.DataFrame, groups: Mapping[str, str], n_boot: int = 1000,
                       seed: int = 0, level: float = 0.95, *, by: str = "group") -> tuple[pd.DataFrame, pd.DataFrame,
                                                                                         pd.DataFrame]:
    """Bootstrap over participants within each group (``groups``: participant_id -> label, "all" for
    those not in it), seeded; the label column is named ``by`` (``group``, or ``roi`` for one region).

    Returns (profile, best, distribution):
    * profile: ``by``, ``scale``, ``similarity`` (mean over participants), ``ci_low``, ``ci_high``;
    * best: ``by``, ``n_participants``, ``best_scale`` (of the mean profile), ``best_scale_ci_low``,
      ``best_scale_ci_high`` (percentiles of the bootstrap best scale), ``n_boot``, ``seed``;
    * distribution: ``by``, ``best_scale``, ``fraction`` of bootstrap samples matched best.
    """
    wide = similarity.pivot(index="participant_id", columns="scale", values="similarity")
    scales = wide.columns.to_numpy(float)
    rng = np.random.default_rng(seed)
    tail = (1 - level) / 2 * 100
    profile, best, distribution = [], [], []
    labels = pd.Series({pid: groups.get(pid, "all") for pid in wide.index})
    for label in dict.fromkeys(labels):
        values = wide.loc[labels[labels == label].index].to_numpy(float)
        draws = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
        low, high = np.percentile(draws, [tail, 100 - tail], axis=0)
        mean = values.mean(axis=0)
        profile += [{by: label, "scale": s, "similarity": m, "ci_low": lo, "ci_high": hi}
                    for s, m, lo, hi in zip(scales, mean, low, high)]
        boot_best = scales[np.argmax(draws, axis=1)]
        best.append({by: label, "n_participants": len(values), "best_scale": scales[np.argmax(mean)],
                     "best_scale_ci_low": np.percentile(boot_best, tail),
                     "best_scale_ci_high": np.percentile(boot_best, 100 - tail), "n_boot": n_boot, "seed": seed})
        counts = pd.Series(boot_best).value_counts(normalize=True)
        distribution += [{by: label, "best_scale": s, "fraction": counts.get(s, 0.0)} for s in scales]
    return pd.DataFrame(profile), pd.DataFrame(best), pd.DataFrame(distribution)
