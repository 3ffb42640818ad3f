"""Comparing choice models across participants: random-effects BMS (of models and of model
families, and between groups), AIC/BIC winners, LR tests.

``bms`` is variational random-effects Bayesian model selection (Stephan et al. 2009,
NeuroImage 46:1004; Rigoux et al. 2014, NeuroImage 84:971), following the VBA toolbox's
``VBA_groupBMC`` (default options) step by step so that it reproduces published runs: the same
initialisation, update order, free energy F, stopping rule (|dF| <= 1e-4, at most 32
iterations), null free energy F0, Bayesian omnibus risk BOR = 1 / (1 + exp(F - F0)) and
protected exceedance probabilities pxp = ep (1 - BOR) + BOR / K. Exceedance probabilities are
exact for two models (Beta distribution) and sampled from the Dirichlet posterior (seeded)
otherwise. The Dirichlet prior is alpha0 = 1/K per model by default (as in the published 2018
analysis, 0.5 for K = 2); VBA's own default is 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import betainc, digamma, gammaln, softmax
from scipy.stats import chi2

from garden.core.errors import UserError
from garden.core.trials import PARTICIPANT_ID, read_text_table

EPS = np.finfo(float).eps
"""MATLAB's eps, used inside VBA's log(r + eps)."""
NESTED = {("factorized", "factorized_full")}
"""(restricted, full) model pairs that are nested within the fitting bounds."""


def _free_energy(L: np.ndarray, a: np.ndarray, r: np.ndarray, prior: np.ndarray) -> float:
    """VBA's FE(): expected log joint + entropies of q(r) (Dirichlet) and q(m) (attributions)."""
    elogr = digamma(a) - digamma(a.sum())
    sqf = gammaln(a).sum() - gammaln(a.sum()) - ((a - 1) * elogr).sum()
    sqm = -(r * np.log(r + EPS)).sum()
    elj = gammaln(prior.sum()) - gammaln(prior).sum() + ((prior - 1) * elogr).sum() + (r * (elogr + L)).sum()
    return float(elj + sqf + sqm)


def _null_free_energy(L: np.ndarray) -> float:
    """VBA's FE_null(): evidence of the null hypothesis of equal model frequencies."""
    g = softmax(L, axis=1)
    return float((g * (L - np.log(g + EPS) - np.log(L.shape[1]))).sum())


def _ffx_free_energy(L: np.ndarray) -> float:
    """VBA's FE_ffx(): fixed-effects free energy (one model for everyone)."""
    ss = L.sum(axis=0) + np.log(1.0 / L.shape[1])
    z = softmax(ss)
    return float(z @ ss - (z * np.log(z + EPS)).sum())


def exceedance_probabilities(alpha: np.ndarray, n_samples: int = 1_000_000, seed: int = 0) -> np.ndarray:
    """P(model k has the highest frequency) under Dirichlet(alpha): exact for K = 2, else sampled."""
    alpha = np.asarray(alpha, float)
    if len(alpha) == 2:
        p_second = betainc(alpha[0], alpha[1], 0.5)  # P(r_1 <= 1/2)
        return np.array([1.0 - p_second, p_second])
    rng = np.random.default_rng(seed)
    wins = np.zeros(len(alpha))
    for size in np.diff(np.r_[0:n_samples:100_000, n_samples]):
        draws = rng.gamma(alpha, size=(size, len(alpha)))
        wins += np.bincount(np.argmax(draws, axis=1), minlength=len(alpha))
    return wins / n_samples


