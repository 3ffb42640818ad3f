"""Network analyses across the init-scale continuum: compression-model fits and paired statistics.

Why: the paper's Fig. 3 fits the 6-parameter compression model (``garden.rsa.compression_model``) to each
network's hidden RDM and plots its compressions, rotation and offset against σ; and networks of
one seed share their standard-normal draws across scales (``garden.modeling.networks.train.init_params``),
so a difference between scales is tested within seeds (paired), not between independent groups.

* ``compression_fits``: one row per network: the six fitted parameters, the fit's RMSE, and
  ``log_irrelevant_gain`` (ours: the mean over the two contexts of log(irrelevant gain / relevant
  gain); 0 keeps both features alike as a grid does, negative means the irrelevant feature is
  compressed, the gain ratio clipped at 1e-3), by either version of the model (``compression_model``
  ours or paper; the paper's gains are 1 - c, its own c's in ``paper_<parameter>`` columns).
* ``paired_scale_tests``: per measure, each seed's least-squares slope of the measure on log10 σ,
  the one-sided Wilcoxon signed-rank test of those slopes against 0 in the stated direction, and
  the two-sided Wilcoxon signed-rank test of the richest vs the laziest scale paired by seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from garden.rsa.compression_model import PAPER_PARAMETERS, PARAMETERS, fit_compression_model
from garden.rsa.distances import rdm

MIN_GAIN_RATIO = 1e-3
EXPECTED_TRENDS = {"log_irrelevant_gain": "greater", "beta_orthogonal": "less", "beta_grid": "greater",
                   "dim_90": "greater", "dim_90_uncentred": "greater", "n_task_selective": "less",
                   "context_weight_corr": "greater", "context_weight_corr_all": "greater",
                   "steps_to_criterion": "less", "acc_noise_all_0.1": "less"}
"""The paper's signatures as directions of the slope on log σ (towards lazy), for ``paired_scale_tests``;
measures missing from a table are skipped."""


def compression_fits(summary: pd.DataFrame, arrays: Mapping[str, np.ndarray], *, n_restarts: int | None = 10,
                     seed: int = 0, model: str = "ours") -> pd.DataFrame:
    """``scale``, ``seed``, ``compression_model`` (``model``: ours or paper), the compression-model
    parameters (the paper's as gains 1 - c, and its own as ``paper_<name>``), ``rmse`` (ours: RDM
    units; the paper's: max-scaled) and ``log_irrelevant_gain`` of every network's final hidden RDM
    (Euclidean, 50 items), each fit from ``n_restarts`` starts (None: the model's default) drawn with
    ``seed``. Networks whose units are all dead (constant RDM) get NaN."""
    names = (*PARAMETERS, *(f"paper_{p}" for p in PAPER_PARAMETERS if model == "paper"), "rmse", "log_irrelevant_gain")
    rows = []
    for (_, net), hidden in zip(summary[["scale", "seed"]].iterrows(), np.asarray(arrays["hidden"], float)):
        row = {"scale": net.scale, "seed": int(net.seed), "compression_model": model}
        data = rdm(hidden)
        if np.ptp(data) == 0:
            rows.append({**row, **dict.fromkeys(names, np.nan)})
            continue
        fit = fit_compression_model(data, n_restarts=n_restarts, seed=seed, model=model)
        p = fit.params
        ratios = [p[f"{c}_irrelevant"] / p[f"{c}_relevant"] if p[f"{c}_relevant"] > 0 else np.nan
                  for c in ("north", "south")]
        paper = {f"paper_{k}": v for k, v in (fit.paper_params or {}).items()}
        rows.append({**row, **p, **paper, "rmse": fit.rmse,
                     "log_irrelevant_gain": float(np.mean(np.log(np.clip(ratios, MIN_GAIN_RATIO, None))))})
    return pd.DataFrame(rows)


def paired_scale_tests(table: pd.DataFrame, measures: Mapping[str, str] | Sequence[str]) -> pd.DataFrame:
    """Paired tests across init scales for each measure (a column of ``table``, with ``scale`` and
    ``seed``); ``measures`` maps each to the expected sign of its slope on log10 σ
    (``"greater"``: rises towards lazy, ``"less"``: falls), or lists measures (``"two-sided"``).

    Columns: measure, n_seeds (seeds with every scale), slope_median (per-seed slopes, measure per
    decade of σ), slope_alternative, slope_wilcoxon_p, rich_scale, lazy_scale, rich_median,
    lazy_median, rich_vs_lazy_wilcoxon_p (two-sided)."""
    if not isinstance(measures, Mapping):
        measures = dict.fromkeys(measures, "two-sided")
    measures = {m: a for m, a in measures.items() if m in table}
    scales = np.sort(table["scale"].unique())
    rows = []
    for measure, alternative in measures.items():
        wide = table.pivot_table(index="seed", columns="scale", values=measure).reindex(columns=scales).dropna()
        x = np.log10(scales)
        slopes = np.array([np.polyfit(x, row, 1)[0] for row in wide.to_numpy(float)]) if len(scales) > 1 else np.array([])
        rich, lazy = wide[scales[0]].to_numpy(float), wide[scales[-1]].to_numpy(float)
        rows.append({"measure": measure, "n_seeds": len(wide), "slope_median": _median(slopes),
                     "slope_alternative": alternative, "slope_wilcoxon_p": _wilcoxon(slopes, alternative),
                     "rich_scale": scales[0], "lazy_scale": scales[-1], "rich_median": _median(rich),
                     "lazy_median": _median(lazy), "rich_vs_lazy_wilcoxon_p": _wilcoxon(rich - lazy, "two-sided")})
    return pd.DataFrame(rows)


def _median(values: np.ndarray) -> float:
    return float(np.median(values)) if len(values) else np.nan


def _wilcoxon(differences: np.ndarray, alternative: str) -> float:
    """Wilcoxon signed-rank p of paired differences against 0 (NaN with < 2 non-zero differences)."""
    d = np.asarray(differences, float)
    if np.count_nonzero(d) < 2:
        return np.nan
    return float(stats.wilcoxon(d, alternative=alternative).pvalue)
