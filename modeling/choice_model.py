"""A choice model fitted to trial tables, scikit-learn style: the notebook face of ``fit_table``.

    >>> model = ChoiceModel("factorized").fit(trials)    # any trial table: people, agents, networks
    >>> model.to_frame()            # one row per participant: parameters, SEs, NLL, AIC, BIC, angles
    >>> model.params_               # parameters only, indexed by participant_id
    >>> model.bic_, model.aic_      # per participant
    >>> model.skipped_              # {participant_id: why it could not be fitted}
    >>> model.predict_proba(trials) # p(accept) per row under each participant's fitted parameters

Fitting is the batched global search of ``garden.modeling.psychometric.fit_table``; this class holds one
model's results with what produced them (model, objective, missing-response policy, phase).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from garden.core.errors import UserError
from garden.modeling.models import get_model
from garden.modeling.psychometric import fit_table, geometry, parameter_names, predict


class ChoiceModel:
    """One psychometric choice model (``factorized``, ``factorized_full``, ``linear``, ...), fitted
    per participant.

    Options are keyword-only: ``objective`` ("bernoulli", the trial-level likelihood, or the
    published "choice-matrix" loss), ``missing`` ("drop" or "reject" for missing responses),
    ``max_rt`` (s; slower responses count as missing), ``phase`` (fit only that phase),
    ``n_starts`` (grid starts per participant), ``jobs`` (processes), ``progress`` (a bar).
    Fitted attributes end in ``_``.
    """

    def __init__(self, model: str = "factorized", *, objective: str = "bernoulli", missing: str = "drop",
                 max_rt: float | None = None, phase: str | None = None, n_starts: int = 30, jobs: int = 1,
                 progress: bool = False):
        self.model = get_model(model).name
        self.objective, self.missing, self.max_rt, self.phase = objective, missing, max_rt, phase
        self.n_starts, self.jobs, self.progress = n_starts, jobs, progress

    def fit(self, trials: pd.DataFrame) -> "ChoiceModel":
        """Fit every participant of ``trials`` (a trial table); returns ``self``."""
        table = fit_table(trials, (self.model,), self.objective, self.missing, max_rt=self.max_rt,
                          phase=self.phase, n_starts=self.n_starts, jobs=self.jobs, progress=self.progress)
        self.skipped_: dict[str, str] = dict(table.attrs.get("skipped", {}))
        table.attrs = {}
        self.table_ = table.reset_index(drop=True)
        return self

    def _fitted(self) -> pd.DataFrame:
        if not hasattr(self, "table_"):
            raise UserError(f"ChoiceModel({self.model!r}) is not fitted yet: call .fit(trials) first")
        return self.table_

    def to_frame(self) -> pd.DataFrame:
        """The fits: one row per fitted participant (a copy)."""
        return self._fitted().copy()

    @property
    def params_(self) -> pd.DataFrame:
        """Fitted parameters (columns named as ``parameter_names``), one row per participant."""
        table = self._fitted()
        names = [n for n in _parameter_columns(table, self.model) if n in table.columns]
        return table.set_index("participant_id")[names]

    @property
    def nll_(self) -> pd.Series:
        """Minimised negative log-likelihood (or loss, for the choice-matrix objective) per participant."""
        return self._fitted().set_index("participant_id")["nll"]

    @property
    def aic_(self) -> pd.Series:
        return self._fitted().set_index("participant_id")["aic"]

    @property
    def bic_(self) -> pd.Series:
        return self._fitted().set_index("participant_id")["bic"]

    def predict_proba(self, trials: pd.DataFrame) -> np.ndarray:
        """p(accept) for every row of ``trials`` under its participant's fitted parameters (NaN for
        participants that were not fitted). Boundaries are placed relative to each participant's
        rule as given by all of its rows in ``trials``."""
        table = self._fitted().set_index("participant_id")
        out = np.full(len(trials), np.nan)
        ids = trials["participant_id"].astype(str).to_numpy()
        for pid in pd.unique(ids):
            if pid not in table.index:
                continue
            rows = ids == pid
            part = trials[rows]
            geom = geometry(part)
            params = {n: float(table.at[pid, n]) for n in parameter_names(self.model, geom.contexts)}
            out[rows] = predict(self.model, params, part, geom)
        return out

    def get_params(self) -> dict[str, Any]:
        """The constructor's settings (as scikit-learn estimators report them)."""
        return {"model": self.model, "objective": self.objective, "missing": self.missing, "max_rt": self.max_rt,
                "phase": self.phase, "n_starts": self.n_starts, "jobs": self.jobs, "progress": self.progress}

    def __repr__(self) -> str:
        state = f", fitted on {len(self.table_)} participants" if hasattr(self, "table_") else ""
        return f"ChoiceModel({self.model!r}, objective={self.objective!r}{state})"


def _parameter_columns(table: pd.DataFrame, model: str) -> list[str]:
    """Parameter column names of ``model`` for the context labels in the table."""
    labels = table[["context_a", "context_b"]].drop_duplicates().to_numpy() if len(table) else []
    names: list[str] = []
    for a, b in labels:
        names += [n for n in parameter_names(model, (str(a), str(b))) if n not in names]
    return names
