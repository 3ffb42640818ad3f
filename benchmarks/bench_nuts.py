"""A batched NUTS from a kept library (BlackJAX, on JAX) against garden's sampler, on the same posteriors.

The first ``GARDEN_BENCH_PARTICIPANTS`` (default 60) published participants of Exp 1a (test phase),
model ``factorized`` (5 parameters), Bernoulli likelihood, Jeffreys prior on the bounds, in the same
logit coordinates with their Jacobian (``garden.modeling.posterior``). NUTS: ``blackjax.nuts`` with
``blackjax.window_adaptation`` (step size and diagonal mass matrix), vmapped over participants x 4
chains and jit-compiled, 500 warm-up and 1 000 kept iterations per chain; its density is written in
JAX here (the model equation and the expected information by forward-mode differentiation), checked
against ``Batch.nll_and_information`` before sampling. garden: ``posterior_summary`` (its stopping
rule). Reported: CPU seconds (process time: all threads) with and without JAX's compilation, the
smallest bulk and tail ESS and largest R-hat per participant (median over participants), ESS per CPU
second, and the agreement of the two samplers' 95 % intervals (largest difference in units of the
interval's width). Needs ``pip install blackjax`` (not a dependency of garden); returns a note without.
"""

from __future__ import annotations

import os
import time

import numpy as np

from benchmarks.bench_fit import DATA

WARMUP, DRAWS, CHAINS = 500, 1000, 4


def _density(batch):
    """log posterior density of one participant in logit coordinates, in JAX: f(z, x, n, k, base)."""
    import jax
    import jax.numpy as jnp

    from garden.modeling.models import DEFAULTS
    lo, hi = jnp.asarray(batch.bounds[:, 0]), jnp.asarray(batch.bounds[:, 1])

    def p_all(theta, x, base):
        out = []
        for c in (0, 1):
            get = {kind: theta[batch.column[(kind, c)]] if (kind, c) in batch.column else DEFAULTS[kind]
                   for kind in ("delta", "slope", "offset", "lapse")}
            angle = base[c] + jnp.deg2rad(get["delta"])
            d = x[c, :, 0] * jnp.cos(angle) + x[c, :, 1] * jnp.sin(angle)
            out.append(get["lapse"] + (1 - 2 * get["lapse"]) * jax.nn.sigmoid(get["slope"] * (d - get["offset"])))
        return jnp.concatenate(out)

    def log_density(z, x, n, k, base):
        theta = lo + (hi - lo) * jax.nn.sigmoid(z)
        p = jnp.clip(p_all(theta, x, base), 1e-12, 1 - 1e-12)
        n, k = n.reshape(-1), k.reshape(-1)
        loglik = jnp.sum(k * jnp.log(p) + (n - k) * jnp.log1p(-p))
        jac = jax.jacfwd(p_all)(theta, x, base)
        info = jac.T @ (jac * (n / (p * (1 - p)))[:, None])
        sign, logdet = jnp.linalg.slogdet(info)
        prior = jnp.where(sign > 0, 0.5 * logdet, -jnp.inf)
        return loglik + prior + jnp.sum(jax.nn.log_sigmoid(z) + jax.nn.log_sigmoid(-z))
    return log_density


def _nuts(batch, z0: np.ndarray, rows: np.ndarray, seed: int) -> tuple[np.ndarray, float, float]:
    """Draws (R, DRAWS, k) of vmapped BlackJAX NUTS; CPU seconds of the first call (with
    compilation) and of a second call (compiled)."""
    import blackjax
    import jax
    import jax.numpy as jnp

    from garden.modeling.posterior import _Coordinates, log_jeffreys
    jax.config.update("jax_enable_x64", True)
    log_density = _density(batch)
    data = (np.stack(batch.x, axis=1)[rows], np.stack(batch.n_real, axis=1)[rows], np.stack(batch.k, axis=1)[rows],
            batch.base[rows])

    def one(key, z, x, n, k, base):
        def target(position):
            return log_density(position, x, n, k, base)
        warm, draw = jax.random.split(key)
        (state, params), _ = blackjax.window_adaptation(blackjax.nuts, target).run(warm, z, num_steps=WARMUP)
        step = blackjax.nuts(target, **params).step

        def scan(state, key):
            state, _ = step(key, state)
            return state, state.position
        return jax.lax.scan(scan, state, jax.random.split(draw, DRAWS))[1]

    space = _Coordinates(batch)
    nll, information = batch.nll_and_information(space.backward(z0), rows)
    np.testing.assert_allclose(np.asarray(jax.vmap(log_density)(jnp.asarray(z0), *map(jnp.asarray, data))),
                               -nll + log_jeffreys(information) + space.log_jacobian(z0), rtol=1e-9)
    run = jax.jit(jax.vmap(one))
    keys = jax.random.split(jax.random.key(seed), len(rows))
    times = []
    for _ in range(2):
        cpu = time.process_time()
        draws = np.asarray(run(keys, jnp.asarray(z0), *map(jnp.asarray, data)))
        times.append(time.process_time() - cpu)
    return draws, times[0], times[1]


