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

Sampler: per participant ``N_CHAINS`` chains of random-walk Metropolis in unconstrained
coordinates: each parameter's bound range mapped to the real line by the logit,
z = logit((theta - lo) / (hi - lo)), the log Jacobian log |d theta / d z| added to the log density
(``_Coordinates``). The Gaussian proposal is symmetric in z, so the plain Metropolis ratio is
exact, at the bounds too (no reflection). Chains start from dispersed points: the maximum
likelihood fit in z plus N(0, ``START_SD``^2) per coordinate. During warm-up the proposal's
covariance is re-estimated from the chains at doubling window ends (``ADAPT_AT``), scaled by
2.38^2 / k (Roberts, Gelman & Gilks 1997) and by the window's acceptance rate relative to 0.234;
then ``N_DRAWS`` iterations, every ``THIN``-th kept. Convergence: rank-normalised split R-hat
(the larger of bulk and folded) and bulk and tail effective sample sizes (Vehtari, Gelman,
Simpson, Carpenter & Bürkner 2021, Bayesian Analysis 16:667), per parameter; a participant with
R-hat above ``RHAT_TARGET`` is sampled again ``LONGER`` times as long and its diagnostics are
recomputed on the new draws. The diagnostics are written here, batched over participants, because
ArviZ's (arviz-stats) loop over parameters in Python (14 s for the R-hat of 3 000 parameters
against ~0.1 s); tests check that they equal arviz-stats'.

Why not a library: emcee, PyMC or Stan sample one posterior at a time (~1 ms per likelihood call
in Python, hours for a recovery study); the batched sampler evaluates thousands of independent
small posteriors in one numpy call per step (``Batch.nll``), a few seconds for 64 participants
x 4 chains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.fft import next_fast_len
from scipy.special import expit, ndtri
from scipy.stats import rankdata

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
START_SD = 1.0
"""SD (logit units) of the chains' start points around the fit: dispersed against most posteriors."""
FIT_LIMIT = 5.0
"""A fit at a bound (logit infinite) starts its chains around logit +-FIT_LIMIT instead."""
INITIAL_STEP = 0.1
"""Proposal SD (logit units) before the first adaptation."""
TARGET_ACCEPT = 0.234
LEVEL = 0.95
RHAT_TARGET = 1.01
"""A participant whose largest rank-normalised R-hat is above this is sampled again, ``LONGER``
times as long (the same number of draws kept, thinned more) ..."""
LONGER = 4
"""... and its R-hat and ESS recomputed on the new draws."""


@dataclass
class Posterior:
    """Per participant: equal-tailed ``LEVEL`` intervals (P, k, 2), posterior medians (P, k),
    rank-normalised split R-hat (P, k), bulk and tail effective sample sizes (P, k) of each
    parameter and the iterations per chain after warm-up (P,)."""

    intervals: np.ndarray
    median: np.ndarray
    rhat: np.ndarray
    ess_bulk: np.ndarray
    ess_tail: np.ndarray
    iterations: np.ndarray


class _Coordinates:
    """The sampler's coordinates: z = logit((theta - lo) / (hi - lo)) per parameter, so every z is
    allowed and a symmetric proposal stays symmetric; the log Jacobian joins the log density."""

    def __init__(self, batch: Batch):
        self.lo, self.hi = batch.bounds[:, 0], batch.bounds[:, 1]

    def forward(self, theta: np.ndarray) -> np.ndarray:
        unit = (theta - self.lo) / (self.hi - self.lo)
        with np.errstate(divide="ignore"):
            return np.clip(np.log(unit) - np.log1p(-unit), -FIT_LIMIT, FIT_LIMIT)

    def backward(self, z: np.ndarray) -> np.ndarray:
        return self.lo + (self.hi - self.lo) * expit(z)

    @staticmethod
    def log_jacobian(z: np.ndarray) -> np.ndarray:
        """log |d theta / d z| (R,) = sum of log sigma(z) + log sigma(-z) (the constant log of the
        bound ranges left out)."""
        return (-np.logaddexp(0.0, -z) - np.logaddexp(0.0, z)).sum(axis=1)


