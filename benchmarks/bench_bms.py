"""Random-effects BMS against an independent implementation: groupBMC (PyPI port of VBA_groupBMC
by S. Yang), run to its fixed point.

Cases: 100 simulated data sets whose two families are truly equally frequent (family pxp, ep,
Ef, BOR; families of 2 and 1 of K = 3 models), the same with a prior of 1 per family, the
published 2018 log evidences per experiment and group (factorized_full vs linear, 12 groups, with
the default prior and with 1 per model; the between-group log Bayes factor per experiment), and a
weak-evidence matrix (176 x 3)
where VBA's 32-iteration stop is far from the fixed point. Reports the largest absolute
difference of each quantity, how many family pxp the old rule (model-level BOR with chance 1/F)
put off by more than 0.005, and how many were "decisive" (> 0.95 or < 0.05) under each rule.
groupBMC computes BOR with log(prior) as the null's log frequencies, which is VBA's null only
for a prior summing to one; ``reference`` therefore takes F0 at VBA's null frequencies.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from garden.modeling.comparison import bms, family_bms

SHARED = Path(os.environ.get("GARDEN_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DATA = SHARED / "data" / "flesch2018"
FAMILIES = [[0, 1], [2]]
"""Two families over three models: {0, 1} and {2} (as factorized, factorized_full | linear)."""
QUANTITIES = ("expected_frequency", "exceedance_probability", "protected_exceedance_probability", "bor")


def reference(L: np.ndarray, families: list[list[int]] | None = None, prior: np.ndarray | None = None) -> dict:
    """groupBMC to its fixed point on log evidence L (n, K); ``prior``: per-model Dirichlet counts
    (default VBA's). Returns the four QUANTITIES at the model level, or at the family level with
    the family null when ``families`` (0-based model columns) are given."""
    from groupBMC.groupBMC import GroupBMC

    K = L.shape[1]
    partitions = [[m + 1 for m in f] for f in families] if families else None
    g = GroupBMC(L.T, None if prior is None else np.asarray(prior, float), partitions, max_iter=200_000,
                 tolerance=1e-14)
    f1 = g.F1()
    groups = families or [[m] for m in range(K)]
    null = np.zeros((K, 1))
    for f in groups:
        null[f] = 1.0 / (len(groups) * len(f))
    g.α_0 = null
    bor = 1.0 / (1.0 + np.exp(f1 - g.F0()))
    result = g.get_result()
    ep = result.exceedance_probability
    return {"expected_frequency": result.frequency_mean, "exceedance_probability": ep,
            "protected_exceedance_probability": ep * (1 - bor) + bor / len(groups), "bor": bor, "F": f1}


def ours(L: np.ndarray, families: list[list[int]] | None = None, prior: float | None = None) -> dict:
    """garden's family_bms (families given) or bms, with a per-family or per-model prior count."""
    return family_bms(L, families, prior) if families else bms(L, prior)


def model_prior(K: int, families: list[list[int]] | None, prior: float | None) -> np.ndarray | None:
    """The per-model prior counts that ``ours`` uses, for ``reference``."""
    if prior is None:
        return None
    counts = np.zeros(K)
    for f in families or [[m] for m in range(K)]:
        counts[f] = prior / len(f)
    return counts


def differences(L: np.ndarray, families: list[list[int]] | None = None, prior: float | None = None) -> dict:
    """Largest absolute difference per quantity between ``ours`` and ``reference``."""
    mine, ref = ours(L, families, prior), reference(L, families, model_prior(L.shape[1], families, prior))
    return {q: float(np.abs(np.asarray(mine[q]) - np.asarray(ref[q])).max()) for q in QUANTITIES}


def equal_family_datasets(n_sets: int, n_participants: int = 40, seed: int = 0) -> list[np.ndarray]:
    """Log evidence (n, 3) in which each participant's family is drawn with probability 1/2 and
    then a model of it uniformly; the generating model gains 1 nat on average over N(0, 1) noise."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_sets):
        family = rng.integers(0, 2, n_participants)
        model = np.where(family == 0, rng.integers(0, 2, n_participants), 2)
        L = rng.normal(0.0, 1.0, (n_participants, 3))
        L[np.arange(n_participants), model] += rng.gamma(2.0, 0.5, n_participants)
        out.append(L)
    return out


def weak_evidence(seed: int = 3) -> np.ndarray:
    """A 176 x 3 matrix of weak evidence (differences of a fraction of a nat)."""
    return np.random.default_rng(seed).normal(0.0, 0.3, (176, 3))


def _old_family_pxp(L: np.ndarray) -> np.ndarray:
    """The rule garden used before: family ep with the model-level BOR and chance 1/F."""
    res = family_bms(L, FAMILIES)
    bor_models = bms(L, res["models"]["prior"])["bor"]
    return res["exceedance_probability"] * (1 - bor_models) + bor_models / 2


def _between_groups(published: list[tuple[str, np.ndarray]]) -> float:
    """Largest difference of the between-group log Bayes factor (groups of one experiment differ
    vs share frequencies: sum of the groups' F minus the pooled F) between ours and groupBMC's F."""
    worst = 0.0
    for experiment in sorted({name.split("/")[0] for name, _ in published}):
        groups = [L for name, L in published if name.split("/")[0] == experiment]
        pooled = np.concatenate(groups)
        ours_bf = sum(bms(L)["F"] for L in groups) - bms(pooled)["F"]
        ref_bf = sum(reference(L)["F"] for L in groups) - reference(pooled)["F"]
        worst = max(worst, abs(ours_bf - ref_bf))
    return float(worst)


def _published_cases() -> list[tuple[str, np.ndarray]]:
    if not (DATA / "exp1a_trials.csv.gz").exists():
        return []
    from garden.modeling.flesch2018 import EXPERIMENTS, load_published_fits

    cases = []
    for exp in EXPERIMENTS:
        fits = load_published_fits(DATA, exp)
        for group, part in fits[fits.lme.notna()].groupby("group"):
            lme = part.pivot(index="group_index", columns="model", values="lme")
            cases.append((f"{exp}/{group}", lme[["factorized_full", "linear"]].dropna().to_numpy()))
    return cases


def _worst(rows: list[dict]) -> dict:
    return {q: float(max(r[q] for r in rows)) for q in QUANTITIES}


def main() -> dict:
    """All comparisons; every number is a largest absolute difference unless named otherwise."""
    start = time.perf_counter()
    sets = equal_family_datasets(100)
    equal = [differences(L, FAMILIES) for L in sets]
    new_pxp = np.array([family_bms(L, FAMILIES)["protected_exceedance_probability"][0] for L in sets])
    ref_pxp = np.array([reference(L, FAMILIES)["protected_exceedance_probability"][0] for L in sets])
    old_pxp = np.array([_old_family_pxp(L)[0] for L in sets])
    decisive = lambda p: int(((p > 0.95) | (p < 0.05)).sum())  # noqa: E731
    out = {"equal_families_100": _worst(equal),
           "equal_families_100_prior_1": _worst([differences(L, FAMILIES, 1.0) for L in sets]),
           "old_rule_off_by_more_than_0.005": int((np.abs(old_pxp - ref_pxp) > 0.005).sum()),
           "decisive_family_pxp": {"ours": decisive(new_pxp), "reference": decisive(ref_pxp), "old": decisive(old_pxp)}}
    published = _published_cases()
    if published:
        out["published_models"] = _worst([differences(L) for _, L in published])
        out["published_models_prior_1"] = _worst([differences(L, None, 1.0) for _, L in published])
        out["published_between_groups_log_bayes_factor"] = _between_groups(published)
    L = weak_evidence()
    fixed, vba = bms(L), bms(L, stop="vba")
    out["weak_evidence_176x3"] = {**differences(L), "n_iter": fixed["n_iter"], "converged": fixed["converged"],
                                  "vba_stop_Ef_off_by": float(np.abs(vba["expected_frequency"]
                                                                     - fixed["expected_frequency"]).max()),
                                  "vba_stop_F_off_by": float(abs(vba["F"] - fixed["F"]))}
    out["_compute_s"] = round(time.perf_counter() - start, 1)
    return out
