"""Sweeps of networks: split into shards, train and measure each shard, merge, resume.

A results folder ``DIR`` holds:

* ``sweep.json``: the sweep's settings (written first; a resumed sweep must match it);
* ``shards/shard-III-of-KKK.npz`` + ``.tsv``: one per shard, written atomically (temporary name,
  then rename), so a shard whose files exist is complete and is skipped on resume;
* ``summary.tsv`` (one row per network: scale x seed) and ``results.npz`` (curves, final
  hidden activity and outputs, initial and final weights, spectra, unit classes), each with a JSON
  sidecar, merged from the shards in network order. Every network's result depends only on its own
  seed and settings, never on its shard, so any number of shards merges into the same outputs.

Shards run in this process (``executor="inline"``) or as jobs through submitit: ``"local"``
(``submitit.LocalExecutor``, subprocesses on this machine) or ``"slurm"`` (a SLURM cluster).
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from garden.core.errors import SettingError, UserError
from garden.core.files import write_tsv, write_with
from garden.core.jobs import Resources, check_executor, run_jobs
from garden.core.provenance import read_json, write_json, write_sidecar
from garden.modeling.networks.config import SWEPT_SETTINGS, SweepConfig
from garden.modeling.networks.data import task_data
from garden.modeling.networks.measures import (
    congruency_curves,
    geometry_measures,
    readout_measures,
    relative_changes,
)

DONE = "summary.json"
"""The summary's sidecar, written after every other output of a sweep: a sweep is finished when it exists."""
SHARED_ARRAYS = ("record_steps", "noise_sds")
"""Arrays that are the same for every network (not concatenated over shards)."""

SUMMARY_DESCRIPTIONS = {
    "scale": "Input->hidden init SD (small = rich, large = lazy).",
    "ctx_scale": "Context->hidden init SD.",
    "seed": "Seed of numpy.random.default_rng drawing this network's initial weights.",
    "final_loss": "1/2 sum over the 50 items of squared error after the last step.",
    "final_accuracy": "Share of the 40 non-zero-target items whose output has the target's sign, after training.",
    "steps_to_criterion": "First step (number of updates made) at which every non-zero target's sign was "
                          "right; empty if never.",
    "rel_norm_change_input": "(||W_final|| - ||W_init||) / ||W_init|| (Frobenius; the paper's relative change "
                             "of the norm) of the input->hidden weights.",
    "rel_norm_change_context": "Same for the context->hidden weights.",
    "rel_norm_change_output": "Same for the hidden->output weights.",
    "rel_change_input": "||W_final - W_init|| / ||W_init|| (Frobenius; ours: how far the weights moved) of the "
                        "input->hidden weights.",
    "rel_change_context": "Same for the context->hidden weights.",
    "rel_change_output": "Same for the hidden->output weights.",
    "beta_grid": "OLS beta of the z-scored hidden RDM (Euclidean, 50 items) on the z-scored grid model RDM, "
                 "fitted jointly with orthogonal and parallel (no intercept).",
    "beta_orthogonal": "As beta_grid, orthogonal (factorized) model RDM.",
    "beta_parallel": "As beta_grid, parallel model RDM.",
    "dim_90": "Principal components needed for 90% of the variance of the final hidden activity (50 items), "
              "SVD of the item-centred activity (ours).",
    "dim_90_uncentred": "The same from the SVD of the raw (uncentred) activity, as the paper computes it.",
    "n_task_selective": "Hidden units whose mean activity is > 0 in exactly one context.",
    "n_mixed": "Hidden units whose mean activity is > 0 in both contexts.",
    "n_dead": "Hidden units whose mean activity is > 0 in neither context.",
    "context_weight_corr": "Pearson r across this network's TASK-SELECTIVE units of the two final "
                           "context->hidden weight columns (empty with < 3 such units).",
    "context_weight_corr_all": "The same over ALL hidden units.",
    "context_weight_corr_init": "context_weight_corr of the INITIAL context weights on the same (final "
                                "task-selective) units: the baseline the selection of units alone gives.",
    "context_weight_corr_all_init": "context_weight_corr_all of the initial context weights.",
    "acc_ablate_task_selective": "Accuracy with this network's own task-selective units silenced.",
    "acc_ablate_mixed": "Accuracy with this network's own mixed units silenced.",
    "acc_congruent": "Accuracy on items of congruent trees (both rules agree).",
    "acc_incongruent": "Accuracy on items of incongruent trees (the rules conflict).",
}


def shard_name(index: int, n_shards: int) -> str:
    return f"shard-{index:03d}-of-{n_shards:03d}"


