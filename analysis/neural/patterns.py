"""Loaders for neural activity patterns: condition x channel tables, fMRI ROIs, Mante et al. units.

The only file reading in ``analysis``; everything returns ``Patterns`` (runs x conditions x
channels, conditions in the RSA order of ``garden.core.task.condition_features``: context x
branchiness x leafiness, leafiness fastest), ready for ``garden.rsa.distances.rdm(p.mean())`` or
``garden.rsa.crossval.crossnobis_rdm(p.values)``. Bad files raise ``UserError`` naming file, row and
column.

Table format (TSV or CSV, one row per condition and run): the condition is named either by the
columns ``context`` (a label such as north/south, or 0/1), ``branchiness`` and ``leafiness``
(1..n_levels), or by a 0-based ``condition`` index in the RSA order; an optional ``run`` column
marks runs (each run must hold every condition once); every other column is a channel and must
be numeric. An ``.npy`` file holds a (conditions, channels) or (runs, conditions, channels) array
already in RSA order.

Mante et al. (2013) format: one MATLAB file per unit with a struct ``unit``: ``response``
(trials x time bins), ``time`` (bin times, seconds) and ``task_variable`` with ``stim_dir``
(signed motion coherence), ``stim_col`` (signed colour coherence), ``context`` (+1 motion, -1
colour) and optionally ``correct`` (1/0). Their 6 x 6 x 2 = 72 conditions map onto the RSA order
with the motion context first and motion in the leafiness role (the first context's relevant
feature, fastest), colour in the branchiness role; levels are each unit's sorted coherences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel
import numpy as np
import pandas as pd
from scipy.io import loadmat
from scipy.io.matlab import MatReadError

from garden.core.errors import UserError
from garden.core.progress import progress_bar
from garden.core.task import CONTEXTS, condition_index

LABEL_COLUMNS = ("run", "condition", "context", "branchiness", "leafiness")


@dataclass(frozen=True)
class Patterns:
    """Activity ``values`` (n_runs, n_conditions, n_channels) with channel and run names."""

    values: np.ndarray
    channels: list[str]
    runs: list[str]
    n_levels: int

    def mean(self) -> np.ndarray:
        """(n_conditions, n_channels) patterns averaged over runs."""
        return self.values.mean(axis=0)


def _levels_of(n_conditions: int, where: str) -> int:
    """n_levels for 2 * n_levels**2 conditions, else UserError."""
    n_levels = int(round(np.sqrt(n_conditions / 2)))
    if n_levels < 2 or 2 * n_levels**2 != n_conditions:
        raise UserError(f"{where}: {n_conditions} conditions is not 2 contexts x n x n feature levels "
                        "(50 for the tree task, 72 for the 6 x 6 monkey design)")
    return n_levels


def read_patterns(path: str | Path, contexts: tuple[str, str] = CONTEXTS) -> Patterns:
    """Patterns from a condition x channel table (``.tsv``, ``.csv``, optionally ``.gz``) or ``.npy``."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file: give a .tsv, .csv or .npy file of condition x channel patterns")
    suffixes = [s for s in path.suffixes if s != ".gz"]
    kind = suffixes[-1] if suffixes else ""
    if kind == ".npy":
        return _read_npy(path)
    if kind in (".tsv", ".csv"):
        table = pd.read_csv(path, sep="\t" if kind == ".tsv" else ",", keep_default_na=False)
        return _table_patterns(table, str(path), contexts)
    raise UserError(f"{path}: unknown pattern file type {kind!r}: use .tsv, .csv or .npy")


def _read_npy(path: Path) -> Patterns:
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as error:
        raise UserError(f"{path}: not a plain numeric .npy array ({error})") from None
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or not np.issubdtype(array.dtype, np.number):
        raise UserError(f"{path}: expected a numeric (conditions, channels) or (runs, conditions, channels) "
                        f"array, got {array.dtype} with shape {array.shape}")
    if not np.isfinite(array).all():
        raise UserError(f"{path}: contains NaN or infinite values: fill or drop those channels")
    n_levels = _levels_of(array.shape[1], str(path))
    return Patterns(array.astype(float), [f"ch{k}" for k in range(array.shape[2])],
                    [str(r) for r in range(array.shape[0])], n_levels)


def _table_patterns(table: pd.DataFrame, where: str, contexts: tuple[str, str]) -> Patterns:
    channels = [c for c in table.columns if c not in LABEL_COLUMNS]
    if not channels:
        raise UserError(f"{where}: no channel columns: every column other than {LABEL_COLUMNS} is a channel")
    values = _numeric(table[channels], where)
    condition, n_levels = _condition_index(table, where, contexts)
    n_conditions = 2 * n_levels**2
    runs = table["run"].astype(str).to_numpy() if "run" in table else np.full(len(table), "0")
    run_names = list(dict.fromkeys(runs))
    out = np.empty((len(run_names), n_conditions, len(channels)))
    for r, run in enumerate(run_names):
        rows = np.flatnonzero(runs == run)
        counts = np.bincount(condition[rows], minlength=n_conditions)
        if (counts != 1).any():
            bad = int(np.flatnonzero(counts != 1)[0])
            raise UserError(f"{where}: run {run!r} has condition {bad} {int(counts[bad])} times: each run needs "
                            f"each of the {n_conditions} conditions exactly once")
        out[r, condition[rows]] = values[rows]
    return Patterns(out, [str(c) for c in channels], run_names, n_levels)


