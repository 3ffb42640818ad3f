"""``RDMs``: a stack of RDMs that carries its conditions and whose each RDM is.

An RDM that travels as a bare array loses what its rows are and where it came from. ``RDMs`` keeps
both, as ``rsatoolbox.rdm.RDMs`` does: ``conditions`` (one row per condition, e.g. context,
branchiness, leafiness in ``garden.core.task.item_table`` order) and ``descriptors`` (one row per RDM, e.g.
participant_id, group, init scale, seed, ROI). We keep our own small class rather than adopting
rsatoolbox's because the project's RSA code works on square matrices and rsatoolbox is a heavy
dependency used only to check our numbers in the tests; ``to_rsatoolbox`` / ``from_rsatoolbox``
convert both ways (tested), so every rsatoolbox analysis stays one call away.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import squareform

from garden.rsa.rdm import lower


@dataclass(frozen=True)
class RDMs:
    """``matrices`` (n_rdms, n_conditions, n_conditions), symmetric with a zero diagonal (NaN allowed
    where a distance is unknown); ``conditions`` has one row per condition, ``descriptors`` one row
    per RDM; ``measure`` names the dissimilarity (e.g. "euclidean", "|p_i - p_j|")."""

    matrices: np.ndarray
    conditions: pd.DataFrame
    descriptors: pd.DataFrame = field(default_factory=pd.DataFrame)
    measure: str = ""

    def __post_init__(self) -> None:
        matrices = np.asarray(self.matrices, dtype=float)
        if matrices.ndim == 2:
            matrices = matrices[None]
        if matrices.ndim != 3 or matrices.shape[1] != matrices.shape[2]:
            raise ValueError(f"matrices must be (n_rdms, n, n); got shape {np.shape(self.matrices)}")
        if len(self.conditions) != matrices.shape[1]:
            raise ValueError(f"{len(self.conditions)} condition rows for {matrices.shape[1]} conditions")
        descriptors = self.descriptors if len(self.descriptors.columns) else pd.DataFrame(index=range(len(matrices)))
        if len(descriptors) != len(matrices):
            raise ValueError(f"{len(descriptors)} descriptor rows for {len(matrices)} RDMs")
        finite = np.where(np.isfinite(matrices), matrices, 0.0)
        if not np.allclose(finite, finite.transpose(0, 2, 1)) or np.abs(np.diagonal(finite, axis1=1, axis2=2)).max(
                initial=0) > 1e-12:
            raise ValueError("every RDM must be symmetric with a zero diagonal")
        object.__setattr__(self, "matrices", matrices)
        object.__setattr__(self, "conditions", self.conditions.reset_index(drop=True))
        object.__setattr__(self, "descriptors", descriptors.reset_index(drop=True))

    def __len__(self) -> int:
        return len(self.matrices)

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.matrices)

    @property
    def n_conditions(self) -> int:
        return self.matrices.shape[1]

    def subset(self, **criteria: Any) -> "RDMs":
        """The RDMs whose descriptors equal every ``criteria`` value (a list/tuple: any of them)."""
        keep = np.ones(len(self), bool)
        for name, value in criteria.items():
            if name not in self.descriptors:
                raise KeyError(f"no descriptor {name!r}; have {list(self.descriptors.columns)}")
            values = value if isinstance(value, (list, tuple, set)) else [value]
            keep &= self.descriptors[name].isin(values).to_numpy()
        return RDMs(self.matrices[keep], self.conditions, self.descriptors[keep], self.measure)

    def vectors(self) -> np.ndarray:
        """(n_rdms, n_pairs) strict lower triangles (``garden.rsa.rdm.lower`` order)."""
        return np.stack([lower(m) for m in self.matrices])

    def mean(self, by: str | None = None) -> "RDMs":
        """NaN-aware mean RDM over all RDMs, or per value of the descriptor ``by``."""
        if by is None:
            return RDMs(np.nanmean(self.matrices, axis=0), self.conditions, measure=self.measure)
        groups = list(dict.fromkeys(self.descriptors[by]))
        stack = [np.nanmean(self.matrices[(self.descriptors[by] == g).to_numpy()], axis=0) for g in groups]
        return RDMs(np.stack(stack), self.conditions, pd.DataFrame({by: groups}), self.measure)

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per RDM x condition pair (i < j), with both conditions' descriptors."""
        i, j = np.triu_indices(self.n_conditions, 1)
        rows = []
        for k, matrix in enumerate(self.matrices):
            part = pd.DataFrame({"condition_i": i, "condition_j": j, "dissimilarity": matrix[i, j]})
            for name, value in self.descriptors.iloc[k].items():
                part[name] = value
            rows.append(part)
        return pd.concat(rows, ignore_index=True)

    def to_rsatoolbox(self) -> Any:
        """The same RDMs as ``rsatoolbox.rdm.RDMs`` (descriptors as rdm/pattern descriptors)."""
        from rsatoolbox.rdm import RDMs as ToolboxRDMs  # deferred: optional (not a runtime dependency)

        vectors = np.stack([squareform(m, checks=False) for m in self.matrices])
        return ToolboxRDMs(vectors, dissimilarity_measure=self.measure or None,
                           rdm_descriptors={c: list(self.descriptors[c]) for c in self.descriptors},
                           pattern_descriptors={c: list(self.conditions[c]) for c in self.conditions})

    @classmethod
    def from_rsatoolbox(cls, rdms: Any) -> "RDMs":
        """An ``RDMs`` from ``rsatoolbox.rdm.RDMs`` (its descriptors become ours)."""
        matrices = rdms.get_matrices()
        conditions = pd.DataFrame({k: list(v) for k, v in rdms.pattern_descriptors.items() if k != "index"})
        if conditions.empty:
            conditions = pd.DataFrame({"condition": range(matrices.shape[1])})
        descriptors = pd.DataFrame({k: list(v) for k, v in rdms.rdm_descriptors.items() if k != "index"})
        return cls(matrices, conditions, descriptors, rdms.dissimilarity_measure or "")