def shard_networks(config: SweepConfig, index: int, n_shards: int) -> pd.DataFrame:
    """The networks of one shard: a contiguous slice of ``config.networks()``."""
    networks = config.networks()
    if not 1 <= n_shards <= len(networks):
        raise SettingError("shards", f"{n_shards} is invalid: use 1..{len(networks)} (the number of networks)")
    part = np.array_split(np.arange(len(networks)), n_shards)[index]
    return networks.iloc[part].reset_index(drop=True)


def run_shard(config: SweepConfig, out_dir: str | os.PathLike, index: int, n_shards: int,
              progress: bool = True) -> Path:
    """Train and measure one shard and write its TSV + npz (skipped when the npz exists)."""
    from garden.modeling.networks.train import init_params, train  # deferred: start-up

    folder = Path(out_dir) / "shards"
    name = shard_name(index, n_shards)
    if (folder / f"{name}.npz").exists():
        return folder / f"{name}.npz"
    folder.mkdir(parents=True, exist_ok=True)
    nets = shard_networks(config, index, n_shards)
    data = task_data(config.inputs, config.rule_code, config.image_size_px, input_norm=config.input_norm)
    tc, factor = config.train, config.init_sd_factor()
    params = init_params(data.n_stimulus_units, nets.scale * factor, nets.ctx_scale * factor, nets.seed, tc.n_hidden,
                         tc.output_sd, tc.bias)
    result = train(data, params, tc, progress=progress, desc=f"{name} ({len(nets)} networks)")
    summary, arrays = _measure(config, data, nets, result)
    write_tsv(folder / f"{name}.tsv", summary, overwrite=True)  # a leftover of an interrupted run is replaced
    write_with(folder / f"{name}.npz", lambda fh: np.savez_compressed(fh, **arrays), overwrite=True)  # marks it done
    return folder / f"{name}.npz"


def _measure(config: SweepConfig, data, nets: pd.DataFrame, result) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The shard's summary rows and arrays from its ``TrainResult``."""
    geometry, arrays = geometry_measures(data, result.hidden, result.params_final["w_context"], config.context_offset,
                                         result.params_init["w_context"])
    readouts = readout_measures(data, result.params_final, arrays["unit_class"], nets.seed, config.noise_sds,
                                config.noise_repeats, config.noise_seed, activation=config.train.hidden_activation)
    stc = result.steps_to_criterion.astype(float)
    summary = pd.concat([nets, pd.DataFrame({
        "final_loss": result.loss[:, -1], "final_accuracy": result.accuracy[:, -1],
        "steps_to_criterion": np.where(stc < 0, np.nan, stc)}),
        relative_changes(result.params_init, result.params_final), geometry, readouts], axis=1)
    arrays = {
        "scale": nets.scale.to_numpy(), "ctx_scale": nets.ctx_scale.to_numpy(), "seed": nets.seed.to_numpy(),
        "record_steps": result.record_steps, "noise_sds": np.asarray(config.noise_sds, float),
        "loss": result.loss, "accuracy": result.accuracy, "steps_to_criterion": result.steps_to_criterion,
        "weight_norm": result.weight_norm, "weight_distance": result.weight_distance,
        **congruency_curves(data, result.output_curve),
        **{f"gating_{k}": v for k, v in result.gating_curve.items()},
        "outputs": result.outputs, "hidden": result.hidden.astype(np.float32), **arrays,
        **{f"{k}_init": v for k, v in result.params_init.items()},
        **{f"{k}_final": v for k, v in result.params_final.items()},
    }
    return summary, arrays


def prepare_sweep(config: SweepConfig, out_dir: str | os.PathLike, n_shards: int) -> Path:
    """Create the results folder and write ``sweep.json`` (first run), or check that a resumed
    sweep has the same settings; refuse a finished one."""
    out = Path(out_dir)
    path = out / "sweep.json"
    if (out / DONE).exists():
        raise UserError(f"{out}: holds a finished sweep ({DONE}); choose another --out")
    if out.is_dir() and any(out.iterdir()) and not path.exists():
        raise UserError(f"{out}: is not empty and holds no sweep (no sweep.json); choose a new or empty --out folder")
    shard_networks(config, 0, n_shards)  # validates the number of shards
    out.mkdir(parents=True, exist_ok=True)
    wanted = {"sweep": config.to_dict(), "n_shards": n_shards}
    if path.exists():
        _check_settings(path, wanted)
        return out
    write_json(path, {"config": wanted})
    return out


def _check_settings(path: Path, wanted: dict) -> None:
    """UserError unless the sweep settings recorded in ``path`` (``sweep.json``) are ``wanted``."""
    old = read_json(path, what="sweep settings file")
    try:
        recorded = {"sweep": _with_later_settings(old["config"]["sweep"]), "n_shards": old["config"]["n_shards"]}
    except (KeyError, TypeError):
        raise UserError(f"{path}: not the settings of a garden sweep (damaged); use another --out") from None
    if json.loads(json.dumps(wanted)) != recorded:
        raise UserError(f"{path}: this folder holds a sweep with other settings; use another --out "
                        "or the same settings to resume it")


