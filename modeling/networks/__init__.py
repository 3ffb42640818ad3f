"""Rich vs lazy networks (Flesch et al. 2022, paradigm §4): batched training, measures, sweeps, curricula.

Importing this package does not import torch: ``train``, ``curriculum`` and ``sweep`` import it
when they run. ``train_sweep`` and ``load_results`` are loaded on first use.

Modules: ``data`` (the 50 items and their inputs), ``train`` (the batched full-batch trainer),
``measures`` (read-outs that need weights), ``sweep`` (shards, submitit, merge, resume),
``curriculum`` (online SGD on a participant's trial sequence, choices as a trial table).
"""

from __future__ import annotations

from typing import Any

__all__ = ["train_sweep", "load_results"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from modeling.networks import sweep

        return getattr(sweep, name)
    raise AttributeError(f"module 'modeling.networks' has no attribute {name!r}")
