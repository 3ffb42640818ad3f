"""Networks run through participants' trial sequences: online SGD, choices as a trial table.

Each network (scale x seed of a ``SweepConfig``) sees each participant's trials in order (by
session, then trial): its output is read (the choice: output > 0 -> accept, or accept with
p = sigmoid(output / T), temperature T = ``CHOICE_TEMPERATURE`` by default) and, on trials where
the participant got feedback, it takes one gradient step on 1/2 (output - value/25)^2 for that one
tree. So blocked and interleaved curricula reach the network exactly as they reached the person,
and its choices can be fitted with the same psychometric models. Every network of every
participant runs at once (``train.online_batch``).

Learning rate: one per init scale, ``config.ONLINE_LRS`` by default (the rule: the value of
``ONLINE_LR_GRID`` with the best last-block accuracy on seeded interleaved sequences,
``tune_online_lr``), or one given rate for every network.

Output: one trial table per network, stacked; participant_id = ``<participant>N<k>`` (k = the
network's row in ``config.networks()``), ``rt`` empty, ``correct`` and ``reward_received``
recomputed from the network's choice, plus columns source_participant_id, scale and ctx_scale (the
init scales, named as in every network table), network_seed (prefixed: a fit table has its own
``seed``), network_lr, network_output.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from garden.core.errors import SettingError, UserError
from garden.core.provenance import write_sidecar
from garden.core.task import (
    CONTEXTS,
    STEP_POINTS,
    condition_index,
    context_index,
    correct_choice,
    item_table,
)
from garden.core.trials import column_descriptions, read_trials, write_table
from garden.modeling.networks.config import (
    CHOICE_TEMPERATURE,
    ONLINE_LR_GRID,
    ONLINE_LRS,
    PERSON_LR,
    SweepConfig,
    TrainConfig,
)
from garden.modeling.networks.data import task_data
from garden.modeling.networks.measures import forward, geometry_measures

CHOICE_RULES = ("sign", "sigmoid")
LAST_BLOCK_TRIALS = 100
"""Trials at the end of training over which ``tune_online_lr`` scores a learning rate."""


def learns_on(trials: pd.DataFrame) -> np.ndarray:
    """Trials the network learns from: those with ``feedback`` == 1 when the column exists, else all."""
    if "feedback" in trials.columns:
        return trials["feedback"].to_numpy(float) == 1
    return np.ones(len(trials), bool)


def network_choices(outputs: np.ndarray, rule: str = "sign", rng: np.random.Generator | None = None,
                    temperature: float = CHOICE_TEMPERATURE) -> np.ndarray:
    """1 accept / 0 reject from outputs: output > 0 (``sign``) or a draw with p = sigmoid(output / T)."""
    if rule == "sign":
        return (outputs > 0).astype(float)
    if rule == "sigmoid":
        if rng is None:
            raise ValueError("the sigmoid choice rule needs a seeded rng")
        return (rng.random(outputs.shape) < choice_probability(outputs, temperature)).astype(float)
    raise UserError(f"choice rule {rule!r} is invalid: use one of {list(CHOICE_RULES)}")


def choice_probability(outputs: np.ndarray, temperature: float = CHOICE_TEMPERATURE) -> np.ndarray:
    """p(accept) = sigmoid(output / T) of the sigmoid choice rule (outputs in value / 25 units)."""
    if temperature <= 0:
        raise SettingError("temperature", f"must be > 0 (value / 25 units), got {temperature}")
    return 1.0 / (1.0 + np.exp(-np.asarray(outputs, float) / temperature))


def network_lrs(config: SweepConfig, lr: float | Mapping[float, float] | None = None) -> np.ndarray:
    """Online learning rate of every network of ``config``: ``lr`` for all, or per scale from a
    mapping (default ``ONLINE_LRS``; ``PERSON_LR`` for every scale under ``input_norm="item"``);
    UserError for a scale without one."""
    if isinstance(lr, (int, float)):
        return np.full(len(config.networks()), float(lr))
    if lr is None and config.input_norm == "item":
        return np.full(len(config.networks()), PERSON_LR)
    table = ONLINE_LRS if lr is None else lr
    missing = sorted({s for s in config.scales if s not in table})
    if missing:
        raise SettingError("scales", f"no tuned online learning rate for init scale(s) {missing} "
                                     f"(tuned: {sorted(table)}); give {{lr}} or tune one with tune_online_lr")
    return np.array([table[s] for s in config.networks().scale])


@dataclass(frozen=True)
class Sequences:
    """Participants' trial sequences as arrays (P participants x T trials, padded with item -1)."""

    participant_ids: list[str]
    trials: list[pd.DataFrame]   # each participant's trials, sorted by session then trial
    items: np.ndarray            # (P, T) condition index (garden.core.task.condition_index); -1 padding
    targets: np.ndarray          # (P, T) value / 25
    learn: np.ndarray            # (P, T) feedback trials


