"""Posterior intervals of choice-model parameters: the Jeffreys prior on the parameter bounds and
a batched Metropolis sampler (adaptive random walk + independence t proposals) over all participants at once.

Prior: Jeffreys', density proportional to sqrt(det I(theta)) (I the expected information of the
Bernoulli likelihood at the participant's cells, ``Batch.expected_information``), restricted to
the model's bounds (delta [-90, 90] deg, slope [0, 20], offset [-1, 1], lapse [0, 0.5]). Why
Jeffreys: it does not depend on how the parameters are written (degrees or radians, slope or log
slope), and its posterior intervals have close to nominal frequentist coverage (for one
parameter, first-order probability matching: Welch & Peers 1963). Measured on simulated agents
(docs/modeling.md): a flat prior on the bounds gave 32 of 34 cells in 93-97 % (lapse of
factorized_full 0.924 / 0.928: the flat prior's mass at steep slopes pulls the lapse up), a
log-uniform slope prior over-covered the slope (up to 0.988). With agents drawn from this prior
(simulation-based calibration, ``prior_draws``; 3 000 per model and trial count) the intervals cover
93-97 % in 34 of 34 cells over all fits, over the interior fits and over the fits at a bound: the
sampler is calibrated at a bound too, and the at-bound misses of realistic agents come from their not
following the prior. Equal-tailed 95 % intervals
(2.5 / 97.5 percentiles of the draws) are proper where profile and Wald intervals are not: when
the likelihood is flat up to a bound (near-deterministic choices: slope at 20, lapse at 0), the
chi-square calibration of the profile fails and Wald SEs do not exist, while the posterior
simply spreads to the bound. Also computed, measured against them and not adopted (docs/modeling.md:
no better coverage at a bound, worse in interior fits): shortest (highest-density) intervals, and
one-sided intervals from the bound to the 95th percentile where the posterior piles at a bound
(``interval_alternatives``).

Sampler: per participant ``N_CHAINS`` Metropolis chains in unconstrained coordinates: each
parameter's bound range mapped to the real line by the logit, z = logit((theta - lo) / (hi - lo)),
the log Jacobian log |d theta / d z| added to the log density (``_Coordinates``), so no reflection
at the bounds is needed. Chains start from dispersed points: the maximum likelihood fit in z plus
N(0, ``START_SD``^2) per coordinate. Warm-up (``N_WARMUP``): random-walk steps whose Gaussian
proposal covariance is re-estimated from the chains at ``ADAPT_AT``, scaled by 2.38^2 / k (Roberts,
Gelman & Gilks 1997) and by the window's acceptance rate relative to 0.234. After warm-up every
iteration is three Metropolis steps: a random-walk step in z; an independence Metropolis-Hastings
step whose proposal is a multivariate t (``T_DOF``) with the mean and covariance of the window
ending at the last adaptation (the Hastings ratio includes the proposal densities); and a random-walk
step on the parameters' own scale, theta + L eps (L L' = 2.38^2 / k times the covariance of theta over
the warm-up's window after the last adaptation), refused outside the bounds (the target is 0 there:
valid Metropolis, no reflection) and accepted on the density in theta, without the Jacobian. Each
kernel leaves the posterior invariant and is fixed after warm-up, so their composition does too. The
independence step makes draws of a near-Gaussian posterior nearly independent (on 60 published
participants the smallest bulk ESS per iteration and chain had median ~0.13, against ~0.04 for the
random walk alone); the natural-scale step crosses what the logit makes a barrier: the valley the
Jacobian digs before a posterior that rises steeply to a bound, and logit(lapse)'s long tail, where
a step of fixed size in z barely moves theta (measured, docs/modeling.md: R-hat above 1.01 for 41
instead of 80 of the 1 749 published fits, and for 1.97 % instead of 4.92 % of the factorized
parameters of agents drawn from the prior). Stopping rule (``posterior_summary``): after warm-up
the chains run in blocks of ``BLOCK`` iterations, every ``THIN``-th kept; a participant stops at
the first checked block end (``next_check``) where every parameter's bulk and tail ESS is at
least ``ESS_TARGET`` and its rank-normalised split R-hat (the larger of bulk and folded) at most
``RHAT_TARGET`` (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021, Bayesian Analysis 16:667), or
at ``MAX_DRAWS``, where its diagnostics say it has not converged. The diagnostics are written here,
batched over participants, because ArviZ's (arviz-stats) loop over parameters in Python (14 s for
the R-hat of 3 000 parameters against ~0.1 s); tests check that they equal arviz-stats'. Known
weaknesses (docs/modeling.md), fewer with the natural-scale step but not gone: a posterior that rises
steeply to a bound is nearly a mode of its own in logit coordinates, and fits at a bound start every
chain next to it; a chain deep in logit(lapse)'s tail can still stick; a thin secondary ridge (delta
at +-90 deg with a steep slope) is explored unevenly. R-hat flags most of those (they end at
``MAX_DRAWS``).

Why not a library: emcee, PyMC or Stan sample one posterior at a time (~1 ms per likelihood call
in Python, hours for a recovery study); the batched sampler evaluates thousands of independent
small posteriors in one numpy call per step (``Batch.nll_and_information``). BlackJAX's NUTS,
vmapped over participants x chains under JAX, is measured against it in ``benchmarks/bench_nuts.py``
(JAX is not a dependency of garden).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.fft import next_fast_len
from scipy.special import expit, ndtri

from garden.modeling.optimise import Batch

N_CHAINS = 4
"""Chains per participant."""
N_WARMUP = 1300
"""Warm-up (adaptation) iterations, discarded."""
ADAPT_AT = (100, 200, 400, 700, 1000)
"""Warm-up iterations after which the proposal is re-estimated from the window since the last one;
the window after the last of them (fixed proposal) gives the natural-scale proposal's covariance."""
THIN = 2
"""Every THIN-th iteration after warm-up is kept."""
BLOCK = 500
"""Iterations per chain between two checks of the stopping rule ..."""
ESS_TARGET = 400
"""... which stops a participant once every parameter's bulk and tail ESS is at least this ..."""
RHAT_TARGET = 1.01
"""... and its largest rank-normalised split R-hat at most this, ..."""
MAX_DRAWS = 16000
"""... or after this many iterations per chain (then the diagnostics say it has not converged)."""
N_DRAWS = 4000
"""Iterations after warm-up of ``sample`` (fixed length, no stopping rule)."""
START_SD = 1.0
"""SD (logit units) of the chains' start points around the fit: dispersed against most posteriors."""
FIT_LIMIT = 5.0
"""A fit at a bound (logit infinite) starts its chains around logit +-FIT_LIMIT instead."""
INITIAL_STEP = 0.1
"""Proposal SD (logit units) before the first adaptation."""
TARGET_ACCEPT = 0.234
T_DOF = 4
"""Degrees of freedom of the independence proposal (a multivariate t fitted to the warm-up's last
window): heavier-tailed than a normal, to reach into skewed posteriors' tails (not every ridge:
docs/modeling.md)."""
LEVEL = 0.95


