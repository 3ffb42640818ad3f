"""Psychometric choice models of the tree task: predict, simulate and fit (docs/modeling.md).

Models (``MODELS``, see ``garden.modeling.models``): ``factorized`` (k=5), ``factorized_full`` (k=8),
``linear`` (k=4), ``sigmoid_relevant`` and ``sigmoid_irrelevant`` (k=1, slope only).

Parameters are a dict. Boundaries are set by ``delta`` (degrees, [-90, 90]): the rotation of the
boundary normal away from the context's reward gradient (``linear``: from g_A + g_B). Shared
parameters are named by kind, per-context ones carry the context label, e.g. for contexts
north/south::

    factorized:      delta_north, delta_south, slope, offset, lapse
    factorized_full: delta_north, delta_south, slope_north, slope_south, offset_north,
                     offset_south, lapse_north, lapse_south
    linear:          delta, slope, offset, lapse
    sigmoid_*:       slope

slope per feature level ([0, 20]; sigmoids [-20, 20]), offset in feature levels ([-1, 1]),
lapse in [0, 0.5]. ``parameter_names(model, contexts)`` lists them for any two labels.

Fitting (``fit_table`` / ``fit_participant``): per participant, trials are pooled into cells
(``garden.modeling.cells``), the objective is the trial-level Bernoulli likelihood (default) or the
published choice-matrix loss (``garden.modeling.objectives``), and every model is fitted to all
participants at once by a vectorised global search (``garden.modeling.optimise``: start grid, the
published start, batched Nelder-Mead; Wald standard errors from the observed information of the
Bernoulli NLL; optional parametric-bootstrap intervals, ``garden.modeling.uncertainty``).
factorized_full is fitted per context and also started from the factorized optimum, so it is
never worse than the nested factorized model.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence

import numpy as np
import pandas as pd

from garden.core.errors import SettingError, UserError
from garden.core.progress import progress_bar
from garden.core.task import canonical_symmetry, infer_rule
from garden.core.trials import participant_table
from garden.modeling.cells import (
    CellData,
    RuleGradients,
    Unfittable,
    centred_features,
    context_labels,
    participant_cells,
    reward_gradients,
)
from garden.modeling.constraints import fit_constrained
from garden.modeling.models import (
    DEFAULT_MODELS,
    MODELS,
    Model,
    bias_towards_shared,
    boundary_angles,
    canonical_boundary_angles,
    get_model,
    p_accept,
)
from garden.modeling.objectives import check_objective, n_obs, usable
from garden.modeling.optimise import Batch, BatchFit, at_bound, fit_batch
from garden.modeling.posterior import PILED_AT, Posterior, posterior_summary
from garden.modeling.uncertainty import bootstrap_intervals, wald_intervals

__all__ = ["MODELS", "DEFAULT_MODELS", "parameter_names", "rule_gradients", "predict", "simulate_choices",
           "fit_cells", "fit_table", "fit_participant"]


def _model(model: str | Model) -> Model:
    return model if isinstance(model, Model) else get_model(model)


def parameter_names(model: str | Model, contexts: tuple[str, str] = ("north", "south")) -> list[str]:
    """The parameter names of ``model`` for these two context labels."""
    return _model(model).names(tuple(contexts))


def rule_gradients(trials: pd.DataFrame) -> RuleGradients:
    """The reward rules (context labels, reward gradients) of a trial table with two contexts."""
    contexts = context_labels(trials)
    return RuleGradients(contexts, reward_gradients(trials, contexts))


def predict(model: str | Model, params: dict[str, float], trials: pd.DataFrame,
            rules: RuleGradients | None = None) -> np.ndarray:
    """p(accept) for every row of ``trials`` (columns context, branchiness, leafiness, reward_value).

    The boundaries are placed relative to the reward gradients of ``trials`` itself (or of
    ``rules``, e.g. from a participant's whole session when predicting a subset of its trials).
    """
    model = _model(model)
    rules = rules or rule_gradients(trials)
    labels = trials["context"].astype(str).to_numpy()
    unknown = sorted(set(labels) - set(rules.contexts))
    if unknown:
        raise ValueError(f"context label(s) {unknown} are not among {list(rules.contexts)}")
    context = np.where(labels == rules.contexts[0], 0, 1)
    theta = model.theta(params, rules.contexts)
    return p_accept(model, theta[None, :], rules, context, centred_features(trials))[0]


def simulate_choices(model: str | Model, params: dict[str, float], trials: pd.DataFrame,
                     rng: np.random.Generator | int, rules: RuleGradients | None = None) -> np.ndarray:
    """Simulated choices (1 accept / 0 reject, float) for every row of ``trials``.

    ``rng`` is a numpy Generator or an integer seed; the same seed gives the same choices.
    """
    rng = np.random.default_rng(rng)
    p = predict(model, params, trials, rules)
    return (rng.random(len(p)) < p).astype(float)


# ---------------------------------------------------------------- fitting

_ONE_CONTEXT = Model("one_context", "one context's boundary (relative to its rule), slope, offset, lapse",
                     "rule", (("delta", None), ("slope", None), ("offset", None), ("lapse", None)))
"""factorized_full is separable: each context is fitted on its own with this model."""
_FULL_FROM_FACTORIZED = [0, 1, 2, 2, 3, 3, 4, 4]
"""factorized (delta_a, delta_b, slope, offset, lapse) -> factorized_full parameter order."""
CHUNK = 64
"""Participants fitted together in one vectorised batch (one progress step)."""
POSTERIOR_CHUNK = 320
"""With posteriors, at most this many participants per batch, in an even number of near-equal batches: the
sampler's last steps, when a few slow posteriors are left, cost the same for one as for many (one numpy call
per step), so fewer, larger batches pay them fewer times, and two workers share an even number evenly."""


def _chunk_starts(n: int, posterior: bool) -> list[int]:
    """First participant of each batch of ``fit_table`` (independent of ``jobs``: the seeds follow the batches)."""
    if not posterior:
        return list(range(0, n, CHUNK))
    n_chunks = 2 * int(np.ceil(n / (2 * POSTERIOR_CHUNK)))
    return sorted({int(round(i * n / n_chunks)) for i in range(n_chunks)} - {n})


def _one_context(data: CellData, c: int) -> CellData:
    sel = data.context == c
    return CellData(data.participant_id, data.rules, data.context[sel], data.x[sel], data.n[sel], data.k[sel])


def _fit_full(data: list[CellData], objective: str, factorized: BatchFit, n_starts: int, profile: bool
              ) -> BatchFit:
    """factorized_full as two independent one-context fits per participant, each also started from
    the factorized optimum (so it is never worse than the nested factorized model)."""
    halves = [_one_context(d, c) for d in data for c in (0, 1)]
    th = factorized.theta
    extra = np.stack([th[:, [0, 2, 3, 4]], th[:, [1, 2, 3, 4]]], axis=1).reshape(-1, 1, 4)
    fit = fit_batch(_ONE_CONTEXT, halves, objective, n_starts, extra, profile)
    order = [0, 4, 1, 5, 2, 6, 3, 7]  # (ctx0: delta slope offset lapse, ctx1: ...) -> full order
    theta = fit.theta.reshape(len(data), 8)[:, order]
    stderr = fit.stderr.reshape(len(data), 8)[:, order]
    conditional = fit.conditional.reshape(len(data), 8)[:, order]
    intervals = None if fit.profile is None else fit.profile.reshape(len(data), 8, 2)[:, order]
    return BatchFit(theta, fit.nll.reshape(-1, 2).sum(axis=1), stderr, fit.converged.reshape(-1, 2).all(axis=1),
                    intervals, conditional)


_CONTEXT_COLUMNS = ([0, 2, 4, 6], [1, 3, 5, 7])
"""factorized_full columns of context 0 and 1 (delta, slope, offset, lapse each)."""
POSTERIOR_STREAM = 1
"""Extra seed word of the posterior samplers' generators (the bootstrap's have none)."""


def posteriors(data: list[CellData], fits: dict[str, BatchFit], seed: int, stream: int = 0) -> dict[str, Posterior]:
    """Per model, the posterior intervals (Jeffreys prior), medians and R-hat of every participant
    (``garden.modeling.posterior``; Bernoulli likelihood). factorized_full is sampled per context (its
    likelihood and prior factorise over contexts). Seeded by (seed, stream, model position)."""
    out = {}
    for offset, (name, fit) in enumerate(fits.items()):
        rng = np.random.default_rng([seed, stream, offset, POSTERIOR_STREAM])
        if name != "factorized_full":
            out[name] = posterior_summary(Batch(MODELS[name], data, "bernoulli"), fit.theta, rng)
            continue
        halves = [_one_context(d, c) for d in data for c in (0, 1)]
        theta = np.stack([fit.theta[:, cols] for cols in _CONTEXT_COLUMNS], axis=1).reshape(-1, 4)
        half = posterior_summary(Batch(_ONE_CONTEXT, halves, "bernoulli"), theta, rng)
        parts = []
        for values in (getattr(half, field) for field in Posterior.FIELDS):
            full = np.empty((len(data), 8) + values.shape[2:], values.dtype)
            paired = values.reshape((len(data), 2, 4) + values.shape[2:])
            for c, cols in enumerate(_CONTEXT_COLUMNS):
                full[:, cols] = paired[:, c]
            parts.append(full)
        out[name] = Posterior(*parts, half.iterations.reshape(len(data), 2).max(axis=1))
    return out


def fit_cells(data: list[CellData], models: Sequence[str] = DEFAULT_MODELS, objective: str = "bernoulli",
              n_starts: int = 30, *, profile: bool = False, params=None) -> dict[str, BatchFit]:
    """Fit every model in ``models`` to every participant's cells (vectorised); {model: BatchFit}.
    ``profile``: also 95 % profile-likelihood intervals (Bernoulli objective); ``params``:
    ``lmfit.Parameters`` fixing, bounding or tying parameters (``garden.modeling.constraints``)."""
    check_objective(objective)
    for name in models:
        get_model(name)
    if params is not None:
        return {name: fit_constrained(MODELS[name], data, objective, params, n_starts) for name in models}
    fits: dict[str, BatchFit] = {}
    needed = ["factorized"] if "factorized_full" in models else []
    for name in dict.fromkeys(needed + list(models)):
        if name == "factorized_full":
            fits[name] = _fit_full(data, objective, fits["factorized"], n_starts, profile)
        else:
            fits[name] = fit_batch(MODELS[name], data, objective, n_starts, profile=profile)
    return {name: fits[name] for name in models}


def _rows(data: list[CellData], fits: dict[str, BatchFit], objective: str,
          intervals: dict[str, np.ndarray] | None = None,
          rules: dict[str, tuple[int, tuple[str, str]]] | None = None,
          post: dict[str, Posterior] | None = None) -> list[dict]:
    """One output row per participant x model: fit statistics, parameters, SEs, bound flags,
    bootstrap and posterior intervals (when given), angles, biases."""
    rows = []
    for i, d in enumerate(data):
        contexts = d.rules.contexts
        n = n_obs(objective, d)
        for name, fit in fits.items():
            model = MODELS[name]
            theta, nll = fit.theta[i], float(fit.nll[i])
            k = model.k if fit.k is None else fit.k
            row = {"participant_id": d.participant_id, "model": name, "k": k, "n_obs": n, "nll": nll,
                   "aic": 2 * nll + 2 * k, "bic": 2 * nll + k * np.log(n),
                   "converged": bool(fit.converged[i]), "context_a": contexts[0], "context_b": contexts[1]}
            names = model.names(contexts)
            row.update(zip(names, theta))
            row.update(zip([f"{p}_se" for p in names], fit.stderr[i]))
            row.update(zip([f"{p}_se_conditional" for p in names], fit.conditional[i]))
            wald = wald_intervals(model, theta[None, :], fit.stderr[i:i + 1])[0]
            row.update(zip([f"{p}_wald_lo" for p in names], wald[:, 0]))
            row.update(zip([f"{p}_wald_hi" for p in names], wald[:, 1]))
            bound = at_bound(model.bounds(), theta[None, :])[0]
            row.update(zip([f"{p}_at_bound" for p in names], bound.tolist()))
            row["n_at_bound"] = int(bound.sum())
            if fit.profile is not None:
                row.update(zip([f"{p}_profile_lo" for p in names], fit.profile[i, :, 0]))
                row.update(zip([f"{p}_profile_hi" for p in names], fit.profile[i, :, 1]))
            if intervals is not None:
                row.update(zip([f"{p}_boot_lo" for p in names], intervals[name][i, :, 0]))
                row.update(zip([f"{p}_boot_hi" for p in names], intervals[name][i, :, 1]))
            if post is not None:
                q = post[name]
                row.update(zip([f"{p}_post_lo" for p in names], q.intervals[i, :, 0]))
                row.update(zip([f"{p}_post_hi" for p in names], q.intervals[i, :, 1]))
                row.update(zip([f"{p}_post_piled" for p in names], [PILED_AT[j] for j in q.piled[i]]))
                for label, values in (("onesided", q.one_sided), ("shortest", q.shortest)):
                    row.update(zip([f"{p}_post_{label}_lo" for p in names], values[i, :, 0]))
                    row.update(zip([f"{p}_post_{label}_hi" for p in names], values[i, :, 1]))
                row.update(zip([f"{p}_post_median" for p in names], q.median[i]))
                row.update(zip([f"{p}_rhat" for p in names], q.rhat[i]))
                row["rhat_max"] = float(np.nanmax(q.rhat[i]))
                row["ess_bulk_min"], row["ess_tail_min"] = float(q.ess_bulk[i].min()), float(q.ess_tail[i].min())
                row["posterior_iterations"] = int(q.iterations[i])
            if any(kind == "delta" for kind, _ in model.free):
                angles = boundary_angles(model, theta, d.rules)
                row.update({f"angle_{c}": a for c, a in zip(contexts, angles)})
                bias = bias_towards_shared(model, theta, d.rules)
                row.update({f"bias_{c}": b for c, b in zip(contexts, bias)})
                row["bias"] = float(bias.mean())
            row.update(_canonical(model, theta, d, (rules or {}).get(d.participant_id)))
            rows.append(row)
    return rows


def _canonical(model: Model, theta: np.ndarray, data: CellData, rule: tuple[int, tuple[str, str]] | None
               ) -> dict:
    """Rule code and context roles (from the participant's rule) and, for models with a boundary,
    the boundary angles in the canonical frame."""
    if rule is None:
        return {}
    code, roles = rule
    target, symmetry = canonical_symmetry(code)
    out = {"rule_code": code, "north_role": roles[0], "south_role": roles[1], "canonical_rule": target}
    if any(kind == "delta" for kind, _ in model.free):
        angles = canonical_boundary_angles(model, theta, data.rules, symmetry)
        index = [data.rules.contexts.index(label) for label in roles]
        out.update(canonical_angle_north=angles[index[0]], canonical_angle_south=angles[index[1]])
    return out


def _rules(trials: pd.DataFrame) -> dict[str, tuple[int, tuple[str, str]]]:
    """{participant_id: (rule code, (north-role label, south-role label))} for every participant
    whose reward values match a counterbalancing code (``garden.core.task.infer_rule``); others are absent."""
    out = {}
    for pid, part in trials.groupby(trials["participant_id"].astype(str), sort=False):
        try:
            out[pid] = infer_rule(part)
        except UserError:
            continue
    return out


BOOT_STARTS = 4
"""Grid starts per bootstrap replicate (each is also started from the published start)."""


def _fit_chunk(args: tuple) -> list[dict]:
    data, models, objective, n_starts, n_boot, seed, stream, rules, profile, with_posterior, params = args
    fits = fit_cells(data, models, objective, n_starts, profile=profile, params=params)
    post = posteriors(data, fits, seed, stream) if with_posterior else None
    intervals = None
    if n_boot:
        intervals = bootstrap_intervals(
            data, fits, n_boot=n_boot, seed=seed, stream=stream,
            refit=lambda cells, name: fit_cells(cells, [name], objective, min(n_starts, BOOT_STARTS))[name])
    return _rows(data, fits, objective, intervals, rules, post)


def fit_table(trials: pd.DataFrame, models: Sequence[str] = DEFAULT_MODELS, objective: str = "bernoulli",
              missing: str = "drop", *, max_rt: float | None = None, phase: str | None = None,
              n_starts: int = 30, jobs: int = 1, progress: bool = False, bootstrap: int = 0,
              seed: int = 0, profile: bool = False, posterior: bool = False, params=None) -> pd.DataFrame:
    """Fit ``models`` to every participant of a trial table; one row per participant x model.
    ``params``: ``lmfit.Parameters`` that fix, bound or tie parameters of the one model fitted
    (``garden.modeling.constraints``; ``k``, AIC and BIC count the varying parameters; no SEs).

    Columns: participant_id, model, k, n_obs, nll, aic, bic, converged, context_a/b, the
    parameters (see module docstring), their Wald standard errors (``<name>_se``: inverse observed
    information of the Bernoulli NLL; NaN in a fit with any parameter at a bound, for
    factorized_full in that context, and for the choice-matrix loss), the SEs conditional on the
    parameters at a bound held there (``<name>_se_conditional``; too small, kept for reference),
    95 % Wald intervals on the transformed scale (``<name>_wald_lo`` / ``_hi``: log slope, logit
    lapse; ``garden.modeling.uncertainty.wald_intervals``), bound flags (``<name>_at_bound``, per fit
    ``n_at_bound``), with ``profile`` the 95 % profile-likelihood intervals ``<name>_profile_lo`` /
    ``<name>_profile_hi`` (Bernoulli objective; they under-cover in fits at a bound, docs/modeling.md),
    with ``bootstrap`` > 0 the 95 % parametric-bootstrap intervals ``<name>_boot_lo`` /
    ``<name>_boot_hi`` from that many refits per participant (seeded by ``seed``), with
    ``posterior`` the equal-tailed 95 % posterior intervals under the Jeffreys prior on the bounds ``<name>_post_lo`` /
    ``<name>_post_hi``, where the posterior piles ``<name>_post_piled`` ("lower bound", "upper bound" or ""), the
    alternatives (not better by their coverage) ``<name>_post_onesided_lo/hi`` (from the bound where it piles
    there) and ``<name>_post_shortest_lo/hi`` (``garden.modeling.posterior.interval_alternatives``), the posterior
    median ``<name>_post_median``, rank-normalised split R-hat
    ``<name>_rhat`` and per fit ``rhat_max``, the smallest bulk and tail effective sample sizes
    ``ess_bulk_min`` / ``ess_tail_min`` and ``posterior_iterations`` (per chain after warm-up: until
    bulk and tail ESS >= 400 and R-hat <= 1.01, ``garden.modeling.posterior``; Bernoulli likelihood; seeded by ``seed``; their coverage,
    interior and at a bound, in docs/modeling.md), boundary angles
    ``angle_<context>`` (deg, counter-clockwise from +branchiness) and biases ``bias_<context>``
    / ``bias`` (deg, positive towards the shared boundary; every model with a boundary), when the
    participant's rule is known (``garden.core.task.infer_rule``) its ``rule_code``, the context roles ``north_role`` /
    ``south_role`` and the boundary angles in the canonical frame ``canonical_angle_north`` /
    ``canonical_angle_south`` (deg; ``canonical_rule`` 1 or 5), objective, missing, max_rt, phase,
    then the participant-level columns of ``trials`` (e.g. group).
    Participants that cannot be fitted are listed in ``result.attrs['skipped']``
    ({participant_id: reason}). ``phase`` keeps only that phase (ValueError if no trial has it).
    """
    check_objective(objective)
    if phase is not None:
        phases = sorted(map(str, trials["phase"].unique()))
        if phase not in phases:
            raise UserError(f"no trial has phase {phase!r}; the table's phases are {phases}")
        present = set(trials["participant_id"].astype(str))
        trials = trials[trials["phase"].astype(str) == phase]
        skipped = {p: f"has no {phase!r} trials" for p in sorted(present - set(trials["participant_id"].astype(str)))}
    else:
        skipped = {}
    data, unfit = participant_cells(trials, missing, max_rt)
    skipped.update(unfit)
    for d in list(data):
        reason = usable(objective, d)
        if reason:
            skipped[d.participant_id] = reason
    data = [d for d in data if d.participant_id not in skipped]
    if bootstrap < 0:
        raise SettingError("bootstrap", f"{bootstrap} replicates: give 0 or more")
    if posterior and objective != "bernoulli":
        raise SettingError("posterior", f"needs {{objective}} bernoulli (the {objective} loss is not a "
                                        "likelihood); use {bootstrap} N for intervals of choice-matrix fits")
    if params is not None and (len(models) != 1 or bootstrap or profile or posterior):
        raise UserError("lmfit Parameters constrain one model's fit: give one model and no bootstrap, profile or "
                        "posterior (lmfit's own uncertainties: garden.modeling.constraints.lmfit_result)")
    rules = _rules(trials)
    starts = _chunk_starts(len(data), posterior)
    chunks = [(data[first:end], list(models), objective, n_starts, bootstrap, seed, i, rules, profile, posterior,
               params)
              for i, (first, end) in enumerate(zip(starts, starts[1:] + [len(data)]))]
    bar = progress_bar(total=len(data), unit="participant", desc="fitting", enabled=progress)
    rows: list[dict] = []
    if jobs > 1 and len(chunks) > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for chunk, out in zip(chunks, pool.imap(_fit_chunk, chunks)):
                rows.extend(out)
                bar.update(len(chunk[0]))
    else:
        for chunk in chunks:
            rows.extend(_fit_chunk(chunk))
            bar.update(len(chunk[0]))
    bar.close()
    table = pd.DataFrame(rows)
    if len(table):
        table["objective"], table["missing"], table["max_rt"], table["phase"] = objective, missing, max_rt, phase
        table["bootstrap"], table["posterior"] = bootstrap, posterior
        table["seed"] = seed if bootstrap or posterior else None
        info = participant_table(trials.assign(participant_id=trials["participant_id"].astype(str)))
        info = info[[c for c in info.columns if c == "participant_id" or c not in table.columns]]
        table = table.merge(info, on="participant_id", how="left")
    table.attrs["skipped"] = skipped
    return table


def fit_participant(trials: pd.DataFrame, models: Sequence[str] = DEFAULT_MODELS, objective: str = "bernoulli",
                    missing: str = "drop", **options) -> pd.DataFrame:
    """One participant's fits (one row per model, as ``fit_table``); ``Unfittable`` says why not."""
    fits = fit_table(trials, models, objective, missing, **options)
    if fits.empty:
        raise Unfittable(next(iter(fits.attrs["skipped"].values()), "no trials"))
    return fits
