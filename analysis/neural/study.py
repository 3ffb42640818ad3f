"""A study's neural statistics written as one folder (what ``garden neural stats`` makes).

From an ROI-RDM folder (``garden.analysis.neural.rdms.roi_rdms``) and optionally the behaviour (for
accuracy), a network sweep (for the init-scale match) and a searchlight folder (for group maps),
``write_statistics`` writes::

    OUT/tables/neural_roi_betas.tsv          participant_id, roi, model, beta
    OUT/tables/neural_roi_group.tsv          roi, model, n, mean, sem, t, p_one_sided, p_signflip, ci_low, ci_high
    OUT/tables/neural_roi_contrasts.tsv      roi, contrast (a>b), the same statistics, p_reverse (b > a)
    OUT/tables/neural_compression.tsv        participant_id, roi, the 6 compression parameters, rmse, compression
    OUT/tables/neural_compression_group.tsv  roi, one-sided test of compression > 0, p_reverse, reading
    OUT/tables/neural_relevance.tsv          participant_id, roi, context, relevant, irrelevant, index (model-free)
    OUT/tables/neural_relevance_group.tsv    roi, test of the index > 0, p_reverse, reading
    OUT/tables/neural_design.tsv             design, model, vif, condition_number, flagged, distances, method
    OUT/tables/neural_sensitivity.tsv        with --sensitivity: the HRF x distance table
    OUT/tables/neural_accuracy.tsv           participant_id, accuracy
    OUT/tables/neural_accuracy_relation.tsv  roi, pearson_r, p, kendall_tau, p_tau
    OUT/tables/neural_noise_ceiling.tsv      roi, n, lower, upper
    OUT/tables/neural_mds.tsv                panel (roi), context, branchiness, leafiness, dim1..dim3: MDS of group-mean RDMs
    OUT/tables/neural_network_profile.tsv    roi, scale, similarity, ci_low, ci_high
    OUT/tables/neural_network_best.tsv       roi, best_scale (+ bootstrap CI), best_similarity, relative_to_ceiling
    OUT/tables/neural_searchlight.tsv        model, significant voxels overall and per ROI
    OUT/tables/neural_searchlight_slices.tsv model, z, x, y, t, significant: one axial slice per model
    OUT/searchlight/group_model-<M>_stat-t_statmap.nii.gz, ..._stat-p_statmap.nii.gz, ..._desc-fdr_mask.nii.gz
    OUT/neural_stats.json                    provenance (inputs, options, seed)
    OUT/dataset_description.json, OUT/README  DatasetType "derivative", GeneratedBy garden

``tables/`` is what the HTML report reads, so ``garden report OUT`` shows the "Neural geometry"
section. The folder is built under ``OUT.partial`` and renamed when complete; an existing OUT is
refused.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import nibabel
import numpy as np
import pandas as pd
from scipy import stats

from garden.modeling.networks.rdms import network_rdms
from garden.analysis.neural.bids import (
    derivative_files,
    read_image,
    scan_accuracy,
    write_derivative_description,
    write_image,
)
from garden.analysis.neural.design import design_table
from garden.analysis.neural.glm import load_mask
from garden.analysis.neural.rdms import BRAIN_MODELS, read_roi_rdms
from garden.analysis.neural.relevance import relevance_table, verdict
from garden.analysis.neural.sensitivity import read_sensitivity
from garden.analysis.neural.rois import Roi, check_on_grid
from garden.analysis.neural.stats import (
    accuracy_relation,
    compression_fits,
    group_mds,
    group_tests,
    model_betas,
    network_matches,
    noise_ceiling,
    one_sample,
    paired_contrasts,
    voxel_tests,
)
from garden.core.errors import UserError
from garden.core.files import output_folder, refuse_existing, write_tsv
from garden.core.provenance import provenance, read_record, write_json
from garden.modeling.networks.sweep import load_results

CONTRASTS = [("orthogonal", "grid")]


@dataclass(frozen=True)
class StatsConfig:
    """Options: models, context offset (feature units), permutations, bootstrap samples,
    compression model (ours or paper) and its restarts (None: the model's default), FDR level, seed."""

    models: tuple[str, ...] = BRAIN_MODELS
    context_offset: float = 1.0
    n_perm: int = 10000
    n_boot: int = 1000
    n_restarts: int | None = None
    compression_model: str = "ours"
    fdr_q: float = 0.05
    seed: int = 0


def study_accuracy(behaviour: Path, participants: list[str]) -> dict[str, float]:
    """Scan-phase accuracy per participant ("sub-01") from ``behaviour``/sub-*/ses-*/beh (NaN where absent)."""
    out = {}
    for pid in participants:
        values = [scan_accuracy(folder) for folder in sorted((behaviour / pid).glob("ses-*"))]
        finite = [v for v in values if np.isfinite(v)]
        out[pid] = float(np.mean(finite)) if finite else float("nan")
    return out


def _write(table: pd.DataFrame, path: Path) -> None:
    write_tsv(path, table, float_format="%.6g")


def searchlight_models(folder: Path) -> list[str]:
    """The models of a searchlight folder (from its sidecars); UserError if it has none."""
    sidecars = derivative_files(folder, "*_searchlight.json")
    if not sidecars:
        raise UserError(f"{folder}: no *_searchlight.json: run `garden neural searchlight` first")
    models = read_record(sidecars[0], what="searchlight sidecar").get("models")
    if not isinstance(models, list) or not models:
        raise UserError(f"{sidecars[0]}: names no models (damaged); rerun `garden neural searchlight`")
    return models


def slice_table(model: str, t: np.ndarray, significant: np.ndarray) -> pd.DataFrame:
    """model, z, x, y, t, significant of the axial slice (last voxel axis) holding the most
    significant voxels (the middle slice when none is), for the report's slice figure."""
    counts = significant.sum(axis=(0, 1))
    z = int(np.argmax(counts)) if counts.any() else t.shape[2] // 2
    x, y = np.meshgrid(np.arange(t.shape[0]), np.arange(t.shape[1]), indexing="ij")
    return pd.DataFrame({"model": model, "z": z, "x": x.ravel(), "y": y.ravel(), "t": t[:, :, z].ravel(),
                         "significant": significant[:, :, z].ravel().astype(int)})


def searchlight_group(folder: Path, out: Path, *, mask: Path, q: float,
                      rois: dict[str, Roi]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Group t and FDR maps of every model's searchlight betas; (a table of significant voxels per
    model, overall and inside each ROI; the ``slice_table`` of every model)."""
    models = searchlight_models(folder)
    brain, image = load_mask(mask)
    roi_masks = {name: roi.mask for name, roi in rois.items()}
    out.mkdir()
    rows, slices = [], []
    for model in models:
        files = derivative_files(folder, f"*_model-{model.replace('_', '')}_stat-beta_desc-*_statmap.nii.gz")
        if len(files) < 2:
            raise UserError(f"{folder}: {len(files)} searchlight map(s) of model {model!r}; a group test needs >= 2")
        maps = np.stack([np.asarray(read_image(f, what="searchlight map").dataobj, dtype=float)[brain] for f in files])
        tests = voxel_tests(maps, q=q)
        volumes = {}
        for name, values in (("t", tests["t"]), ("p", tests["p"])):
            volumes[name] = np.full(brain.shape, np.nan, dtype=np.float32)
            volumes[name][brain] = values
            write_image(nibabel.Nifti1Image(volumes[name], image.affine),
                        out / f"group_model-{model.replace('_', '')}_stat-{name}_statmap.nii.gz")
        significant = np.zeros(brain.shape, dtype=np.uint8)
        significant[brain] = tests["significant"]
        slices.append(slice_table(model, volumes["t"], significant))
        write_image(nibabel.Nifti1Image(significant, image.affine),
                    out / f"group_model-{model.replace('_', '')}_desc-fdr_mask.nii.gz")
        row = {"model": model, "n_maps": len(files), "n_voxels": int(brain.sum()),
               "n_significant": int(tests["significant"].sum())}
        for name, roi in roi_masks.items():
            row[f"significant_in_{name}"] = int((significant.astype(bool) & roi).sum())
        rows.append(row)
    return pd.DataFrame(rows), pd.concat(slices, ignore_index=True)


def _both_ways(values: np.ndarray, config: StatsConfig) -> dict:
    """``one_sample`` of values > 0, the reverse one-sided p and the ``verdict`` reading (relevant -
    irrelevant measures: > 0 the orthogonal geometry, < 0 its label-swapped mirror)."""
    test = one_sample(values, n_perm=config.n_perm, seed=config.seed)
    reverse = float(stats.ttest_1samp(values, 0.0, alternative="less").pvalue)
    return {**test, "p_reverse": reverse, "reading": verdict(test["p_one_sided"], reverse)}


def _write_relevance(table: pd.DataFrame, tables: Path, config: StatsConfig) -> None:
    """neural_relevance.tsv (per RDM and context) and neural_relevance_group.tsv (per ROI: the index
    averaged over contexts, tested both ways, and its reading)."""
    found = relevance_table(table)
    _write(found, tables / "neural_relevance.tsv")
    rows = []
    for roi, part in found.groupby("roi", sort=False):
        rows.append({"roi": roi, **_both_ways(part.groupby("participant_id")["index"].mean().to_numpy(), config)})
    _write(pd.DataFrame(rows), tables / "neural_relevance_group.tsv")


def write_statistics(rdms: str | Path, out: str | Path, *, config: StatsConfig, behaviour: str | Path | None = None,
                     networks: str | Path | None = None, searchlight: str | Path | None = None,
                     mask: str | Path | None = None, rois: dict[str, Roi] | None = None,
                     roi_affine: np.ndarray | None = None, sensitivity: str | Path | None = None) -> Path:
    """Write the statistics folder (module docstring); inputs are checked before any output.
    ``rois`` (``garden.analysis.neural.rois.load_rois``, on the grid ``roi_affine``) count the significant
    searchlight voxels inside each ROI; they must lie on the searchlight mask's grid."""
    out = Path(out)
    refuse_existing(out)
    if searchlight is not None and mask is None:
        raise UserError("--searchlight needs --mask (the brain mask the searchlight ran in)")
    if rois and searchlight is not None:
        brain, image = load_mask(mask)
        check_on_grid(rois, roi_affine, inside=brain, grid_affine=image.affine, where=f"the mask {mask}")
    table = read_roi_rdms(rdms)
    participants = table.rdm_descriptors["participant_id"]
    if participants.nunique() < 2:
        raise UserError(f"{rdms}: RDMs of {participants.nunique()} participant(s); group statistics need >= 2")
    sweep = load_results(networks) if networks is not None else None
    methods = table.rdm_descriptors["method"].unique()
    with output_folder(out) as partial:
        tables = partial / "tables"
        betas = model_betas(table, config.models, context_offset=config.context_offset)
        _write(betas, tables / "neural_roi_betas.tsv")
        _write(group_tests(betas, n_perm=config.n_perm, seed=config.seed), tables / "neural_roi_group.tsv")
        pairs = [p for p in CONTRASTS if set(p) <= set(config.models)]
        if pairs:  # each contrast in the design of its two models only (well conditioned: docs/neural.md)
            _write(pd.concat([paired_contrasts(model_betas(table, pair, context_offset=config.context_offset),
                                               [pair], n_perm=config.n_perm, seed=config.seed).assign(design="pair")
                              for pair in pairs], ignore_index=True), tables / "neural_roi_contrasts.tsv")
        _write(pd.concat([design_table({"models": config.models, **{f"{a}>{b}": (a, b) for a, b in pairs}},
                                       config.context_offset, squared=method == "crossnobis").assign(method=method)
                          for method in methods], ignore_index=True), tables / "neural_design.tsv")
        _write_relevance(table, tables, config)
        compression = compression_fits(table, n_restarts=config.n_restarts, seed=config.seed,
                                       model=config.compression_model)
        _write(compression, tables / "neural_compression.tsv")
        compression_group = [{"roi": roi, **_both_ways(part["compression"].to_numpy(), config)}
                             for roi, part in compression.groupby("roi", sort=False)]
        _write(pd.DataFrame(compression_group), tables / "neural_compression_group.tsv")
        ceiling = noise_ceiling(table)
        _write(ceiling, tables / "neural_noise_ceiling.tsv")
        _write(group_mds(table, seed=config.seed), tables / "neural_mds.tsv")
        if behaviour is not None:
            accuracy = study_accuracy(Path(behaviour), sorted(participants.unique()))
            _write(pd.DataFrame({"participant_id": list(accuracy), "accuracy": list(accuracy.values())}),
                   tables / "neural_accuracy.tsv")
            _write(accuracy_relation(betas, accuracy), tables / "neural_accuracy_relation.tsv")
        if sweep is not None:
            profile, best = network_matches(table, network_rdms(sweep.summary, sweep.arrays), ceiling,
                                            n_boot=config.n_boot, seed=config.seed)
            _write(profile, tables / "neural_network_profile.tsv")
            _write(best, tables / "neural_network_best.tsv")
        if searchlight is not None:
            counts, slices = searchlight_group(Path(searchlight), partial / "searchlight", mask=Path(mask),
                                               q=config.fdr_q, rois=rois or {})
            _write(counts, tables / "neural_searchlight.tsv")
            _write(slices, tables / "neural_searchlight_slices.tsv")
        if sensitivity is not None:  # the HRF x distance table of `garden neural sensitivity`, beside the results
            _write(read_sensitivity(Path(sensitivity)), tables / "neural_sensitivity.tsv")
        write_json(partial / "neural_stats.json", provenance(
            config=asdict(config), seed=config.seed, rdms=str(rdms), behaviour=str(behaviour), networks=str(networks),
            searchlight=str(searchlight), mask=str(mask), sensitivity=str(sensitivity),
            rois={k: v.source for k, v in (rois or {}).items()}))
        write_derivative_description(partial, "garden neural statistics (group level)", source=rdms, step="stats")
    return out
