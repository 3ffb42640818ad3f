"""What the experiment needs of whoever answers its trials: a person's keys aside, any object with
``respond`` (a simulated agent of ``garden.modeling.agents``, a matched network, a browser bot).

The experiment imports only this protocol, so it never depends on the models that answer.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd


class Responder(Protocol):
    """Answers trials: choices (1 accept, 0 reject, NaN none) and RTs (s) for rows of a trial table."""

    seed: int

    def respond(self, trials: pd.DataFrame, rng: np.random.Generator,
                items: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Choices and RTs for each row of ``trials``; ``items`` holds the participant's 50 task items."""
        ...

    def describe(self) -> dict[str, Any]:
        """What to record about the responder in the session sidecar (name, model, parameters, seed)."""
        ...


def responder_rng(responder: Responder, session_seed: int) -> np.random.Generator:
    """The responder's random stream for one session (same session and responder seed: same responses)."""
    return np.random.default_rng([session_seed, 7919, responder.seed])
