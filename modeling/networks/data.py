"""The networks' training set: the 50 task items (context x branchiness x leafiness) and their inputs.

Inputs are either the published Gaussian blobs (25 units, ``garden.stimuli.codes.network_inputs``) or
flattened tree images (``garden.stimuli.codes.image_codes``, one exemplar per cell, grey levels 0..1),
each followed by 2 one-hot context units. Both stimulus matrices are divided by their Frobenius
norm over the 50 items, as the published code does for the blobs, so image inputs have the same
overall scale. Image pixels are first centred (the mean image of the 25 cells subtracted): the
trees share most of their pixels, and without centring that common component dominates the
inputs, so gradient descent is ill-conditioned (it diverges at a learning rate at which the
tree-specific directions have not yet moved). Targets are value / 25 points, i.e. -2..2 along the relevant feature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from garden.core.errors import UserError
from garden.core.task import STEP_POINTS, item_table
from garden.stimuli.codes import context_onehot, image_codes, network_inputs

INPUTS = ("blobs", "images")


@dataclass(frozen=True)
class TaskData:
    """Inputs and targets of the 50 items, in ``garden.core.task.item_table`` order."""

    stimulus: np.ndarray  # (50, n_stimulus_units) float64
    context: np.ndarray   # (50, 2) float64
    targets: np.ndarray   # (50,) value / 25
    items: pd.DataFrame   # the item table (context, branchiness, leafiness, reward_value, ...)
    inputs: str

    @property
    def n_stimulus_units(self) -> int:
        return self.stimulus.shape[1]


def stimulus_codes(inputs: str = "blobs", image_size_px: int = 32, image_seed: int = 0) -> np.ndarray:
    """(50, D) stimulus units of the 50 items (the 25 cells repeated for each context), norm 1."""
    if inputs == "blobs":
        return np.asarray(network_inputs(normalise=True)[0], dtype=float)
    if inputs == "images":
        cells = np.asarray(image_codes(image_size_px, seed=image_seed), dtype=float)
        both = np.vstack([cells, cells]) - cells.mean(axis=0)
        return both / np.linalg.norm(both)
    raise UserError(f"unknown network inputs {inputs!r}: use one of {list(INPUTS)}")


def task_data(inputs: str = "blobs", rule_code: int = 1, image_size_px: int = 32, image_seed: int = 0,
              input_norm: str = "published") -> TaskData:
    """The 50 training items under counterbalancing ``rule_code`` with the chosen input code;
    ``input_norm="item"``: every item's stimulus and context vectors rescaled to norm 1
    (``garden.modeling.networks.config.INPUT_NORMS``)."""

    items = item_table(rule_code)
    stimulus = stimulus_codes(inputs, image_size_px, image_seed)
    context = np.asarray(context_onehot(normalise=True), dtype=float)
    if input_norm == "item":
        stimulus = stimulus / np.linalg.norm(stimulus, axis=1, keepdims=True)
        context = context / np.linalg.norm(context, axis=1, keepdims=True)
    return TaskData(stimulus=stimulus, context=context,
                    targets=items["reward_value"].to_numpy(float) / STEP_POINTS,
                    items=items, inputs=inputs)
