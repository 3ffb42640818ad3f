"""Posterior intervals (Jeffreys prior on the bounds): the derivatives and the expected
information against numdifftools, the prior by hand, the sampler against posteriors integrated on
a grid (logit coordinates with their Jacobian, a posterior piled against a bound) and against a
known bounded correlated density, R-hat and ESS against arviz-stats, seeding, coverage at small
size, fits at a bound, and the refusal for the choice-matrix loss."""

from __future__ import annotations

import numdifftools as nd
import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp

from garden.core.errors import SettingError, UserError
from garden.modeling import psychometric
from garden.modeling.cells import participant_cells
from garden.modeling.models import MODELS, Model, psychometric_gradient
from garden.modeling.models import psychometric as equation
from garden.modeling.optimise import Batch
from garden.modeling import posterior as posterior_module
from garden.modeling.posterior import (convergence, effective_sample_sizes, log_jeffreys, posterior_summary,
                                      interval_alternatives, next_check, prior_draws, sample, split_rhat)
from garden.modeling.psychometric import fit_table, simulate_choices
from garden.modeling.recovery import parameter_recovery, simulate_study, simulated_trials

SLOPE_LAPSE = Model("slope_lapse", "slope and lapse along each context's rule", "rule",
                    (("slope", None), ("lapse", None)))
"""Two parameters: small enough to integrate the posterior on a grid."""


