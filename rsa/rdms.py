"""``RDMs``: a stack of RDMs that carries what its conditions are and what each RDM is.

The one RDM type that crosses a module boundary (ROI, model, network and choice RDMs). An RDM that
travels as a bare array loses what its rows are and where it came from; ``RDMs`` keeps both under
rsatoolbox's names: ``pattern_descriptors`` (one row per condition, e.g. context, branchiness,
leafiness in ``garden.core.task.item_table`` order), ``rdm_descriptors`` (one row per RDM, e.g.
participant_id, group, init scale, seed, ROI, model) and ``dissimilarity_measure``.

Vectors (``vectors``, ``to_frame``) take each RDM's strict lower triangle row by row, the project's
one order (``garden.rsa.distances.lower``); rsatoolbox stores the same pairs in upper-triangle
order, and ``to_rsatoolbox`` / ``from_rsatoolbox`` convert (tested against rsatoolbox). We keep our
own small class rather than adopting rsatoolbox's because the project's RSA code works on square
matrices and rsatoolbox is a heavy dependency used only to check our numbers in the tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import squareform



@dataclass(frozen=True)
class RDMs:
    """``matrices`` (n_rdms, n_conditions, n_conditions), symmetric with a zero diagonal (NaN allowed
    where a distance is unknown); ``pattern_descriptors`` has one row per condition,
    ``rdm_descriptors`` one row per RDM; ``dissimilarity_measure`` names the dissimilarity (e.g.
    "euclidean", "|p_i - p_j|")."""

    matrices: np.ndarray
    pattern_descriptors: pd.DataFrame
    rdm_descriptors: pd.DataFrame = field(default_factory=pd.DataFrame)
    dissimilarity_measure: str = ""

    def __post_init__(self) -> None:
        matrices = np.asarray(self.matrices, dtype=float)
        if matrices.ndim == 2:
            matrices = matrices[None]
        if matrices.ndim != 3 or matrices.shape[1] != matrices.shape[2]:
            raise ValueError(f"matrices must be (n_rdms, n, n); got shape {np.shape(self.matrices)}")
        if len(self.pattern_descriptors) != matrices.shape[1]:
            raise ValueError(f"{len(self.pattern_descriptors)} pattern descriptor rows for {matrices.shape[1]} "
                             "conditions")
        descriptors = self.rdm_descriptors
        if not len(descriptors.columns):
            descriptors = pd.DataFrame(index=range(len(matrices)))
        if len(descriptors) != len(matrices):
            raise ValueError(f"{len(descriptors)} rdm descriptor rows for {len(matrices)} RDMs")
        finite = np.where(np.isfinite(matrices), matrices, 0.0)
        if not np.allclose(finite, finite.transpose(0, 2, 1)) or np.abs(np.diagonal(finite, axis1=1, axis2=2)).max(
                initial=0) > 1e-12:
            raise ValueError("every RDM must be symmetric with a zero diagonal")
        object.__setattr__(self, "matrices", matrices)
        object.__setattr__(self, "pattern_descriptors", self.pattern_descriptors.reset_index(drop=True))
        object.__setattr__(self, "rdm_descriptors", descriptors.reset_index(drop=True))

    def __len__(self) -> int:
        return len(self.matrices)

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.matrices)

    def __getitem__(self, index: int | slice | Sequence[int] | np.ndarray) -> "RDMs":
        """The RDMs at ``index`` (an int, slice, positions or a boolean mask), always as ``RDMs``."""
        keep = np.arange(len(self))[index]
        keep = np.atleast_1d(keep)
        return RDMs(self.matrices[keep], self.pattern_descriptors, self.rdm_descriptors.iloc[keep],
                    self.dissimilarity_measure)

    @property
    def n_conditions(self) -> int:
        return self.matrices.shape[1]

    def subset(self, **criteria: Any) -> "RDMs":
        """The RDMs whose rdm descriptors equal every ``criteria`` value (a list/tuple/set: any of them)."""
        keep = np.ones(len(self), bool)
        for name, value in criteria.items():
            if name not in self.rdm_descriptors:
                raise KeyError(f"no rdm descriptor {name!r}; have {list(self.rdm_descriptors.columns)}")
            values = value if isinstance(value, (list, tuple, set)) else [value]
            keep &= self.rdm_descriptors[name].isin(values).to_numpy()
        return self[keep]

    def groupby(self, by: str | list[str]) -> Iterator[tuple[Any, "RDMs"]]:
        """(value, RDMs) per value of the rdm descriptor(s) ``by``, in order of first appearance."""
        for value, rows in self.rdm_descriptors.groupby(by, sort=False).indices.items():
            yield value, self[rows]

    def vectors(self) -> np.ndarray:
        """(n_rdms, n_pairs) strict lower triangles (``garden.rsa.distances.lower`` order)."""
        n = self.n_conditions
        return self.matrices[:, *np.tril_indices(n, -1)] if len(self) else np.empty((0, n * (n - 1) // 2))

    def transform(self, function: Any, dissimilarity_measure: str) -> "RDMs":
        """The same RDMs with ``function`` applied to every dissimilarity (e.g. ``np.square``), renamed
        ``dissimilarity_measure``; ``function`` must keep 0 at 0."""
        return RDMs(function(self.matrices), self.pattern_descriptors, self.rdm_descriptors, dissimilarity_measure)

    def mean(self, by: str | None = None) -> "RDMs":
        """NaN-aware mean RDM over all RDMs, or per value of the rdm descriptor ``by`` (NaN where no RDM
        of the group has the dissimilarity)."""
        if by is None:
            return RDMs(_nanmean(self.matrices), self.pattern_descriptors,
                        dissimilarity_measure=self.dissimilarity_measure)
        groups = list(self.groupby(by))
        n = self.n_conditions
        return RDMs(np.stack([_nanmean(part.matrices) for _, part in groups]) if groups else np.empty((0, n, n)),
                    self.pattern_descriptors,
                    pd.DataFrame({by: [value for value, _ in groups]}), self.dissimilarity_measure)

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per RDM x condition pair (i > j, ``vectors`` order), with the RDM's
        descriptors."""
        i, j = np.tril_indices(self.n_conditions, -1)
        rows = []
        for k, vector in enumerate(self.vectors()):
            part = pd.DataFrame({"condition_i": i, "condition_j": j, "dissimilarity": vector})
            for name, value in self.rdm_descriptors.iloc[k].items():
                part[name] = value
            rows.append(part)
        return pd.concat(rows, ignore_index=True)

    def to_rsatoolbox(self) -> Any:
        """The same RDMs as ``rsatoolbox.rdm.RDMs`` (the same descriptors)."""
        from rsatoolbox.rdm import RDMs as ToolboxRDMs  # deferred: optional (not a runtime dependency)

        vectors = np.stack([squareform(m, checks=False) for m in self.matrices])
        return ToolboxRDMs(vectors, dissimilarity_measure=self.dissimilarity_measure or None,
                           rdm_descriptors={c: list(self.rdm_descriptors[c]) for c in self.rdm_descriptors},
                           pattern_descriptors={c: list(self.pattern_descriptors[c]) for c in self.pattern_descriptors})

    @classmethod
    def from_rsatoolbox(cls, rdms: Any) -> "RDMs":
        """An ``RDMs`` from ``rsatoolbox.rdm.RDMs`` (its descriptors become ours)."""
        matrices = rdms.get_matrices()
        patterns = pd.DataFrame({k: list(v) for k, v in rdms.pattern_descriptors.items() if k != "index"})
        if patterns.empty:
            patterns = pd.DataFrame({"condition": range(matrices.shape[1])})
        descriptors = pd.DataFrame({k: list(v) for k, v in rdms.rdm_descriptors.items() if k != "index"})
        return cls(matrices, patterns, descriptors, rdms.dissimilarity_measure or "")

    @classmethod
    def concat(cls, parts: Sequence["RDMs"]) -> "RDMs":
        """One stack of several ``RDMs`` of the same conditions and measure (rdm descriptors joined;
        a descriptor one part lacks is NaN there)."""
        if not parts:
            raise ValueError("concat needs at least one RDMs")
        first = parts[0]
        for part in parts[1:]:
            if not part.pattern_descriptors.equals(first.pattern_descriptors):
                raise ValueError("RDMs of different conditions (pattern descriptors differ) cannot be joined")
            if part.dissimilarity_measure != first.dissimilarity_measure:
                raise ValueError(f"RDMs of different measures cannot be joined: {first.dissimilarity_measure!r} "
                                 f"and {part.dissimilarity_measure!r}")
        return cls(np.concatenate([p.matrices for p in parts]), first.pattern_descriptors,
                   pd.concat([p.rdm_descriptors for p in parts], ignore_index=True), first.dissimilarity_measure)


def _nanmean(matrices: np.ndarray) -> np.ndarray:
    """Mean over the first axis ignoring NaN; NaN (without numpy's warning) where all are NaN."""
    count = np.isfinite(matrices).sum(axis=0)
    total = np.where(np.isfinite(matrices), matrices, 0.0).sum(axis=0)
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)