def _numeric(frame: pd.DataFrame, where: str) -> np.ndarray:
    """Channel columns as a float array; UserError at the first non-numeric or missing cell."""
    converted = frame.apply(pd.to_numeric, errors="coerce")
    bad = converted.isna().to_numpy() | ~np.isfinite(converted.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise UserError(f"{where}: row {row + 2}, column {frame.columns[col]!r}: value "
                        f"{str(frame.iat[row, col])!r} is not a finite number: fix or drop that channel")
    return converted.to_numpy(dtype=float)


def _condition_index(table: pd.DataFrame, where: str, contexts: tuple[str, str]) -> tuple[np.ndarray, int]:
    """(0-based RSA-order condition per row, n_levels), from ``condition`` or context/branchiness/leafiness."""
    if "condition" in table:
        index = _integers(table["condition"], "condition", where, 0)
        return index, _levels_of(int(index.max()) + 1, where)
    missing = [c for c in ("context", "branchiness", "leafiness") if c not in table]
    if missing:
        raise UserError(f"{where}: columns {missing} missing: name each row's condition by context, "
                        "branchiness and leafiness, or by a 0-based 'condition' column")
    b = _integers(table["branchiness"], "branchiness", where, 1)
    l = _integers(table["leafiness"], "leafiness", where, 1)
    n_levels = int(max(b.max(), l.max()))
    labels = table["context"].astype(str).str.strip()
    known = {name: k for k, name in enumerate(contexts)} | {"0": 0, "1": 1}
    unknown = ~labels.isin(list(known))
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        raise UserError(f"{where}: row {row + 2}, column 'context': {labels.iat[row]!r} is not one of "
                        f"{list(contexts)} or 0/1")
    return condition_index(labels.map(known).to_numpy(), b, l, n_levels=n_levels), n_levels


def _integers(column: pd.Series, name: str, where: str, minimum: int) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values != np.round(values)) | (values < minimum)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise UserError(f"{where}: row {row + 2}, column {name!r}: {str(column.iat[row])!r} is not an integer "
                        f">= {minimum}")
    return values.astype(int)


def roi_patterns(images: Sequence[str | Path], mask: str | Path) -> np.ndarray:
    """(n_volumes, n_voxels) values of the voxels where ``mask`` > 0, from NIfTI images.

    Each image is one 3-D volume (e.g. one condition's beta map) or a 4-D stack of them; volumes
    are returned in the order given.
    """
    roi = np.asarray(nibabel.load(str(mask)).get_fdata()) > 0
    if not roi.any():
        raise UserError(f"{mask}: the ROI mask has no voxel > 0")
    volumes = []
    for image in images:
        data = np.asarray(nibabel.load(str(image)).get_fdata())
        if data.shape[:3] != roi.shape:
            raise UserError(f"{image}: volume shape {data.shape[:3]} differs from the mask's {roi.shape}: "
                            "resample the mask to the images' space")
        volumes.extend(np.moveaxis(data.reshape(*roi.shape, -1), -1, 0))
    return np.stack([volume[roi] for volume in volumes])


@dataclass(frozen=True)
class ManteUnit:
    """One recorded unit: per-trial task variables (``motion``, ``colour`` signed coherences,
    ``context`` +1 motion / -1 colour, ``correct``), ``response`` (trials x time bins, as stored)
    and the bin times ``time_s`` (seconds)."""

    name: str
    trials: pd.DataFrame
    response: np.ndarray
    time_s: np.ndarray