def _grid_log_posterior(batch: Batch, axes: list[np.ndarray]) -> np.ndarray:
    """log posterior density (Jeffreys prior; up to a constant) on the grid ``axes`` (one axis per parameter)."""
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes))
    return np.concatenate([
        -batch.nll(part, np.zeros(len(part), int))
        + log_jeffreys(batch.expected_information(part, np.zeros(len(part), int)))
        for part in np.array_split(mesh, max(1, len(mesh) // 50_000))]).reshape([len(a) for a in axes])


def _grid_quantiles(logp: np.ndarray, axes: list[np.ndarray], j: int, q: tuple[float, ...]) -> np.ndarray:
    """Quantiles of parameter j of the posterior integrated on the grid ``axes`` (``logp``: ``_grid_log_posterior``)."""
    marginal = logsumexp(logp, axis=tuple(i for i in range(len(axes)) if i != j))
    cdf = np.cumsum(np.exp(marginal - logsumexp(marginal)))
    return np.interp(q, cdf, axes[j])


def _midpoints(lo: float, hi: float, n: int) -> np.ndarray:
    edges = np.linspace(lo, hi, n + 1)
    return (edges[1:] + edges[:-1]) / 2


def _one(n_trials: int, params: dict, model: str | Model, seed: int) -> tuple[Batch, np.ndarray]:
    trials = simulated_trials(n_trials, "P1")
    trials["choice"] = simulate_choices(model, params, trials, seed)
    data, _ = participant_cells(trials)
    spec = model if isinstance(model, Model) else MODELS[model]
    batch = Batch(spec, data, "bernoulli")
    start = np.array([[params[n] for n in spec.names(data[0].rules.contexts)]])
    return batch, start


def test_gradient_of_the_equation_equals_numdifftools():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 0.5])
    y = np.array([1.0, -2.0, 0.0, 2.0, -1.0, 0.3])
    theta = np.array([12.0, 3.0, 0.2, 0.07])                        # delta (deg), slope, offset, lapse

    def p(t):
        return equation(x, y, np.deg2rad(30.0 + t[0]), t[1], t[2], t[3])
    _, partial = psychometric_gradient(x, y, np.deg2rad(30.0 + theta[0]), *theta[1:])
    got = np.stack([partial[kind] for kind in ("delta", "slope", "offset", "lapse")], axis=1)
    np.testing.assert_allclose(got, nd.Jacobian(p)(theta), rtol=1e-7, atol=1e-10)


def test_expected_information_equals_the_hessian_at_expected_counts():
    """With k = n p (the expected counts) the Bernoulli NLL's Hessian is the expected information."""
    batch, start = _one(400, {"delta_north": -10.0, "delta_south": 20.0, "slope": 3.0, "offset": 0.1,
                              "lapse": 0.05}, "factorized", 2)
    theta = start[0]
    for c in (0, 1):
        batch.k[c][...] = batch.n[c] * batch.p(theta[None, :], np.array([0]), c)
    hessian = nd.Hessian(lambda t: batch.nll(t[None, :], np.array([0]))[0])(theta)
    # delta_north x delta_south is exactly 0 (the contexts share no cell) and comes out of the finite
    # differences as rounding noise (~4e-17 with multi-threaded BLAS), which no rtol accepts: an absolute
    # tolerance of 1e-12 of the largest entry (~5e-9 here), no looser than rtol=1e-5 on the smallest nonzero one (4e-4).
    np.testing.assert_allclose(batch.expected_information(theta[None, :], np.array([0]))[0], hessian, rtol=1e-5,
                               atol=1e-12 * np.abs(hessian).max())
    nll, _ = batch.nll_and_information(theta[None, :], np.array([0]))
    assert nll[0] == pytest.approx(batch.nll(theta[None, :], np.array([0]))[0], rel=1e-12)


def test_jeffreys_prior_of_a_slope_by_hand():
    """sigmoid_relevant (p = sigmoid(slope d)): I(slope) = sum n d^2 s (1 - s), prior sqrt(I)."""
    batch, _ = _one(100, {"slope": 1.0}, "sigmoid_relevant", 0)
    for slope in (-3.0, 0.0, 0.7, 15.0):
        expected = 0.0
        for c in (0, 1):
            d = batch.x[c][0] @ np.array([np.cos(batch.base[0, c]), np.sin(batch.base[0, c])])
            s = 1 / (1 + np.exp(-slope * d))
            expected += (batch.n[c][0] * d ** 2 * s * (1 - s)).sum()
        got = log_jeffreys(batch.expected_information(np.array([[slope]]), np.array([0])))[0]
        assert got == pytest.approx(0.5 * np.log(expected), rel=1e-10)


def test_sampler_matches_the_grid_posterior_with_log_slope_and_lapse_at_its_bound():
    """A steep participant with few lapses: the slope posterior is right-skewed and the lapse
    posterior is piled against 0 (sampled in logit coordinates: without the Jacobian these
    quantiles move by more than the tolerance). Quantiles agree with grid integration."""
    batch, start = _one(200, {"slope": 6.0, "lapse": 0.01}, SLOPE_LAPSE, 3)
    q = (0.025, 0.5, 0.975)
    axes = [_midpoints(0, 20, 400), _midpoints(0, 0.5, 1000)]   # midpoints: the prior is infinite at lapse 0
    draws = sample(batch, start, np.random.default_rng(0)).reshape(-1, 2)
    logp = _grid_log_posterior(batch, axes)
    for j, tol in ((0, 0.3), (1, 0.003)):
        expected = _grid_quantiles(logp, axes, j, q)
        np.testing.assert_allclose(np.quantile(draws[:, j], q), expected, atol=tol)
    assert _grid_quantiles(logp, axes, 1, (0.025,))[0] < 0.005    # lapse against its bound


def test_the_natural_scale_step_alone_samples_the_grid_posterior():
    """The third kernel on its own (random walk on the parameters' own scale, proposals outside the bounds
    refused, the ratio of densities in theta) leaves the same posterior invariant: 64 chains x 4 000 of its
    steps after warm-up have the grid posterior's quantiles, the lapse piled against 0 included (alone it
    mixes slowly in the slope's tail: 4 or 16 chains put the 97.5 % point at 8.1-8.7 against 7.6)."""
    batch, start = _one(200, {"slope": 6.0, "lapse": 0.01}, SLOPE_LAPSE, 3)
    q = (0.025, 0.5, 0.975)
    axes = [_midpoints(0, 20, 400), _midpoints(0, 0.5, 1000)]
    chains = posterior_module._Chains(batch, np.repeat(start, 16, axis=0), np.random.default_rng(0), np.zeros(16, int))
    chains.warm_up()
    draws = []
    for _ in range(4000):
        chains._natural_step(np.arange(len(chains.z)))
        draws.append(chains.space.backward(chains.z.copy()))
    draws = np.concatenate(draws)
    logp = _grid_log_posterior(batch, axes)
    for j, tol in ((0, 0.3), (1, 0.003)):
        np.testing.assert_allclose(np.quantile(draws[:, j], q), _grid_quantiles(logp, axes, j, q), atol=tol)


def test_prior_draws_match_the_jeffreys_prior_on_a_grid():
    """Importance-resampled draws from the Jeffreys prior (slope and lapse) have the quantiles of the
    prior integrated on a grid, with either lapse proposal (without its weight correction the sqrt
    proposal's lapse median moves from 0.061 to 0.002); too few proposals for the draws are refused."""
    batch, _ = _one(200, {"slope": 6.0, "lapse": 0.01}, SLOPE_LAPSE, 3)
    q = (0.025, 0.25, 0.5, 0.75, 0.975)
    axes = [_midpoints(0, 20, 200), _midpoints(0, 0.5, 1000)]
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
    logp = log_jeffreys(batch.expected_information(mesh, np.zeros(len(mesh), int))).reshape(200, 1000)
    for lapse_proposal in ("sqrt", "uniform"):
        draws = prior_draws(batch, 1000, np.random.default_rng(0), 400_000, lapse_proposal)
        for j, rtol, atol in ((0, 0.05, 0.4), (1, 0.12, 0.005)):
            np.testing.assert_allclose(np.quantile(draws[:, j], q), _grid_quantiles(logp, axes, j, q), rtol, atol)
    with pytest.raises(ValueError, match="effective proposals"):
        prior_draws(batch, 1000, np.random.default_rng(0), n_proposals=20_000)


def test_simulated_agents_drawn_from_the_prior_span_the_bounds():
    """``simulate_study(truth="prior")`` (simulation-based calibration) draws each agent's parameters
    from the model's Jeffreys prior on its bounds: seeded, inside the bounds, beyond the realistic ranges
    of ``truth="ranges"`` (|delta| up to 90 deg); any other ``truth`` is refused by name."""
    one = simulate_study(["linear"], [100], 40, (1,), seed=3, truth="prior")[1]
    again = simulate_study(["linear"], [100], 40, (1,), seed=3, truth="prior")[1]
    pd.testing.assert_frame_equal(one, again)
    true = one.pivot(index="participant_id", columns="parameter", values="true")
    bounds = dict(zip(MODELS["linear"].names(("north", "south")), MODELS["linear"].bounds()))
    for name, (lo, hi) in bounds.items():
        assert true[name].between(lo, hi).all()
    assert true["delta"].abs().max() > 45 and true["offset"].abs().max() > 0.5
    with pytest.raises(SettingError, match="truth"):
        simulate_study(["linear"], [100], 4, truth="uniform")


def test_signed_slope_posterior_matches_the_grid():
    """A one-parameter model on its natural scale (signed slope, bounds -20..20)."""
    batch, start = _one(100, {"slope": 1.5}, "sigmoid_relevant", 5)
    axis = np.linspace(-20, 20, 8001)
    summary = posterior_summary(batch, start, np.random.default_rng(1))
    expected = _grid_quantiles(_grid_log_posterior(batch, [axis]), [axis], 0, (0.025, 0.5, 0.975))
    np.testing.assert_allclose([summary.intervals[0, 0, 0], summary.median[0, 0], summary.intervals[0, 0, 1]],
                               expected, atol=0.05)
    assert summary.rhat[0, 0] < 1.01


def test_a_posterior_piles_at_a_bound_where_its_shortest_interval_reaches_it():
    """Known marginals on bounds [0, 20]: exponential from the lower bound (density highest at 0:
    [0, q95 = 3.0]), mirrored at the upper bound ([20 - 3.0, 20]), a normal inside (equal-tailed
    [10 -+ 1.96]; the shortest interval agrees), a normal folded at the bound with its mode 1.5 SD from it
    (density at the bound 0.26, above the 0.06 at the shortest interval's upper end: one-sided) and one with
    its mode 3 SD from it (density 0.009 at the bound: equal-tailed), and an exponential from 2 (a sharp
    edge, but away from the bound: not piled)."""
    rng = np.random.default_rng(4)
    n = 40_000
    exponential = np.minimum(rng.exponential(1.0, n), 20)
    normal = rng.normal(10.0, 1.0, n)
    near, far = np.abs(rng.normal(1.5, 1.0, n)), np.abs(rng.normal(3.0, 1.0, n))
    draws = np.stack([exponential, 20 - exponential, normal, near, far, 2 + exponential], axis=-1)[None]
    equal, piled, one_sided, shortest = interval_alternatives(draws, np.array([[0.0, 20.0]] * 6))
    assert piled[0].tolist() == [1, 2, 0, 1, 0, 0] and shortest[0, 5, 0] < 2.001
    np.testing.assert_allclose(one_sided[0], [[0, np.log(20)], [20 - np.log(20), 20], [8.04, 11.96],
                                             [0, np.quantile(near, 0.95)], [1.04, 4.96], equal[0, 5]], atol=0.06)
    np.testing.assert_allclose(shortest[0, 2], equal[0, 2], atol=0.06)
    assert shortest[0, 0, 0] < 0.001 and equal[0, 0, 0] == pytest.approx(np.log(1 / 0.975), abs=0.01)


def test_split_rhat_is_one_for_mixed_chains_and_large_for_stuck_ones():
    rng = np.random.default_rng(0)
    mixed = rng.standard_normal((1, 4, 1000, 1))
    stuck = mixed + np.array([0.0, 0.0, 0.0, 3.0])[None, :, None, None]
    trend = mixed + np.linspace(0, 2, 1000)[None, None, :, None]         # split halves catch drift
    wide = mixed * np.array([1.0, 1.0, 1.0, 4.0])[None, :, None, None]  # same centre, one chain's tails: folded R-hat
    assert abs(split_rhat(mixed)[0, 0] - 1) < 0.01
    assert split_rhat(stuck)[0, 0] > 1.3 and split_rhat(trend)[0, 0] > 1.1 and split_rhat(wide)[0, 0] > 1.05


def test_rhat_and_ess_equal_arviz_stats():
    """Rank-normalised split R-hat and bulk/tail ESS, batched, against arviz-stats on AR(1) chains of
    different autocorrelation, one chain shifted, one parameter skewed."""
    arviz = pytest.importorskip("arviz_stats.base")
    rng = np.random.default_rng(0)
    draws = np.zeros((3, 4, 600, 3))
    noise = rng.standard_normal(draws.shape)
    for t in range(1, 600):
        draws[:, :, t] = np.array([0.0, 0.5, 0.9]) * draws[:, :, t - 1] + noise[:, :, t]
    draws[1, 0] += 0.5
    draws[2] = np.exp(draws[2])
    chains = draws.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(split_rhat(draws), arviz.array_stats.rhat(chains, method="rank"), rtol=1e-12)
    bulk, tail = effective_sample_sizes(draws)
    base = arviz.array.BaseArray()
    expected = np.array([[(base._ess_bulk(c), base._ess_tail(c, (0.05, 0.95))) for c in row] for row in chains])
    np.testing.assert_allclose(bulk, expected[..., 0], rtol=1e-9)
    np.testing.assert_allclose(tail, expected[..., 1], rtol=1e-9)
    for together, alone in zip(convergence(draws), (split_rhat(draws), bulk, tail)):  # what the sampler stops on
        np.testing.assert_array_equal(together, alone)


def test_sampler_reproduces_a_bounded_correlated_density(monkeypatch):
    """Two parameters whose likelihood is flat (no trials) and whose prior is uniform on the box, so
    the posterior is uniform on it, while every adaptation returns a proposal with correlation 0.9.
    A sampler that reflected such proposals at the bounds piled up mass in two corners (issue 26:
    2.4x and 0.07x); in logit coordinates every cell of a 4 x 4 grid, corners included, holds 1/16."""
    correlated = np.linalg.cholesky(1.5 ** 2 * np.array([[1.0, 0.9], [0.9, 1.0]]))
    monkeypatch.setattr(posterior_module, "_adapt", lambda window, accept, chol, n_part: np.broadcast_to(
        correlated, chol.shape).copy())

    class Flat:
        bounds = np.array([[0.0, 1.0], [-2.0, 2.0]])

        @staticmethod
        def nll_and_information(theta, rows):
            return np.zeros(len(theta)), np.broadcast_to(np.eye(2), (len(theta), 2, 2))

    rng = np.random.default_rng(3)
    draws = sample(Flat(), np.array([[0.5, 0.0]] * 8), rng).reshape(-1, 2)
    unit = (draws - Flat.bounds[:, 0]) / (Flat.bounds[:, 1] - Flat.bounds[:, 0])
    cells = np.histogram2d(unit[:, 0], unit[:, 1], bins=4, range=[[0, 1], [0, 1]])[0] / len(unit)
    np.testing.assert_allclose(cells, 1 / 16, atol=0.012)
    np.testing.assert_allclose(np.corrcoef(unit.T)[0, 1], 0.0, atol=0.05)


def test_sampling_stops_once_ess_and_rhat_meet_their_targets(monkeypatch):
    """Blocks of 100 iterations: a participant stops at the first check where every parameter's bulk
    and tail ESS reach the target and R-hat is at most 1.01, else at MAX_DRAWS; so the reported
    diagnostics meet the rule for every participant stopped early, and a higher ESS target runs longer."""
    monkeypatch.setattr(posterior_module, "BLOCK", 100)
    monkeypatch.setattr(posterior_module, "MAX_DRAWS", 1500)
    trials, _ = simulate_study(["linear"], [200], 8, (1, 2, 5, 6), seed=4)
    data, _ = participant_cells(trials)
    batch = Batch(MODELS["linear"], data, "bernoulli")
    theta = psychometric.fit_cells(data, ["linear"])["linear"].theta
    iterations = {}
    for target in (100, 400):
        monkeypatch.setattr(posterior_module, "ESS_TARGET", target)
        summary = posterior_summary(batch, theta, np.random.default_rng(0))
        early = summary.iterations < 1500
        assert early.sum() >= 6 and np.all(summary.iterations % 100 == 0)
        assert np.all(summary.rhat[early] <= 1.01)
        assert np.all(summary.ess_bulk[early] >= target) and np.all(summary.ess_tail[early] >= target)
        iterations[target] = summary.iterations
    assert iterations[400].mean() > iterations[100].mean() and len(set(iterations[400])) > 2


def test_the_rule_is_checked_again_where_the_ess_can_reach_its_target(monkeypatch):
    """After a check at 500 kept draws per chain (blocks of 250): an ESS of 100 needs 4x the draws, so
    the next check is at twice the draws (the most); 300 needs 667 draws, so the next block; 1000, and
    a participant stuck at 0, the next block and twice the draws."""
    monkeypatch.setattr(posterior_module, "ESS_TARGET", 400)
    ess = np.array([100.0, 300.0, 1000.0, 0.0, 250.0])
    assert next_check(500, ess, 250).tolist() == [1000, 750, 750, 1000, 1000]
    assert next_check(2500, np.array([2000.0]), 250).tolist() == [2750]   # at least one block
    assert next_check(250, np.array([10.0]), 250).tolist() == [500]       # at most twice the draws


@pytest.fixture(scope="module")
def small_study() -> tuple[pd.DataFrame, pd.DataFrame]:
    return simulate_study(["factorized"], [200], 60, (1, 2, 5, 6), seed=8)


@pytest.mark.slow
def test_posterior_columns_are_seeded_and_independent_of_jobs(small_study, monkeypatch):
    """The same seed gives the same frame with one job and with two, the participants split over two
    batches (a batch of one each: POSTERIOR_CHUNK 1), so the two workers really sample one batch each; another
    seed, the same streams otherwise, gives other intervals. factorized_full (sampled per context, its columns
    put back together per context) keeps lo <= median <= hi. Two participants whose posteriors converge
    before the cap (r006, r020; a run to the cap costs ~30 s): every fit stops at a block end with the targets
    met. Fits at the cap: ``test_a_stuck_chain_ends_at_the_cap_flagged_by_rhat``; the share of fits that
    converge before it, over 60: ``test_posterior_intervals_cover_the_truth_at_small_size``."""
    trials, _ = small_study
    monkeypatch.setattr(psychometric, "POSTERIOR_CHUNK", 1)
    part = trials[trials["participant_id"].isin(["simfactorizedn200r006", "simfactorizedn200r020"])]
    assert len(psychometric._chunk_starts(part["participant_id"].nunique(), posterior=True)) == 2
    one = fit_table(part, ["factorized_full"], n_starts=4, posterior=True, seed=5)
    two = fit_table(part, ["factorized_full"], n_starts=4, posterior=True, seed=5, jobs=2)
    other = fit_table(part, ["factorized_full"], n_starts=4, posterior=True, seed=6)  # the same streams but the seed
    pd.testing.assert_frame_equal(one, two)
    assert not np.allclose(one["slope_north_post_hi"], other["slope_north_post_hi"])
    assert one["posterior"].all() and (one["seed"] == 5).all()
    for name in ("delta_north", "slope_south", "lapse_north"):
        assert (one[f"{name}_post_lo"] <= one[f"{name}_post_median"]).all()
        assert (one[f"{name}_post_median"] <= one[f"{name}_post_hi"]).all()
    assert (one["posterior_iterations"] % posterior_module.BLOCK == 0).all()
    assert (one["posterior_iterations"] < posterior_module.MAX_DRAWS).all() and (one["rhat_max"] <= 1.01).all()
    assert (one[["ess_bulk_min", "ess_tail_min"]] >= posterior_module.ESS_TARGET).all().all()


@pytest.mark.slow
def test_posterior_intervals_cover_the_truth_at_small_size(small_study):
    """60 agents x 200 trials, about a third with the slope fitted at its bound: the posterior
    intervals cover the generating values 90-99 % of the time, pooled over parameters (the
    full-size measurement, 500 agents per model and cell, is in docs/modeling.md). Their bookkeeping, at
    the 16 000-iteration cap: more than 90 % of the fits stop before it (59 of 60), each at a block end
    with the R-hat and ESS targets met."""
    trials, truth = small_study
    fits = fit_table(trials, ["factorized"], posterior=True, seed=1)
    assert (fits["posterior_iterations"] % posterior_module.BLOCK == 0).all()
    done = fits["posterior_iterations"] < posterior_module.MAX_DRAWS
    assert done.mean() > 0.9 and (fits.loc[done, "rhat_max"] <= 1.01).all()
    assert (fits.loc[done, ["ess_bulk_min", "ess_tail_min"]] >= posterior_module.ESS_TARGET).all().all()
    recovered = parameter_recovery(fits.assign(generating_model="factorized", n_test_trials=200), truth)
    assert recovered.groupby("participant_id")["at_bound"].any().mean() > 0.25
    assert 0.90 <= recovered["covered_posterior"].astype(float).mean() <= 0.99
    assert recovered["rhat"].quantile(0.95) < 1.02 and recovered["rhat"].max() < 1.1


def _rule_follower() -> pd.DataFrame:
    """A noiseless rule-follower's 400 trials: its fit is at slope 20 and lapse 0."""
    trials = simulated_trials(400, "B1")
    trials["choice"] = simulate_choices("factorized", {"delta_north": 0.0, "delta_south": 0.0, "slope": 20.0,
                                                       "offset": 0.5, "lapse": 0.0}, trials, 1)
    return trials


def test_a_fit_on_both_bounds_gets_a_proper_posterior_interval():
    """A noiseless rule-follower fitted at slope 20 and lapse 0: no Wald SE, but a posterior
    interval that contains the bound values and is strictly inside the range elsewhere. Seed 1: its
    chains converge (at 1 500 iterations; with seed 9 one chain sticks and runs to the cap, R-hat 1.07, the
    stuck case of ``test_a_stuck_chain_ends_at_the_cap_flagged_by_rhat``), so the intervals asserted are
    those of a converged posterior."""
    fit = fit_table(_rule_follower(), ["factorized"], posterior=True, seed=1).iloc[0]
    assert fit["posterior_iterations"] < posterior_module.MAX_DRAWS and fit["rhat_max"] <= 1.01
    assert fit["slope_at_bound"] and np.isnan(fit["slope_se"])
    assert fit["slope_post_lo"] > 5 and fit["slope_post_hi"] > 19
    assert 0 < fit["lapse_post_lo"] < 1e-3 and 0 < fit["lapse_post_hi"] < 0.02
    assert fit["lapse_post_piled"] == "lower bound" and fit["lapse_post_onesided_lo"] == 0
    assert fit["offset_post_piled"] == "" and fit["offset_post_onesided_lo"] == fit["offset_post_lo"]
    assert -1 < fit["offset_post_lo"] < 0.5 < fit["offset_post_hi"] < 1


def test_a_stuck_chain_ends_at_the_cap_flagged_by_rhat(monkeypatch):
    """Known weakness (docs/modeling.md): a fit at a bound starts every chain next to it, and the Jeffreys
    prior's lapse^-1/2 gives logit(lapse) a long tail where a chain can stick. The rule-follower with seed 9
    is such a case (1 of seeds 0-11; R-hat 1.07 at the 16 000-iteration cap): it runs to the cap, a setting
    (here 2 000, the first 2 000 iterations of the same chains: R-hat 1.54), and its columns say it has not
    converged."""
    monkeypatch.setattr(posterior_module, "MAX_DRAWS", 2000)
    fit = fit_table(_rule_follower(), ["factorized"], posterior=True, seed=9).iloc[0]
    assert fit["posterior_iterations"] == 2000 and fit["rhat_max"] >= 1.1


def test_posterior_needs_the_bernoulli_likelihood(small_study):
    trials, _ = small_study
    with pytest.raises(UserError, match="^posterior: needs objective bernoulli"):
        fit_table(trials, ["linear"], "choice-matrix", posterior=True)