LATER_TRAIN_SETTINGS = {"hidden_activation": "relu"}
"""Training settings added after sweeps were first recorded, with the value those sweeps had."""
LATER_SWEEP_SETTINGS = {"input_norm": "published"}
"""Sweep settings added later, with the value earlier sweeps had."""


def _with_later_settings(sweep: Any) -> Any:
    """A recorded sweep's settings with ``LATER_TRAIN_SETTINGS`` filled in where absent, so a sweep
    recorded before a setting existed resumes under the same settings."""
    if isinstance(sweep, dict) and isinstance(sweep.get("train"), dict):
        return {**LATER_SWEEP_SETTINGS, **sweep, "train": {**LATER_TRAIN_SETTINGS, **sweep["train"]}}
    return sweep


def train_sweep(config: SweepConfig, out_dir: str | os.PathLike, shards: int = 1, executor: str = "inline",
                progress: bool = True, slurm: Resources | None = None) -> Path:
    """Train and measure every network of ``config`` into ``out_dir`` (resumable per shard); merge."""
    check_executor(executor)
    out = prepare_sweep(config, out_dir, shards)
    todo = [i for i in range(shards) if not (out / "shards" / f"{shard_name(i, shards)}.npz").exists()]
    bars = progress and executor == "inline"  # jobs elsewhere log to files: no progress bars there
    run_jobs(run_shard, [(config, str(out), i, shards, bars) for i in todo], executor=executor,
             folder=out.with_name(out.name + ".jobs"), resources=slurm, record=out / "slurm-jobs.json")
    return merge_shards(config, out, shards)


def setting_folder(out_dir: str | os.PathLike, setting: str, value: float) -> Path:
    """The sweep folder of one value of a swept training setting: ``DIR/<setting>-<value>`` (e.g. ``l2-0.1``)."""
    return Path(out_dir) / f"{setting}-{value:g}"


def train_setting_sweep(config: SweepConfig, out_dir: str | os.PathLike, setting: str, values: tuple[float, ...],
                        **kwargs: Any) -> Path:
    """One sweep of ``config`` per value of the training setting ``setting`` (``SWEPT_SETTINGS``: l2 or lr),
    each a finished, resumable sweep folder ``setting_folder(out_dir, setting, value)`` (``train_sweep``
    with ``kwargs``), then ``DIR/settings.tsv``: every sweep's summary rows with the value in a first
    column named ``setting`` (+ sidecar). The paper's L2 and learning-rate sweeps
    (``config.PAPER_L2S``, ``config.PAPER_LRS``) are run this way."""
    if setting not in SWEPT_SETTINGS:
        raise UserError(f"cannot sweep {setting!r}: use one of {list(SWEPT_SETTINGS)}")
    out = Path(out_dir)
    folders = [setting_folder(out, setting, value) for value in values]
    if len({f.name for f in folders}) != len(values) or not values:
        raise UserError(f"--{setting}: give distinct values (6 significant digits; got {list(values)})")
    if (out / "settings.json").exists() or (out / "sweep.json").exists():
        raise UserError(f"{out}: holds a finished {setting} sweep or a sweep of its own; choose another --out")
    frames = []
    for value, folder in zip(values, folders):   # a rerun skips the finished sweeps (same settings) and resumes
        swept = replace(config, train=replace(config.train, **{setting: value}))
        if (folder / DONE).exists():
            _check_settings(folder / "sweep.json", {"sweep": swept.to_dict(), "n_shards": kwargs.get("shards", 1)})
        else:
            train_sweep(swept, folder, **kwargs)
        frames.append(pd.read_csv(folder / "summary.tsv", sep="\t").assign(**{setting: value}))
    table = pd.concat(frames, ignore_index=True)
    table = table[[setting, *table.columns.drop(setting)]]
    write_tsv(out / "settings.tsv", table, overwrite=True)  # a leftover of an interrupted run; the sidecar marks done
    write_sidecar(out / "settings.tsv", {**config.to_dict(), "swept": setting, "values": list(values)}, None,
                  completed=True, folders=[f.name for f in folders],
                  columns={setting: {"Description": f"The value of {setting} of this row's sweep "
                                                    "(TrainConfig; the other columns: that sweep's summary.tsv)"}})
    return out


