"""Comparing a data RDM with model RDMs: regression, Kendall tau_a, Spearman rho.

Every function takes square RDMs or their ``garden.rsa.rdm.lower`` vectors. Values agree with
rsatoolbox 0.3.2 (``rsatoolbox.rdm.compare`` with "tau-a" and "spearman") on the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

from garden.rsa.rdm import lower


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


def regress_rdm(data_rdm: np.ndarray, model_rdms: dict[str, np.ndarray], intercept: bool = False,
                orthogonalise: bool = False) -> dict[str, float]:
    """OLS betas of the z-scored data dissimilarities on the z-scored model dissimilarities.

    ``model_rdms`` maps names to RDMs (square or lower vectors) of the same conditions; the betas
    come back under the same names (plus "intercept" when ``intercept`` is true). With
    ``orthogonalise`` each model is first orthogonalised on those listed before it (dict
    order), so shared variance goes to the earlier models. Collinear models raise ValueError:
    their betas would not be identified.
    """
    if not model_rdms:
        raise ValueError("regress_rdm needs at least one model RDM")
    names = list(model_rdms)
    pairs = {n: _finite_pair(data_rdm, model_rdms[n]) for n in names}
    y = zscore(pairs[names[0]][0], "the data RDM")
    columns = np.column_stack([zscore(pairs[n][1], f"model {n!r}") for n in names])
    if orthogonalise:
        columns = sequential_orthogonalise(columns)
    design = np.column_stack([columns, np.ones(len(y))]) if intercept else columns
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise ValueError(f"model RDMs {names} are collinear (with the intercept: {intercept}): "
                         "drop one or change the context offset")
    betas = np.linalg.lstsq(design, y, rcond=None)[0]
    result = dict(zip(names, betas.tolist()))
    if intercept:
        result["intercept"] = float(betas[-1])
    return result


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
    tau_b = stats.kendalltau(x, y, variant="b").statistic
    return float(tau_b * np.sqrt((n0 - ties_x) * (n0 - ties_y)) / n0)


def _tied_pairs(v: np.ndarray) -> float:
    """Number of pairs of equal values in ``v``."""
    counts = np.unique(v, return_counts=True)[1]
    return float(np.sum(counts * (counts - 1) / 2))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (ties get mean ranks)."""
    x, y = _finite_pair(a, b)
    return float(stats.spearmanr(x, y).statistic)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of the two RDMs' dissimilarities."""
    x, y = _finite_pair(a, b)
    return float(stats.pearsonr(x, y).statistic)


#: name -> similarity(rdm_a, rdm_b) -> float
COMPARISONS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "tau_a": kendall_tau_a,
    "spearman": spearman,
    "pearson": pearson,
}
