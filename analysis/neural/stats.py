"""Model fits and group statistics of neural RDMs: ROI betas, contrasts, compression, accuracy,
noise ceilings, networks; searchlight group maps.

* Model betas: each participant's ROI RDM is regressed on the model RDMs (z-scored OLS, as the
  2022 paper; ``garden.rsa.compare.regress_rdms``; squared model distances for crossnobis RDMs).
* Group tests per ROI and model: one-sided one-sample t-test of beta > 0 (as published) and a
  sign-flip permutation p (ours, ``n_perm`` seeded flips); paired contrasts between two models in
  both directions.
* Compression model (``garden.rsa.compression_model``) per participant and ROI, fitted to the RDM's
  distances (negative values set to 0; crossnobis RDMs square-rooted, since they estimate squared
  distances); relevant minus irrelevant gain, averaged over the two contexts, tested > 0.
* Accuracy: Pearson r and Kendall tau across participants of an ROI's orthogonal beta with task
  accuracy (scan-phase proportion correct).
* Noise ceiling (Nili et al. 2014, Spearman): upper = mean correlation of each participant's RDM
  with the group mean, lower = with the mean of the others.
* Networks: Spearman similarity of each participant's ROI RDM with the mean hidden-layer RDM of the
  networks at each init scale (``garden.analysis.networks.people_vs_networks``), best scale with bootstrap CIs over
  participants, and the best similarity relative to the upper noise ceiling.
* MDS: classical MDS of each ROI's group-mean RDM, for the figures of the 5 x 5 grids per context.
* Searchlight: per voxel one-sided t-test over participants of a model's beta, Benjamini-Hochberg
  FDR across voxels.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from garden.analysis.neural.rdms import brain_model_rdms
from garden.rsa.candidates import best_scales, bootstrap_profiles, similarity_table
from garden.rsa.compare import regress_rdms, spearman
from garden.rsa.compression_model import PARAMETERS, fit_compression_model
from garden.rsa.mds import mds_panels
from garden.rsa.rdms import RDMs


def model_betas(rdms: RDMs, models: tuple[str, ...], *, context_offset: float = 1.0) -> pd.DataFrame:
    """Long table participant_id, roi, model, beta from ``read_roi_rdms`` (``regress_rdms`` per method)."""
    tables = [regress_rdms(part, brain_model_rdms(models, context_offset, method))
              for method, part in rdms.groupby("method")]
    order = rdms.rdm_descriptors.reset_index(names="rdm")[["participant_id", "roi", "method", "rdm"]]
    table = pd.concat(tables).merge(order, on=["participant_id", "roi", "method"]).sort_values("rdm", kind="stable")
    return table[["participant_id", "roi", "model", "beta"]].reset_index(drop=True)


def sign_flip_p(values: np.ndarray, *, n_perm: int = 10000, seed: int = 0) -> float:
    """One-sided sign-flip permutation p of mean > 0 (the observed flip pattern counted once)."""
    x = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    flips = rng.choice([-1.0, 1.0], size=(n_perm, x.size))
    null = (flips * x).mean(axis=1)
    return float((1 + np.sum(null >= x.mean())) / (n_perm + 1))


def one_sample(values: np.ndarray, *, n_perm: int, seed: int) -> dict[str, float]:
    """n, mean, SEM, t, one-sided p (t-test, > 0), sign-flip p and the 95 % t interval of the mean."""
    x = np.asarray(values, dtype=float)
    test = stats.ttest_1samp(x, 0.0, alternative="greater")
    sem = float(stats.sem(x))
    half = float(stats.t.ppf(0.975, x.size - 1)) * sem
    return {"n": int(x.size), "mean": float(x.mean()), "sem": sem, "t": float(test.statistic),
            "p_one_sided": float(test.pvalue), "p_signflip": sign_flip_p(x, n_perm=n_perm, seed=seed),
            "ci_low": float(x.mean() - half), "ci_high": float(x.mean() + half)}


def group_tests(betas: pd.DataFrame, *, n_perm: int = 10000, seed: int = 0) -> pd.DataFrame:
    """Per ROI and model: ``one_sample`` statistics of the participants' betas."""
    rows = [{"roi": roi, "model": model, **one_sample(part["beta"].to_numpy(), n_perm=n_perm, seed=seed)}
            for (roi, model), part in betas.groupby(["roi", "model"], sort=False)]
    return pd.DataFrame(rows)


