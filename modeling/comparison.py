"""Comparing choice models across participants: random-effects BMS (of models and of model
families, and between groups), AIC/BIC winners, LR tests.

``bms`` is variational random-effects Bayesian model selection (Stephan et al. 2009,
NeuroImage 46:1004; Rigoux et al. 2014, NeuroImage 84:971) with the VBA toolbox's
``VBA_groupBMC`` free energy F, null free energy F0, Bayesian omnibus risk
BOR = 1 / (1 + exp(F - F0)) and protected exceedance probabilities pxp = ep (1 - BOR) + BOR / K.
The headline numbers are pxp and BOR: the plain exceedance probability ep ignores that the
null (equal frequencies) may explain the data as well, and VB's Dirichlet posterior is
narrower than the exact one (ep too confident, Rigoux et al. 2014 fig. 3).

Iteration: by default VB runs to its fixed point (``STOP = "fixed-point"``: the distance of the
Dirichlet counts alpha from the fixed point, extrapolated from the geometric rate of the last
two steps, below ``TOL`` counts; at most ``MAX_ITER`` updates), and every result says how many
updates it took (``n_iter``) and whether it got there (``converged``). VBA stops when the free
energy changes by less than 1e-4 or after 32 iterations (``stop="vba"``, used to reproduce
published runs): on weak evidence that is far from the fixed point (a 176 x 3 matrix needs
~1 500 updates; VBA's 32 leave Ef off by 0.24).

Families (``family_bms``, Penny et al. 2010) follow VBA: a Dirichlet prior giving every family
the same mass (split equally over its models), family counts = sums of their models' counts,
and the family null (equal family frequencies, each model f0 = 1 / (F |family|)) for F0, BOR
and the family pxp = ep_f (1 - BOR) + BOR / F. Exceedance probabilities are exact: the Beta
distribution for two, one-dimensional quadrature (Soch & Allefeld 2016, arXiv:1611.01439)
otherwise. ``exact_bms`` (K = 2 or 3) integrates the frequency posterior by quadrature instead
of VB: on the published exp1a group b2, exact ep 0.965 against VB's 0.981. The Dirichlet prior
is alpha0 = 1/K per model by default (one prior count in all,
VBA's default; 0.5 for K = 2 as in the published 2018 analysis).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import integrate
from scipy.special import betainc, betaln, digamma, gammainc, gammaln, logsumexp, roots_jacobi, softmax
from scipy.stats import chi2, gamma

from garden.core.errors import UserError
from garden.core.provenance import FOREIGN, completion
from garden.core.text_tables import read_text_table
from garden.core.trials import PARTICIPANT_ID

EPS = np.finfo(float).eps
"""MATLAB's eps, used inside VBA's log(r + eps)."""
NESTED = {("factorized", "factorized_full")}
"""(restricted, full) model pairs that are nested within the fitting bounds."""
STOP = "fixed-point"
"""Default stopping rule: "fixed-point" (``TOL``, ``MAX_ITER``) or "vba" (|dF| <= 1e-4 or 32 iterations)."""
TOL = 1e-6
"""Fixed-point tolerance: extrapolated distance of the Dirichlet counts from the fixed point (counts)."""
MAX_ITER = 100_000
"""Most VB updates under the fixed-point rule (a result that needs more says converged: False)."""
VBA_TOL, VBA_MAX_ITER = 1e-4, 32
"""VBA_groupBMC's defaults: stop when |dF| <= 1e-4 or after 32 iterations (the initial F counted)."""


def _free_energy(L: np.ndarray, a: np.ndarray, r: np.ndarray, prior: np.ndarray) -> float:
    """VBA's FE(): expected log joint + entropies of q(r) (Dirichlet) and q(m) (attributions)."""
    elogr = digamma(a) - digamma(a.sum())
    sqf = gammaln(a).sum() - gammaln(a.sum()) - ((a - 1) * elogr).sum()
    sqm = -(r * np.log(r + EPS)).sum()
    elj = gammaln(prior.sum()) - gammaln(prior).sum() + ((prior - 1) * elogr).sum() + (r * (elogr + L)).sum()
    return float(elj + sqf + sqm)


def _null_free_energy(L: np.ndarray, f0: np.ndarray) -> float:
    """VBA's FE_null(): free energy of the null hypothesis that the model frequencies are ``f0`` (K,)
    (1/K each: equal model frequencies; 1/(F |family|): equal family frequencies). As in VBA, the
    attributions are softmax(L) whatever f0."""
    g = softmax(L, axis=1)
    return float((g * (L - np.log(g + EPS) + np.log(f0))).sum())


