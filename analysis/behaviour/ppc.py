"""Posterior predictive checks of the choice models over a group of participants.

Why: a model that wins the model comparison can still miss the data's shape; the check asks
whether data simulated from each participant's fitted model look like the observed data
(Gelman, Meng & Stern 1996). Ours, as implemented here: a *plug-in* check — the parameters are
fixed at each participant's maximum-likelihood fit (``garden.modeling.psychometric.fit_table``), not
drawn from a posterior, and replicates are not refitted. Because the fit has already adapted to
the observed data, the observed discrepancy is slightly smaller than a replicate's on average,
so plug-in p-values lean towards 1: a small p flags misfit; a large one is expected of a model
that fits.

Replicates: for every participant, condition (context x tree) and replicate, a binomial count
of accepts at that condition's observed number of answered trials with the model's p(accept).
Replicate r of every participant forms replicated group r. Statistics (per group and over all
participants):

* ``deviance``: the binomial deviance of the choice matrix, summed over conditions and
  participants, 2 Σ [k log(k / n p) + (n − k) log((n − k) / (n (1 − p)))]; p-value
  P(D_rep ≥ D_obs), one-sided (a misfit makes the observed deviance large).
* ``congruency_effect``: accuracy on congruent minus incongruent trees (conditions weighted by
  their trial counts; neutral trees, value 0 in either garden, left out), averaged over
  participants; p-value two-sided, 2 min(P(T_rep ≥ T_obs), P(T_rep ≤ T_obs)).

All p-values use the (1 + count) / (1 + n_replicates) convention, so none is 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from garden.analysis.behaviour.choices import predicted_cells
from garden.core.task import STEP_POINTS, correct_choice, values_congruency

N_REPLICATES = 500
"""Replicated datasets per model."""
STATISTICS = ("deviance", "congruency_effect")
CURVE_KEYS = ["group", "model", "feature", "context", "level"]


def replicate_counts(n_trials: np.ndarray, p_model: np.ndarray, n_replicates: int,
                     rng: np.random.Generator) -> np.ndarray:
    """(n_replicates x conditions) binomial counts of accepts at each condition's trial count."""
    return rng.binomial(np.asarray(n_trials, int)[None, :], np.clip(p_model, 0.0, 1.0)[None, :],
                        (n_replicates, len(n_trials)))


