"""Comparing data RDMs with model RDMs: batched regression, Kendall tau_a, Spearman rho.

``regress_rdms`` takes ``RDMs`` stacks and returns a tidy table; the pairwise similarities take
square RDMs or their ``garden.rsa.distances.lower`` vectors. Values agree with rsatoolbox 0.3.2
(``rsatoolbox.rdm.compare`` with "tau-a" and "spearman") on the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from garden.rsa.distances import lower
from garden.rsa.rdms import RDMs


def as_vector(rdm_or_vector: np.ndarray) -> np.ndarray:
    """The lower-triangle vector of a square RDM; a 1-D input is returned as floats."""
    array = np.asarray(rdm_or_vector, dtype=float)
    return array if array.ndim == 1 else lower(array)


def _finite_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both inputs as vectors of equal length with only finite values, else ValueError."""
    x, y = as_vector(a), as_vector(b)
    if x.shape != y.shape:
        raise ValueError(f"RDMs differ in size: {x.size} vs {y.size} dissimilarities")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("RDMs contain NaN or infinite dissimilarities: drop those conditions first")
    return x, y


def zscore(vector: np.ndarray, name: str = "RDM") -> np.ndarray:
    """(v - mean) / SD (population SD); ValueError for a constant vector (nothing to explain)."""
    v = np.asarray(vector, dtype=float)
    sd = v.std()
    if not sd > 1e-12 * max(1.0, np.abs(v).max()):
        raise ValueError(f"{name} is constant: it cannot be z-scored or used as a regressor")
    return (v - v.mean()) / sd


def sequential_orthogonalise(columns: np.ndarray) -> np.ndarray:
    """Sequential orthogonalisation: each column minus its least-squares fit on the columns
    before it (and a constant), then z-scored. The first column keeps all shared variance."""
    out = np.empty_like(columns, dtype=float)
    for k in range(columns.shape[1]):
        design = np.column_stack([np.ones(len(columns)), out[:, :k]])
        fit = design @ np.linalg.lstsq(design, columns[:, k], rcond=None)[0]
        out[:, k] = zscore(columns[:, k] - fit, f"model {k + 1} after orthogonalisation")
    return out


def model_names(models: RDMs) -> list[str]:
    """The models' names: their rdm descriptor ``model`` (else "model<k>", k from 1)."""
    if "model" in models.rdm_descriptors:
        return [str(m) for m in models.rdm_descriptors["model"]]
    return [f"model{k + 1}" for k in range(len(models))]