def _ffx_free_energy(L: np.ndarray, f0: np.ndarray) -> float:
    """VBA's FE_ffx(): fixed-effects free energy (one model for everyone, prior f0)."""
    ss = L.sum(axis=0) + np.log(f0)
    z = softmax(ss)
    return float(z @ ss - (z * np.log(z + EPS)).sum())


def exceedance_probabilities(alpha: np.ndarray, n_samples: int | None = None, seed: int = 0) -> np.ndarray:
    """P(model k has the highest frequency) under Dirichlet(alpha): exact (Beta for K = 2, else
    quadrature over the Gamma representation, Soch & Allefeld 2016), or from ``n_samples`` seeded
    draws when given."""
    alpha = np.asarray(alpha, float)
    if n_samples is not None:
        rng = np.random.default_rng(seed)
        wins = np.zeros(len(alpha))
        for size in np.diff(np.r_[0:n_samples:100_000, n_samples]):
            draws = rng.gamma(alpha, size=(size, len(alpha)))
            wins += np.bincount(np.argmax(draws, axis=1), minlength=len(alpha))
        return wins / n_samples
    if len(alpha) == 2:
        p_second = betainc(alpha[0], alpha[1], 0.5)  # P(r_1 <= 1/2)
        return np.array([1.0 - p_second, p_second])
    lo, hi = gamma.ppf(1e-14, alpha).min(), gamma.isf(1e-14, alpha).max()

    def density(x: float, i: int) -> float:
        others = np.delete(alpha, i)
        return float(gamma.pdf(x, alpha[i]) * np.prod(gammainc(others, x)))

    ep = np.array([integrate.quad(density, lo, hi, args=(i,), points=alpha[alpha < hi].tolist()[:50],
                                  limit=200, epsabs=1e-12)[0] for i in range(len(alpha))])
    return ep / ep.sum()


def _vb(L: np.ndarray, prior: np.ndarray, stop: str, tol: float, max_iter: int) -> tuple:
    """VB updates of VBA_groupBMC (attributions r, then Dirichlet counts a) from VBA's start;
    returns a, r, the free energies (initial one first), n_iter (updates) and converged."""
    a = prior.copy()
    r = np.tile(prior / prior.sum(), (len(L), 1))
    history, steps = [_free_energy(L, a, r, prior)], []
    while True:
        r = softmax(L + digamma(a) - digamma(a.sum()), axis=1)
        a_new = prior + r.sum(axis=0)
        steps.append(float(np.abs(a_new - a).max()))
        a = a_new
        history.append(_free_energy(L, a, r, prior))
        if stop == "vba":
            converged = abs(history[-1] - history[-2]) <= VBA_TOL
            if converged or len(history) >= VBA_MAX_ITER:
                break
            continue
        rate = steps[-1] / steps[-2] if len(steps) > 1 and steps[-2] > 0 else np.inf
        converged = steps[-1] == 0.0 or (rate < 1.0 and steps[-1] * rate / (1.0 - rate) <= tol)
        if converged or len(steps) >= max_iter:
            break
    return a, r, np.array(history), len(steps), bool(converged)


def bms(log_evidence: np.ndarray, prior: float | Sequence[float] | None = None, *, null: np.ndarray | None = None,
        stop: str = STOP, tol: float = TOL, max_iter: int = MAX_ITER) -> dict:
    """Random-effects BMS on log evidences (n_participants, K models), e.g. -BIC/2 (nats).

    ``prior``: Dirichlet prior counts (one number per model or one for all; default 1/K);
    ``null``: model frequencies under the null (default 1/K each); ``stop``: "fixed-point"
    (``tol`` counts, ``max_iter`` updates) or "vba" (VBA's |dF| <= 1e-4 or 32 iterations).
    Returns alpha (Dirichlet posterior), prior, expected_frequency, variance_frequency,
    exceedance_probability, bor, protected_exceedance_probability, posterior (n, K: p(model |
    participant)), F (final free energy), F0 (null), Fffx (fixed effects), F_history, n_iter,
    converged.
    """
    L = np.asarray(log_evidence, float)
    if L.ndim != 2 or L.shape[1] < 2 or L.shape[0] < 1 or not np.isfinite(L).all():
        raise ValueError(f"log_evidence must be a finite (n_participants, K >= 2) array, got shape {L.shape}")
    if stop not in ("fixed-point", "vba"):
        raise ValueError(f"stop must be 'fixed-point' or 'vba', not {stop!r}")
    n, K = L.shape
    prior_a = np.full(K, 1.0 / K) if prior is None else np.broadcast_to(np.asarray(prior, float), (K,)).copy()
    f0 = np.full(K, 1.0 / K) if null is None else np.asarray(null, float)
    a, r, history, n_iter, converged = _vb(L, prior_a, stop, tol, max_iter)
    F, F0 = float(history[-1]), _null_free_energy(L, f0)
    bor = float(1.0 / (1.0 + np.exp(F - F0)))
    ep = exceedance_probabilities(a)
    a0 = a.sum()
    return {"alpha": a, "prior": prior_a, "expected_frequency": a / a0,
            "variance_frequency": a * (a0 - a) / ((a0 + 1) * a0 ** 2),
            "exceedance_probability": ep, "bor": bor,
            "protected_exceedance_probability": ep * (1 - bor) + bor / K,
            "posterior": r, "F": F, "F0": F0, "Fffx": _ffx_free_energy(L, f0),
            "F_history": history, "n_iter": n_iter, "converged": converged}