def paired_contrasts(betas: pd.DataFrame, pairs: list[tuple[str, str]], *, n_perm: int = 10000,
                     seed: int = 0) -> pd.DataFrame:
    """Per ROI and (a, b) pair: statistics of beta_a - beta_b (p of a > b, and of b > a)."""
    wide = betas.pivot_table(index=["roi", "participant_id"], columns="model", values="beta")
    rows = []
    for roi in wide.index.get_level_values("roi").unique():
        part = wide.loc[roi]
        for a, b in pairs:
            diff = (part[a] - part[b]).to_numpy()
            result = one_sample(diff, n_perm=n_perm, seed=seed)
            rows.append({"roi": roi, "contrast": f"{a}>{b}", **result,
                         "p_reverse": float(stats.ttest_1samp(diff, 0.0, alternative="less").pvalue)})
    return pd.DataFrame(rows)


def rdm_distances(rdm: np.ndarray, method: str) -> np.ndarray:
    """An RDM as distances: negative values set to 0, crossnobis RDMs (squared distances)
    square-rooted."""
    distances = np.clip(rdm, 0.0, None)
    return np.sqrt(distances) if method == "crossnobis" else distances


def compression_fits(rdms: RDMs, *, n_restarts: int | None = None, seed: int = 0, model: str = "ours") -> pd.DataFrame:
    """participant_id, roi, ``compression_model`` (``model``: ours or paper), the 6 parameters (the paper's as
    gains 1 - c in max-scaled units), rmse and ``compression`` (mean over contexts of relevant -
    irrelevant gain; the paper's: of c_irrel - c_rel) per RDM of ``read_roi_rdms``; ``n_restarts`` None:
    the model's default (ours 20, the paper's 100)."""
    rows = []
    for row, rdm in zip(rdms.rdm_descriptors.to_dict("records"), rdms.matrices):
        fit = fit_compression_model(rdm_distances(rdm, row["method"]), n_restarts=n_restarts, seed=seed, model=model)
        p = fit.params
        compression = ((p["north_relevant"] - p["north_irrelevant"])
                       + (p["south_relevant"] - p["south_irrelevant"])) / 2
        rows.append({"participant_id": row["participant_id"], "roi": row["roi"], "compression_model": model,
                     **{k: p[k] for k in PARAMETERS}, "rmse": fit.rmse, "compression": compression})
    return pd.DataFrame(rows)


def accuracy_relation(betas: pd.DataFrame, accuracy: Mapping[str, float], *, model: str = "orthogonal") -> pd.DataFrame:
    """Per ROI: Pearson r (two-sided p) and Kendall tau (p) across participants of ``model``'s beta
    with accuracy; participants without a known accuracy are left out."""
    rows = []
    for roi, part in betas[betas["model"] == model].groupby("roi", sort=False):
        acc = part["participant_id"].map(accuracy).to_numpy(float)
        keep = np.isfinite(acc)
        x, y = part["beta"].to_numpy()[keep], acc[keep]
        if keep.sum() < 3:
            continue
        r, p = stats.pearsonr(x, y)
        tau, p_tau = stats.kendalltau(x, y)
        rows.append({"roi": roi, "model": model, "n": int(keep.sum()), "pearson_r": float(r), "p": float(p),
                     "kendall_tau": float(tau), "p_tau": float(p_tau)})
    return pd.DataFrame(rows)