PILED = 0.005
"""A parameter's posterior piles at a bound when its shortest ``LEVEL`` interval (its highest-density
interval) reaches that bound, up to this share of the draws and of the bound range."""
PILED_AT = ("", "lower bound", "upper bound")
"""Where a posterior piles (``Posterior.piled`` codes 0, 1, 2): nowhere, at the lower or the upper bound."""


@dataclass
class Posterior:
    """Per participant: the equal-tailed ``LEVEL`` intervals (P, k, 2; the reported ones), where the
    posterior piles (P, k; index into ``PILED_AT``), the alternatives of ``interval_alternatives``
    (one-sided where it piles at a bound, else equal-tailed; shortest; P, k, 2 each), posterior
    medians (P, k), rank-normalised split R-hat (P, k), bulk and tail effective sample sizes (P, k)
    of each parameter and the iterations per chain after warm-up (P,)."""

    intervals: np.ndarray
    piled: np.ndarray
    one_sided: np.ndarray
    shortest: np.ndarray
    median: np.ndarray
    rhat: np.ndarray
    ess_bulk: np.ndarray
    ess_tail: np.ndarray
    iterations: np.ndarray

    FIELDS = ("intervals", "piled", "one_sided", "shortest", "median", "rhat", "ess_bulk", "ess_tail")
    """The per-parameter fields (first axes P, k)."""


class _Coordinates:
    """The sampler's coordinates: z = logit((theta - lo) / (hi - lo)) per parameter, so every z is
    allowed and a symmetric proposal stays symmetric; the log Jacobian joins the log density."""

    def __init__(self, batch: Batch):
        self.lo, self.range = batch.bounds[:, 0], batch.bounds[:, 1] - batch.bounds[:, 0]

    def forward(self, theta: np.ndarray) -> np.ndarray:
        unit = (theta - self.lo) / self.range
        with np.errstate(divide="ignore"):
            return np.clip(np.log(unit) - np.log1p(-unit), -FIT_LIMIT, FIT_LIMIT)

    def backward(self, z: np.ndarray) -> np.ndarray:
        return self.lo + self.range * expit(z)

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