def merge_shards(config: SweepConfig, out: Path, n_shards: int) -> Path:
    """Concatenate the shards in network order into ``summary.tsv`` and ``results.npz`` (+ sidecars)."""
    names = [shard_name(i, n_shards) for i in range(n_shards)]
    missing = [n for n in names if not (out / "shards" / f"{n}.npz").exists()]
    if missing:
        raise UserError(f"{out}: shards {missing} are not finished; run the same command again to resume")
    summary = pd.concat([_read_shard_table(out, n) for n in names], ignore_index=True)
    loaded = [_read_shard_arrays(out, n) for n in names]
    arrays = {k: (loaded[0][k] if k in SHARED_ARRAYS else np.concatenate([d[k] for d in loaded]))
              for k in loaded[0]}
    # a leftover of an interrupted merge is replaced; the summary's sidecar, written last, marks the sweep done
    write_with(out / "results.npz", lambda fh: np.savez_compressed(fh, **arrays), overwrite=True)
    write_tsv(out / "summary.tsv", summary, overwrite=True)
    meta = {"n_networks": len(summary), "n_shards": n_shards, "curve_stride_steps": config.train.record_every,
            "context_weight_corr_units": "task-selective units of each network (context_weight_corr); "
                                         "all units (context_weight_corr_all)",
            "noise": f"Gaussian noise added to the {config.inputs} stimulus units only (acc_noise_<SD>, ours) or to "
                     "every input unit, stimulus and context (acc_noise_all_<SD>, the paper's); "
                     f"{config.noise_repeats} draws per network from numpy default_rng([noise_seed, seed]); "
                     "accuracy is the mean over the draws",
            "model_rdm_context_offset": config.context_offset}
    columns = {**SUMMARY_DESCRIPTIONS, **{c: {"Description": f"Accuracy under noise SD {c.rpartition('_')[2]} on the "
                                                             + ("stimulus and context units (the paper's)"
                                                                if c.startswith("acc_noise_all_")
                                                                else "stimulus units only (ours)")}
                                          for c in summary.columns if c.startswith("acc_noise_")}}
    write_sidecar(out / "results.npz", config.to_dict(), None, **meta, arrays={
        k: list(v.shape) for k, v in arrays.items()},
        unit_class_codes={"task_selective": 0, "mixed": 1, "dead": 2},
        layout="arrays with a leading network axis follow summary.tsv's rows; record_steps gives the "
               "steps of the loss/accuracy/weight curves; w_input is (network, hidden, input unit); "
               "weight_norm and weight_distance are (network, recorded step, matrix) with matrices "
               "(input, context, output): ||W_t|| and ||W_t - W_0|| (Frobenius); gating_<measure> are "
               "(network, recorded step): garden.modeling.networks.gating.gating_stats of the units active on any "
               "item of each context at that step", overwrite=True)
    write_sidecar(out / "summary.tsv", config.to_dict(), None, **meta, completed=True,
                  columns={c: columns[c] if isinstance(columns[c], dict) else {"Description": columns[c]}
                           for c in summary.columns})
    return out


def _read_shard_table(out: Path, name: str) -> pd.DataFrame:
    path = out / "shards" / f"{name}.tsv"
    try:
        return pd.read_csv(path, sep="\t")
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: unreadable shard table ({type(exc).__name__}); delete it and {name}.npz, "
                        "then run the same command again to retrain that shard") from None


def _read_shard_arrays(out: Path, name: str) -> dict[str, np.ndarray]:
    path = out / "shards" / f"{name}.npz"
    try:
        with np.load(path, allow_pickle=False) as npz:
            return dict(npz)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path}: damaged shard ({type(exc).__name__}); delete it and run the same command "
                        "again to retrain that shard") from None


@dataclass(frozen=True)
class SweepResults:
    """A finished sweep: the summary table, the arrays of results.npz, the settings."""

    summary: pd.DataFrame
    arrays: dict[str, np.ndarray]
    config: SweepConfig


def load_results(out_dir: str | os.PathLike) -> SweepResults:
    """Read a finished sweep folder (``summary.tsv``, ``results.npz``, ``sweep.json``)."""
    out = Path(out_dir)
    if not (out / DONE).exists():
        raise UserError(f"{out}: no {DONE}; not a finished network sweep (run `garden train --out {out}` "
                        "again to finish it)")
    settings = read_json(out / "sweep.json", what="sweep settings file")
    try:
        config = SweepConfig.from_dict(_with_later_settings(settings["config"]["sweep"]))
        with np.load(out / "results.npz") as npz:
            arrays = dict(npz)
        summary = pd.read_csv(out / "summary.tsv", sep="\t")
    except (KeyError, TypeError, OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{out}: not a readable network sweep (sweep.json, results.npz or summary.tsv damaged: "
                        f"{type(exc).__name__}); train it again into a new --out") from None
    return SweepResults(summary, arrays, config)
