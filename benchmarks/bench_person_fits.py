"""Networks fitted to people (``garden networks fit``'s network part): batched vs a per-network loop.

All 583 participants of Flesch et al. (2018) x the default ``FitGrid`` (8 published scales x 4
seeds x 5 learning rates = 160 networks per person, per-item unit-norm inputs) run through their
600 trials with ``likelihood.network_outputs`` (one ``online_batch``) on 2 threads, then the
log-likelihood grid (x 8 temperatures x 8 lapses) and per-scale summaries; side by side in the same
run, the same networks one at a time (``online_batch`` with one participant and one network: the
same arithmetic, no batching) on ``LOOP_NETWORKS`` networks, extrapolated linearly (said in the
JSON). The choice-model fits of ``garden networks fit`` are not included (timed by the command).
Skipped when the published data are absent (``GARDEN_SHARED``, as ``bench_matched``).
"""

from __future__ import annotations

import os
import resource
import time

import numpy as np

from benchmarks.bench_matched import published_trials

N_THREADS = 2
LOOP_NETWORKS = 16
CHUNK_PEOPLE = 32


def main() -> dict:
    from threadpoolctl import threadpool_limits

    from garden.modeling.networks import likelihood as lk
    from garden.modeling.networks.curriculum import sequences
    from garden.modeling.networks.data import task_data
    from garden.modeling.networks.train import augmented_inputs, init_params, online_batch

    trials = published_trials()
    if trials is None:
        return {"skipped": "published data (shared/data/flesch2018) not found"}
    threadpool_limits(N_THREADS, user_api="blas")   # the CPU trainer runs on numpy: its threads
    seqs = sequences(trials)
    grid = lk.FitGrid(threads=N_THREADS)
    per_person = len(grid.scales) * len(grid.seeds) * len(grid.lrs)
    people = len(seqs.participant_ids)
    result = {"threads": N_THREADS, "participants": people, "networks_per_participant": per_person,
              "networks": people * per_person, "grid_points_per_scale": len(grid.lrs) * len(grid.temperatures)
              * len(grid.lapses), "load_average": os.getloadavg()[0]}
    start, cpu = time.perf_counter(), time.process_time()
    firsts = {}
    for a in range(0, people, CHUNK_PEOPLE):
        part = slice(a, min(a + CHUNK_PEOPLE, people))
        chunk = type(seqs)(seqs.participant_ids[part], seqs.trials[part], seqs.items[part], seqs.targets[part],
                           seqs.learn[part])
        outputs = lk.network_outputs(chunk, grid)
        choices, scored = lk.choice_arrays(chunk)
        lk.scale_summary(lk.log_likelihoods(outputs, choices, scored, grid), grid)
        firsts[a] = outputs[0]
    result["batched_s"] = round(time.perf_counter() - start, 2)
    result["batched_cpu_s"] = round(time.process_time() - cpu, 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    config = grid.sweep()
    scales, ctx_scales = config.init_sds()
    seeds = config.networks().seed.to_numpy()
    n_lr = len(grid.lrs)
    params = init_params(25, np.tile(scales, n_lr), np.tile(ctx_scales, n_lr), np.tile(seeds, n_lr))
    lr = np.repeat(np.asarray(grid.lrs, float), len(seeds))
    inputs = augmented_inputs(task_data(input_norm="item"))
    picks = np.linspace(0, per_person - 1, LOOP_NETWORKS).astype(int)
    start, cpu = time.perf_counter(), time.process_time()
    for k in picks:   # the first participant of each timed chunk is person 0: its outputs are kept
        single = online_batch(inputs, seqs.items[:1], seqs.targets[:1], seqs.learn[:1],
                              {key: v[k:k + 1] for key, v in params.items()}, lr[k:k + 1])
        np.testing.assert_allclose(single[0, :, 0], firsts[0].reshape(len(single[0]), -1)[:, k], atol=1e-3)
    loop, loop_cpu = time.perf_counter() - start, time.process_time() - cpu
    result["loop_s_extrapolated"] = round(loop * result["networks"] / LOOP_NETWORKS, 1)
    result["loop_note"] = (f"per-network loop timed on {LOOP_NETWORKS} networks ({loop:.2f} s), extrapolated "
                           f"linearly to {result['networks']}; the likelihood grid is not in the loop's time")
    result["speedup"] = round(result["loop_s_extrapolated"] / result["batched_s"], 1)
    result["loop_cpu_s_extrapolated"] = round(loop_cpu * result["networks"] / LOOP_NETWORKS, 1)
    result["speedup_cpu"] = round(result["loop_cpu_s_extrapolated"] / result["batched_cpu_s"], 1)
    result["cpu_note"] = "process CPU seconds (all threads): the fair comparison on a shared, loaded machine"
    result["targets"] = {"whole_fit_s_under": 600, "speedup_at_least": 20}
    return result