def noise_ceiling(rdms: RDMs) -> pd.DataFrame:
    """Per ROI: Spearman noise ceiling (``lower``, ``upper``) over participants' RDMs."""
    rows = []
    for roi, part in rdms.groupby("roi"):
        stack = part.matrices
        mean = stack.mean(axis=0)
        n = len(stack)
        upper = [spearman(r, mean) for r in stack]
        lower = [spearman(stack[k], (mean * n - stack[k]) / (n - 1)) for k in range(n)] if n > 1 else [np.nan]
        rows.append({"roi": roi, "n": n, "lower": float(np.mean(lower)), "upper": float(np.mean(upper))})
    return pd.DataFrame(rows)


def group_mds(rdms: RDMs, *, seed: int = 0, n_components: int = 3) -> pd.DataFrame:
    """Classical MDS of each ROI's group-mean RDM (``rdm_distances`` of the mean over participants),
    panels in ROI order, each rotated onto the one before it (``garden.rsa.mds.mds_panels``): ``panel``
    (the ROI), ``context``, ``branchiness``, ``leafiness``, ``dim1``... in the RDM's distance units.

    Classical rather than metric MDS: cross-validated correlation distances share a large constant
    (about 1 for every pair), which classical MDS's double centring spreads evenly over all
    dimensions, while metric SMACOF bends the configuration to fit it."""
    single = rdms.rdm_descriptors["method"].nunique() == 1
    groups = list(rdms.groupby(["roi", "method"]))
    means = RDMs(np.stack([rdm_distances(part.matrices.mean(axis=0), method) for (_, method), part in groups]),
                 rdms.pattern_descriptors)
    labels = [roi if single else f"{roi} ({method})" for (roi, method), _ in groups]
    return mds_panels(means, labels, seed, n_components, kind="classical")


def network_matches(rdms: RDMs, networks: RDMs, ceiling: pd.DataFrame, *,
                    n_boot: int = 1000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(similarity profile per ROI and scale with bootstrap CIs, best scale per ROI with its CI and
    the best similarity relative to the upper noise ceiling); ``networks``: hidden-layer RDMs with the
    rdm descriptor ``scale``."""
    profiles, bests = [], []
    for roi, part in rdms.groupby("roi"):
        similarity = similarity_table(part, networks)
        everyone = dict.fromkeys(similarity["participant_id"], roi)
        profile, best, _ = bootstrap_profiles(similarity, everyone, n_boot=n_boot, seed=seed, by="roi")
        per_person = best_scales(similarity)
        upper = float(ceiling.set_index("roi").loc[roi, "upper"])
        best_similarity = float(profile["similarity"].max())
        profiles.append(profile)
        bests.append(best.assign(best_similarity=best_similarity,
                                 relative_to_ceiling=best_similarity / upper if upper > 0 else np.nan,
                                 median_participant_best_scale=float(per_person["best_scale"].median())))
    return pd.concat(profiles, ignore_index=True), pd.concat(bests, ignore_index=True)


def voxel_tests(maps: np.ndarray, *, q: float = 0.05) -> dict[str, np.ndarray]:
    """Per voxel of (participants, voxels) beta maps: t, one-sided p (> 0), BH-FDR significance at
    ``q`` (voxels with a NaN in any participant are left out: NaN t and p, not significant)."""
    maps = np.asarray(maps, dtype=float)
    valid = np.isfinite(maps).all(axis=0)
    t = np.full(maps.shape[1], np.nan)
    p = np.full(maps.shape[1], np.nan)
    test = stats.ttest_1samp(maps[:, valid], 0.0, axis=0, alternative="greater")
    t[valid], p[valid] = test.statistic, test.pvalue
    significant = np.zeros(maps.shape[1], dtype=bool)
    if valid.any():
        adjusted = stats.false_discovery_control(p[valid], method="bh")
        significant[valid] = adjusted <= q
    return {"t": t, "p": p, "significant": significant}