def log_jeffreys(information: np.ndarray) -> np.ndarray:
    """log of the Jeffreys prior density (R,), up to a constant, from the expected information
    (R, k, k) (``Batch.expected_information``): 0.5 log det; -inf where it is singular (slope 0)."""
    sign, logdet = np.linalg.slogdet(information)
    return np.where(sign > 0, 0.5 * logdet, -np.inf)


def sample(batch: Batch, theta: np.ndarray, rng: np.random.Generator, participants: np.ndarray | None = None,
           longer: int = 1) -> np.ndarray:
    """Posterior draws (P, N_CHAINS, N_DRAWS // THIN, k) for the participants ``participants``
    of ``batch`` (default: all), the chains started dispersed around their fitted ``theta`` (P, k);
    ``longer``: that many times ``N_DRAWS`` iterations, thinned that many times more."""
    n_part, k = theta.shape
    space = _Coordinates(batch)
    local = np.repeat(np.arange(n_part), N_CHAINS)                   # row -> position in theta
    rows = local if participants is None else np.asarray(participants)[local]   # row -> participant of batch
    thin = THIN * longer

    def energy(z: np.ndarray) -> np.ndarray:
        """-log posterior (up to a constant) in the sampler's coordinates."""
        nll, information = batch.nll_and_information(space.backward(z), rows)
        return np.nan_to_num(nll - log_jeffreys(information) - space.log_jacobian(z), nan=np.inf)

    z = space.forward(theta[local]) + rng.normal(0.0, START_SD, (len(rows), k))
    f = energy(z)
    chol = np.broadcast_to(np.eye(k) * INITIAL_STEP, (n_part, k, k)).copy()
    window, accepted, last = [], np.zeros(len(rows)), 0
    kept = []
    for it in range(N_WARMUP + longer * N_DRAWS):
        proposal = z + np.einsum("rij,rj->ri", chol[local], rng.standard_normal((len(rows), k)))
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


def _split(draws: np.ndarray) -> np.ndarray:
    """(P, C, n, k) -> (P, k, 2C, n // 2): each chain halved, parameters before chains."""
    half = draws.shape[2] // 2
    return np.concatenate([draws[:, :, :half], draws[:, :, half:2 * half]], axis=1).transpose(0, 3, 1, 2)


def _z_scale(chains: np.ndarray) -> np.ndarray:
    """Rank-normalised values (..., C, n): normal scores of the ranks over all chains' draws
    (ties averaged), (rank - 3/8) / (S + 1/4)."""
    shape = chains.shape
    flat = chains.reshape(shape[:-2] + (-1,))
    ranks = rankdata(flat, axis=-1)
    return ndtri((ranks - 0.375) / (flat.shape[-1] + 0.25)).reshape(shape)


