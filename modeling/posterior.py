"""Posterior intervals of choice-model parameters: the Jeffreys prior on the parameter bounds and
a batched adaptive random-walk Metropolis sampler over all participants at once.

Prior: Jeffreys', density proportional to sqrt(det I(theta)) (I the expected information of the
Bernoulli likelihood at the participant's cells, ``Batch.expected_information``), restricted to
the model's bounds (delta [-90, 90] deg, slope [0, 20], offset [-1, 1], lapse [0, 0.5]). Why
Jeffreys: it does not depend on how the parameters are written (degrees or radians, slope or log
slope), and its posterior intervals have close to nominal frequentist coverage (for one
parameter, first-order probability matching: Welch & Peers 1963). Measured on simulated agents
(docs/modeling.md): a flat prior on the bounds gave 32 of 34 cells in 93-97 % (lapse of
factorized_full 0.924 / 0.928: the flat prior's mass at steep slopes pulls the lapse up), a
log-uniform slope prior over-covered the slope (up to 0.988). Equal-tailed 95 % intervals
(2.5 / 97.5 percentiles of the draws) are proper where profile and Wald intervals are not: when
the likelihood is flat up to a bound (near-deterministic choices: slope at 20, lapse at 0), the
chi-square calibration of the profile fails and Wald SEs do not exist, while the posterior
simply spreads to the bound.

Sampler: per participant ``N_CHAINS`` chains in unit coordinates (each bound range mapped to
[0, 1]; proposals reflected at its ends, which keeps them symmetric; the slope on the log scale,
``_Coordinates``), started at the maximum likelihood fit jittered by ``START_JITTER``; during
warm-up the Gaussian proposal's covariance is re-estimated from the chains at doubling window
ends (``ADAPT_AT``), scaled by 2.38^2 / k (Roberts, Gelman & Gilks 1997) and by the window's
acceptance rate relative to 0.234; then ``N_DRAWS`` iterations, every ``THIN``-th kept.
Convergence: the split R-hat of each parameter (Gelman et al., Bayesian Data Analysis, 3rd ed.,
section 11.4), reported with the intervals; a participant with R-hat above ``RHAT_TARGET`` is
sampled again ``LONGER`` times as long.

Why not a library: emcee, PyMC or Stan sample one posterior at a time (~1 ms per likelihood call
in Python, hours for a recovery study); the batched sampler evaluates thousands of independent
small posteriors in one numpy call per step (``Batch.nll``), a few seconds for 64 participants
x 4 chains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from garden.modeling.optimise import Batch

N_CHAINS = 4
"""Chains per participant."""
N_WARMUP = 2000
"""Warm-up (adaptation) iterations, discarded."""
N_DRAWS = 4000
"""Iterations after warm-up ..."""
THIN = 4
"""... of which every THIN-th is kept (1 000 draws per chain)."""
ADAPT_AT = (100, 200, 400, 800, 1600, 2000)
"""Warm-up iterations after which the proposal is re-estimated from the window since the last one."""
START_JITTER = 0.05
"""SD (in units of each bound range) of the chains' start points around the fit."""
INITIAL_STEP = 0.02
"""Proposal SD (units of each bound range) before the first adaptation."""
TARGET_ACCEPT = 0.234
LEVEL = 0.95
RHAT_TARGET = 1.01
"""A participant whose largest split R-hat is above this is sampled again, ``LONGER`` times as
long (the same number of draws kept, thinned more) ..."""
LONGER = 4
"""... (on 60 people of the 2018 data, factorized: R-hat > 1.01 for 47 % at the default length,
for 5 % and at most 1.012 four times as long)."""


@dataclass
class Posterior:
    """Per participant: equal-tailed ``LEVEL`` intervals (P, k, 2), posterior medians (P, k),
    split R-hat (P, k) of each parameter and the iterations per chain after warm-up (P,)."""

    intervals: np.ndarray
    median: np.ndarray
    rhat: np.ndarray
    iterations: np.ndarray


class _Coordinates:
    """The sampler's coordinates: each bound range mapped to [0, 1] (proposals reflected at both
    ends), except a slope with lower bound 0, sampled as z = log(slope / upper bound) <= 0
    (reflected at 0): its posterior is often long-tailed towards the bound, which log steps cross
    in few moves. The prior is a density in slope, so the Jacobian log(slope) joins the log density."""

    def __init__(self, batch: Batch):
        self.lo, self.hi = batch.bounds[:, 0], batch.bounds[:, 1]
        self.log = np.array([kind == "slope" and lo == 0.0 for (kind, _), lo in zip(batch.model.free, self.lo)])

    def forward(self, theta: np.ndarray) -> np.ndarray:
        unit = (theta - self.lo) / (self.hi - self.lo)
        log = np.log(np.maximum(theta, 1e-3 * self.hi) / self.hi)  # a fitted slope of 0 starts at 1e-3 x bound
        return np.where(self.log, log, unit)

    def backward(self, z: np.ndarray) -> np.ndarray:
        return np.where(self.log, self.hi * np.exp(np.minimum(z, 0.0)), self.lo + z * (self.hi - self.lo))

    def fold(self, z: np.ndarray) -> np.ndarray:
        unit = np.abs(z) % 2.0
        return np.where(self.log, -np.abs(z), np.where(unit > 1.0, 2.0 - unit, unit))

    def log_jacobian(self, z: np.ndarray) -> np.ndarray:
        """log |d theta / d z| (R,): log slope for the log-scale slopes (the constant log of the
        bound ranges left out)."""
        return np.where(self.log, z, 0.0).sum(axis=1)


