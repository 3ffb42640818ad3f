"""Hidden-layer RDMs of the networks fitted to each person's own choices.

A person's fitted network of init scale σ (``garden networks fit``: per-item unit-norm inputs, the
person's own trial sequence, a step only on feedback trials, the learning rate fitted by likelihood
for that scale) is run through the person's sequence once more; after the last trial its hidden
activity on the 50 items gives a Euclidean RDM per init seed, and the seeds' RDMs are averaged (the
fit averages the seeds' predictions the same way). One ``RDMs`` row per person x scale, with the
rdm descriptors ``participant_id``, ``scale``, ``lr`` and ``n_seeds``. Torch is imported only when
the networks run (through the trainer).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from garden.core.errors import UserError
from garden.modeling.networks.curriculum import Sequences
from garden.modeling.networks.data import task_data
from garden.modeling.networks.likelihood import FitGrid, grid_networks
from garden.modeling.networks.measures import forward
from garden.rsa.distances import rdm
from garden.rsa.model_rdms import condition_table
from garden.rsa.rdms import RDMs

PEOPLE_PER_RUN = 16
"""People whose networks run in one batch (their final weights are held at once: ~4 MB per person)."""
MEASURE = "euclidean (hidden layer, mean over init seeds)"


def lr_indices(seqs: Sequences, fitted_lrs: pd.DataFrame, grid: FitGrid) -> np.ndarray:
    """(P, S) index into ``grid.lrs`` of each person's fitted learning rate per scale; ``fitted_lrs``
    has columns participant_id, scale, lr (a fit's ``scales.tsv``). UserError naming a person or
    scale the table lacks, or a rate off the grid."""
    table = fitted_lrs.assign(participant_id=fitted_lrs["participant_id"].astype(str))
    lrs = np.asarray(grid.lrs, float)
    out = np.empty((len(seqs.participant_ids), len(grid.scales)), int)
    for i, pid in enumerate(seqs.participant_ids):
        mine = table[table["participant_id"] == pid]
        for s, scale in enumerate(grid.scales):
            row = mine[np.isclose(mine["scale"].to_numpy(float), scale)]
            if row.empty:
                raise UserError(f"scales.tsv: no fitted learning rate for participant {pid!r} at scale {scale:g}; "
                                "the fit and the trial tables must hold the same people (rerun `garden networks fit`)")
            match = np.flatnonzero(np.isclose(lrs, float(row["lr"].iloc[0])))
            if not match.size:
                raise UserError(f"scales.tsv: lr {float(row['lr'].iloc[0]):g} of participant {pid!r} is not on "
                                f"the fit's grid {list(lrs)}: the folder is damaged; rerun `garden networks fit`")
            out[i, s] = match[0]
    return out


def fitted_hidden_rdms(seqs: Sequences, lr_index: np.ndarray, grid: FitGrid) -> RDMs:
    """Per person x scale of ``grid``: the seed-mean Euclidean RDM of the hidden layer (50 items, the
    ``garden.rsa.model_rdms.condition_table`` order, as the ROI RDMs) of the network run through the person's
    sequence at the fitted learning rate ``grid.lrs[lr_index[person, scale]]`` (module docstring)."""
    matrices, rows = [], []
    for start in range(0, len(seqs.participant_ids), PEOPLE_PER_RUN):
        part = slice(start, start + PEOPLE_PER_RUN)
        hidden = _final_hidden(Sequences(seqs.participant_ids[part], seqs.trials[part], seqs.items[part],
                                         seqs.targets[part], seqs.learn[part]), grid)   # (p, L, S, K, 50, H)
        for i, pid in enumerate(seqs.participant_ids[part]):
            for s, scale in enumerate(grid.scales):
                lr = lr_index[start + i, s]
                matrices.append(np.mean([rdm(h) for h in hidden[i, lr, s]], axis=0))
                rows.append({"participant_id": pid, "scale": float(scale), "lr": float(grid.lrs[lr]),
                             "n_seeds": len(grid.seeds)})
    return RDMs(np.stack(matrices), condition_table(), pd.DataFrame(rows), MEASURE)


def _final_hidden(seqs: Sequences, grid: FitGrid) -> np.ndarray:
    """(P, L, S, K, 50, H) hidden activity on the 50 items after each person's last trial, for every
    learning rate L, scale S and seed K of ``grid``."""
    _, final = grid_networks(seqs, grid, final=True)
    n_lr, m = len(grid.lrs), len(grid.scales) * len(grid.seeds)
    data = task_data(input_norm="item")
    p_count = len(seqs.items)
    flat = {name: np.asarray(a, float).reshape(p_count * n_lr * m, *a.shape[2:]) for name, a in final.items()}
    hidden, _ = forward(flat, data.stimulus, data.context)
    return hidden.reshape(p_count, n_lr, len(grid.scales), len(grid.seeds), *hidden.shape[1:])
