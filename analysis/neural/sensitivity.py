"""Sensitivity check: the ROI statistics under each HRF and each distance, side by side.

``sensitivity`` fits the GLM once per HRF model (glover, spm, each + derivative) and computes the ROI
RDMs once per distance (crossnobis with the default ``runs-diag`` noise, crossnobis with the GLM
residuals' covariance, the paper's cross-validated correlation distance), then per ROI the
orthogonal - grid contrast (pair design, ``garden.analysis.neural.design``) and the relevance index
(``garden.analysis.neural.relevance``). Each cell gets a reading (orthogonal > grid, grid >
orthogonal, n.s. at ``alpha``, one-sided each way); an ROI whose reading differs between variants is
``flagged``: its conclusion depends on an analysis choice and is not a finding. Written as::

    OUT/tables/neural_sensitivity.tsv   roi, hrf, distance, contrast mean/t/p/p_reverse, reading,
                                        relevance mean/t/p/p_reverse, relevance_reading, flagged
    OUT/neural_sensitivity.json         provenance
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import asdict, replace
from pathlib import Path

import pandas as pd
from scipy import stats

from garden.analysis.neural.glm import HRF_MODELS, GlmConfig, Selection, fit_dataset
from garden.analysis.neural.rdms import RdmConfig, read_roi_rdms, roi_rdms
from garden.analysis.neural.relevance import relevance_table, verdict
from garden.analysis.neural.rois import Roi
from garden.analysis.neural.stats import model_betas, paired_contrasts
from garden.core.errors import UserError
from garden.core.files import output_folder, write_tsv
from garden.core.provenance import provenance, write_json
from garden.rsa.rdms import RDMs

DISTANCES = {"crossnobis (runs-diag)": RdmConfig(method="crossnobis", noise="runs-diag"),
             "crossnobis (residuals)": RdmConfig(method="crossnobis", noise="residuals"),
             "correlation": RdmConfig(method="correlation")}


def reading(p_greater: float, p_less: float, *, alpha: float) -> str:
    """orthogonal > grid, grid > orthogonal or n.s. at ``alpha`` (one-sided each way)."""
    return "orthogonal > grid" if p_greater < alpha else "grid > orthogonal" if p_less < alpha else "n.s."


def variant_rows(rdms: RDMs, *, hrf: str, distance: str, alpha: float, n_perm: int,
                 seed: int) -> list[dict]:
    """One row per ROI of a variant's RDM table: its contrast and relevance statistics."""
    contrast = paired_contrasts(model_betas(rdms, ("orthogonal", "grid")), [("orthogonal", "grid")],
                                n_perm=n_perm, seed=seed).set_index("roi")
    index = relevance_table(rdms).groupby(["roi", "participant_id"])["index"].mean()
    rows = []
    for roi in contrast.index:
        values = index.loc[roi].to_numpy()
        greater = stats.ttest_1samp(values, 0.0, alternative="greater")
        less = float(stats.ttest_1samp(values, 0.0, alternative="less").pvalue)
        c = contrast.loc[roi]
        rows.append({"roi": roi, "hrf": hrf, "distance": distance, "contrast_mean": c["mean"], "contrast_t": c["t"],
                     "contrast_p": c["p_one_sided"], "contrast_p_reverse": c["p_reverse"],
                     "reading": reading(c["p_one_sided"], c["p_reverse"], alpha=alpha),
                     "relevance_mean": float(values.mean()), "relevance_t": float(greater.statistic),
                     "relevance_p": float(greater.pvalue), "relevance_p_reverse": less,
                     "relevance_reading": verdict(float(greater.pvalue), less, alpha=alpha)})
    return rows


def flag(table: pd.DataFrame) -> pd.DataFrame:
    """``flagged``: the ROI's contrast or relevance reading differs across the variants."""
    changes = table.groupby("roi")[["reading", "relevance_reading"]].nunique().max(axis=1) > 1
    return table.assign(flagged=table["roi"].map(changes).astype(bool))


def sensitivity(root: str | Path, out: str | Path, *, rois: dict[str, Roi], glm: GlmConfig = GlmConfig(),
                select: Selection | None = None, mask: str | Path | None = None, hrfs: tuple[str, ...] = HRF_MODELS, alpha: float = 0.01,
                n_perm: int = 1000, seed: int = 0, fitted: Mapping[str, Path] | None = None) -> Path:
    """Write the sensitivity table of the BIDS dataset ``root`` (module docstring) into the new folder ``out``.
    ``fitted``: GLM folders of ``root`` already fitted with ``glm``, ``select`` and ``mask`` under some of the
    HRFs (``garden demo`` passes its own GLM), read instead of fitted again."""
    out = Path(out)
    rows = []
    with output_folder(out) as partial:
        work = partial / "work"
        for hrf in hrfs:
            glm_folder = (fitted or {}).get(hrf) or fit_dataset(
                root, work / f"glm-{hrf.replace(' + ', '-')}", config=replace(glm, hrf_model=hrf), select=select,
                mask=mask, compress=False)  # read here once, then deleted
            for distance, config in DISTANCES.items():
                folder = roi_rdms(glm_folder, work / f"rdms-{len(rows)}", rois=rois, config=config)
                rows += variant_rows(read_roi_rdms(folder), hrf=hrf, distance=distance, alpha=alpha, n_perm=n_perm,
                                     seed=seed)
        shutil.rmtree(work, ignore_errors=True)  # absent when every GLM was given
        write_tsv(partial / "tables" / "neural_sensitivity.tsv", flag(pd.DataFrame(rows)), float_format="%.6g")
        write_json(partial / "neural_sensitivity.json", provenance(
            config={"glm": asdict(glm), "hrfs": list(hrfs), "distances": {k: asdict(v) for k, v in DISTANCES.items()},
                    "alpha": alpha, "n_perm": n_perm}, seed=seed, source=str(root),
            rois={k: v.source for k, v in rois.items()}))
    return out


def read_sensitivity(folder: Path) -> pd.DataFrame:
    """The table of a ``sensitivity`` folder; UserError when it has none."""
    path = folder / "tables" / "neural_sensitivity.tsv"
    if not path.is_file():
        raise UserError(f"{folder}: no tables/neural_sensitivity.tsv: run `garden neural sensitivity` first")
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""])
