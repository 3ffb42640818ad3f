"""Networks run through a participant's trial sequence: online SGD, choices as a trial table.

Each network (scale x seed of a ``SweepConfig``) sees the participant's trials in order (by
session, then trial): it chooses (output > 0 -> accept, or accept with p = sigmoid(output)) and,
on trials where the participant got feedback, takes one gradient step on 1/2 (output - value/25)^2
for that one tree (learning rate ``config.train.lr``). So blocked and interleaved curricula reach
the network exactly as they reached the person, and its choices can be fitted with the same
psychometric models. All networks of a sweep run at once (a network dimension, as in ``train``).

Output: one trial table per network, stacked; participant_id = ``<participant>N<k>`` (k = the
network's row in ``config.networks()``), ``rt`` empty, ``correct`` and ``reward_received``
recomputed from the network's choice, plus columns source_participant_id, network_scale,
network_ctx_scale, network_seed, network_output.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import UserError
from core.provenance import write_sidecar
from core.task import CONTEXTS, correct_choice
from core.trials import column_descriptions, read_trials, write_table
from modeling.networks.config import SweepConfig

CHOICE_RULES = ("sign", "sigmoid")


def learns_on(trials: pd.DataFrame) -> np.ndarray:
    """Trials the network learns from: those with ``feedback`` == 1 when the column exists, else all."""
    if "feedback" in trials.columns:
        return trials["feedback"].to_numpy(float) == 1
    return np.ones(len(trials), bool)


def network_choices(outputs: np.ndarray, rule: str = "sign", rng: np.random.Generator | None = None) -> np.ndarray:
    """1 accept / 0 reject from outputs: output > 0 (``sign``) or a draw with p = sigmoid(output)."""
    if rule == "sign":
        return (outputs > 0).astype(float)
    if rule == "sigmoid":
        if rng is None:
            raise ValueError("the sigmoid choice rule needs a seeded rng")
        return (rng.random(outputs.shape) < 1.0 / (1.0 + np.exp(-outputs))).astype(float)
    raise UserError(f"choice rule {rule!r} is invalid: use one of {list(CHOICE_RULES)}")


def run_curriculum(trials: pd.DataFrame, config: SweepConfig, choice_rule: str = "sign", choice_seed: int = 0,
                   contexts: tuple[str, str] = CONTEXTS) -> pd.DataFrame:
    """The trial tables of every network of ``config`` run through every participant in ``trials``.

    ``sigmoid`` choices are drawn from ``default_rng([choice_seed, network seed])`` per participant.
    """
    # the trainer loads torch (slow, only needed when training)
    from modeling.networks.train import online_outputs

    nets = config.networks()
    tables = []
    for pid, person in trials.groupby("participant_id", sort=False):
        person = person.sort_values(["session", "trial"], kind="stable").reset_index(drop=True)
        outputs = online_outputs(person, config, learns_on(person), contexts)
        for k, net in nets.iterrows():
            rng = np.random.default_rng([choice_seed, int(net.seed)]) if choice_rule == "sigmoid" else None
            table = person.drop(columns=[c for c in ("response_key",) if c in person.columns]).copy()
            table["participant_id"] = f"{pid}N{k}"
            table["choice"] = network_choices(outputs[:, k], choice_rule, rng)
            table["rt"] = np.nan
            right = correct_choice(table["reward_value"])
            table["correct"] = np.where(np.isnan(right), np.nan, (table["choice"] == right).astype(float))
            table["reward_received"] = table["reward_value"] * table["choice"]
            table["source_participant_id"] = pid
            table["network_scale"], table["network_ctx_scale"] = net.scale, net.ctx_scale
            table["network_seed"], table["network_output"] = int(net.seed), outputs[:, k]
            tables.append(table)
    return pd.concat(tables, ignore_index=True)


def run_curriculum_file(path: str | os.PathLike, config: SweepConfig, out_dir: str | os.PathLike,
                        choice_rule: str = "sign", choice_seed: int = 0, *, include_incomplete: bool = False) -> Path:
    """Read trial table(s), run every network through every participant, write ``out_dir/choices.tsv``."""
    target = Path(out_dir) / "choices.tsv"
    if target.exists():
        raise UserError(f"{target}: already exists; choose another --out")
    trials = read_trials(path, include_incomplete=include_incomplete)
    labels = tuple(dict.fromkeys(trials["context"]))
    contexts = CONTEXTS if set(labels) <= set(CONTEXTS) else tuple(sorted(labels))
    if len(contexts) != 2:
        raise UserError(f"{path}: column 'context' has labels {list(labels)}; expected two gardens")
    table = run_curriculum(trials, config, choice_rule, choice_seed, contexts)
    out = write_table(table, target)
    write_sidecar(out, config.to_dict(), choice_seed, source=str(path), choice_rule=choice_rule, contexts=contexts,
                  include_incomplete=include_incomplete, completed=True,
                  learning="online SGD, one step per trial with feedback == 1 (every trial when there is no "
                           "feedback column), output read before the step",
                  columns=column_descriptions(table.columns))
    return out