def main() -> dict:
    """Both samplers on the same participants; timings, diagnostics, agreement."""
    try:
        import blackjax  # noqa: F401
    except ImportError:
        return {"note": "blackjax is not installed (pip install blackjax): no batched NUTS to compare"}
    if not (DATA / "exp1a_trials.csv.gz").exists():
        return {"note": f"published data not found at {DATA}"}
    from garden.modeling.cells import participant_cells
    from garden.modeling.flesch2018 import load_trials
    from garden.modeling.models import MODELS
    from garden.modeling.optimise import Batch
    from garden.modeling.posterior import _Coordinates, effective_sample_sizes, posterior_summary, split_rhat
    from garden.modeling.psychometric import fit_cells

    trials = load_trials(DATA, "exp1a", "test")
    n = int(os.environ.get("GARDEN_BENCH_PARTICIPANTS", 60))
    trials = trials[trials["participant_id"].isin(trials["participant_id"].unique()[:n])]
    data, _ = participant_cells(trials)
    batch = Batch(MODELS["factorized"], data, "bernoulli")
    theta = fit_cells(data, ["factorized"])["factorized"].theta
    cpu = time.process_time()
    ours = posterior_summary(batch, theta, np.random.default_rng(1))
    ours_cpu = time.process_time() - cpu

    rows = np.repeat(np.arange(len(data)), CHAINS)
    z0 = _Coordinates(batch).forward(theta[rows]) + np.random.default_rng(2).normal(0, 1, (len(rows), theta.shape[1]))
    draws, first_cpu, nuts_cpu = _nuts(batch, z0, rows, 3)
    theta_draws = _Coordinates(batch).backward(draws).reshape(len(data), CHAINS, DRAWS, -1)
    bulk, tail = effective_sample_sizes(theta_draws)
    rhat = split_rhat(theta_draws)
    flat = theta_draws.reshape(len(data), -1, theta.shape[1])
    nuts_interval = np.stack([np.percentile(flat, 2.5, axis=1), np.percentile(flat, 97.5, axis=1)], axis=-1)
    width = np.maximum(ours.intervals[..., 1] - ours.intervals[..., 0], 1e-12)
    gap = (np.abs(nuts_interval - ours.intervals).max(axis=-1) / width).max(axis=1)
    return {"participants": len(data), "model": "factorized", "load_average_1min": round(os.getloadavg()[0], 2),
            "garden": {"cpu_s": round(ours_cpu, 1), "iterations_median": float(np.median(ours.iterations)),
                       "ess_bulk_min_median": round(float(np.median(ours.ess_bulk.min(axis=1))), 1),
                       "ess_tail_min_median": round(float(np.median(ours.ess_tail.min(axis=1))), 1),
                       "rhat_max_median": round(float(np.median(np.nanmax(ours.rhat, axis=1))), 4),
                       "min_ess_per_cpu_s": round(float(ours.ess_bulk.min(axis=1).sum() / ours_cpu), 1)},
            "blackjax_nuts": {"cpu_s_first_call_with_compilation": round(first_cpu, 1), "cpu_s": round(nuts_cpu, 1),
                              "warmup": WARMUP, "draws": DRAWS,
                              "ess_bulk_min_median": round(float(np.median(bulk.min(axis=1))), 1),
                              "ess_tail_min_median": round(float(np.median(tail.min(axis=1))), 1),
                              "rhat_max_median": round(float(np.median(np.nanmax(rhat, axis=1))), 4),
                              "rhat_above_1.01": int((np.nanmax(rhat, axis=1) > 1.01).sum()),
                              "min_ess_per_cpu_s": round(float(bulk.min(axis=1).sum() / nuts_cpu), 1)},
            "interval_difference_in_widths": {"median": round(float(np.median(gap)), 3),
                                              "p90": round(float(np.quantile(gap, 0.9)), 3),
                                              "max": round(float(gap.max()), 3)}}
