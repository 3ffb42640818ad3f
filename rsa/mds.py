"""Multidimensional scaling of an RDM: coordinates whose distances approximate the dissimilarities.

Classical MDS (Torgerson) is the eigendecomposition of the double-centred squared distances: exact
for Euclidean RDMs, deterministic. Metric and non-metric MDS use scikit-learn's SMACOF on the RDM
as *precomputed* dissimilarities (the published code passed RDM rows as features instead), seeded,
best of a classical start and ``n_init`` random starts. Coordinates are in the RDM's units and
defined up to rotation and reflection: ``procrustes_align`` turns one embedding onto another
(e.g. each init scale's onto the first) so that figures are comparable. Plots live in
``garden.reports.figures``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.linalg import orthogonal_procrustes
from sklearn.manifold import MDS

from garden.core.task import item_table
from garden.rsa.distances import lower
from garden.rsa.rdms import RDMs

KINDS = ("metric", "nonmetric", "classical")


def _dissimilarities(rdm: np.ndarray) -> np.ndarray:
    """A finite, symmetric, zero-diagonal square RDM as floats, else ValueError."""
    d = np.asarray(rdm, dtype=float)
    lower(d)  # checks it is square
    if not np.isfinite(d).all() or not np.allclose(d, d.T) or np.any(np.diag(d) != 0):
        raise ValueError("MDS needs a finite, symmetric RDM with a zero diagonal")
    return d


def classical_mds(rdm: np.ndarray, n_components: int = 2) -> np.ndarray:
    """(n, n_components) Torgerson coordinates; axes with negative eigenvalues are set to 0."""
    d = _dissimilarities(rdm)
    n = d.shape[0]
    centring = np.eye(n) - 1.0 / n
    gram = -0.5 * centring @ (d**2) @ centring
    values, vectors = np.linalg.eigh(gram)
    top = np.argsort(values)[::-1][:n_components]
    coordinates = vectors[:, top] * np.sqrt(np.clip(values[top], 0, None))
    if coordinates.shape[1] < n_components:
        coordinates = np.pad(coordinates, ((0, 0), (0, n_components - coordinates.shape[1])))
    return _fix_signs(coordinates)


def _fix_signs(coordinates: np.ndarray) -> np.ndarray:
    """Flip each axis so its largest-magnitude coordinate is positive (a reproducible reflection)."""
    rows = np.abs(coordinates).argmax(axis=0)
    signs = np.sign(coordinates[rows, np.arange(coordinates.shape[1])])
    return coordinates * np.where(signs == 0, 1.0, signs)


def smacof_mds(rdm: np.ndarray, n_components: int = 2, metric: bool = True, seed: int = 0,
               n_init: int = 4, max_iter: int = 300) -> tuple[np.ndarray, float]:
    """(coordinates, stress) of scikit-learn's SMACOF on precomputed dissimilarities.

    The best (lowest raw stress) of one run started at the classical solution and ``n_init``
    runs from random starts drawn with ``seed``.
    """
    d = _dissimilarities(rdm)
    starts = [MDS(n_components=n_components, metric_mds=metric, metric="precomputed", init="classical_mds",
                  max_iter=max_iter, random_state=seed, normalized_stress=False)]
    if n_init:
        starts.append(MDS(n_components=n_components, metric_mds=metric, metric="precomputed", init="random",
                          n_init=n_init, max_iter=max_iter, random_state=seed, normalized_stress=False))
    fits = [(model.fit_transform(d), float(model.stress_)) for model in starts]
    coordinates, stress = min(fits, key=lambda fit: fit[1])
    return _fix_signs(coordinates), stress


def mds(rdm: np.ndarray, n_components: int = 2, kind: str = "metric", seed: int = 0) -> np.ndarray:
    """(n, n_components) MDS coordinates of a square RDM; ``kind`` is one of ``KINDS``."""
    if kind not in KINDS:
        raise ValueError(f"unknown MDS kind {kind!r}: use one of {KINDS}")
    if kind == "classical":
        return classical_mds(rdm, n_components)
    return smacof_mds(rdm, n_components, metric=kind == "metric", seed=seed)[0]


def procrustes_align(coordinates: np.ndarray, reference: np.ndarray, scale: bool = False) -> np.ndarray:
    """``coordinates`` rotated/reflected (and, with ``scale``, uniformly scaled) about their centroid
    to best match ``reference`` (same shape) in least squares, then moved onto its centroid."""
    x, y = np.asarray(coordinates, float), np.asarray(reference, float)
    if x.shape != y.shape:
        raise ValueError(f"embeddings differ in shape: {x.shape} vs {y.shape}")
    x0, y0 = x - x.mean(axis=0), y - y.mean(axis=0)
    rotation, singular_sum = orthogonal_procrustes(x0, y0)
    factor = singular_sum / np.sum(x0**2) if scale and np.sum(x0**2) > 0 else 1.0
    return factor * x0 @ rotation + y.mean(axis=0)


def mds_panels(rdms: RDMs, panels: str | Sequence[str], seed: int = 0, n_components: int = 3, *,
               kind: str = "metric") -> pd.DataFrame:
    """MDS of ``kind`` (``n_components`` dimensions, columns dim1, dim2, ...) of each 50-condition RDM,
    one ``panel`` each, named by the rdm descriptor ``panels`` (or the given names), each rotated/
    reflected (Procrustes) onto the one before it so that neighbouring panels are drawn the same way
    round."""
    labels = rdms.rdm_descriptors[panels].astype(str).to_list() if isinstance(panels, str) else list(panels)
    items = item_table()[["context", "branchiness", "leafiness"]]
    frames, previous = [], None
    for panel, rdm in zip(labels, rdms.matrices):
        coords = mds(rdm, n_components, kind, seed=seed)
        coords = coords if previous is None else procrustes_align(coords, previous)
        frames.append(items.assign(panel=panel, **{f"dim{k + 1}": coords[:, k] for k in range(n_components)}))
        previous = coords
    return pd.concat(frames, ignore_index=True)
