"""Networks as cognitive models: the likelihood of a person's trial-by-trial choices.

A person is described by a network of init scale σ run through their own trial sequence (online
SGD on the trials with feedback, ``input_norm="item"``: docs/networks.md) plus three parameters:
its learning rate ``lr``, a choice temperature ``T`` (value / 25 units) and a lapse rate ``ε``:

    p(accept on trial t) = ε / 2 + (1 - ε) · mean over init seeds of sigmoid(output_t / T)

(the output is read before that trial's step; the seed mean is the prediction of a network whose
random initial weights are unknown). The log-likelihood of every (scale, lr, T, ε) on a grid is
computed at once, batched over people x scales x seeds x learning rates (one ``online_batch``) and
temperatures x lapses (numpy). Per scale: the maximum over the grid (the profile, for BIC) and the
log mean over the grid (the evidence under a uniform prior on the grid points, for the posterior
over scales). Torch is only imported by ``network_outputs`` (through the trainer).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from garden.core.errors import SettingError
from garden.modeling.networks.config import (
    PUBLISHED_CTX_SCALES,
    PUBLISHED_SCALES,
    SweepConfig,
    TrainConfig,
)
from garden.modeling.networks.curriculum import Sequences
from garden.modeling.networks.data import task_data
from scipy.special import expit

FIT_LRS = (0.01, 0.02, 0.05, 0.1, 0.2)
"""Online learning rates searched (``input_norm="item"``; 0.1 = ``config.PERSON_LR``)."""
FIT_TEMPERATURES = (0.05, 0.1, 0.2, 0.35, 0.6, 1.0, 2.0, 4.0)
"""Choice temperatures searched, value / 25 units (a trained network's outputs are ±1..±2)."""
FIT_LAPSES = (0.0, 0.01, 0.03, 0.1, 0.2, 0.4, 0.7, 1.0)
"""Lapse rates searched (1 = choices at chance: every scale then fits alike)."""
FREE_PARAMETERS = 4
"""Parameters a fitted network has for BIC: scale, lr, temperature, lapse."""
RICH_MAX_SCALE = 0.4
"""Scales ≤ this are 'rich' (β orthogonal > β grid in the full-batch sweep), larger ones 'lazy'."""
CONFIDENT = 0.9
"""Posterior probability of rich (or lazy) at which a person is classified."""
PROFILE_DROP = 1.92
"""Log-likelihood drop of the 95 % profile interval over log σ (χ²₁ 0.95 / 2)."""


@dataclass(frozen=True)
class FitGrid:
    """The networks and parameter values searched per person."""

    scales: tuple[float, ...] = PUBLISHED_SCALES
    ctx_scales: tuple[float, ...] = PUBLISHED_CTX_SCALES
    seeds: tuple[int, ...] = (0, 1, 2, 3)
    lrs: tuple[float, ...] = FIT_LRS
    temperatures: tuple[float, ...] = FIT_TEMPERATURES
    lapses: tuple[float, ...] = FIT_LAPSES
    dtype: str = "float32"
    threads: int = 0

    def __post_init__(self) -> None:
        for name in ("lrs", "temperatures"):
            if not getattr(self, name) or min(getattr(self, name)) <= 0:
                raise SettingError(name, "needs at least one value, all > 0")
        if not self.lapses or min(self.lapses) < 0 or max(self.lapses) > 1:
            raise SettingError("lapses", "needs values in 0..1")
        SweepConfig(scales=self.scales, ctx_scales=self.ctx_scales, seeds=self.seeds)   # checks them

    def sweep(self) -> SweepConfig:
        """The networks (scale x seed) as a sweep configuration with per-item unit-norm inputs."""
        return SweepConfig(scales=self.scales, ctx_scales=self.ctx_scales, seeds=self.seeds,
                           train=TrainConfig(dtype=self.dtype, threads=self.threads), input_norm="item")

    def to_dict(self) -> dict:
        return asdict(self)


def grid_networks(seqs: Sequences, grid: FitGrid, *, final: bool = False):
    """Every network of ``grid`` (learning rate L x scale S x seed K, per-item unit-norm inputs) run
    online through each of the P sequences of ``seqs`` (``online_batch``; with ``final`` also the
    weights after each person's last trial)."""
    from garden.modeling.networks.train import (  # deferred: start-up
        augmented_inputs,
        init_params,
        online_batch,
    )

    config = grid.sweep()
    scales, ctx_scales = config.init_sds()
    seeds = config.networks().seed.to_numpy()
    n_lr, m = len(grid.lrs), len(seeds)
    data = task_data(input_norm="item")
    params = init_params(data.n_stimulus_units, np.tile(scales, n_lr), np.tile(ctx_scales, n_lr),
                         np.tile(seeds, n_lr))
    lr = np.repeat(np.asarray(grid.lrs, float), m)
    return online_batch(augmented_inputs(data), seqs.items, seqs.targets, seqs.learn, params, lr,
                        dtype=grid.dtype, threads=grid.threads, final=final)


def network_outputs(seqs: Sequences, grid: FitGrid) -> np.ndarray:
    """(P, T, L, S, K) outputs (value / 25 units; NaN on padding) of every network (scale S x seed K)
    at every learning rate L of ``grid``, each run through each of the P sequences."""
    out = grid_networks(seqs, grid)
    return out.reshape(len(seqs.items), seqs.items.shape[1], len(grid.lrs), len(grid.scales), len(grid.seeds))


def choice_arrays(seqs: Sequences) -> tuple[np.ndarray, np.ndarray]:
    """(P, T) the person's choices (1 accept, 0 reject) and which trials are scored (a choice was made)."""
    choices = np.zeros(seqs.items.shape)
    for i, person in enumerate(seqs.trials):
        choices[i, :len(person)] = person["choice"].to_numpy(float)
    scored = np.isfinite(choices) & (seqs.items >= 0)
    return np.where(scored, choices, 0.0), scored


def log_likelihoods(outputs: np.ndarray, choices: np.ndarray, scored: np.ndarray, grid: FitGrid) -> np.ndarray:
    """(P, S, L, nT, nε) log-likelihood of each person's scored choices for every grid point."""
    lapses = np.asarray(grid.lapses, float)
    out = np.nan_to_num(outputs, nan=0.0)
    c = choices[:, :, None, None]
    w = scored[:, :, None, None].astype(float)
    result = np.empty((out.shape[0], out.shape[3], out.shape[2], len(grid.temperatures), len(lapses)))
    for j, temperature in enumerate(grid.temperatures):
        q = expit(out / temperature).mean(axis=-1)                                     # (P, T, L, S)
        q_chosen = np.where(c == 1, q, 1.0 - q)[..., None]                              # (P, T, L, S, 1)
        p = lapses / 2 + (1.0 - lapses) * q_chosen
        ll = (np.log(np.clip(p, 1e-300, None)) * w[..., None]).sum(axis=1)             # (P, L, S, nε)
        result[:, :, :, j, :] = ll.transpose(0, 2, 1, 3)
    return result


def scale_summary(ll: np.ndarray, grid: FitGrid) -> dict[str, np.ndarray]:
    """Per person x scale: ``ll_max`` (profile over lr, T, ε), the best ``lr`` (and its ``lr_index``),
    ``temperature``, ``lapse`` and ``log_evidence`` (log mean likelihood over the grid points)."""
    p_count, s_count = ll.shape[:2]
    flat = ll.reshape(p_count, s_count, -1)
    best = flat.argmax(axis=2)
    i_lr, i_t, i_e = np.unravel_index(best, ll.shape[2:])
    top = flat.max(axis=2, keepdims=True)
    evidence = (top[..., 0] + np.log(np.exp(flat - top).mean(axis=2)))
    return {"ll_max": flat.max(axis=2), "lr_index": i_lr, "lr": np.asarray(grid.lrs)[i_lr],
            "temperature": np.asarray(grid.temperatures)[i_t], "lapse": np.asarray(grid.lapses)[i_e],
            "log_evidence": evidence}


def scale_posterior(log_evidence: np.ndarray) -> np.ndarray:
    """(P, S) posterior over the scales under a uniform prior on the scales and on the grid."""
    z = log_evidence - log_evidence.max(axis=1, keepdims=True)
    w = np.exp(z)
    return w / w.sum(axis=1, keepdims=True)


def profile_interval(ll_max: np.ndarray, scales: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(P,) the smallest and largest scale whose profile log-likelihood is within ``PROFILE_DROP``
    of the best (the 95 % profile interval over log σ on the searched scales)."""
    s = np.asarray(scales, float)
    inside = ll_max >= ll_max.max(axis=1, keepdims=True) - PROFILE_DROP
    return np.array([s[m].min() for m in inside]), np.array([s[m].max() for m in inside])


def classify(p_rich: np.ndarray) -> np.ndarray:
    """'rich' where p(rich) ≥ ``CONFIDENT``, 'lazy' where p(lazy) ≥ it, else 'undecided'."""
    return np.where(p_rich >= CONFIDENT, "rich", np.where(1 - p_rich >= CONFIDENT, "lazy", "undecided"))


def bic(ll: np.ndarray | float, k: int, n: np.ndarray | int) -> np.ndarray:
    """Bayesian information criterion −2 LL + k ln n (n scored choices)."""
    return -2.0 * np.asarray(ll, float) + k * np.log(np.asarray(n, float))


def phase_accuracy(outputs: np.ndarray, seqs: Sequences, lr_index: np.ndarray, last_trials: int = 100
                   ) -> dict[str, np.ndarray]:
    """(P, S) sign accuracy (output > 0 = accept; mean over seeds; trials of value 0 not scored) of each
    scale's network at the person's fitted learning rate: ``net_last_block`` on the last
    ``last_trials`` feedback trials, ``net_test_first_garden`` on the trials without feedback in the
    garden of the person's first trial (the garden trained first under blocked curricula)."""
    p_count, _, _, s_count, _ = outputs.shape
    result = {"net_last_block": np.full((p_count, s_count), np.nan),
              "net_test_first_garden": np.full((p_count, s_count), np.nan)}
    for i, person in enumerate(seqs.trials):
        n = len(person)
        y = seqs.targets[i, :n]
        feedback = seqs.learn[i, :n]
        first = (person["context"] == person["context"].iloc[0]).to_numpy()
        last = np.isin(np.arange(n), np.flatnonzero(feedback)[-last_trials:])
        masks = {"net_last_block": last & (y != 0), "net_test_first_garden": ~feedback & first & (y != 0)}
        for s in range(s_count):
            right = np.sign(outputs[i, :n, lr_index[i, s], s, :]) == np.sign(y)[:, None]    # (n, K)
            for name, mask in masks.items():
                if mask.any():
                    result[name][i, s] = right[mask].mean()
    return result