def sequences(trials: pd.DataFrame, contexts: tuple[str, str] = CONTEXTS) -> Sequences:
    """Every participant's trials, in order, as padded arrays for ``train.online_batch``."""
    people = [(str(pid), p.sort_values(["session", "trial"], kind="stable").reset_index(drop=True))
              for pid, p in trials.groupby("participant_id", sort=False)]
    length = max((len(p) for _, p in people), default=0)
    items, targets, learn = np.full((len(people), length), -1), np.zeros((len(people), length)), \
        np.zeros((len(people), length), bool)
    for i, (_, p) in enumerate(people):
        n = len(p)
        items[i, :n] = condition_index(context_index(p["context"], contexts), p["branchiness"], p["leafiness"])
        targets[i, :n] = p["reward_value"].to_numpy(float) / STEP_POINTS
        learn[i, :n] = learns_on(p)
    return Sequences([pid for pid, _ in people], [p for _, p in people], items, targets, learn)


def matched_outputs(seqs: Sequences, config: SweepConfig, lr: np.ndarray, *, final: bool = False):
    """(P, T, M) outputs of the M networks of ``config`` run through each of the P sequences; with
    ``final`` also their parameters after the last trial (``train.online_batch``)."""
    from garden.modeling.networks.train import (  # deferred: start-up
        augmented_inputs,
        init_params,
        online_batch,
    )

    if config.train.hidden_activation != "relu":
        raise SettingError("hidden_activation", f"{config.train.hidden_activation!r}: networks run through trial "
                                                "sequences have ReLU hidden units only; leave it relu (or drop "
                                                "{curriculum})")
    data = task_data(config.inputs, config.rule_code, config.image_size_px, input_norm=config.input_norm)
    tc, (scales, ctx_scales) = config.train, config.init_sds()
    params = init_params(data.n_stimulus_units, scales, ctx_scales, config.networks().seed, tc.n_hidden,
                         tc.output_sd, tc.bias)
    return online_batch(augmented_inputs(data), seqs.items, seqs.targets, seqs.learn, params, lr, l2=tc.l2,
                        dtype=tc.dtype, device=tc.device, threads=tc.threads, final=final)