EXACT_NODES = {2: 2000, 3: 300}
"""Gauss-Jacobi nodes per dimension of ``exact_bms`` (K = 2: one dimension; K = 3: two)."""


def _jacobi(n: int, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes t in (0, 1) and log weights of Gauss-Jacobi quadrature for the Beta(a, b) density:
    sum w f(t) = E f(t) under Beta(a, b)."""
    x, w = roots_jacobi(n, b - 1.0, a - 1.0)                      # weight (1 - x)^(b-1) (1 + x)^(a-1)
    return (1.0 + x) / 2.0, np.log(w) - (a + b - 1.0) * np.log(2.0) - betaln(a, b)


def exact_bms(log_evidence: np.ndarray, prior: float | Sequence[float] | None = None) -> dict:
    """Random-effects BMS without the variational approximation, for K = 2 or 3 models: the
    posterior over model frequencies r, Dirichlet(prior) x prod_i sum_k r_k exp(L_ik), integrated
    by Gauss-Jacobi quadrature (the Dirichlet written as Beta(a1, a2 + a3) x Beta(a2, a3) for K = 3;
    ``EXACT_NODES``). Returns expected_frequency, exceedance_probability, the log evidence of the
    random-effects model (log_evidence) and of the null r = 1/K (log_evidence_null), bor =
    p(null | data) and protected_exceedance_probability, as ``bms``'s."""
    L = np.asarray(log_evidence, float)
    n, K = L.shape
    if K not in (2, 3):
        raise ValueError(f"exact BMS integrates K = 2 or 3 models, not {K}")
    a = np.full(K, 1.0 / K) if prior is None else np.broadcast_to(np.asarray(prior, float), (K,)).copy()
    t, log_w = _jacobi(EXACT_NODES[K], a[0], a[1:].sum())
    if K == 2:
        r, log_w = np.column_stack([t, 1.0 - t]), log_w
    else:
        u, log_v = _jacobi(EXACT_NODES[K], a[1], a[2])
        r = np.stack([np.repeat(t, len(u)), np.outer(1 - t, u).ravel(), np.outer(1 - t, 1 - u).ravel()], axis=1)
        log_w = (log_w[:, None] + log_v[None, :]).ravel()
    peak = L.max(axis=1, keepdims=True)
    log_lik = np.zeros(len(r))
    for i in range(0, n, 64):                                        # bounded memory: (nodes, 64, K)
        part = np.exp(L[i:i + 64] - peak[i:i + 64])
        log_lik += np.log(np.einsum("jk,ik->ji", r, part)).sum(axis=1)
    log_post = log_w + log_lik
    log_z = logsumexp(log_post)
    weight = np.exp(log_post - log_z)
    ep = np.bincount(np.argmax(r, axis=1), weights=weight, minlength=K)
    log_e1 = float(log_z + peak.sum())
    log_e0 = float((logsumexp(L, axis=1) - np.log(K)).sum())
    bor = float(1.0 / (1.0 + np.exp(log_e1 - log_e0)))
    return {"expected_frequency": weight @ r, "exceedance_probability": ep, "log_evidence": log_e1,
            "log_evidence_null": log_e0, "bor": bor, "protected_exceedance_probability": ep * (1 - bor) + bor / K}


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


def _bms_row(res: dict, j: int, n: int, criterion: str) -> dict:
    """The columns of a ``bms_table`` / ``family_bms_table`` row for model (or family) ``j`` of a BMS result."""
    return {"n": n, "protected_exceedance_probability": res["protected_exceedance_probability"][j], "bor": res["bor"],
            "expected_frequency": res["expected_frequency"][j], "alpha": res["alpha"][j],
            "exceedance_probability": res["exceedance_probability"][j],
            "mean_posterior": res["posterior"][:, j].mean(), "F": res["F"], "F0": res["F0"],
            "alpha_prior": res["prior"][j], "n_iter": res["n_iter"], "converged": res["converged"],
            "criterion": criterion}


def bms_table(fits: pd.DataFrame, by: str | None = None, models: Sequence[str] | None = None,
              criterion: str = "bic", prior: float | None = None, stop: str = STOP, exact: bool = False
              ) -> pd.DataFrame:
    """Random-effects BMS per ``by`` group (or over everyone): one row per [group x] model.

    Columns: [by], model, n, protected_exceedance_probability, bor, expected_frequency, alpha,
    exceedance_probability, mean_posterior (mean over participants of p(model)), F, F0,
    alpha_prior, n_iter, converged, criterion; with ``exact`` (K = 2 or 3) also
    exact_protected_exceedance_probability, exact_bor, exact_expected_frequency and
    exact_exceedance_probability (``exact_bms``: no variational approximation).
    """
    if by is not None and by not in fits:
        raise ValueError(f"fits table has no column {by!r} to group by")
    groups = [(None, fits)] if by is None else list(fits.groupby(by, sort=True))
    out = []
    for key, part in groups:
        L = log_evidence_table(part, criterion, models)
        if len(L) == 0:
            continue
        res = bms(L.to_numpy(), prior, stop=stop)
        precise = exact_bms(L.to_numpy(), prior) if exact else None
        for j, model in enumerate(L.columns):
            row = ({} if by is None else {by: key}) | {"model": model} | _bms_row(res, j, len(L), criterion)
            if precise is not None:
                row.update({f"exact_{key}": precise[key] if key == "bor" else precise[key][j] for key in
                            ("protected_exceedance_probability", "bor", "expected_frequency",
                             "exceedance_probability")})
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
    """A FITS.tsv (``garden fit``) checked for model comparison: likelihood fits (an ``objective``
    column, if any, says bernoulli), ids as text, the criterion a finite number in every row of the
    compared models, no model cell empty, one row per participant x model,
    and every participant fitted with every compared model. UserError naming file, line and fix."""
    fits = read_text_table(path, what="FITS.tsv written by `garden fit`")
    missing = [c for c in ("participant_id", "model", criterion) + ((by,) if by else ()) if c not in fits]
    if missing:
        raise UserError(f"{path}: no column(s) {missing}; its columns are {list(fits.columns)[:12]}; "
                        "give a FITS.tsv written by `garden fit`" + (" or another --by" if by in missing else ""))
    if fits.empty:
        raise UserError(f"{path}: has a header but no rows; fit some participants first (garden fit)")
    if "objective" in fits:
        objectives = set(fits["objective"].dropna().astype(str)) - {"bernoulli"}
        if objectives:
            raise UserError(f"{path}: fitted with objective {sorted(objectives)[0]!r}, which is not a likelihood, so "
                            "its BIC/AIC is no log evidence; refit with `garden fit --objective bernoulli`")
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


def is_foreign(path) -> bool:
    """Whether a fits table comes from another tool: no garden sidecar at all (``completion``, the one
    rule for every table: foreign tables are used as they are, and said to be)."""
    return completion(path)[0] == FOREIGN


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
               stop: str = STOP) -> dict:
    """Random-effects BMS over model families (Penny et al. 2010, PLoS Comput Biol 6:e1000709), as
    VBA_groupBMC with ``options.families``.

    ``families`` lists the model columns of each family. The Dirichlet prior gives every family
    the same mass (``prior`` per family, default 1/F), shared equally by its models, so a family
    is not favoured for holding more models. The family posterior is Dirichlet(sum of its models'
    alpha); the null is equal family frequencies (each model 1 / (F |family|)), which gives F0,
    the BOR and the protected exceedance probabilities. Returns alpha, prior, expected_frequency,
    exceedance_probability, protected_exceedance_probability, bor, F, F0, posterior (n, F),
    n_iter, converged and the model-level result (under the family prior and null) as ``models``.
    """
    L = np.asarray(log_evidence, float)
    members = [list(f) for f in families]
    if sorted(i for f in members for i in f) != list(range(L.shape[1])) or any(not f for f in members):
        raise ValueError(f"families {members} must split the {L.shape[1]} model columns, each model once")
    per_family = 1.0 / len(members) if prior is None else float(prior)
    model_prior, null = np.zeros(L.shape[1]), np.zeros(L.shape[1])
    for f in members:
        model_prior[f] = per_family / len(f)
        null[f] = 1.0 / (len(members) * len(f))
    res = bms(L, model_prior, null=null, stop=stop)
    alpha = np.array([res["alpha"][f].sum() for f in members])
    ep = exceedance_probabilities(alpha)
    return {"alpha": alpha, "prior": np.full(len(members), per_family), "expected_frequency": alpha / alpha.sum(),
            "exceedance_probability": ep, "bor": res["bor"],
            "protected_exceedance_probability": ep * (1 - res["bor"]) + res["bor"] / len(members),
            "F": res["F"], "F0": res["F0"], "n_iter": res["n_iter"], "converged": res["converged"],
            "posterior": np.stack([res["posterior"][:, f].sum(axis=1) for f in members], axis=1), "models": res}