def regress_vectors(vectors: np.ndarray, models: RDMs, *, intercept: bool = False,
                    orthogonalise: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(betas (N, n_models [+ 1 intercept]), VIF per model) of many data RDMs given as (N, n_pairs)
    ``lower`` vectors, all complete: the batched core of ``regress_rdms`` (a searchlight's many
    spheres go through here without forming square matrices). A constant data row gets NaN betas."""
    x = np.asarray(vectors, dtype=float)
    names = model_names(models)
    if len(models) == 0:
        raise ValueError("a regression needs at least one model RDM")
    if x.ndim != 2 or x.shape[1] != models.vectors().shape[1]:
        raise ValueError(f"data RDMs of {x.shape[-1]} dissimilarities for models of {models.vectors().shape[1]}")
    return _regress(x, models.vectors(), names, intercept=intercept, orthogonalise=orthogonalise)


def _regress(x: np.ndarray, model_vectors: np.ndarray, names: list[str], *, intercept: bool,
             orthogonalise: bool) -> tuple[np.ndarray, np.ndarray]:
    """``regress_vectors`` on the pairs already chosen (``x`` (N, n), ``model_vectors`` (k, n))."""
    if not np.isfinite(model_vectors).all():
        raise ValueError("model RDMs contain NaN or infinite dissimilarities")
    columns = np.column_stack([zscore(v, f"model {n!r}") for n, v in zip(names, model_vectors)])
    if orthogonalise:
        columns = sequential_orthogonalise(columns)
    design = np.column_stack([columns, np.ones(len(columns))]) if intercept else columns
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise ValueError(f"model RDMs {names} are collinear (with the intercept: {intercept}): "
                         "drop one or change the context offset")
    centred = x - x.mean(axis=1, keepdims=True)
    sd = centred.std(axis=1, keepdims=True)
    constant = ~(sd > 1e-12 * np.maximum(1.0, np.abs(x).max(axis=1, keepdims=True)))
    z = np.divide(centred, sd, out=np.full_like(centred, np.nan), where=~constant)
    return z @ np.linalg.pinv(design).T, variance_inflation(columns)


def variance_inflation(columns: np.ndarray) -> np.ndarray:
    """Variance inflation factor of each column of an (n_pairs, n_models) design: 1 / (1 - R^2) of that
    column on the others, the diagonal of the inverse correlation matrix (inf for a column the others
    explain exactly; 1 for a single column). Above ~10 a beta is not identifiable in its design."""
    if columns.shape[1] == 1:
        return np.ones(1)
    corr = np.corrcoef(columns, rowvar=False)
    if np.linalg.matrix_rank(corr) < corr.shape[0]:
        return np.full(columns.shape[1], np.inf)
    return np.diag(np.linalg.inv(corr))


def regress_rdms(data: RDMs, models: RDMs, *, intercept: bool = False, orthogonalise: bool = False) -> pd.DataFrame:
    """OLS betas of each z-scored data RDM on the z-scored model RDMs (the 2018 and 2022 papers' RDM
    regression), tidy: one row per data RDM x model with the data's rdm descriptors, ``model``
    (``model_names``), ``beta`` and ``vif`` (the model's variance inflation factor in this design,
    1 / (1 - R^2) of it on the other models: large means its beta is poorly identified).

    Dissimilarities a data RDM lacks (NaN: conditions never answered) are left out of it and of the
    models alike, the models z-scored again on what remains. With ``orthogonalise`` each model is
    first orthogonalised on those listed before it, so shared variance goes to the earlier models;
    ``intercept`` adds a row ``model`` "intercept" (VIF NaN). A constant data RDM gets NaN betas;
    collinear or constant models raise ValueError (their betas would not be identified), except on
    the pairs left of an incomplete data RDM, whose betas are then NaN.
    """
    if data.n_conditions != models.n_conditions:
        raise ValueError(f"data RDMs of {data.n_conditions} conditions, model RDMs of {models.n_conditions}")
    names, extra = model_names(models), int(intercept)
    vectors, model_vectors = data.vectors(), models.vectors()
    finite = np.isfinite(vectors)
    betas = np.full((len(data), len(names) + extra), np.nan)
    vifs = np.full((len(data), len(names)), np.nan)
    masks, groups = np.unique(finite, axis=0, return_inverse=True)
    for g, keep in enumerate(masks):
        rows = np.flatnonzero(groups.ravel() == g)
        if keep.sum() < 2:
            continue  # no pairs left to z-score: NaN betas
        try:
            betas[rows], vifs[rows] = _regress(vectors[np.ix_(rows, keep)], model_vectors[:, keep], names,
                                               intercept=intercept, orthogonalise=orthogonalise)
        except ValueError:
            if keep.all():
                raise
            # the models are constant or collinear on the few conditions these RDMs have: NaN betas
    labels = names + ["intercept"] * extra
    table = data.rdm_descriptors.loc[np.repeat(np.arange(len(data)), len(labels))].reset_index(drop=True)
    return table.assign(model=np.tile(labels, len(data)), beta=betas.ravel(),
                        vif=np.column_stack([vifs, np.full((len(data), extra), np.nan)]).ravel())


def _stats():
    """``scipy.stats``, loaded when a correlation is first computed."""
    from scipy import stats  # deferred: start-up (~0.4 s CPU of a `garden neural` start; only correlations use it)

    return stats


def kendall_tau_a(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau_a: (concordant - discordant pairs) / all n(n-1)/2 pairs.

    Unlike tau_b it is not inflated by ties, so a model RDM with many tied values (e.g. the
    categorical ones) is not favoured (Nili et al. 2014). Computed from scipy's O(n log n) tau_b
    by undoing its tie correction.
    """
    x, y = _finite_pair(a, b)
    n0 = x.size * (x.size - 1) / 2
    ties_x, ties_y = (_tied_pairs(v) for v in (x, y))
    if n0 == 0 or ties_x == n0 or ties_y == n0:
        return 0.0
    tau_b = _stats().kendalltau(x, y, variant="b").statistic
    return float(tau_b * np.sqrt((n0 - ties_x) * (n0 - ties_y)) / n0)


def _tied_pairs(v: np.ndarray) -> float:
    """Number of pairs of equal values in ``v``."""
    counts = np.unique(v, return_counts=True)[1]
    return float(np.sum(counts * (counts - 1) / 2))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (ties get mean ranks)."""
    x, y = _finite_pair(a, b)
    return float(_stats().spearmanr(x, y).statistic)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of the two RDMs' dissimilarities."""
    x, y = _finite_pair(a, b)
    return float(_stats().pearsonr(x, y).statistic)


#: name -> similarity(rdm_a, rdm_b) -> float
COMPARISONS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "tau_a": kendall_tau_a,
    "spearman": spearman,
    "pearson": pearson,
}