def bms(log_evidence: np.ndarray, prior: float | Sequence[float] | None = None, tol: float = 1e-4,
        max_iter: int = 32, n_samples: int = 1_000_000, seed: int = 0) -> dict:
    """Random-effects BMS on log evidences (n_participants, K models), e.g. -BIC/2.

    Returns alpha (Dirichlet posterior), expected_frequency, variance_frequency,
    exceedance_probability, bor, protected_exceedance_probability, posterior (n, K: p(model |
    participant)), F (final free energy), F0 (null), Fffx (fixed effects), F_history, n_iter.
    """
    L = np.asarray(log_evidence, float)
    if L.ndim != 2 or L.shape[1] < 2 or L.shape[0] < 1 or not np.isfinite(L).all():
        raise ValueError(f"log_evidence must be a finite (n_participants, K >= 2) array, got shape {L.shape}")
    n, K = L.shape
    prior_a = np.full(K, 1.0 / K) if prior is None else np.broadcast_to(np.asarray(prior, float), (K,)).copy()
    a = prior_a.copy()
    r = np.tile(prior_a / prior_a.sum(), (n, 1))
    history = [_free_energy(L, a, r, prior_a)]
    while True:
        r = softmax(L + digamma(a) - digamma(a.sum()), axis=1)
        a = prior_a + r.sum(axis=0)
        history.append(_free_energy(L, a, r, prior_a))
        if abs(history[-1] - history[-2]) <= tol or len(history) >= max_iter:
            break
    F, F0 = history[-1], _null_free_energy(L)
    bor = float(1.0 / (1.0 + np.exp(F - F0)))
    ep = exceedance_probabilities(a, n_samples, seed)
    a0 = a.sum()
    return {"alpha": a, "prior": prior_a, "expected_frequency": a / a0,
            "variance_frequency": a * (a0 - a) / ((a0 + 1) * a0 ** 2),
            "exceedance_probability": ep, "bor": bor,
            "protected_exceedance_probability": ep * (1 - bor) + bor / K,
            "posterior": r, "F": F, "F0": F0, "Fffx": _ffx_free_energy(L),
            "F_history": np.array(history), "n_iter": len(history)}


def log_evidence_table(fits: pd.DataFrame, criterion: str = "bic", models: Sequence[str] | None = None
                       ) -> pd.DataFrame:
    """Participants x models table of log evidence = -criterion/2 (criterion 'bic' or 'aic').

    Only participants with a value for every model are kept.
    """
    if criterion not in ("bic", "aic"):
        raise ValueError(f"criterion must be 'bic' or 'aic', not {criterion!r}")
    missing = [c for c in ("participant_id", "model", criterion) if c not in fits]
    if missing:
        raise ValueError(f"fits table lacks column(s) {missing}")
    models = list(models) if models else list(dict.fromkeys(fits["model"]))
    unknown = sorted(set(models) - set(fits["model"]))
    if unknown:
        raise ValueError(f"model(s) {unknown} not in the fits table (it has {sorted(set(fits['model']))})")
    wide = fits[fits["model"].isin(models)].pivot_table(index="participant_id", columns="model",
                                                        values=criterion, aggfunc="first", sort=False)
    return (-wide[models] / 2.0).dropna()


def bms_table(fits: pd.DataFrame, by: str | None = None, models: Sequence[str] | None = None,
              criterion: str = "bic", prior: float | None = None, seed: int = 0) -> pd.DataFrame:
    """Random-effects BMS per ``by`` group (or over everyone): one row per [group x] model.

    Columns: [by], model, n, alpha, expected_frequency, exceedance_probability, bor,
    protected_exceedance_probability, mean_posterior (mean over participants of p(model)),
    F, F0, alpha_prior, criterion.
    """
    if by is not None and by not in fits:
        raise ValueError(f"fits table has no column {by!r} to group by")
    groups = [(None, fits)] if by is None else list(fits.groupby(by, sort=True))
    out = []
    for key, part in groups:
        L = log_evidence_table(part, criterion, models)
        if len(L) == 0:
            continue
        res = bms(L.to_numpy(), prior, seed=seed)
        for j, model in enumerate(L.columns):
            row = {} if by is None else {by: key}
            row.update(model=model, n=len(L), alpha=res["alpha"][j],
                       expected_frequency=res["expected_frequency"][j],
                       exceedance_probability=res["exceedance_probability"][j], bor=res["bor"],
                       protected_exceedance_probability=res["protected_exceedance_probability"][j],
                       mean_posterior=res["posterior"][:, j].mean(), F=res["F"], F0=res["F0"],
                       alpha_prior=res["prior"][j], criterion=criterion)
            out.append(row)
    return pd.DataFrame(out)


