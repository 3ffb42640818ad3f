"""The Mante et al. (2013) monkey units through the same RDM and model route as the ROIs.

The units' condition-mean rates (``garden.analysis.neural.patterns.mante_patterns``: 72 conditions, 6 motion x 6
colour coherences x 2 contexts, motion in the leafiness role) are split into ``n_splits``
disjoint trial halves per condition, which play the role of runs: the RDM is cross-validated
across splits ("crossnobis" with the identity metric, i.e. the cross-validated squared Euclidean
distance per unit, or the cross-validated "correlation" distance), regressed on the 7 brain model
RDMs on a 6 x 6 grid (squared model distances for crossnobis), and fitted by the compression model.
Written as ``OUT/tables/neural_mante_{rdm,betas,compression}.tsv`` (+ ``neural_mante.json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from garden.analysis.neural.patterns import mante_patterns
from garden.analysis.neural.rdms import BRAIN_MODELS, brain_model_rdms
from garden.core.errors import UserError
from garden.core.files import output_folder, refuse_existing, write_tsv
from garden.core.provenance import provenance, write_json
from garden.rsa.compare import regress_rdms
from garden.rsa.compression_model import fit_compression_model
from garden.rsa.crossval import crossnobis_rdm, crossval_correlation_rdm
from garden.rsa.rdms import RDMs

N_LEVELS = 6


@dataclass(frozen=True)
class ManteConfig:
    """Window (s), splits, distance, models, context offset (feature units), compression model (ours or
    paper) and its restarts (None: the model's default), seed."""

    window_s: tuple[float, float] | None = None
    n_splits: int = 2
    method: str = "crossnobis"
    correct_only: bool = False
    models: tuple[str, ...] = BRAIN_MODELS
    context_offset: float = 1.0
    n_restarts: int | None = None
    compression_model: str = "ours"
    seed: int = 0


def mante_geometry(paths: Sequence[str | Path], config: ManteConfig) -> dict[str, object]:
    """RDM (72 x 72), model betas and compression fit of the units in ``paths``."""
    if config.method not in ("crossnobis", "correlation"):
        raise UserError(f"--method: {config.method!r} is not crossnobis or correlation")
    if config.n_splits < 2:
        raise UserError("--splits: cross-validation needs at least 2 splits")
    patterns = mante_patterns(paths, window_s=config.window_s, n_levels=N_LEVELS, n_splits=config.n_splits,
                              correct_only=config.correct_only, skip_incomplete=True, seed=config.seed)
    if config.method == "correlation":
        rdm = crossval_correlation_rdm(patterns.values)
        distances = np.clip(rdm, 0.0, None)
    else:
        rdm = crossnobis_rdm(patterns.values)
        distances = np.sqrt(np.clip(rdm, 0.0, None))
    models = brain_model_rdms(config.models, config.context_offset, config.method, N_LEVELS)
    fit = fit_compression_model(distances, n_restarts=config.n_restarts, seed=config.seed, model=config.compression_model)
    betas = regress_rdms(RDMs(rdm, models.pattern_descriptors), models)
    return {"rdm": rdm, "betas": dict(zip(betas["model"], betas["beta"])), "compression": fit,
            "units": patterns.channels}


def write_mante(paths: Sequence[str | Path], out: str | Path, config: ManteConfig) -> Path:
    """Write the geometry of the units into the new folder ``out`` (module docstring)."""
    out = Path(out)
    refuse_existing(out)
    if not paths:
        raise UserError("give at least one Mante et al. unit file (.mat)")
    result = mante_geometry(paths, config)
    with output_folder(out) as partial:
        tables = partial / "tables"
        write_tsv(tables / "neural_mante_rdm.tsv", pd.DataFrame(result["rdm"]), float_format="%.8g")
        betas = pd.DataFrame({"model": list(result["betas"]), "beta": list(result["betas"].values())})
        write_tsv(tables / "neural_mante_betas.tsv", betas, float_format="%.6g")
        fit = result["compression"]
        write_tsv(tables / "neural_mante_compression.tsv", pd.DataFrame([{"compression_model": fit.model, **fit.params, "rmse": fit.rmse}]),
                  float_format="%.6g")
        write_json(partial / "neural_mante.json", provenance(config=asdict(config), seed=config.seed,
                                                             units=result["units"], n_units=len(result["units"]),
                                                             n_files=len(paths)))
    return out
