"""Rich or lazy? Each person's ROI RDMs against the hidden-layer RDMs of the networks fitted to
their own choices, with noise ceilings, and the conclusion chain (neural first, behaviour second).

Shared by the neural and network analyses (it needs both), so it holds no file formats: tables in,
tables out.

* Similarity: per person, ROI and init scale, the rank correlation (``MEASURES``; Spearman by
  default, as ``garden neural stats`` compares ROIs with networks) of the person's ROI RDM with the
  seed-mean hidden RDM of *their own* fitted network of that scale (``garden.modeling.networks.fitted_rdms``).
  Rank-based, so crossnobis (squared) and Euclidean hidden distances compare directly.
* Noise ceiling per ROI, rsatoolbox's leave-one-participant-out ceiling
  (``rsatoolbox.inference.boot_noise_ceiling``) on the same measure: upper = mean similarity of each
  person's RDM with the pooled RDM of all, lower = with the pooled RDM of the others; pooling as
  rsatoolbox's ``pool_rdm`` (Spearman: the mean of the rank-transformed RDMs; Pearson: of the z-scored).
* Neural reading per ROI (ours): ``rich_minus_lazy`` = per person the best similarity over the rich
  scales (σ ≤ ``rich_max_scale``) minus the best over the lazy ones, its mean over people with a
  percentile-bootstrap 95 % interval across people. "rich" when the interval lies above 0, "lazy"
  when below; "cannot tell" when it spans 0, when the lower noise ceiling is below
  ``MIN_LOWER_CEILING`` (the ROI's geometry does not replicate across people, so no model can be
  told from another), or when the best mean similarity is below ``MIN_SIMILARITY`` (no network
  describes the ROI: a difference between two near-zero matches is not evidence for either). Also
  the best scale of the group-mean profile with its bootstrap interval, and the best similarity
  relative to the ceilings.
* Behaviour reading (the consistency check): the people's ``garden networks fit`` verdicts; "rich"
  or "lazy" when more than half of the people are classified so, else "cannot tell".
* The conclusion per ROI says which evidence supports what, and where the two disagree or the
  neural evidence cannot tell, says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from garden.rsa.rdms import RDMs

MEASURES = ("spearman", "pearson")
MIN_LOWER_CEILING = 0.1
"""Lower noise ceiling below which an ROI's RDMs are too unreliable across people to tell models apart (ours)."""
MIN_SIMILARITY = 0.1
"""Best mean similarity below which no network describes the ROI's geometry, so neither family can be read (ours)."""
RICH_MAX_SCALE = 0.4
"""Scales ≤ this are the rich family (as ``garden networks fit``: β orthogonal > β grid in the full-batch sweep)."""
CANNOT_TELL = "cannot tell"
READINGS = ("rich", "lazy", CANNOT_TELL)


def _pool(vectors: np.ndarray, measure: str) -> np.ndarray:
    """rsatoolbox's ``pool_rdm``: the mean of rank-transformed (Spearman) or z-scored (Pearson) vectors."""
    if measure == "spearman":
        return stats.rankdata(vectors, axis=1).mean(axis=0)
    return stats.zscore(vectors, axis=1).mean(axis=0)


def similarity(a: np.ndarray, b: np.ndarray, measure: str = "spearman") -> float:
    """Spearman or Pearson correlation of two RDM vectors."""
    if measure == "spearman":
        return float(stats.spearmanr(a, b).statistic)
    if measure == "pearson":
        return float(stats.pearsonr(a, b).statistic)
    raise ValueError(f"unknown measure {measure!r}: use one of {list(MEASURES)}")


def noise_ceilings(rdms: RDMs, *, by: str = "roi", measure: str = "spearman") -> pd.DataFrame:
    """Per ``by`` group: ``n`` people, ``lower`` and ``upper`` leave-one-participant-out noise ceilings
    (module docstring; one RDM per participant and group)."""
    rows = []
    for key, part in rdms.groupby(by):
        vectors = part.vectors()
        everyone = _pool(vectors, measure)
        upper = [similarity(v, everyone, measure) for v in vectors]
        n = len(vectors)
        lower = [similarity(vectors[k], _pool(np.delete(vectors, k, axis=0), measure), measure) for k in range(n)] \
            if n > 1 else [np.nan]
        rows.append({by: key, "n": n, "lower": float(np.mean(lower)), "upper": float(np.mean(upper))})
    return pd.DataFrame(rows)