def winners(fits: pd.DataFrame, criterion: str = "bic", models: Sequence[str] | None = None) -> pd.DataFrame:
    """Per participant, the model with the lowest AIC/BIC and its margin over the runner-up
    (NaN when only one model is compared)."""
    scores = -2 * log_evidence_table(fits, criterion, models)
    ordered = np.sort(scores.to_numpy(), axis=1)
    margin = ordered[:, 1] - ordered[:, 0] if ordered.shape[1] > 1 else np.full(len(ordered), np.nan)
    return pd.DataFrame({"participant_id": scores.index, "winner": scores.idxmin(axis=1).to_numpy(),
                         f"delta_{criterion}": margin})


def likelihood_ratio_tests(fits: pd.DataFrame, pairs: Sequence[tuple[str, str]] | None = None) -> pd.DataFrame:
    """Per participant and nested pair (restricted, full): LR statistic 2 (nll_r - nll_f), df = k_f - k_r,
    p = chi2 survival. Only for the trial-level (bernoulli) likelihood: ValueError when the fits'
    ``objective`` column says otherwise (the choice-matrix loss is not a likelihood)."""
    if "objective" in fits and set(fits["objective"].dropna()) - {"bernoulli"}:
        raise ValueError(f"likelihood-ratio tests need likelihood fits, not objective(s) "
                         f"{sorted(set(fits['objective'].dropna()) - {'bernoulli'})}; refit with --objective bernoulli")
    pairs = sorted(NESTED) if pairs is None else list(pairs)
    missing = [c for c in ("participant_id", "model", "nll", "k") if c not in fits]
    if missing:
        raise ValueError(f"likelihood-ratio tests need column(s) {missing} in the fits table")
    nll = fits.pivot_table(index="participant_id", columns="model", values="nll", aggfunc="first", sort=False)
    k = fits.groupby("model")["k"].first()
    out = []
    for restricted, full in pairs:
        if restricted not in nll or full not in nll:
            continue
        df = int(k[full] - k[restricted])
        stat = np.maximum(2 * (nll[restricted] - nll[full]), 0.0)
        out.append(pd.DataFrame({"participant_id": nll.index, "restricted": restricted, "full": full,
                                 "lr_statistic": stat.to_numpy(), "df": df, "p_value": chi2.sf(stat, df)}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(
        columns=["participant_id", "restricted", "full", "lr_statistic", "df", "p_value"])


def read_fits(path, *, criterion: str = "bic", models: Sequence[str] | None = None,
              by: str | None = None) -> pd.DataFrame:
    """A FITS.tsv (``garden fit``) checked for model comparison: ids as text, the criterion a finite
    number in every row of the compared models, no model cell empty, one row per participant x model,
    and every participant fitted with every compared model. UserError naming file, line and fix."""
    fits = read_text_table(path, what="FITS.tsv written by `garden fit`")
    missing = [c for c in ("participant_id", "model", criterion) + ((by,) if by else ()) if c not in fits]
    if missing:
        raise UserError(f"{path}: no column(s) {missing}; its columns are {list(fits.columns)[:12]}; "
                        "give a FITS.tsv written by `garden fit`" + (" or another --by" if by in missing else ""))
    if fits.empty:
        raise UserError(f"{path}: has a header but no rows; fit some participants first (garden fit)")
    lines = pd.Series(np.arange(2, len(fits) + 2), index=fits.index)
    model = fits["model"].astype(str).str.strip()
    empty = model == ""
    if empty.any():
        raise UserError(f"{path}:{lines[empty].iloc[0]}: empty model cell; every row needs the model's name")
    known = sorted(set(model))
    unknown = sorted(set(models or ()) - set(known))
    if unknown:
        raise UserError(f"{path}: model(s) {unknown} not in the fits table (it has {known}); fix --models")
    compared = model.isin(models) if models else pd.Series(True, index=fits.index)
    values = pd.to_numeric(fits[criterion].where(fits[criterion].astype(str).str.strip() != "", np.nan),
                           errors="coerce")
    bad = compared & ~np.isfinite(values.astype(float))
    if bad.any():
        i = bad.idxmax()
        raise UserError(f"{path}:{lines[i]}: column '{criterion}' value {str(fits[criterion][i])!r} of participant "
                        f"{fits['participant_id'][i]} ({model[i]}) is not a finite number; refit that participant "
                        "or leave the row out")
    _check_ids_and_range(fits, values, compared, lines, path, criterion)
    keys = ["participant_id", "model"] + ([by] if by else [])
    dupes = fits[compared].duplicated(keys)
    if dupes.any():
        i = dupes[dupes].index[0]
        raise UserError(f"{path}:{lines[i]}: participant {fits['participant_id'][i]} has a second {model[i]} row; "
                        "keep one row per participant and model")
    wanted = list(models) if models else known
    per = fits[compared].groupby("participant_id")["model"].nunique()
    short = per.index[per < len(wanted)]
    if len(short):
        raise UserError(f"{path}: participant {short[0]} (and {len(short) - 1} more) lacks a fit of some of "
                        f"{wanted}; compare only models everyone has (--models) or refit them")
    fits = fits.copy()
    fits["model"], fits[criterion] = model, values.astype(float)
    return fits


MAX_CRITERION = 1e9
"""Largest |AIC/BIC| accepted: a choice fit of a million trials has a BIC below 2e6 (2 ln 2 per trial at
chance); beyond this the value is not a criterion (exp(-criterion/2) of the evidence underflows)."""


def _check_ids_and_range(fits: pd.DataFrame, values: pd.Series, compared: pd.Series, lines: pd.Series, path,
                         criterion: str) -> None:
    """UserError for a participant id that is not letters and digits (it names files downstream), a
    criterion beyond ``MAX_CRITERION``, or a negative one in a table of choice fits (``nll`` >= 0)."""
    ids = fits["participant_id"].astype(str)
    bad_id = ~ids.str.fullmatch(PARTICIPANT_ID.pattern)
    if bad_id.any():
        i = bad_id.idxmax()
        raise UserError(f"{path}:{lines[i]}: participant_id {ids[i][:40]!r} is not letters and digits; fix the id")
    low = 0.0 if "nll" in fits else -MAX_CRITERION
    out = compared & ((values < low) | (values.abs() > MAX_CRITERION))
    if out.any():
        i = out.idxmax()
        why = "a choice fit's criterion is >= 0 (its nll is)" if values[i] < low and low == 0 else \
            f"beyond +-{MAX_CRITERION:g}, not the criterion of a fit"
        raise UserError(f"{path}:{lines[i]}: column '{criterion}' value {values[i]:g} of participant {ids[i]} "
                        f"({fits['model'][i]}): {why}; refit that participant")


FAMILIES = {"factorized": ("factorized", "factorized_full"), "linear": ("linear",)}
"""Model families of the published question: one boundary per context (either factorized model)
against one shared boundary."""


def family_bms(log_evidence: np.ndarray, families: Sequence[Sequence[int]], prior: float | None = None,
               seed: int = 0) -> dict:
    """Random-effects BMS over model families (Penny et al. 2010, PLoS Comput Biol 6:e1000709).

    ``families`` lists the model columns of each family. The Dirichlet prior gives every family
    the same mass (``prior`` per family, default 1/F), shared equally by its models, so a
    family is not favoured for holding more models. After model-level BMS the family posterior
    is Dirichlet(sum of its models' alpha); family exceedance probabilities follow from it (exact
    for two families); protected ones use the model-level BOR (ours). Returns alpha,
    expected_frequency, exceedance_probability, protected_exceedance_probability, bor,
    posterior (n, F) and the model-level result under ``models``.
    """
    L = np.asarray(log_evidence, float)
    members = [list(f) for f in families]
    if sorted(i for f in members for i in f) != list(range(L.shape[1])) or any(not f for f in members):
        raise ValueError(f"families {members} must split the {L.shape[1]} model columns, each model once")
    per_family = 1.0 / len(members) if prior is None else float(prior)
    model_prior = np.zeros(L.shape[1])
    for f in members:
        model_prior[f] = per_family / len(f)
    res = bms(L, model_prior, seed=seed)
    alpha = np.array([res["alpha"][f].sum() for f in members])
    ep = exceedance_probabilities(alpha, seed=seed)
    return {"alpha": alpha, "prior": np.full(len(members), per_family), "expected_frequency": alpha / alpha.sum(),
            "exceedance_probability": ep, "bor": res["bor"],
            "protected_exceedance_probability": ep * (1 - res["bor"]) + res["bor"] / len(members),
            "posterior": np.stack([res["posterior"][:, f].sum(axis=1) for f in members], axis=1), "models": res}


def family_bms_table(fits: pd.DataFrame, families: dict[str, Sequence[str]] | None = None, by: str | None = None,
                     criterion: str = "bic", prior: float | None = None, seed: int = 0) -> pd.DataFrame:
    """``family_bms`` per ``by`` group (or over everyone): one row per [group x] family.

    Columns: [by], family, models (comma-separated), n, alpha, expected_frequency,
    exceedance_probability, protected_exceedance_probability, bor, mean_posterior, criterion.
    """
    families = dict(families or FAMILIES)
    models = [m for members in families.values() for m in members]
    if by is not None and by not in fits:
        raise ValueError(f"fits table has no column {by!r} to group by")
    groups = [(None, fits)] if by is None else list(fits.groupby(by, sort=True))
    index = {m: j for j, m in enumerate(models)}
    out = []
    for key, part in groups:
        L = log_evidence_table(part, criterion, models)
        if len(L) == 0:
            continue
        res = family_bms(L.to_numpy(), [[index[m] for m in members] for members in families.values()], prior, seed)
        for j, (family, members) in enumerate(families.items()):
            row = {} if by is None else {by: key}
            row.update(family=family, models=",".join(members), n=len(L), alpha=res["alpha"][j],
                       expected_frequency=res["expected_frequency"][j],
                       exceedance_probability=res["exceedance_probability"][j],
                       protected_exceedance_probability=res["protected_exceedance_probability"][j],
                       bor=res["bor"], mean_posterior=res["posterior"][:, j].mean(), criterion=criterion)
            out.append(row)
    return pd.DataFrame(out)


def between_groups(fits: pd.DataFrame, by: str, models: Sequence[str] | None = None, criterion: str = "bic",
                   prior: float | None = None) -> pd.DataFrame:
    """Do the groups in column ``by`` share one distribution of models? (Rigoux et al. 2014, §2.4,
    as VBA_groupBMC_btwGroups): the free energy of BMS on everyone pooled (same frequencies)
    against the sum of the groups' free energies (different frequencies).

    One row: by, groups (comma-separated), n, F_same, F_different, log_bayes_factor (different
    over same) and p_same = 1 / (1 + exp(F_different - F_same)), criterion.
    """
    if by not in fits:
        raise ValueError(f"fits table has no column {by!r} to compare groups by")
    groups = [(key, log_evidence_table(part, criterion, models)) for key, part in fits.groupby(by, sort=True)]
    groups = [(key, L) for key, L in groups if len(L)]
    if len(groups) < 2:
        raise ValueError(f"column {by!r} needs at least two groups with fits of every compared model")
    pooled = pd.concat([L for _, L in groups])
    f_same = bms(pooled.to_numpy(), prior)["F"]
    f_different = sum(bms(L.to_numpy(), prior)["F"] for _, L in groups)
    return pd.DataFrame([{"by": by, "groups": ",".join(str(k) for k, _ in groups), "n": len(pooled),
                          "F_same": f_same, "F_different": f_different, "log_bayes_factor": f_different - f_same,
                          "p_same": float(1.0 / (1.0 + np.exp(f_different - f_same))), "criterion": criterion}])