def run_curriculum(trials: pd.DataFrame, config: SweepConfig, choice_rule: str = "sign", choice_seed: int = 0,
                   contexts: tuple[str, str] = CONTEXTS, *, lr: float | Mapping[float, float] | None = None,
                   temperature: float = CHOICE_TEMPERATURE) -> pd.DataFrame:
    """The trial tables of every network of ``config`` run through every participant in ``trials``.

    ``lr``: see ``network_lrs``. ``sigmoid`` choices (temperature ``temperature``) are drawn from
    ``default_rng([choice_seed, network seed])`` per participant.
    """
    if choice_rule not in CHOICE_RULES:
        raise UserError(f"choice rule {choice_rule!r} is invalid: use one of {list(CHOICE_RULES)}")
    nets, rates = config.networks(), network_lrs(config, lr)
    seqs = sequences(trials, contexts)
    outputs = matched_outputs(seqs, config, rates)
    tables = []
    for pid, person, out in zip(seqs.participant_ids, seqs.trials, outputs):
        for k, net in nets.iterrows():
            rng = np.random.default_rng([choice_seed, int(net.seed)]) if choice_rule == "sigmoid" else None
            table = person.drop(columns=[c for c in ("response_key",) if c in person.columns]).copy()
            table["participant_id"] = f"{pid}N{k}"
            table["choice"] = network_choices(out[:len(person), k], choice_rule, rng, temperature)
            table["rt"] = np.nan
            right = correct_choice(table["reward_value"])
            table["correct"] = np.where(np.isnan(right), np.nan, (table["choice"] == right).astype(float))
            table["reward_received"] = table["reward_value"] * table["choice"]
            table["source_participant_id"] = pid
            table["scale"], table["ctx_scale"] = net.scale, net.ctx_scale
            table["network_seed"], table["network_lr"] = int(net.seed), rates[k]
            table["network_output"] = out[:len(person), k]
            tables.append(table)
    return pd.concat(tables, ignore_index=True)


def run_curriculum_file(path: str | os.PathLike, config: SweepConfig, out_dir: str | os.PathLike,
                        choice_rule: str = "sign", choice_seed: int = 0, *,
                        lr: float | Mapping[float, float] | None = None,
                        temperature: float = CHOICE_TEMPERATURE, include_incomplete: bool = False) -> Path:
    """Read trial table(s), run every network through every participant, write ``out_dir/choices.tsv``."""
    target = Path(out_dir) / "choices.tsv"
    if target.exists():
        raise UserError(f"{target}: already exists; choose another --out")
    network_lrs(config, lr)   # refuse untuned scales before reading anything
    trials = read_trials(path, include_incomplete=include_incomplete)
    labels = tuple(dict.fromkeys(trials["context"]))
    contexts = CONTEXTS if set(labels) <= set(CONTEXTS) else tuple(sorted(labels))
    if len(contexts) != 2:
        raise UserError(f"{path}: column 'context' has labels {list(labels)}; expected two gardens")
    table = run_curriculum(trials, config, choice_rule, choice_seed, contexts, lr=lr, temperature=temperature)
    out = write_table(table, target)
    write_sidecar(out, config.to_dict(), choice_seed, source=str(path), choice_rule=choice_rule, contexts=contexts,
                  temperature=temperature, learning_rates=dict(zip(map(str, config.scales), network_lrs(config, lr)[
                      np.unique(config.networks().scale, return_index=True)[1]].tolist())),
                  include_incomplete=include_incomplete, completed=True,
                  learning="online SGD, one step per trial with feedback == 1 (every trial when there is no "
                           "feedback column), output read before the step",
                  columns=column_descriptions(table.columns))
    return out


