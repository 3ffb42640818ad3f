"""The learning-curve choice models of ``garden networks fit`` on the published 2018 data.

All 583 participants' trials (``bench_matched.published_trials``), their static Bernoulli fits
(``fit_table`` of ``CHOICE_MODELS``, timed apart), then ``fit_learning`` of both learning models
(``LEARNING_MODELS``): CPU and wall seconds. Side by side in the same run, the loss the fit
evaluates (``LearningBatch.nll`` at every person's ten starts) computed two ways: the static model
once per condition a person saw and read out per trial (``LearningBatch.p``, what the fit runs) and
per trial (the psychometric equation at each of some 600 trials: the arithmetic before); equal to
the bit, each timed over ``REPEATS`` evaluations. Skipped when the published data are absent.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.bench_matched import published_trials

REPEATS = 20
"""Evaluations of the loss timed per way (one evaluation: every person at every start)."""


def _per_trial_nll(batch, theta: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``batch.nll`` with the static model evaluated at every trial (the reference)."""
    from garden.modeling.models import psychometric
    from garden.modeling.objectives import P_FLOOR

    condition = batch.condition[rows]
    context = np.take_along_axis(batch.condition_context[rows], condition, axis=1)
    x = np.take_along_axis(batch.condition_x[rows], condition[..., None], axis=1)
    cp = batch.model.context_params(theta[:, :-1])

    def per_trial(values: np.ndarray) -> np.ndarray:
        return np.take_along_axis(values, context, axis=1)

    static = psychometric(x[..., 0], x[..., 1], per_trial(batch.base[rows] + np.deg2rad(cp["delta"])),
                          per_trial(cp["slope"]), per_trial(cp["offset"]), per_trial(cp["lapse"]))
    p = np.clip(0.5 + (static - 0.5) * -np.expm1(-batch.experience[rows] / 10.0 ** theta[:, -1:]),
                P_FLOOR, 1 - P_FLOOR)
    c = batch.choice[rows]
    return -np.where(batch.scored[rows], c * np.log(p) + (1 - c) * np.log1p(-p), 0.0).sum(axis=1)


def _cpu_of(evaluate) -> float:
    start = time.process_time()
    for _ in range(REPEATS):
        evaluate()
    return time.process_time() - start


def _side_by_side(trials, static_fits) -> dict:
    """Per-condition against per-trial loss on every person's starts, per learning model."""
    from garden.modeling.learning_curve import learning_problems

    out = {}
    for name, _, batch, protected, grid in learning_problems(trials, static_fits):
        starts = np.concatenate([protected, grid], axis=1)
        theta = starts.reshape(-1, starts.shape[-1])
        rows = np.repeat(np.arange(starts.shape[0]), starts.shape[1])
        assert np.array_equal(batch.nll(theta, rows), _per_trial_nll(batch, theta, rows)), name
        per_condition = _cpu_of(lambda: batch.nll(theta, rows))
        per_trial = _cpu_of(lambda: _per_trial_nll(batch, theta, rows))
        out[name] = {"evaluations": REPEATS, "parameter_vectors": len(theta), "trials": batch.condition.shape[1],
                     "conditions": batch.condition_context.shape[1], "per_condition_cpu_s": round(per_condition, 2),
                     "per_trial_cpu_s": round(per_trial, 2), "ratio": round(per_trial / per_condition, 2),
                     "equal": True}
    return out


def main() -> dict:
    """Time the static and learning fits of the 583 people, and the loss two ways side by side."""
    from garden.analysis.networks.person_fits import CHOICE_MODELS
    from garden.modeling.learning_curve import LEARNING_MODELS, fit_learning
    from garden.modeling.psychometric import fit_table

    trials = published_trials()
    if trials is None:
        return {"skipped": "published data (shared/data/flesch2018) not found"}
    cpu = time.process_time()
    static = fit_table(trials, CHOICE_MODELS)
    static_cpu = time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    learning = fit_learning(trials, static, LEARNING_MODELS)
    result = {"participants": int(trials["participant_id"].nunique()), "learning_fits": len(learning),
              "static_fit_cpu_s": round(static_cpu, 2), "learning_fit_cpu_s": round(time.process_time() - cpu, 2),
              "learning_fit_wall_s": round(time.perf_counter() - start, 2),
              "converged_fraction": round(float(learning["converged"].mean()), 4)}
    result["loss"] = _side_by_side(trials, static)
    return result