def binomial_deviance(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-condition binomial deviance of ``k`` accepts out of ``n`` against p(accept) ``p``
    (broadcasts over leading replicate axes; 0 log 0 = 0; p clipped to [1e-9, 1 - 1e-9])."""
    p = np.clip(p, 1e-9, 1 - 1e-9)
    k, n = np.asarray(k, float), np.asarray(n, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        accept = np.where(k > 0, k * np.log(k / (n * p)), 0.0)
        reject = np.where(n - k > 0, (n - k) * np.log((n - k) / (n * (1 - p))), 0.0)
    return 2.0 * (accept + reject)


def _membership(person: np.ndarray, n_people: int, weights: np.ndarray) -> sparse.csr_matrix:
    """Sparse (participants x conditions) matrix with ``weights`` where a condition is the participant's."""
    return sparse.csr_matrix((weights, (person, np.arange(len(person)))), shape=(n_people, len(person)))


def _congruency_contrast(cells: pd.DataFrame, person: np.ndarray, n_people: int) -> sparse.csr_matrix:
    """(participants x conditions) weights whose product with per-condition accuracy gives each
    participant's trial-weighted accuracy on congruent minus incongruent trees."""
    kind = values_congruency(cells["reward_value"], cells["other_value"])
    n = cells["n_trials"].to_numpy(float)
    out = []
    for label in ("congruent", "incongruent"):
        w = n * (kind == label)
        totals = np.bincount(person, weights=w, minlength=n_people)
        out.append(w / np.maximum(totals[person], 1e-12))
    return _membership(person, n_people, out[0] - out[1])


def _curve_weights(cells: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Psychometric-curve points (group, feature, context, level) and the matrix that averages
    conditions into them: first within each participant (as ``garden.analysis.behaviour.choices.psychometric_table``),
    then across the group's participants."""
    keys, rows = [], []
    for feature, column in (("relevant", "reward_value"), ("irrelevant", "other_value")):
        table = cells.assign(level=cells[column] / STEP_POINTS)
        for (group, context, level), part in table.groupby(["group", "context", "level"], sort=True):
            weights = np.zeros(len(cells))
            people = part.groupby("participant_id").groups
            for index in people.values():
                weights[np.asarray(index)] += 1.0 / (len(index) * len(people))
            keys.append({"group": group, "feature": feature, "context": context, "level": level})
            rows.append(weights)
    return pd.DataFrame(keys), np.array(rows)


def _p_upper(replicates: np.ndarray, observed: float) -> float:
    return float((1 + np.sum(replicates >= observed)) / (1 + len(replicates)))


def _p_two_sided(replicates: np.ndarray, observed: float) -> float:
    lower = (1 + np.sum(replicates <= observed)) / (1 + len(replicates))
    return float(min(1.0, 2 * min(_p_upper(replicates, observed), lower)))


def _accuracy(p_accept: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-condition accuracy from p(accept): p where accepting is correct, 1 − p where rejecting is."""
    return np.where(target == 1.0, p_accept, np.where(target == 0.0, 1.0 - p_accept, 0.0))


def model_check(cells: pd.DataFrame, fits: pd.DataFrame, model: str, *, n_replicates: int,
                rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """The check of one model: ``curves`` (observed and predicted psychometric points with the
    2.5/97.5 % band of the replicated group means), ``summary`` (per group and 'all': statistic,
    observed, replicate mean and 2.5/97.5 %, p_value) and ``participants`` (per participant:
    deviance observed, replicate mean, p_value). Empty tables when nobody has a fit of ``model``."""
    predicted = predicted_cells(cells, fits, model)
    if predicted.empty:
        return {}
    keys = ["participant_id", "context", "branchiness", "leafiness"]
    data = cells.merge(predicted[keys + ["p_model"]], on=keys)
    data = data[data["n_trials"] > 0].reset_index(drop=True)
    data = data.assign(group=data["group"].astype(str) if "group" in data else "all")
    n, p_obs, p_model = (data[c].to_numpy(float) for c in ("n_trials", "p_accept", "p_model"))
    k_obs = np.rint(p_obs * n)
    k_rep = replicate_counts(n, p_model, n_replicates, rng)
    p_rep = k_rep / n[None, :]
    curves = _curves(data, p_obs, p_model, p_rep).assign(model=model)
    deviance_obs, deviance_rep = binomial_deviance(k_obs, n, p_model), binomial_deviance(k_rep, n, p_model)
    target = correct_choice(data["reward_value"])
    people, person = np.unique(data["participant_id"].to_numpy().astype(str), return_inverse=True)
    member = _membership(person, len(people), np.ones(len(person)))
    contrast = _congruency_contrast(data, person, len(people))
    effect_obs = contrast @ _accuracy(p_obs, target)
    effect_rep = (contrast @ _accuracy(p_rep, target[None, :]).T).T
    dev_person_obs, dev_person_rep = member @ deviance_obs, (member @ deviance_rep.T).T
    groups = dict(zip(data["participant_id"].astype(str), data["group"]))
    person_group = np.array([groups[p] for p in people])
    summary = []
    for group in ["all", *sorted(set(person_group))]:
        chosen = np.ones(len(people), bool) if group == "all" else person_group == group
        for statistic, observed, replicates, p_value in (
                ("deviance", dev_person_obs[chosen].sum(), dev_person_rep[:, chosen].sum(axis=1), _p_upper),
                ("congruency_effect", effect_obs[chosen].mean(), effect_rep[:, chosen].mean(axis=1), _p_two_sided)):
            summary.append({"group": group, "model": model, "statistic": statistic,
                            "n_participants": int(chosen.sum()), "observed": float(observed),
                            "replicate_mean": float(replicates.mean()),
                            "replicate_lo": float(np.percentile(replicates, 2.5)),
                            "replicate_hi": float(np.percentile(replicates, 97.5)),
                            "p_value": p_value(replicates, float(observed)), "n_replicates": n_replicates})
    person = pd.DataFrame({"participant_id": people, "group": person_group, "model": model,
                           "deviance": dev_person_obs, "replicate_mean": dev_person_rep.mean(axis=0),
                           "p_value": [_p_upper(dev_person_rep[:, i], dev_person_obs[i]) for i in range(len(people))]})
    return {"curves": curves, "summary": pd.DataFrame(summary), "participants": person}


def _curves(data: pd.DataFrame, p_obs: np.ndarray, p_model: np.ndarray, p_rep: np.ndarray) -> pd.DataFrame:
    points, weights = _curve_weights(data)
    band = p_rep @ weights.T
    return points.assign(p_accept=weights @ p_obs, p_model=weights @ p_model,
                         band_lo=np.percentile(band, 2.5, axis=0), band_hi=np.percentile(band, 97.5, axis=0))


def predictive_checks(cells: pd.DataFrame, fits: pd.DataFrame, models: Sequence[str], *,
                      n_replicates: int = N_REPLICATES, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Plug-in posterior predictive checks of every model in ``models`` (see the module docstring).

    ``cells``: an ``garden.analysis.behaviour.choices.cell_table``; ``fits``: a ``garden.modeling.psychometric.fit_table``
    of the same trials. Returns ``ppc_curves`` (group, model, feature, context, level: observed
    ``p_accept``, predicted ``p_model``, ``band_lo``/``band_hi``), ``ppc_summary`` (group, model,
    statistic, observed, replicate mean and 95 % range, p_value, n_replicates) and
    ``ppc_participants`` (the deviance check per participant). Seeded by ``seed``: one generator
    draws every model's replicates in the order of ``models``.
    """
    rng = np.random.default_rng(seed)
    checks = [model_check(cells, fits, m, n_replicates=n_replicates, rng=rng) for m in models]
    checks = [c for c in checks if c]
    if not checks:
        return {}
    order = {"curves": ("ppc_curves", CURVE_KEYS), "summary": ("ppc_summary", None),
             "participants": ("ppc_participants", None)}
    out = {}
    for part, (name, columns) in order.items():
        table = pd.concat([c[part] for c in checks], ignore_index=True)
        if columns:
            table = table[columns + [c for c in table.columns if c not in columns]]
        out[name] = table.assign(seed=seed)
    return out