def family_bms_table(fits: pd.DataFrame, families: dict[str, Sequence[str]] | None = None, by: str | None = None,
                     criterion: str = "bic", prior: float | None = None, stop: str = STOP,
                     models: Sequence[str] | None = None) -> pd.DataFrame:
    """``family_bms`` per ``by`` group (or over everyone): one row per [group x] family.

    ``models``: keep only these models in the families (ValueError if a family is left empty).
    Columns: [by], family, models (comma-separated), n, protected_exceedance_probability, bor,
    expected_frequency, alpha, exceedance_probability, mean_posterior, F, F0, alpha_prior,
    n_iter, converged, criterion.
    """
    families = {name: [m for m in members if models is None or m in models]
                for name, members in (families or FAMILIES).items()}
    empty = [name for name, members in families.items() if not members]
    if empty:
        raise ValueError(f"family {empty[0]!r} has none of the compared models {list(models or [])}; "
                         f"families need at least one model each ({dict(FAMILIES)})")
    compared = [m for members in families.values() for m in members]
    if by is not None and by not in fits:
        raise ValueError(f"fits table has no column {by!r} to group by")
    groups = [(None, fits)] if by is None else list(fits.groupby(by, sort=True))
    index = {m: j for j, m in enumerate(compared)}
    out = []
    for key, part in groups:
        L = log_evidence_table(part, criterion, compared)
        if len(L) == 0:
            continue
        res = family_bms(L.to_numpy(), [[index[m] for m in members] for members in families.values()], prior, stop)
        for j, (family, members) in enumerate(families.items()):
            row = ({} if by is None else {by: key}) | {"family": family, "models": ",".join(members)} \
                | _bms_row(res, j, len(L), criterion)
            out.append(row)
    return pd.DataFrame(out)