def own_network_similarity(data: RDMs, networks: RDMs, *, measure: str = "spearman") -> pd.DataFrame:
    """participant_id, roi, scale, similarity: each ``data`` RDM (descriptors ``participant_id``, ``roi``)
    against the ``networks`` RDMs of the same participant (descriptors ``participant_id``, ``scale``).
    ValueError when the two stacks' conditions differ or a participant has no networks."""
    columns = ["context", "branchiness", "leafiness"]
    if not data.pattern_descriptors[columns].equals(networks.pattern_descriptors[columns]):
        raise ValueError("ROI and network RDMs list the 50 conditions in different orders")
    net_vectors, net_rows = networks.vectors(), networks.rdm_descriptors
    rows = []
    for vector, (_, row) in zip(data.vectors(), data.rdm_descriptors.iterrows()):
        mine = np.flatnonzero(net_rows["participant_id"].to_numpy() == row["participant_id"])
        if not mine.size:
            raise ValueError(f"no network RDMs for participant_id {row['participant_id']!r}")
        rows += [{"participant_id": row["participant_id"], "roi": row["roi"], "scale": float(net_rows["scale"].iloc[k]),
                  "similarity": similarity(vector, net_vectors[k], measure)} for k in mine]
    return pd.DataFrame(rows)


def _bootstrap(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, ...) means of ``values`` (people on axis 0) over people resampled with replacement."""
    picks = rng.integers(0, len(values), (n_boot, len(values)))
    return values[picks].mean(axis=1)


def neural_reading(table: pd.DataFrame, ceilings: pd.DataFrame, *,
                   rich_max_scale: float = RICH_MAX_SCALE, n_boot: int = 2000, seed: int = 0,
                   min_lower_ceiling: float = MIN_LOWER_CEILING, min_similarity: float = MIN_SIMILARITY
                   ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(profile: roi, scale, similarity, ci_low, ci_high; people: participant_id, roi, best_scale,
    rich_minus_lazy; reading: one row per ROI, module docstring) from ``own_network_similarity``'s
    table and ``noise_ceilings``. Percentile-bootstrap 95 % intervals across people, seeded."""
    profiles, people, readings = [], [], []
    for roi, part in table.groupby("roi", sort=False):
        wide = part.pivot(index="participant_id", columns="scale", values="similarity").sort_index(axis=1)
        scales = wide.columns.to_numpy(float)
        rich = scales <= rich_max_scale
        if rich.all() or not rich.any():
            raise ValueError(f"scales {list(scales)} are all on one side of {rich_max_scale}: rich vs lazy needs both")
        values = wide.to_numpy()
        difference = values[:, rich].max(axis=1) - values[:, ~rich].max(axis=1)
        rng = np.random.default_rng(seed)
        boot = _bootstrap(np.column_stack([values, difference]), n_boot, rng)
        low, high = np.percentile(boot, [2.5, 97.5], axis=0)
        mean = values.mean(axis=0)
        profiles.append(pd.DataFrame({"roi": roi, "scale": scales, "similarity": mean,
                                      "ci_low": low[:-1], "ci_high": high[:-1]}))
        people.append(pd.DataFrame({"participant_id": wide.index, "roi": roi,
                                    "best_scale": scales[values.argmax(axis=1)], "rich_minus_lazy": difference}))
        best_boot = scales[boot[:, :-1].argmax(axis=1)]
        ceiling = ceilings.set_index("roi").loc[roi]
        best = float(mean.max())
        row = {"roi": roi, "n": len(values), "best_scale": float(scales[mean.argmax()]),
               "best_scale_ci_low": float(np.percentile(best_boot, 2.5)),
               "best_scale_ci_high": float(np.percentile(best_boot, 97.5)),
               "best_similarity": best, "ceiling_lower": float(ceiling["lower"]),
               "ceiling_upper": float(ceiling["upper"]),
               "relative_to_lower": best / ceiling["lower"] if ceiling["lower"] > 0 else np.nan,
               "relative_to_upper": best / ceiling["upper"] if ceiling["upper"] > 0 else np.nan,
               "rich_minus_lazy": float(difference.mean()), "rich_minus_lazy_ci_low": float(low[-1]),
               "rich_minus_lazy_ci_high": float(high[-1])}
        row["reading"], row["reason"] = _read(row, min_lower_ceiling, min_similarity)
        readings.append(row)
    return (pd.concat(profiles, ignore_index=True), pd.concat(people, ignore_index=True), pd.DataFrame(readings))


