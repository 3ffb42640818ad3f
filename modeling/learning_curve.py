"""Choice models with a learning curve: a person whose choices move from chance to the model.

A static choice model (``garden.modeling.models``: factorized, linear) predicts the same p(accept)
for a tree on the first trial and the last. A person who learns gradually is fitted worse by it
than by anything with a learning curve, e.g. a network trained through their sequence, so a
network can win the comparison for the wrong reason (docs/networks.md, "Agents that learn").
These baselines add the learning curve of ``garden.modeling.agents``' ``learner``:

    p_t = 1/2 + (p_model - 1/2) * (1 - exp(-e_t / tau))

with e_t the number of trials *with feedback* the person has had before trial t (learning needs
feedback; the agent counts trials, the same during training) and tau (trials) a fitted time
constant. ``fit_learning`` fits, per person, the static model's parameters and log10 tau by the
trial-level Bernoulli likelihood (the project's batched bounded Nelder-Mead,
``garden.modeling.optimise.search``, started from the static fit), k = static k + 1 for the BIC.
Named ``<model>_learning`` (ours; not a model of Flesch et al. 2018).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from garden.modeling.cells import CellData, centred_features, participant_cells
from garden.modeling.models import MODELS, Model, psychometric
from garden.modeling.objectives import P_FLOOR
from garden.modeling.optimise import search

LEARNING_MODELS = ("factorized_learning", "linear_learning")
"""Names of the learning-curve baselines: ``<static model>_learning``."""
SUFFIX = "_learning"
LOG_TAU_BOUNDS = (-1.0, 3.5)
"""log10 of the time constant (feedback trials): 0.1 (the static model from the second trial) to
~3000 (near chance through a 400-trial training phase)."""
LOG_TAU_STARTS = (1.0, 1.5, 2.0, 2.5)
SLOPE_STARTS = (1.0, 2.0)
"""Grid starts: the static fit with these log10 tau and slope multiples (a slower learner needs a
steeper asymptote for the same mean accuracy)."""


def experience(person: pd.DataFrame) -> np.ndarray:
    """(n,) feedback trials before each trial of one person's trials (in their order)."""
    shown = person["feedback"].to_numpy(float) if "feedback" in person.columns else np.ones(len(person))
    return np.concatenate([[0.0], np.cumsum(np.nan_to_num(shown))[:-1]])