def between_groups(fits: pd.DataFrame, by: str, models: Sequence[str] | None = None, criterion: str = "bic",
                   prior: float | None = None, stop: str = STOP) -> pd.DataFrame:
    """Do the groups in column ``by`` share one distribution of models? (Rigoux et al. 2014, §2.4,
    as VBA_groupBMC_btwGroups): the free energy of BMS on everyone pooled (same frequencies)
    against the sum of the groups' free energies (different frequencies).

    One row: by, groups (comma-separated), n, F_same, F_different, log_bayes_factor (different
    over same), p_same = 1 / (1 + exp(F_different - F_same)), converged (every VB run), criterion.
    """
    if by not in fits:
        raise ValueError(f"fits table has no column {by!r} to compare groups by")
    groups = [(key, log_evidence_table(part, criterion, models)) for key, part in fits.groupby(by, sort=True)]
    groups = [(key, L) for key, L in groups if len(L)]
    if len(groups) < 2:
        raise ValueError(f"column {by!r} needs at least two groups with fits of every compared model")
    same = bms(pd.concat([L for _, L in groups]).to_numpy(), prior, stop=stop)
    different = [bms(L.to_numpy(), prior, stop=stop) for _, L in groups]
    f_same, f_different = same["F"], sum(res["F"] for res in different)
    return pd.DataFrame([{"by": by, "groups": ",".join(str(k) for k, _ in groups), "n": sum(len(L) for _, L in groups),
                          "F_same": f_same, "F_different": f_different, "log_bayes_factor": f_different - f_same,
                          "p_same": float(1.0 / (1.0 + np.exp(f_different - f_same))),
                          "converged": same["converged"] and all(res["converged"] for res in different),
                          "criterion": criterion}])
