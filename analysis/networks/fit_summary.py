"""What ``garden networks fit`` found, per curriculum, in numbers and in calibrated words.

``curriculum_summary(people)`` counts the verdicts of ``people.tsv`` per curriculum (how many people
no network describes better than the choice models, how many a network describes better and which
scale family it names with confidence), the median BIC difference and where everyone's best scale
lies. ``findings(summary, recovery)`` states it in words, with the recovery table of ``garden
networks recover`` (``recovery.tsv``) deciding what may be said: a curriculum whose network people
were not recovered is reported as "cannot tell", whatever the fits say.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from garden.analysis.networks import person_fits as pf
from garden.modeling.networks import likelihood as lk

LAZY_MIN_SCALE = 2.0
"""Best scales from this up count as the lazy end in the summary (the recovery's lazy end)."""


def curriculum_summary(people: pd.DataFrame) -> pd.DataFrame:
    """One row per curriculum of a ``people.tsv`` table: people, ``no_network`` (count and share),
    ``rich`` / ``lazy`` / ``undecided`` / ``not_identifiable`` (verdicts among the people a network
    describes better), the median BIC(network) − BIC(best baseline), how many people's best scale is
    ≤ ``RICH_MAX_SCALE`` / between / ≥ ``LAZY_MIN_SCALE`` (whatever the verdict), and the median width of
    the 95 % profile interval (decades of σ)."""
    rows = []
    for curriculum, group in people.groupby(people["curriculum"].fillna(""), sort=True):
        verdict = group["verdict"]
        best = group["best_scale"]
        rows.append({
            "curriculum": curriculum, "people": len(group),
            "no_network": int((verdict == pf.NO_NETWORK).sum()),
            "no_network_share": float((verdict == pf.NO_NETWORK).mean()),
            "rich": int((verdict == "rich").sum()), "lazy": int((verdict == "lazy").sum()),
            "undecided": int((verdict == "undecided").sum()),
            "not_identifiable": int((verdict == pf.NOT_IDENTIFIABLE).sum()),
            "median_bic_difference": float((group["bic_network"] - group["bic_choice_best"]).median()),
            "best_scale_rich": int((best <= lk.RICH_MAX_SCALE).sum()),
            "best_scale_between": int(((best > lk.RICH_MAX_SCALE) & (best < LAZY_MIN_SCALE)).sum()),
            "best_scale_lazy": int((best >= LAZY_MIN_SCALE).sum()),
            "median_interval_decades": float(np.log10(group["scale_hi"] / group["scale_lo"]).median()),
        })
    return pd.DataFrame(rows)


def _recovery_row(recovery: pd.DataFrame | None, curriculum: str) -> pd.Series | None:
    if recovery is None or recovery.empty:
        return None
    match = recovery[recovery["curriculum"].map(pf.curriculum_key) == pf.curriculum_key(curriculum)]
    return None if match.empty else match.iloc[0]


def _recovery_words(row: pd.Series | None) -> str:
    if row is None:
        return "no recovery table for this curriculum, so whether its choices can tell rich from lazy is unchecked"
    if str(row["identifiable"]).strip().lower() not in ("true", "1", "1.0"):   # bool, or text read back
        return ("recovery says choices under this curriculum cannot tell rich from lazy (network people: "
                f"{int(row['confident'])} of {int(row['rich_or_lazy_people'])} classified with confidence, "
                f"accuracy {row['rich_vs_lazy_accuracy']:.2f}), so no scale is named")
    agents = [f"{column.removesuffix('_no_network')} agents {row[column]:.0%}" for column in row.index
              if column.endswith("_no_network") and pd.notna(row[column])]
    return (f"recovery: rich vs lazy right in {row['rich_vs_lazy_accuracy']:.0%} of {int(row['confident'])} "
            f"confident network people; 'no network' for {', '.join(agents) or 'no agents'}")


def findings(summary: pd.DataFrame, recovery: pd.DataFrame | None = None) -> str:
    """The summary in words, one sentence per curriculum, worded by what recovery allows."""
    sentences = []
    for row in summary.itertuples():
        described = row.people - row.no_network
        head = (f"{row.curriculum or 'no curriculum'}: for {row.no_network} of {row.people} people "
                f"({row.no_network_share:.0%}) no network describes the choices better than the choice models")
        if described:
            head += (f"; of the {described} a network describes better, {row.rich} are called rich and {row.lazy} "
                     f"lazy with p ≥ {lk.CONFIDENT:g}, {row.undecided} undecided"
                     + (f", {row.not_identifiable} not identifiable" if row.not_identifiable else ""))
        sentences.append(f"{head} ({_recovery_words(_recovery_row(recovery, row.curriculum))}).")
    return " ".join(sentences)