def log_jeffreys(information: np.ndarray) -> np.ndarray:
    """log of the Jeffreys prior density (R,), up to a constant, from the expected information
    (R, k, k) (``Batch.expected_information``): 0.5 log det; -inf where it is singular (slope 0)."""
    sign, logdet = np.linalg.slogdet(information)
    return np.where(sign > 0, 0.5 * logdet, -np.inf)


def sample(batch: Batch, theta: np.ndarray, rng: np.random.Generator, participants: np.ndarray | None = None,
           longer: int = 1) -> np.ndarray:
    """Posterior draws (P, N_CHAINS, N_DRAWS // THIN, k) for the participants ``participants``
    of ``batch`` (default: all), the chains started around their fitted ``theta`` (P, k);
    ``longer``: that many times ``N_DRAWS`` iterations, thinned that many times more."""
    n_part, k = theta.shape
    space = _Coordinates(batch)
    local = np.repeat(np.arange(n_part), N_CHAINS)                   # row -> position in theta
    rows = local if participants is None else np.asarray(participants)[local]   # row -> participant of batch
    thin = THIN * longer

    def energy(z: np.ndarray) -> np.ndarray:
        """-log posterior (up to a constant) in the sampler's coordinates."""
        nll, information = batch.nll_and_information(space.backward(z), rows)
        return nll - log_jeffreys(information) - space.log_jacobian(z)

    z = space.fold(space.forward(theta[local]) + rng.normal(0.0, START_JITTER, (len(rows), k)))
    f = energy(z)
    chol = np.broadcast_to(np.eye(k) * INITIAL_STEP, (n_part, k, k)).copy()
    window, accepted, last = [], np.zeros(len(rows)), 0
    kept = []
    for it in range(N_WARMUP + longer * N_DRAWS):
        step = np.einsum("rij,rj->ri", chol[local], rng.standard_normal((len(rows), k)))
        proposal = space.fold(z + step)
        f_new = energy(proposal)
        take = np.log(rng.random(len(rows))) < f - f_new
        z[take], f[take] = proposal[take], f_new[take]
        if it < N_WARMUP:
            window.append(z.copy())
            accepted += take
            if it + 1 in ADAPT_AT:
                chol = _adapt(np.stack(window), accepted / (it + 1 - last), chol, n_part)
                window, accepted, last = [], np.zeros(len(rows)), it + 1
        elif (it - N_WARMUP) % thin == thin - 1:
            kept.append(space.backward(z))
    draws = np.stack(kept)                                                  # (n, P * C, k)
    return draws.reshape(len(kept), n_part, N_CHAINS, k).transpose(1, 2, 0, 3)


def _adapt(window: np.ndarray, accept: np.ndarray, chol: np.ndarray, n_part: int) -> np.ndarray:
    """New proposal Cholesky factors (P, k, k) from a warm-up window (n, P * C, k) of sampler
    coordinates and the chains' acceptance rates in it (P * C,)."""
    n, _, k = window.shape
    pooled = window.reshape(n, n_part, N_CHAINS, k).transpose(1, 0, 2, 3).reshape(n_part, n * N_CHAINS, k)
    centred = pooled - pooled.mean(axis=1, keepdims=True)
    cov = np.einsum("pni,pnj->pij", centred, centred) / (n * N_CHAINS - 1)
    rate = accept.reshape(n_part, N_CHAINS).mean(axis=1)
    factor = 2.38 ** 2 / k * np.clip(rate / TARGET_ACCEPT, 0.25, 4.0)
    cov = factor[:, None, None] * cov + 1e-10 * np.eye(k)
    ok = np.linalg.eigvalsh(cov)[:, 0] > 0
    out = chol.copy()
    out[ok] = np.linalg.cholesky(cov[ok])
    return out


def split_rhat(draws: np.ndarray) -> np.ndarray:
    """Split R-hat (P, k) of draws (P, chains, n, k): each chain halved, then the potential
    scale reduction sqrt(var+ / W) (BDA3 eq. 11.4); 1 at convergence, NaN for a constant parameter."""
    half = draws.shape[2] // 2
    chains = np.concatenate([draws[:, :, :half], draws[:, :, half:2 * half]], axis=1)
    within = chains.var(axis=2, ddof=1).mean(axis=1)
    between = half * chains.mean(axis=2).var(axis=1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(((half - 1) / half * within + between / half) / within)


def posterior_summary(batch: Batch, theta: np.ndarray, rng: np.random.Generator) -> Posterior:
    """Equal-tailed ``LEVEL`` intervals, medians and split R-hat of every participant's posterior
    (``sample``), the chains started at the maximum-likelihood fits ``theta`` (P, k); participants
    whose chains have not mixed (R-hat above ``RHAT_TARGET``) are sampled ``LONGER`` times as long."""
    draws = sample(batch, theta, rng)
    rhat = split_rhat(draws)
    iterations = np.full(len(theta), N_DRAWS)
    again = np.flatnonzero(np.nan_to_num(rhat, nan=1.0).max(axis=1) > RHAT_TARGET)
    if len(again):
        draws[again] = sample(batch, theta[again], rng, again, LONGER)
        rhat[again] = split_rhat(draws[again])
        iterations[again] = LONGER * N_DRAWS
    flat = draws.reshape(draws.shape[0], -1, draws.shape[3])
    tail = 100 * (1 - LEVEL) / 2
    intervals = np.stack([np.percentile(flat, tail, axis=1), np.percentile(flat, 100 - tail, axis=1)], axis=-1)
    return Posterior(intervals, np.median(flat, axis=1), rhat, iterations)
