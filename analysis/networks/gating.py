"""Tidy tables of the gating analysis (Flesch et al. 2022) of finished network sweeps.

Why: the gating account says ReLU units let the context input silence each task's units in the other
context. The measures are defined in ``garden.modeling.networks.gating``; these functions read them off a
sweep (``garden.modeling.networks.load_results``) as long tables for the figures, the report and
``garden gating``:

* ``overlap_table``: per network, at initialisation and after training, under each activity rule,
  the fractions of units task-selective per context, shared and dead, and the Jaccard overlap of
  the two contexts' active sets (recomputed from the stored initial and final weights, float64);
* ``dynamics_table``: the same measures (rule "any") and the context-weight correlations along
  training, as the trainer recorded them every ``record_every`` steps (its first row is the
  at-initialisation measure);
* ``tree_accuracy_table`` / ``control_table``: which trees a sweep's networks get right, and their
  accuracy on congruent, incongruent and neutral trees beside the ceiling of any network that is
  additive in stimulus and context (the linear-hidden-unit control cannot pass it);
* ``gating_tests``: paired tests across σ (``garden.analysis.networks.stats.paired_scale_tests``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from garden.analysis.networks.stats import paired_scale_tests
from garden.core.errors import UserError
from garden.core.task import item_congruency
from garden.modeling.networks.data import TaskData, task_data
from garden.modeling.networks.gating import (
    ACTIVE_RULES,
    GATING_STATS,
    OVERLAP_MEASURES,
    active_units,
    additive_ceiling,
    overlap_measures,
)
from garden.modeling.networks.measures import forward
from garden.modeling.networks.sweep import SweepResults
from garden.rsa.geometry import sign_accuracy

MAX_CURVE_POINTS = 200
CONGRUENCY = ("congruent", "incongruent", "neutral")
GATING_TRENDS = {"active_jaccard": "greater", "frac_shared": "greater", "frac_dead": "two-sided"}
"""Expected slopes on log σ (towards lazy) of the final overlap measures: rich nets share fewer units."""


def sweep_data(results: SweepResults) -> TaskData:
    """The 50 items and inputs a sweep was trained on."""
    c = results.config
    return task_data(c.inputs, c.rule_code, c.image_size_px)


def _keys(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[["scale", "seed"]].reset_index(drop=True)


def overlap_table(results: SweepResults, *, rules: Sequence[str] = ACTIVE_RULES) -> pd.DataFrame:
    """``scale``, ``seed``, ``when`` (init / final), ``rule`` (``ACTIVE_RULES``) and ``OVERLAP_MEASURES``:
    one row per network x when x rule, from the hidden activity of the stored weights."""
    data, arrays = sweep_data(results), results.arrays
    ctx = data.items["context_index"].to_numpy()
    activation = results.config.train.hidden_activation
    parts = []
    for when in ("init", "final"):
        params = {k: np.asarray(arrays[f"{k}_{when}"], float)
                  for k in ("w_input", "w_context", "b_hidden", "w_output", "b_output")}
        hidden, _ = forward(params, data.stimulus, data.context, activation=activation)
        for rule in rules:
            measures = overlap_measures(active_units(hidden, ctx, rule=rule))
            parts.append(_keys(results.summary).assign(when=when, rule=rule, **measures))
    return pd.concat(parts, ignore_index=True)


def dynamics_table(summary: pd.DataFrame, arrays: Mapping[str, np.ndarray],
                   max_points: int = MAX_CURVE_POINTS) -> pd.DataFrame:
    """``scale``, ``seed``, ``step`` and ``GATING_STATS`` (``gating_<name>`` of the sweep's arrays) along
    training, thinned to at most ``max_points`` recordings per network (first and last kept)."""
    missing = [f"gating_{name}" for name in GATING_STATS if f"gating_{name}" not in arrays]
    if missing:
        raise UserError(f"results.npz: no {missing[0]} (a sweep trained before the gating curves were recorded); "
                        "train it again with garden train")
    steps = np.asarray(arrays["record_steps"])
    keep = np.unique(np.linspace(0, len(steps) - 1, min(max_points, len(steps))).round().astype(int))
    keys, n = _keys(summary), len(keep)
    return pd.DataFrame({"scale": np.repeat(keys.scale.to_numpy(), n), "seed": np.repeat(keys.seed.to_numpy(), n),
                         "step": np.tile(steps[keep], len(keys)),
                         **{name: np.asarray(arrays[f"gating_{name}"], float)[:, keep].ravel()
                            for name in GATING_STATS}})


def tree_accuracy_table(results: SweepResults) -> pd.DataFrame:
    """One row per network x item with a non-zero target: ``scale``, ``seed``, ``context``,
    ``branchiness``, ``leafiness``, ``congruency``, ``target`` (value / 25), ``output`` (final) and
    ``correct`` (the output has the target's sign)."""
    data = sweep_data(results)
    items = data.items.assign(congruency=item_congruency(data.items), target=data.targets)
    scored = (data.targets != 0)
    outputs = np.asarray(results.arrays["outputs"], float)[:, scored]
    cells = items.loc[scored, ["context", "branchiness", "leafiness", "congruency", "target"]]
    keys, n = _keys(results.summary), int(scored.sum())
    table = pd.concat([cells] * len(keys), ignore_index=True)
    table.insert(0, "seed", np.repeat(keys.seed.to_numpy(), n))
    table.insert(0, "scale", np.repeat(keys.scale.to_numpy(), n))
    return table.assign(output=outputs.ravel(), correct=np.sign(outputs.ravel()) == np.sign(table["target"]))


def control_table(results: SweepResults) -> pd.DataFrame:
    """Per network: ``scale``, ``seed``, ``hidden_activation``, ``accuracy`` and ``acc_<congruency>`` of
    the final outputs, ``final_loss``, and the ceilings of a network additive in stimulus and context
    (``ceiling_accuracy``, ``ceiling_<congruency>``: ``garden.modeling.networks.gating.additive_ceiling``)."""
    data = sweep_data(results)
    kind = item_congruency(data.items)
    outputs = np.asarray(results.arrays["outputs"], float)
    ceiling = additive_ceiling(data)
    table = _keys(results.summary).assign(hidden_activation=results.config.train.hidden_activation,
                                          final_loss=results.summary["final_loss"].to_numpy(),
                                          accuracy=sign_accuracy(outputs, data.targets))
    for name in CONGRUENCY:
        table[f"acc_{name}"] = sign_accuracy(outputs[:, kind == name], data.targets[kind == name])
    return table.assign(ceiling_accuracy=ceiling["accuracy"],
                        **{f"ceiling_{name}": ceiling[f"acc_{name}"] for name in CONGRUENCY})


def gating_tests(overlap: pd.DataFrame, summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """Paired tests across σ (seeds paired) of the overlap measures under rule "any": after training
    (``GATING_TRENDS``, measure names as they are) and at initialisation (``<measure>_init``,
    two-sided), and with ``summary`` the change of the context-weight correlation over all units
    during training (``ctx_corr_all_change`` = final - initial; expected to fall towards rich nets)."""
    part = overlap[overlap["rule"] == "any"]
    final = part[part["when"] == "final"].set_index(["scale", "seed"])[list(OVERLAP_MEASURES)]
    init = part[part["when"] == "init"].set_index(["scale", "seed"])[list(OVERLAP_MEASURES)].add_suffix("_init")
    table = final.join(init).reset_index()
    trends = {**GATING_TRENDS, **dict.fromkeys(init.columns, "two-sided")}
    if summary is not None:
        change = summary.assign(ctx_corr_all_change=summary["context_weight_corr_all"]
                                - summary["context_weight_corr_all_init"])[["scale", "seed", "ctx_corr_all_change"]]
        table = table.merge(change, on=["scale", "seed"])
        trends["ctx_corr_all_change"] = "greater"
    return paired_scale_tests(table, trends)
