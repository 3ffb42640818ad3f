"""Rich vs lazy networks (Flesch et al. 2022; docs/networks.md): batched training, measures, sweeps, curricula.

Importing this package does not import torch: the trainer runs on numpy on the CPU, and ``backend`` loads
torch only for a CUDA device (the ``[gpu]`` extra).

Modules: ``config`` (settings, the published scales), ``data`` (the 50 items and their inputs),
``train`` (the batched trainer, full-batch and online), ``backend`` (the array operations the trainer's
step is written against: numpy, or torch on a GPU), ``measures`` (read-outs that need weights),
``sweep`` (shards, submitit, merge, resume), ``curriculum`` (networks run through a participant's
trial sequence, choices as a trial table), ``likelihood`` (networks as cognitive models: the
likelihood of a person's choices), ``gating`` (the 2022 gating analysis, torch-free), ``rdms``
(hidden-layer RDMs of a sweep as ``RDMs``), ``fitted_rdms`` (hidden-layer RDMs of the networks fitted to
each person's own choices).
"""

from __future__ import annotations

from garden.modeling.networks.sweep import load_results, train_sweep

__all__ = ["train_sweep", "load_results"]
