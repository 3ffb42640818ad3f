"""Matched networks: every published participant's own trial sequence, batched, vs a per-network loop.

All 583 participants of Flesch et al. (2018) x 8 published init scales x 10 seeds (46 640
networks) run through their 600 trials (online SGD on the 400 feedback trials, per-scale learning
rates ``ONLINE_LRS``) with ``train.online_batch`` on 2 threads; side by side in the same run, the
same step one network at a time (``online_batch`` with one participant and one network: the same
arithmetic, no batching) on ``LOOP_NETWORKS`` networks, extrapolated linearly (said in the JSON).
Also reported (the numbers of docs/networks.md): accuracy in the last 100 training trials per
curriculum group and scale, and test accuracy on the first-trained garden, blocked (B200) vs
interleaved. Skipped (``skipped`` in the JSON) when the published data are absent (set
``GARDEN_SHARED`` to the folder holding ``data/flesch2018``).
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

N_THREADS = 2
N_SEEDS = 10
LOOP_NETWORKS = 16
REPO = Path(__file__).resolve().parents[1]


def _data_folder() -> Path | None:
    """The published data: ``$GARDEN_SHARED/data/flesch2018`` (default ``../shared`` beside the repository)."""
    folder = Path(os.environ.get("GARDEN_SHARED", REPO.parent / "shared")) / "data" / "flesch2018"
    return folder if (folder / "exp1a_trials.csv.gz").exists() else None


def published_trials():
    """Every published 2018 participant's trials (``garden.modeling.flesch2018.load_trials``: feedback in
    training only), or None when the data are absent."""
    from garden.modeling.flesch2018 import EXPERIMENTS, load_trials

    folder = _data_folder()
    return None if folder is None else pd.concat([load_trials(folder, e) for e in EXPERIMENTS], ignore_index=True)


def main() -> dict:
    from threadpoolctl import threadpool_limits

    from garden.modeling.networks.config import (
        SweepConfig,
    )
    from garden.modeling.networks.curriculum import (
        accuracy_by_phase,
        matched_outputs,
        network_lrs,
        sequences,
    )
    from garden.modeling.networks.data import task_data
    from garden.modeling.networks.train import augmented_inputs, init_params, online_batch

    trials = published_trials()
    if trials is None:
        return {"skipped": "published data (shared/data/flesch2018) not found"}
    threadpool_limits(N_THREADS, user_api="blas")   # the CPU trainer runs on numpy: its threads
    seqs = sequences(trials)
    config = SweepConfig(seeds=tuple(range(N_SEEDS)))
    nets, lr = config.networks(), network_lrs(config)
    result = {"threads": N_THREADS, "participants": len(seqs.participant_ids), "networks_per_participant": len(nets),
              "networks": len(seqs.participant_ids) * len(nets), "trials": int(seqs.items.shape[1]),
              "load_average": os.getloadavg()[0]}
    start = time.perf_counter()
    outputs = matched_outputs(seqs, config, lr)
    result["batched_s"] = round(time.perf_counter() - start, 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    data = task_data()
    params = init_params(25, nets.scale, nets.ctx_scale, nets.seed)
    picks = np.linspace(0, result["networks"] - 1, LOOP_NETWORKS).astype(int)
    start = time.perf_counter()
    for flat in picks:
        p, k = divmod(int(flat), len(nets))
        single = online_batch(augmented_inputs(data), seqs.items[p:p + 1], seqs.targets[p:p + 1], seqs.learn[p:p + 1],
                              {key: v[k:k + 1] for key, v in params.items()}, lr[k:k + 1])
        np.testing.assert_allclose(single[0, :, 0], outputs[p, :, k], atol=1e-4)  # the same networks
    loop = time.perf_counter() - start
    result["loop_s_extrapolated"] = round(loop * result["networks"] / LOOP_NETWORKS, 1)
    result["loop_note"] = (f"per-network loop timed on {LOOP_NETWORKS} networks ({loop:.2f} s), extrapolated "
                           f"linearly to {result['networks']}")
    result["speedup"] = round(result["loop_s_extrapolated"] / result["batched_s"], 1)

    acc = accuracy_by_phase(seqs, outputs, nets)
    group = trials.drop_duplicates("participant_id").set_index("participant_id")["group"]
    acc["group"] = acc.participant_id.map(group)
    last = acc.groupby(["group", "scale"]).last_train_block.mean().unstack(0).round(3)
    result["last_train_block_accuracy"] = {f"{s:g}": row.to_dict() for s, row in last.iterrows()}
    first = acc.groupby(["group", "scale"]).test_first_garden.mean().unstack(0).round(3)
    result["test_first_garden_accuracy"] = {f"{s:g}": row.to_dict() for s, row in first.iterrows()}
    result["forgetting_b200_vs_int"] = {f"{s:g}": round(float(r["int"] - r["b200"]), 3) for s, r in first.iterrows()}
    people = acc.drop_duplicates("participant_id").groupby("group")[
        ["person_last_train_block", "person_test_first_garden", "person_test"]].mean().round(3)
    result["people_accuracy"] = people.to_dict(orient="index")
    result["online_lr"] = {f"{s:g}": float(v) for s, v in zip(config.scales, lr[::N_SEEDS])}
    result["targets"] = {"batched_s_under": 120, "speedup_at_least": 20, "last_block_interleaved_at_least": 0.9,
                         "forgetting_at_least": 0.2}
    return result