def interleaved_sequences(n_sequences: int, n_train: int = 400, seed: int = 0) -> pd.DataFrame:
    """Seeded interleaved training sequences of rule 1: passes over the 50 items in random order,
    ``n_train`` trials with feedback each (participant_id S0, S1, ...)."""
    rng = np.random.default_rng(seed)
    items = item_table()
    passes = -(-n_train // len(items))
    tables = [items.iloc[np.concatenate([rng.permutation(len(items)) for _ in range(passes)])[:n_train]]
              .assign(participant_id=f"S{i}", session=1, trial=np.arange(1, n_train + 1), feedback=1)
              for i in range(n_sequences)]
    return pd.concat(tables, ignore_index=True)


def tune_online_lr(scales: Sequence[float], ctx_scales: Sequence[float], *, grid: Sequence[float] = ONLINE_LR_GRID,
                   seeds: Sequence[int] = tuple(range(4)), n_sequences: int = 8, n_train: int = 400,
                   seed: int = 0) -> pd.DataFrame:
    """The online learning-rate rule: per init scale, mean sign accuracy in the last
    ``LAST_BLOCK_TRIALS`` of ``n_train`` interleaved training trials (``interleaved_sequences``)
    for every rate of ``grid``; ``chosen`` marks the best rate (the smallest among ties).

    Columns: scale, ctx_scale, lr, last_block_accuracy, chosen."""
    seqs = sequences(interleaved_sequences(n_sequences, n_train, seed))
    rows = []
    for lr in grid:
        config = SweepConfig(scales=tuple(scales), ctx_scales=tuple(ctx_scales), seeds=tuple(seeds),
                             train=TrainConfig())
        out = matched_outputs(seqs, config, np.full(len(config.networks()), lr))[:, -LAST_BLOCK_TRIALS:]
        y = seqs.targets[:, -LAST_BLOCK_TRIALS:, None]
        right = ((np.sign(out) == np.sign(y)) & (y != 0)).sum(axis=1) / (y != 0).sum(axis=1)   # (P, M)
        acc = pd.Series(right.mean(axis=0)).groupby(config.networks().scale.to_numpy()).mean()
        rows += [{"scale": s, "ctx_scale": c, "lr": lr, "last_block_accuracy": acc[s]} for s, c in zip(scales, ctx_scales)]
    table = pd.DataFrame(rows)
    best = table.sort_values(["scale", "last_block_accuracy", "lr"], ascending=[True, False, True]) \
        .groupby("scale").head(1).index
    return table.assign(chosen=table.index.isin(best))


def accuracy_by_phase(seqs: Sequences, outputs: np.ndarray, networks: pd.DataFrame) -> pd.DataFrame:
    """Per participant x network: sign accuracy (output > 0 = accept) in the last
    ``LAST_BLOCK_TRIALS`` feedback trials (``last_train_block``), on the trials without feedback
    (``test``) and there on the garden of the participant's first trial (``test_first_garden``, the
    garden trained first under blocked curricula) and the other one (``test_second_garden``), beside
    the same measures of the person's own choices (``person_*``, NaN without a ``choice`` column).
    Trials with value 0 are not scored."""
    rows = []
    for i, (pid, person) in enumerate(zip(seqs.participant_ids, seqs.trials)):
        n = len(person)
        y = seqs.targets[i, :n]
        feedback, scored = seqs.learn[i, :n], y != 0
        last = np.flatnonzero(feedback)[-LAST_BLOCK_TRIALS:]
        first = (person["context"] == person["context"].iloc[0]).to_numpy()
        masks = {"last_train_block": np.isin(np.arange(n), last), "test": ~feedback,
                 "test_first_garden": ~feedback & first, "test_second_garden": ~feedback & ~first}
        right = np.sign(outputs[i, :n]) == np.sign(y)[:, None]                       # (n, M)
        mine = (person["choice"].to_numpy(float) == (y > 0)) if "choice" in person else np.full(n, np.nan)
        person_acc = {f"person_{k}": float(np.mean(mine[m & scored])) if (m & scored).any() else np.nan
                      for k, m in masks.items()}
        acc = {k: right[m & scored].mean(axis=0) if (m & scored).any() else np.full(len(networks), np.nan)
               for k, m in masks.items()}
        rows.append(networks.assign(participant_id=pid, **acc, **person_acc))
    return pd.concat(rows, ignore_index=True)


def final_geometry(params: dict[str, np.ndarray], config: SweepConfig) -> pd.DataFrame:
    """Geometry of networks after a curriculum (``matched_outputs(..., final=True)``'s parameters,
    leading axes (P, M)): per participant x network the hidden-RDM betas, ``dim_90`` and unit
    classes of ``measures.geometry_measures`` on the 50 items, beside scale and seed."""
    data = task_data(config.inputs, config.rule_code, config.image_size_px, input_norm=config.input_norm)
    p_count, m = params["b_output"].shape
    flat = {name: a.reshape(p_count * m, *a.shape[2:]) for name, a in params.items()}
    hidden, _ = forward(flat, data.stimulus, data.context)
    table, _ = geometry_measures(data, hidden, flat["w_context"], config.context_offset)
    nets = config.networks()
    return table.assign(participant=np.repeat(np.arange(p_count), m), scale=np.tile(nets.scale, p_count),
                        seed=np.tile(nets.seed, p_count))