def read_mante_unit(path: str | Path) -> ManteUnit:
    """One per-unit MATLAB file of the Mante et al. (2013) recordings (see the module docstring)."""

    path = Path(path)
    try:
        unit = loadmat(path, squeeze_me=True, struct_as_record=False)["unit"]
    except (NotImplementedError, ValueError, IndexError, EOFError, OSError, MatReadError) as error:  # v7.3, cut
        if isinstance(error, FileNotFoundError):
            raise UserError(f"{path}: no such file") from None
        raise UserError(f"{path}: not a readable MATLAB v5/v7 file ({type(error).__name__}: {error}; cut short or "
                        "another format): re-save it with save(..., '-v7')") from None
    except KeyError:
        raise UserError(f"{path}: no variable 'unit': expected one Mante et al. unit struct per file") from None
    try:
        variables = unit.task_variable
        response = np.atleast_2d(np.asarray(unit.response, dtype=float))
        time_s = np.atleast_1d(np.asarray(unit.time, dtype=float))
        trials = pd.DataFrame({
            "motion": np.atleast_1d(np.asarray(variables.stim_dir, dtype=float)),
            "colour": np.atleast_1d(np.asarray(variables.stim_col, dtype=float)),
            "context": np.atleast_1d(np.asarray(variables.context, dtype=float)),
            "correct": np.atleast_1d(np.asarray(getattr(variables, "correct", np.ones(len(response))), dtype=float)),
        })
    except AttributeError as error:
        raise UserError(f"{path}: unit struct lacks a field ({error}): needs response, time and task_variable "
                        "with stim_dir, stim_col, context") from None
    if response.shape != (len(trials), time_s.size):
        raise UserError(f"{path}: response is {response.shape}, expected {len(trials)} trials x {time_s.size} "
                        "time bins as in task_variable and time")
    if not trials["context"].isin([1, -1]).all():
        raise UserError(f"{path}: task_variable.context must be +1 (motion) or -1 (colour) on every trial")
    return ManteUnit(path.stem, trials, response, time_s)


def mante_condition_rates(unit: ManteUnit, window_s: tuple[float, float] | None = None,
                          n_levels: int = 6, correct_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(per-trial mean response in the time window, per-trial RSA condition index 0..2*n_levels**2-1).

    The window (start, end) in seconds is inclusive and defaults to all bins. Motion plays the
    leafiness role and colour the branchiness role; levels are the unit's sorted coherences.
    Trials whose bins in the window are all NaN are left out.
    """
    in_window = np.ones(unit.time_s.size, bool) if window_s is None else \
        (unit.time_s >= window_s[0]) & (unit.time_s <= window_s[1])
    if not in_window.any():
        raise UserError(f"{unit.name}: no time bin in the window {window_s} s (bins span "
                        f"{unit.time_s.min():g}..{unit.time_s.max():g} s)")
    keep = unit.trials["correct"].to_numpy() == 1 if correct_only else np.ones(len(unit.trials), bool)
    rates = np.nanmean(unit.response[keep][:, in_window], axis=1)
    levels = []
    for feature in ("motion", "colour"):
        values, level = np.unique(unit.trials[feature].to_numpy()[keep], return_inverse=True)
        if values.size != n_levels:
            raise UserError(f"{unit.name}: {values.size} {feature} coherences {values.tolist()}, expected "
                            f"{n_levels}: set n_levels or drop this unit")
        levels.append(level)
    context = (unit.trials["context"].to_numpy()[keep] == -1).astype(int)
    condition = context * n_levels**2 + levels[1] * n_levels + levels[0]
    finite = np.isfinite(rates)  # trials with no recorded bin in the window are left out
    return rates[finite], condition[finite]


def mante_patterns(paths: Sequence[str | Path], window_s: tuple[float, float] | None = None,
                   n_levels: int = 6, n_splits: int = 1, correct_only: bool = False,
                   skip_incomplete: bool = False, seed: int = 0) -> Patterns:
    """Condition-mean responses of Mante et al. units: (n_splits, 2 * n_levels**2, n_units).

    With ``n_splits`` > 1 each unit's trials of each condition are shuffled (``seed``) and dealt
    into that many disjoint splits, which play the role of runs for ``garden.rsa.crossval.crossnobis_rdm`` (units
    were mostly recorded separately, so the splits are pseudo-populations). A unit lacking
    ``n_splits`` trials in some condition raises UserError, or is left out with
    ``skip_incomplete`` (its name is then absent from ``channels``).
    """

    if n_splits < 1:
        raise UserError(f"n_splits must be at least 1, got {n_splits}")
    rng = np.random.default_rng(seed)
    n_conditions = 2 * n_levels**2
    columns, names = [], []
    for path in progress_bar(paths, desc="Mante units", unit="unit", enabled=len(paths) >= 20):
        unit = read_mante_unit(path)
        rates, condition = mante_condition_rates(unit, window_s, n_levels, correct_only)
        counts = np.bincount(condition, minlength=n_conditions)
        if counts.min() < n_splits:
            if skip_incomplete:
                continue
            raise UserError(f"{path}: condition {int(counts.argmin())} has {counts.min()} trials, fewer than "
                            f"n_splits={n_splits}: lower n_splits or pass skip_incomplete")
        column = np.empty((n_splits, n_conditions))
        for c in range(n_conditions):
            trials = rng.permutation(np.flatnonzero(condition == c))
            column[:, c] = [rates[part].mean() for part in np.array_split(trials, n_splits)]
        columns.append(column)
        names.append(unit.name)
    if not columns:
        raise UserError("no unit has every condition: nothing to analyse")
    return Patterns(np.stack(columns, axis=2), names, [f"split{k}" for k in range(n_splits)], n_levels)