def _read(row: dict, min_lower_ceiling: float, min_similarity: float) -> tuple[str, str]:
    """The neural reading of one ROI and why."""
    if not row["ceiling_lower"] >= min_lower_ceiling:
        return CANNOT_TELL, (f"the ROI's RDMs do not replicate across people (lower noise ceiling "
                             f"{row['ceiling_lower']:.2f} < {min_lower_ceiling:g})")
    if not row["best_similarity"] >= min_similarity:
        return CANNOT_TELL, (f"no network describes the ROI's geometry (best mean similarity "
                             f"{row['best_similarity']:.2f} < {min_similarity:g})")
    interval = f"rich - lazy similarity {row['rich_minus_lazy']:+.3f} (95 % CI {row['rich_minus_lazy_ci_low']:+.3f} " \
               f"to {row['rich_minus_lazy_ci_high']:+.3f})"
    if row["rich_minus_lazy_ci_low"] > 0:
        return "rich", interval
    if row["rich_minus_lazy_ci_high"] < 0:
        return "lazy", interval
    return CANNOT_TELL, f"rich and lazy networks match alike: {interval} spans 0"


def behaviour_reading(verdicts: pd.Series) -> tuple[str, str]:
    """(reading, counts as text) of the people's ``garden networks fit`` verdicts: "rich" or "lazy"
    when more than half of the people are classified so, else "cannot tell"."""
    counts = verdicts.astype(str).value_counts()
    n = int(counts.sum())
    text = ", ".join(f"{k} {v}" for k, v in counts.items()) + f" of {n}"
    for reading in ("rich", "lazy"):
        if counts.get(reading, 0) * 2 > n:
            return reading, text
    return CANNOT_TELL, text


def conclusion_chain(reading: pd.DataFrame, behaviour: tuple[str, str]) -> pd.DataFrame:
    """Per ROI: neural_reading (primary), behaviour_reading (the check), consistency and the
    conclusion sentence, stating disagreement and what cannot be told."""
    said, counts = behaviour
    rows = []
    for row in reading.itertuples():
        neural = row.reading
        if neural == CANNOT_TELL:
            consistency = "neural cannot tell"
            behaviour_says = (f"nor can behaviour ({counts})" if said == CANNOT_TELL else
                              f"behaviour alone reads {said!r} ({counts}), which is not taken as the answer")
            text = f"{row.roi}: cannot tell rich from lazy from the neural evidence ({row.reason}); {behaviour_says}"
        elif said == CANNOT_TELL:
            consistency = "behaviour cannot tell"
            text = (f"{row.roi}: {neural}, by the neural evidence ({row.reason}; best scale {row.best_scale:g}, "
                    f"{row.relative_to_upper:.0%} of the upper noise ceiling); behaviour cannot tell ({counts})")
        else:
            consistency = "agree" if said == neural else "disagree"
            text = (f"{row.roi}: {neural}, by the neural evidence ({row.reason}; best scale {row.best_scale:g}, "
                    f"{row.relative_to_upper:.0%} of the upper noise ceiling); behaviour "
                    f"{'agrees' if said == neural else 'DISAGREES: it reads ' + repr(said)} ({counts})")
        rows.append({"roi": row.roi, "neural_reading": neural, "behaviour_reading": said,
                     "consistency": consistency, "conclusion": text})
    return pd.DataFrame(rows)
