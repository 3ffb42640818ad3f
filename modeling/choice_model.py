"""A choice model fitted to trial tables, a scikit-learn estimator: the notebook face of ``fit_table``.

    >>> model = ChoiceModel("factorized").fit(trials)    # any trial table: people, agents, networks
    >>> model.to_frame()            # one row per participant: parameters, SEs, NLL, AIC, BIC, angles
    >>> model.params_               # parameters only, indexed by participant_id
    >>> model.bic_, model.aic_      # per participant
    >>> model.skipped_              # {participant_id: why it could not be fitted}
    >>> model.predict_proba(trials) # (n, 2): p(reject), p(accept) per row under its participant's fit
    >>> model.score(trials)         # mean log-likelihood per trial (nats)
    >>> sklearn.base.clone(model)   # an unfitted copy with the same settings

Fitting is the batched global search of ``garden.modeling.psychometric.fit_table``; ``params``
(``lmfit.Parameters``) fix, bound or tie parameters (``garden.modeling.constraints``).

scikit-learn conventions kept: settings only stored by ``__init__`` and checked by ``fit`` (one
line naming the setting), ``get_params``/``set_params``/``clone``, ``NotFittedError`` before
``fit`` (so ``hasattr(model, "params_")`` is False), ``classes_`` = [0, 1] (reject, accept),
``predict_proba`` (n, 2), ``predict``, ``score``. What differs: ``X`` is a trial table (a
DataFrame with the trial-table columns, several participants at once), not a feature matrix, and
``y`` is its ``choice`` column; so scikit-learn's ``check_estimator`` checks that feed numeric
arrays do not apply (tests/test_choice_model_estimator.py lists which do).
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from garden.modeling.cells import participant_cells
from garden.modeling.constraints import lmfit_result
from garden.modeling.models import MODELS
from garden.modeling.psychometric import fit_table, rule_gradients, parameter_names, predict
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted


class ChoiceModel(ClassifierMixin, BaseEstimator):
    """One psychometric choice model (``factorized``, ``factorized_full``, ``linear``, ...), fitted
    per participant.

    Settings: ``model``; ``objective`` ("bernoulli", the trial-level likelihood, or the published
    "choice-matrix" loss), ``missing`` ("drop" or "reject" for missing responses), ``max_rt`` (s;
    slower responses count as missing), ``phase`` (fit only that phase), ``n_starts`` (grid starts
    per participant), ``jobs`` (processes), ``progress`` (a bar), ``params`` (lmfit.Parameters).
    Fitted attributes end in ``_``.
    """

    _parameter_constraints: dict = {
        "model": [StrOptions(set(MODELS))],
        "objective": [StrOptions({"bernoulli", "choice-matrix"})],
        "missing": [StrOptions({"drop", "reject"})],
        "max_rt": [Interval(Real, 0, None, closed="neither"), None],
        "phase": [str, None],
        "n_starts": [Interval(Integral, 1, None, closed="left")],
        "jobs": [Interval(Integral, 1, None, closed="left")],
        "progress": ["boolean"],
        "params": "no_validation",
    }

    def __init__(self, model: str = "factorized", *, objective: str = "bernoulli", missing: str = "drop",
                 max_rt: float | None = None, phase: str | None = None, n_starts: int = 30, jobs: int = 1,
                 progress: bool = False, params: Any = None):
        self.model, self.objective, self.missing, self.max_rt, self.phase = model, objective, missing, max_rt, phase
        self.n_starts, self.jobs, self.progress, self.params = n_starts, jobs, progress, params

    def fit(self, X: pd.DataFrame, y: Any = None) -> "ChoiceModel":
        """Fit every participant of the trial table ``X`` (``y``: choices replacing its ``choice``
        column, optional); returns ``self``."""
        self._validate_params()
        trials = _trials(X, y)
        table = fit_table(trials, (self.model,), self.objective, self.missing, max_rt=self.max_rt,
                          phase=self.phase, n_starts=self.n_starts, jobs=self.jobs, progress=self.progress,
                          params=self.params)
        self.skipped_: dict[str, str] = dict(table.attrs.get("skipped", {}))
        table.attrs = {}
        self.table_ = table.reset_index(drop=True)
        self.classes_ = np.array([0.0, 1.0])
        return self

    def _fitted(self) -> pd.DataFrame:
        check_is_fitted(self, "table_")
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

    def _p_accept(self, trials: pd.DataFrame) -> np.ndarray:
        """p(accept) (n,) of every row under its participant's fit; NaN for participants not fitted.
        Boundaries are placed relative to each participant's rule as given by its rows in ``trials``."""
        table = self._fitted().set_index("participant_id")
        out = np.full(len(trials), np.nan)
        ids = trials["participant_id"].astype(str).to_numpy()
        for pid in pd.unique(ids):
            if pid not in table.index:
                continue
            rows = ids == pid
            part = trials[rows]
            rules = rule_gradients(part)
            params = {n: float(table.at[pid, n]) for n in parameter_names(self.model, rules.contexts)}
            out[rows] = predict(self.model, params, part, rules)
        return out

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """(n, 2) probabilities of reject and accept (``classes_``) for every row of the trial table
        ``X`` under its participant's fitted parameters (NaN rows for participants not fitted)."""
        p = self._p_accept(X)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The more probable choice (1 accept, 0 reject) per row; NaN for participants not fitted."""
        p = self._p_accept(X)
        return np.where(np.isnan(p), np.nan, (p > 0.5).astype(float))

    def score(self, X: pd.DataFrame, y: Any = None, sample_weight: Any = None) -> float:
        """Mean log-likelihood per trial (nats) of the choices in ``X`` (or ``y``) under the fits,
        over the rows with a choice and a fitted participant (higher is better, as scikit-learn's
        scores; -score is the per-trial NLL)."""
        trials = _trials(X, y)
        p, choice = self._p_accept(trials), trials["choice"].to_numpy(float)
        used = ~np.isnan(p) & ~np.isnan(choice)
        if not used.any():
            raise ValueError("no row of X has a choice and a fitted participant to score")
        likelihood = np.where(choice[used] == 1.0, p[used], 1.0 - p[used])
        return float(np.average(np.log(likelihood), weights=None if sample_weight is None
                                else np.asarray(sample_weight, float)[used]))

    def lmfit_result(self, X: pd.DataFrame, participant_id: str):
        """lmfit's own fit of one fitted participant of the trial table ``X`` (``lmfit.minimize``
        from the batched optimum under ``params``; ``lmfit.fit_report(result)`` prints the report:
        values, lmfit's standard errors and correlations; ``garden.modeling.constraints``)."""
        table = self._fitted().set_index("participant_id")
        if participant_id not in table.index:
            raise ValueError(f"participant {participant_id!r} was not fitted (fitted: {list(table.index)[:5]} ...)")
        trials = X[X["participant_id"].astype(str) == participant_id]
        if self.phase is not None:
            trials = trials[trials["phase"].astype(str) == self.phase]
        data, _ = participant_cells(trials, self.missing, self.max_rt)
        names = parameter_names(self.model, data[0].rules.contexts)
        return lmfit_result(MODELS[self.model], data[0], self.objective, self.params,
                            table.loc[participant_id, names].to_numpy(float))


def _trials(X: Any, y: Any) -> pd.DataFrame:
    """The trial table ``X`` (a DataFrame), its ``choice`` column replaced by ``y`` when given."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"ChoiceModel takes a trial table (pandas DataFrame with the trial-table columns), "
                        f"not {type(X).__name__}")
    return X if y is None else X.assign(choice=np.asarray(y, float))


def _parameter_columns(table: pd.DataFrame, model: str) -> list[str]:
    """Parameter column names of ``model`` for the context labels in the table."""
    labels = table[["context_a", "context_b"]].drop_duplicates().to_numpy() if len(table) else []
    names: list[str] = []
    for a, b in labels:
        names += [n for n in parameter_names(model, (str(a), str(b))) if n not in names]
    return names