def conditions(context: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each person's distinct (context, x) rows, from their trials' context index (P, T) and centred
    features x (P, T, 2): (condition (P, T): each trial's index among them, their context (P, C), their x
    (P, C, 2)); C the most any person has, a person with fewer repeating their first (never read)."""
    found = [np.unique(rows, axis=0, return_inverse=True) for rows in np.concatenate([context[..., None], x], axis=2)]
    width = max(len(unique) for unique, _ in found)
    padded = np.stack([np.concatenate([u, np.repeat(u[:1], width - len(u), axis=0)]) for u, _ in found])
    return np.stack([inverse.reshape(-1) for _, inverse in found]), padded[..., 0].astype(int), padded[..., 1:]


class LearningBatch:
    """People's trials, in order and padded to one length, for one static model with a learning curve.

    ``nll(theta, rows)``: theta (R, k + 1) = the static model's parameters and log10 tau; what
    ``garden.modeling.optimise.search`` needs, with ``bounds`` (k + 1, 2). The static model is evaluated
    once per condition a person saw (context x tree, ``conditions``: at most 50, against some 600 trials),
    then read out per trial: the same values as evaluating it per trial, with a twelfth of its arithmetic.
    """

    def __init__(self, model: Model, data: list[CellData], people: list[pd.DataFrame]):
        self.model = model
        self.bounds = np.vstack([model.bounds(), [LOG_TAU_BOUNDS]])
        self.base = np.array([d.rules.base_angles(model.base) for d in data])       # (P, 2) rad
        length = max(len(p) for p in people)
        shape = (len(people), length)
        context, x = np.zeros(shape, int), np.zeros(shape + (2,))
        self.choice, self.scored, self.experience = np.zeros(shape), np.zeros(shape, bool), np.zeros(shape)
        for i, (d, person) in enumerate(zip(data, people)):
            n = len(person)
            context[i, :n] = np.where(person["context"].astype(str).to_numpy() == d.rules.contexts[0], 0, 1)
            x[i, :n] = centred_features(person)
            choice = person["choice"].to_numpy(float)
            self.scored[i, :n] = np.isfinite(choice)
            self.choice[i, :n] = np.nan_to_num(choice)
            self.experience[i, :n] = experience(person)
        self.condition, self.condition_context, self.condition_x = conditions(context, x)

    def p(self, theta: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """p(accept) (R, T) of every trial under parameter vectors theta (R, k + 1) of people ``rows``."""
        cp = self.model.context_params(theta[:, :-1])
        ctx = self.condition_context[rows]

        def per_condition(values: np.ndarray) -> np.ndarray:
            return np.take_along_axis(values, ctx, axis=1)

        angle = per_condition(self.base[rows] + np.deg2rad(cp["delta"]))
        x = self.condition_x[rows]
        static = psychometric(x[..., 0], x[..., 1], angle, per_condition(cp["slope"]), per_condition(cp["offset"]),
                              per_condition(cp["lapse"]))
        p = np.take_along_axis(static, self.condition[rows], axis=1)
        progress = -np.expm1(-self.experience[rows] / 10.0 ** theta[:, -1:])
        return 0.5 + (p - 0.5) * progress

    def nll(self, theta: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Bernoulli NLL (R,) of the scored choices of people ``rows``."""
        p = np.clip(self.p(theta, rows), P_FLOOR, 1 - P_FLOOR)
        c = self.choice[rows]
        return -np.where(self.scored[rows], c * np.log(p) + (1 - c) * np.log1p(-p), 0.0).sum(axis=1)


def _starts(model: Model, static: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Protected starts (P, 1, k + 1): the static fit, tau at its lower bound; grid starts (P, g, k + 1)."""
    protected = np.concatenate([static, np.full((len(static), 1), LOG_TAU_BOUNDS[0])], axis=1)[:, None, :]
    slope = [j for j, (kind, _) in enumerate(model.free) if kind == "slope"]
    grid = []
    for log_tau in LOG_TAU_STARTS:
        for factor in SLOPE_STARTS:
            theta = static.copy()
            theta[:, slope] = np.minimum(theta[:, slope] * factor, model.bounds()[slope, 1])
            grid.append(np.concatenate([theta, np.full((len(static), 1), log_tau)], axis=1))
    return protected, np.stack(grid, axis=1)


def learning_problems(trials: pd.DataFrame, static_fits: pd.DataFrame, models: Sequence[str] = LEARNING_MODELS
                      ) -> Iterator[tuple[str, list[CellData], LearningBatch, np.ndarray, np.ndarray]]:
    """What ``fit_learning`` searches, per ``<model>_learning`` of ``models`` with people in ``static_fits``:
    (its name, those people's cells, their ``LearningBatch``, the protected starts (P, 1, k + 1) and the grid
    starts (P, g, k + 1) from their static fits)."""
    trials = trials.assign(participant_id=trials["participant_id"].astype(str))
    data, _ = participant_cells(trials)
    ordered = {pid: p.sort_values(["session", "trial"], kind="stable")
               for pid, p in trials.groupby("participant_id", sort=False)}
    for name in models:
        model = MODELS[name.removesuffix(SUFFIX)]
        fits = static_fits[static_fits.model == model.name]
        fits = fits.set_index(fits.participant_id.astype(str))
        have = [d for d in data if d.participant_id in fits.index]
        if not have:
            continue
        static = np.array([model.theta(fits.loc[d.participant_id].to_dict(), d.rules.contexts) for d in have])
        yield name, have, LearningBatch(model, have, [ordered[d.participant_id] for d in have]), *_starts(model, static)


def fit_learning(trials: pd.DataFrame, static_fits: pd.DataFrame, models: Sequence[str] = LEARNING_MODELS
                 ) -> pd.DataFrame:
    """Fit each ``<model>_learning`` of ``models`` to every person of ``trials`` that ``static_fits``
    (``garden.modeling.psychometric.fit_table``, Bernoulli objective, with the static ``<model>``) holds.

    One row per person x model: participant_id, model, k, n_obs, nll, aic, bic, tau (feedback
    trials), log10_tau, converged, and the static model's parameters at the optimum.
    """
    rows = []
    for name, have, batch, protected, grid in learning_problems(trials, static_fits, models):
        model = batch.model
        theta, nll, converged = search(batch, protected, grid)
        for i, d in enumerate(have):
            k, n = model.k + 1, int(batch.scored[i].sum())
            rows.append({"participant_id": d.participant_id, "model": name, "k": k, "n_obs": n,
                         "nll": float(nll[i]), "aic": 2 * nll[i] + 2 * k, "bic": 2 * nll[i] + k * np.log(n),
                         "tau": float(10.0 ** theta[i, -1]), "log10_tau": float(theta[i, -1]),
                         "converged": bool(converged[i]),
                         **dict(zip(model.names(d.rules.contexts), theta[i, :-1].tolist()))})
    return pd.DataFrame(rows)