PRIOR_PROPOSALS = 200_000
"""Proposals of ``prior_draws``' importance resampling (their effective number is ~20 000-60 000)."""


def prior_draws(batch: Batch, n: int, rng: np.random.Generator, n_proposals: int = PRIOR_PROPOSALS,
                lapse_proposal: str = "sqrt") -> np.ndarray:
    """``n`` draws (n, k) from the Jeffreys prior on the bounds of participant 0 of ``batch``, by
    sampling-importance-resampling: proposals uniform on the bounds except the lapse, proposed with
    density proportional to lapse^-1/2 (``lapse_proposal="sqrt"``: lapse = hi * u^2, the prior's own
    behaviour at 0, so the weights stay bounded there) or uniformly (``"uniform"``), weighted by
    prior / proposal and resampled. For simulation-based calibration (Talts et al. 2018): parameters
    drawn from the prior the posterior assumes give intervals whose coverage is nominal given any
    feature of the data, a fit at a bound included. Refuses if the proposals' effective number is
    below 20 n (the draws would repeat)."""
    lo, hi = batch.bounds[:, 0], batch.bounds[:, 1]
    theta = lo + rng.random((n_proposals, len(lo))) * (hi - lo)
    log_weight = np.zeros(n_proposals)
    for j, (kind, _) in enumerate(batch.model.free):
        if kind == "lapse" and lapse_proposal == "sqrt":
            theta[:, j] = lo[j] + (hi[j] - lo[j]) * rng.random(n_proposals) ** 2
            log_weight += 0.5 * np.log(np.maximum(theta[:, j] - lo[j], 1e-300))
    for part in np.array_split(np.arange(n_proposals), max(1, n_proposals // 20_000)):  # ~20 000 per call: memory
        log_weight[part] += log_jeffreys(batch.expected_information(theta[part], np.zeros(len(part), int)))
    weight = np.exp(log_weight - log_weight.max())
    weight /= weight.sum()
    effective = 1.0 / np.square(weight).sum()
    if effective < 20 * n:
        raise ValueError(f"prior_draws: {effective:.0f} effective proposals for {n} draws; raise n_proposals")
    return theta[rng.choice(n_proposals, n, p=weight)]


class _Chains:
    """``N_CHAINS`` random-walk Metropolis chains per participant, in the sampler's coordinates,
    started dispersed around the fits theta (P, k); moved together in one numpy call per step."""

    def __init__(self, batch: Batch, theta: np.ndarray, rng: np.random.Generator,
                 participants: np.ndarray | None = None):
        self.batch, self.rng, self.space = batch, rng, _Coordinates(batch)
        self.n_part, self.k = theta.shape
        local = np.repeat(np.arange(self.n_part), N_CHAINS)                 # chain -> position in theta
        self.rows = local if participants is None else np.asarray(participants)[local]  # chain -> participant
        self.z = self.space.forward(theta[local]) + rng.normal(0.0, START_SD, (len(local), self.k))
        self.f = self._energy(self.z, np.arange(len(local)))
        self.chol = np.broadcast_to(np.eye(self.k) * INITIAL_STEP, (self.n_part, self.k, self.k)).copy()
        self.centre, self.scale = np.zeros((self.n_part, self.k)), np.broadcast_to(np.eye(self.k), self.chol.shape)
        self.natural = np.zeros_like(self.chol)            # the natural-scale proposal's factor, set by warm_up

    def _energy(self, z: np.ndarray, chains: np.ndarray) -> np.ndarray:
        """-log posterior (up to a constant) at z (R, k) of the chains ``chains`` (R,)."""
        nll, information = self.batch.nll_and_information(self.space.backward(z), self.rows[chains])
        return np.nan_to_num(nll - log_jeffreys(information) - self.space.log_jacobian(z), nan=np.inf)

    def _step(self, chains: np.ndarray) -> np.ndarray:
        """One Metropolis step of the chains ``chains``; which of them moved (R,)."""
        z = self.z[chains]
        noise = self.rng.standard_normal((len(chains), self.k, 1))
        proposal = z + np.matmul(self.chol[chains // N_CHAINS], noise)[..., 0]
        f_new = self._energy(proposal, chains)
        take = np.log(self.rng.random(len(chains))) < self.f[chains] - f_new
        self.z[chains[take]], self.f[chains[take]] = proposal[take], f_new[take]
        return take

    def _independent_step(self, chains: np.ndarray) -> None:
        """One independence Metropolis-Hastings step of the chains ``chains``: a proposal from the
        participant's multivariate t (``T_DOF``; ``centre``, Cholesky factor ``scale``), accepted
        with the ratio of posterior over proposal densities."""
        part, n = chains // N_CHAINS, len(chains)
        spread = np.sqrt(T_DOF / self.rng.chisquare(T_DOF, n))[:, None]
        normal = np.matmul(self.scale[part], self.rng.standard_normal((n, self.k, 1)))[..., 0]
        proposal = self.centre[part] + spread * normal
        f_new = self._energy(proposal, chains)
        log_t = self._log_t(np.concatenate([self.z[chains], proposal]), np.concatenate([part, part]))   # one solve
        log_ratio = self.f[chains] - f_new + log_t[:n] - log_t[n:]
        take = np.log(self.rng.random(n)) < log_ratio
        self.z[chains[take]], self.f[chains[take]] = proposal[take], f_new[take]

    def _log_t(self, z: np.ndarray, part: np.ndarray) -> np.ndarray:
        """log density (R,) of the independence proposal at z (R, k), up to a constant per participant."""
        u = np.linalg.solve(self.scale[part], (z - self.centre[part])[..., None])[..., 0]
        return -0.5 * (T_DOF + self.k) * np.log1p((u ** 2).sum(axis=1) / T_DOF)

    def _natural_step(self, chains: np.ndarray) -> None:
        """One random-walk Metropolis step of the chains ``chains`` on the parameters' own scale:
        a proposal theta + ``natural`` @ N(0, I), refused outside the bounds, accepted with the ratio
        of the posterior densities in theta (-log density = energy + log Jacobian; the proposal is
        symmetric in theta, so no Hastings term)."""
        theta = self.space.backward(self.z[chains])
        noise = self.rng.standard_normal((len(chains), self.k, 1))
        unit = (theta + np.matmul(self.natural[chains // N_CHAINS], noise)[..., 0] - self.space.lo) / self.space.range
        inside = np.flatnonzero(((unit > 0) & (unit < 1)).all(axis=1))
        if not len(inside):
            return
        proposal = np.log(unit[inside]) - np.log1p(-unit[inside])
        moving = chains[inside]
        f_new = self._energy(proposal, moving)
        log_ratio = (self.f[moving] + self.space.log_jacobian(self.z[moving])
                     - f_new - self.space.log_jacobian(proposal))
        take = np.log(self.rng.random(len(moving))) < log_ratio
        self.z[moving[take]], self.f[moving[take]] = proposal[take], f_new[take]

    def warm_up(self) -> None:
        """``N_WARMUP`` steps of every chain; the proposal re-estimated at ``ADAPT_AT``, the
        natural-scale one estimated from the window after the last of them."""
        everyone = np.arange(len(self.z))
        window, accepted, last = [], np.zeros(len(self.z)), 0
        for it in range(N_WARMUP):
            accepted += self._step(everyone)
            window.append(self.z.copy())
            if it + 1 in ADAPT_AT:
                self.chol = _adapt(np.stack(window), accepted / (it + 1 - last), self.chol, self.n_part)
                self.centre, self.scale = _moments(np.stack(window), self.n_part)
                window, accepted, last = [], np.zeros(len(self.z)), it + 1
        natural = _moments(self.space.backward(np.stack(window)), self.n_part)[1]
        self.natural = natural * (2.38 / np.sqrt(self.k))

    def draws(self, participants: np.ndarray, n_iter: int) -> np.ndarray:
        """Draws (len(participants), N_CHAINS, n_iter // THIN, k) of the next ``n_iter`` steps of
        the chains of ``participants`` (positions in theta), every ``THIN``-th kept."""
        chains = (np.asarray(participants)[:, None] * N_CHAINS + np.arange(N_CHAINS)).ravel()
        kept = []
        for it in range(n_iter):
            self._step(chains)
            self._independent_step(chains)
            self._natural_step(chains)
            if it % THIN == THIN - 1:
                kept.append(self.space.backward(self.z[chains]))
        return np.stack(kept).reshape(len(kept), len(participants), N_CHAINS, self.k).transpose(1, 2, 0, 3)


def sample(batch: Batch, theta: np.ndarray, rng: np.random.Generator, n_draws: int = N_DRAWS) -> np.ndarray:
    """Posterior draws (P, N_CHAINS, n_draws // THIN, k) of every participant of ``batch``, the
    chains started dispersed around the fits ``theta`` (P, k): a fixed ``n_draws`` iterations after
    warm-up (``posterior_summary`` stops by the diagnostics instead)."""
    chains = _Chains(batch, theta, rng)
    chains.warm_up()
    return chains.draws(np.arange(len(theta)), n_draws)


def _moments(window: np.ndarray, n_part: int) -> tuple[np.ndarray, np.ndarray]:
    """Per participant the mean (P, k) and the Cholesky factor of the covariance (P, k, k) of a
    warm-up window (n, P * C, k) pooled over its chains (the identity where it is singular)."""
    n, _, k = window.shape
    pooled = window.reshape(n, n_part, N_CHAINS, k).transpose(1, 0, 2, 3).reshape(n_part, n * N_CHAINS, k)
    centre = pooled.mean(axis=1)
    cov = np.matmul((pooled - centre[:, None]).transpose(0, 2, 1), pooled - centre[:, None]) / (n * N_CHAINS - 1)
    out = np.broadcast_to(np.eye(k), cov.shape).copy()
    ok = np.linalg.eigvalsh(cov)[:, 0] > 1e-12
    out[ok] = np.linalg.cholesky(cov[ok])
    return centre, out


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
    from scipy.stats import rankdata  # deferred: start-up (scipy.stats: ~0.5 s CPU of each `garden run`, unused there)

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
    return _split_rhat(chains, _z_scale(chains))


def _split_rhat(chains: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``split_rhat`` of split chains (P, k, 2C, n // 2) with their normal scores (``_z_scale``)."""
    folded = np.abs(chains - np.median(chains.reshape(chains.shape[:2] + (-1,)), axis=-1)[..., None, None])
    return np.fmax(_rhat(scores), _rhat(_z_scale(folded)))


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
    return _sample_sizes(chains, _z_scale(chains))


def _sample_sizes(chains: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``effective_sample_sizes`` of split chains (P, k, 2C, n // 2) with their normal scores."""
    flat = chains.reshape(chains.shape[:2] + (-1,))
    tails = [_ess((chains <= np.quantile(flat, q, axis=-1)[..., None, None]).astype(float)) for q in (0.05, 0.95)]
    return _ess(scores), np.minimum(*tails)


def convergence(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``split_rhat`` and ``effective_sample_sizes`` (P, k each) of draws (P, chains, n, k) at once
    (the split chains ranked once for both)."""
    chains = _split(draws)
    scores = _z_scale(chains)
    return _split_rhat(chains, scores), *_sample_sizes(chains, scores)


def interval_alternatives(draws: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, ...]:
    """``LEVEL`` intervals of draws (P, S, k) of parameters with bounds (k, 2): the equal-tailed ones
    (2.5 / 97.5 percentiles; P, k, 2), where the posterior piles (P, k; index into ``PILED_AT``), the
    one-sided alternative (P, k, 2) and the shortest ones (P, k, 2; the highest-density interval of a
    unimodal marginal). A posterior piles at a bound where its shortest interval leaves less than
    ``PILED`` of the draws and of the bound range between itself and that bound (it reaches the
    bound: the marginal density next to the bound is higher than at the interval's other end; a rule
    on the posterior alone, not on any true value); the one-sided alternative runs from that bound to the
    ``LEVEL`` quantile (or from the 1 - ``LEVEL`` quantile to the bound) there and is the equal-tailed
    one elsewhere."""
    ordered = np.sort(draws, axis=1)
    n = ordered.shape[1]
    inside = int(np.ceil(LEVEL * n))
    tail = 100 * (1 - LEVEL) / 2
    equal = np.stack([np.percentile(draws, tail, axis=1), np.percentile(draws, 100 - tail, axis=1)], axis=-1)
    start = np.argmin(ordered[:, inside - 1:] - ordered[:, :n - inside + 1], axis=1)          # (P, k)
    shortest = np.stack([np.take_along_axis(ordered, start[:, None], axis=1)[:, 0],
                         np.take_along_axis(ordered, (start + inside - 1)[:, None], axis=1)[:, 0]], axis=-1)
    near = PILED * (bounds[:, 1] - bounds[:, 0])
    low = (start < PILED * n) & (shortest[..., 0] - bounds[:, 0] < near)
    high = (start + inside > (1 - PILED) * n) & (bounds[:, 1] - shortest[..., 1] < near)
    piled = np.where(low, 1, np.where(high, 2, 0))
    upper, lower = np.percentile(draws, 100 * LEVEL, axis=1), np.percentile(draws, 100 * (1 - LEVEL), axis=1)
    one_sided = equal.copy()
    one_sided[piled == 1] = np.stack([np.broadcast_to(bounds[:, 0], piled.shape), upper], axis=-1)[piled == 1]
    one_sided[piled == 2] = np.stack([lower, np.broadcast_to(bounds[:, 1], piled.shape)], axis=-1)[piled == 2]
    return equal, piled, one_sided, shortest


def posterior_summary(batch: Batch, theta: np.ndarray, rng: np.random.Generator) -> Posterior:
    """Equal-tailed ``LEVEL`` intervals (and ``interval_alternatives``), medians, R-hat and ESS of every
    participant's posterior, the chains started dispersed around the maximum-likelihood fits ``theta``
    (P, k). After warm-up the chains run in blocks of ``BLOCK`` iterations; a participant stops once
    all its parameters' bulk and tail ESS reach ``ESS_TARGET`` and R-hat is at most ``RHAT_TARGET``
    (a NaN R-hat, a constant parameter, passes), or after ``MAX_DRAWS``; its summaries are of all its
    draws. The rule is checked after the first block, then (``next_check``) where the smallest ESS,
    growing in proportion to the draws, reaches the target: the check costs more than the block's
    draws once a posterior mixes slowly."""
    n_part, k = theta.shape
    chains = _Chains(batch, theta, rng)
    chains.warm_up()
    out = Posterior(np.empty((n_part, k, 2)), np.zeros((n_part, k), int), np.empty((n_part, k, 2)),
                    np.empty((n_part, k, 2)), *(np.empty((n_part, k)) for _ in range(4)), np.zeros(n_part, int))
    active, n_kept, per_block = np.arange(n_part), 0, BLOCK // THIN
    due = np.full(n_part, per_block)                                     # kept draws per chain at the next check
    store = np.empty((n_part, N_CHAINS, 4 * per_block, k))                # row i: participant active[i]
    while len(active):
        if n_kept + per_block > store.shape[2]:
            store = np.concatenate([store, np.empty_like(store)], axis=2)
        store[:, :, n_kept:n_kept + per_block] = chains.draws(active, BLOCK)
        n_kept += per_block
        last = n_kept * THIN >= MAX_DRAWS
        checked = np.flatnonzero((due[active] <= n_kept) | last)           # positions in active
        if not len(checked):
            continue
        draws = store[checked, :, :n_kept]
        rhat, bulk, tail = convergence(draws)
        ess = np.minimum(bulk.min(axis=1), tail.min(axis=1))
        stop = ((np.nan_to_num(rhat, nan=1.0).max(axis=1) <= RHAT_TARGET) & (ess >= ESS_TARGET)) | last
        due[active[checked]] = next_check(n_kept, ess, per_block)
        stopped, draws = active[checked[stop]], draws[stop]
        flat = draws.reshape(len(stopped), N_CHAINS * n_kept, k)
        (out.intervals[stopped], out.piled[stopped], out.one_sided[stopped],
         out.shortest[stopped]) = interval_alternatives(flat, batch.bounds)
        out.median[stopped] = np.median(flat, axis=1)
        out.rhat[stopped], out.ess_bulk[stopped], out.ess_tail[stopped] = rhat[stop], bulk[stop], tail[stop]
        out.iterations[stopped] = n_kept * THIN
        going = np.ones(len(active), bool)
        going[checked[stop]] = False
        active, store = active[going], store[going]
    return out


def next_check(n_kept: int, ess: np.ndarray, per_block: int) -> np.ndarray:
    """Kept draws per chain (a whole number of blocks of ``per_block``) at which to check the stopping
    rule again, after a check at ``n_kept`` found smallest ESSs ``ess``: where ESS, in proportion to
    the draws, reaches ``ESS_TARGET``; at least the next block, at most twice ``n_kept``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        wanted = np.nan_to_num(n_kept * ESS_TARGET / ess, nan=2.0 * n_kept, posinf=2.0 * n_kept)
    blocks = np.clip(np.ceil((wanted - n_kept) / per_block), 1, n_kept // per_block)
    return n_kept + per_block * blocks.astype(int)
