"""Readers for the published Flesch et al. (2018, PNAS) reference data (``shared/data/flesch2018``).

``load_trials`` turns an experiment's ``<exp>_trials.csv.gz`` into a trial table of the contract
(participant_id, session, phase, ..., choice, rt, feedback: 1 in training, 0 at test) plus ``group``, ``rule_code`` and the authors'
``choice_model``. The raw ``choice`` is kept, so the published coding is
``coded_choices(..., missing='reject', max_rt=5.0)`` (it equals ``choice_model``).
Negative raw response times (a few in Exp 1b/2a) become NaN (the contract's rt is >= 0).

Used for validation against the published fits (tests, benchmarks). The data are never copied.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

EXPERIMENTS = ("exp1a", "exp1b", "exp2a", "exp2b")
PUBLISHED_MAX_RT = 5.0
"""Seconds: the authors coded responses slower than this as 'reject' (as missing ones)."""
PUBLISHED_MODELS = {"free_twoBounds": "factorized", "free_twoBoundsAndSigmoids": "factorized_full",
                    "free_oneBound": "linear"}
"""Published model name -> our model name."""


def load_trials(folder: str | os.PathLike, experiment: str, phase: str | None = None) -> pd.DataFrame:
    """The trials of one experiment as a contract trial table (optionally one phase only)."""
    raw = pd.read_csv(Path(folder) / f"{experiment}_trials.csv.gz")
    if phase is not None:
        raw = raw[raw["phase"] == phase]
    rt = raw["rt_s"].to_numpy(float)
    return pd.DataFrame({
        "participant_id": raw["participant"].str.replace("-", "", regex=False),
        "session": 1, "phase": raw["phase"], "block": raw["block"], "trial": raw["trial"],
        "context": raw["context"], "branchiness": raw["branchiness"], "leafiness": raw["leafiness"],
        "exemplar": raw["exemplar"], "reward_value": raw["reward_value"].astype(float),
        "choice": raw["choice"].astype(float), "rt": np.where(rt >= 0, rt, np.nan),
        "feedback": (raw["phase"] == "train").astype(float),  # 2018: feedback in training only
        "group": raw["group"], "rule_code": raw["rew_assignment"], "choice_model": raw["choice_model"],
        "experiment": experiment,
    }).reset_index(drop=True)


def load_published_fits(folder: str | os.PathLike, experiment: str) -> pd.DataFrame:
    """Published fits with ``participant_id`` and our ``model`` names (original in ``published_model``)."""
    fits = pd.read_csv(Path(folder) / f"{experiment}_published_fits.csv")
    fits["participant_id"] = fits["participant"].str.replace("-", "", regex=False)
    fits["published_model"] = fits["model"]
    fits["model"] = fits["model"].map(PUBLISHED_MODELS)
    return fits


def load_published_bms(folder: str | os.PathLike, experiment: str) -> pd.DataFrame:
    """Published random-effects BMS per group x model (alpha, Ef, ep, bor, F, F0, ...)."""
    bms = pd.read_csv(Path(folder) / f"{experiment}_published_bms.csv")
    bms["published_model"] = bms["model"]
    bms["model"] = bms["model"].map(PUBLISHED_MODELS)
    return bms