def _rhat(chains: np.ndarray) -> np.ndarray:
    """Potential scale reduction (...) of chains (..., C, n) (BDA3 eq. 11.4); NaN if constant."""
    n = chains.shape[-1]
    within = chains.var(axis=-1, ddof=1).mean(axis=-1)
    between = n * chains.mean(axis=-1).var(axis=-1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(((n - 1) / n * within + between / n) / within)


def split_rhat(draws: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat (P, k) of draws (P, chains, n, k): the larger of the bulk R-hat
    (of the normal scores of the ranks) and the tail R-hat (of those of |draw - median|), as
    arviz-stats' ``rhat(method="rank")``; 1 at convergence, NaN for a constant parameter."""
    chains = _split(draws)
    folded = np.abs(chains - np.median(chains.reshape(chains.shape[:2] + (-1,)), axis=-1)[..., None, None])
    return np.fmax(_rhat(_z_scale(chains)), _rhat(_z_scale(folded)))


def _ess(chains: np.ndarray) -> np.ndarray:
    """Effective sample size (...) of chains (..., C, n) by Geyer's initial monotone sequence of
    autocorrelations from FFT autocovariances, as arviz-stats' ``ess`` (the draw count for a
    constant)."""
    n_chain, n = chains.shape[-2:]
    m = next_fast_len(2 * n)
    centred = chains - chains.mean(axis=-1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=m, axis=-1)
    acov = np.fft.irfft(spectrum * np.conjugate(spectrum), n=m, axis=-1)[..., :n] / n
    mean_var = acov[..., 0].mean(axis=-1) * n / (n - 1)
    var_plus = mean_var * (n - 1) / n + chains.mean(axis=-1).var(axis=-1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = 1.0 - (mean_var[..., None] - acov.mean(axis=-2)) / var_plus[..., None]
    rho[..., 0] = 1.0
    last = (n - 3) // 2                                                  # the last pair looked at: left out
    pairs = rho[..., 0:2 * last:2] + rho[..., 1:2 * last:2]
    kept = np.cumprod(pairs[..., 1:] >= 0, axis=-1).astype(bool)         # Geyer: up to the first negative pair
    kept = np.concatenate([np.ones(kept.shape[:-1] + (1,), bool), kept], axis=-1)
    monotone = np.minimum.accumulate(pairs, axis=-1)
    first_out = kept.sum(axis=-1)                                        # index of the first pair left out
    even = np.take_along_axis(rho, 2 * first_out[..., None], axis=-1)[..., 0]
    tau = -1.0 + 2.0 * np.where(kept, monotone, 0.0).sum(axis=-1) + np.where(even > 0, even, 0.0)
    tau = np.maximum(tau, 1.0 / np.log10(n_chain * n))
    constant = np.ptp(chains.reshape(chains.shape[:-2] + (-1,)), axis=-1) < np.finfo(float).resolution
    return np.where(constant, n_chain * n, n_chain * n / tau)


def effective_sample_sizes(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bulk and tail ESS (P, k) of draws (P, chains, n, k): the ESS of the rank-normalised split
    chains, and the smaller of those of the indicators of the 5 % and 95 % quantiles (as
    arviz-stats' ``ess(method="bulk")`` / ``ess(method="tail")``)."""
    chains = _split(draws)
    flat = chains.reshape(chains.shape[:2] + (-1,))
    tails = [_ess((chains <= np.quantile(flat, q, axis=-1)[..., None, None]).astype(float)) for q in (0.05, 0.95)]
    return _ess(_z_scale(chains)), np.minimum(*tails)


def posterior_summary(batch: Batch, theta: np.ndarray, rng: np.random.Generator) -> Posterior:
    """Equal-tailed ``LEVEL`` intervals, medians, R-hat and ESS of every participant's posterior
    (``sample``), the chains started dispersed around the maximum-likelihood fits ``theta`` (P, k);
    participants whose chains have not mixed (R-hat above ``RHAT_TARGET``) are sampled ``LONGER``
    times as long and their diagnostics recomputed."""
    draws = sample(batch, theta, rng)
    rhat = split_rhat(draws)
    iterations = np.full(len(theta), N_DRAWS)
    again = np.flatnonzero(np.nan_to_num(rhat, nan=1.0).max(axis=1) > RHAT_TARGET)
    if len(again):
        draws[again] = sample(batch, theta[again], rng, again, LONGER)
        rhat[again] = split_rhat(draws[again])
        iterations[again] = LONGER * N_DRAWS
    bulk, tail = effective_sample_sizes(draws)
    flat = draws.reshape(draws.shape[0], -1, draws.shape[3])
    tail_mass = 100 * (1 - LEVEL) / 2
    intervals = np.stack([np.percentile(flat, tail_mass, axis=1), np.percentile(flat, 100 - tail_mass, axis=1)],
                         axis=-1)
    return Posterior(intervals, np.median(flat, axis=1), rhat, bulk, tail, iterations)
