"""Simulated participants with known parameters: choices from the psychometric models, plus RTs.

Why: the demo, parameter/model recovery and power analyses need participants whose true model and
parameters are known, and the end-to-end test needs someone to press keys in the real window.
Choices come from ``garden.modeling.psychometric``, so simulated and fitted models are the same equations.
An agent is a ``garden.core.responders.Responder``: the experiment drives it without importing this module.

Agents (``AGENTS``): ``factorized`` (one boundary per garden), ``linear`` (one shared boundary),
``random`` (slope 0: p(accept) = 0.5), ``learner`` (factorized, and its choices move from chance
towards the model with an exponential learning curve over trials, time constant ``learning_tau``
trials). RTs (s) are a shifted gamma whose mean grows as p(accept) nears 0.5 (harder choices are
slower): rt = rt_min_s + Gamma(shape 4, mean (rt_mean_s - rt_min_s) * (1.5 - |2p - 1|)).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from garden.core.errors import SettingError, UserError
from garden.modeling.psychometric import rule_gradients, parameter_names, predict

DEFAULT_PARAMS = {"delta": 0.0, "slope": 3.0, "offset": 0.0, "lapse": 0.05}
"""Parameter values by kind (delta degrees, slope per feature level, offset levels, lapse)."""
GAMMA_SHAPE = 4.0
SETTINGS = ("learning_tau", "rt_min_s", "rt_mean_s")
"""Agent settings that are not model parameters (set by name in ``get_agent``)."""
BOUNDS = {"delta": (-180.0, 180.0), "slope": (-1000.0, 1000.0), "offset": (-10.0, 10.0), "lapse": (0.0, 1.0),
          "learning_tau": (0.0, 1e6), "rt_min_s": (0.0, 60.0), "rt_mean_s": (0.0, 60.0)}
"""Allowed values of agent parameters (by kind) and settings: delta degrees, slope per feature level,
offset feature levels, lapse probability, learning time constant (trials), RTs (s)."""


@dataclass(frozen=True)
class Agent:
    """A simulated participant: a choice model with parameters (by kind or full name) and RT settings."""

    name: str
    model: str
    params: dict[str, float] = field(default_factory=dict)
    learning_tau: float = 0.0
    rt_min_s: float = 0.25
    rt_mean_s: float = 0.65
    seed: int = 0

    def __post_init__(self) -> None:
        for name, value in {**self.params, **{k: getattr(self, k) for k in SETTINGS}}.items():
            low, high = BOUNDS.get(name.split("_")[0] if name not in BOUNDS else name, (-1e6, 1e6))
            if not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
                raise UserError(f"agent {self.name!r}: {name}={value!r} is out of range; use a number in "
                                f"{low:g}..{high:g} (e.g. --agent-params slope=5,lapse=0.05,rt_mean_s=0.65)")
        if self.rt_mean_s <= self.rt_min_s:
            raise UserError(f"agent {self.name!r}: rt_mean_s={self.rt_mean_s} must be larger than "
                            f"rt_min_s={self.rt_min_s} (seconds)")

    def full_params(self, contexts: tuple[str, str]) -> dict[str, float]:
        """Every parameter of the model for these context labels (explicit values win over kinds)."""
        names = parameter_names(self.model, contexts)
        unknown = sorted(set(self.params) - set(names) - set(DEFAULT_PARAMS))
        if unknown:
            raise UserError(f"agent {self.name!r}: unknown parameter(s) {unknown}; use {names} "
                            f"or kinds {sorted(DEFAULT_PARAMS)}")
        out = {}
        for name in names:
            kind = name.split("_")[0]
            out[name] = float(self.params.get(name, self.params.get(kind, DEFAULT_PARAMS[kind])))
        return out

    def p_accept(self, trials: pd.DataFrame, items: pd.DataFrame | None = None) -> np.ndarray:
        """p(accept) for each row of ``trials``; boundaries relative to the rules of ``items``
        (e.g. ``garden.core.task.item_table(rule_code)``; default: ``trials`` themselves)."""
        rules = rule_gradients(items if items is not None else trials)
        p = predict(self.model, self.full_params(rules.contexts), trials, rules)
        if self.learning_tau > 0:
            progress = 1.0 - np.exp(-(trials["trial"].to_numpy(float) - 1.0) / self.learning_tau)
            p = 0.5 + (p - 0.5) * progress
        return p

    def respond(self, trials: pd.DataFrame, rng: np.random.Generator,
                items: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Choices (1 accept, 0 reject) and RTs (s) for each row of ``trials`` (see ``p_accept``)."""
        p = self.p_accept(trials, items)
        choice = (rng.random(len(p)) < p).astype(float)
        mean = (self.rt_mean_s - self.rt_min_s) * (1.5 - np.abs(2 * p - 1))
        rt = self.rt_min_s + rng.gamma(GAMMA_SHAPE, mean / GAMMA_SHAPE)
        return choice, rt

    def describe(self) -> dict[str, Any]:
        """The agent as recorded in a session sidecar."""
        return asdict(self)


AGENTS: dict[str, Agent] = {
    "factorized": Agent("factorized", "factorized"),
    "linear": Agent("linear", "linear"),
    "random": Agent("random", "factorized", {"slope": 0.0, "lapse": 0.0}),
    "learner": Agent("learner", "factorized", {"slope": 5.0, "lapse": 0.02}, learning_tau=150.0),
}
"""Simulated participants by name (``garden run --simulate NAME``)."""


def parse_params(text: str | None) -> dict[str, float]:
    """``slope=5,lapse=0.1`` -> {'slope': 5.0, 'lapse': 0.1}; UserError naming the bad item."""
    out = {}
    for item in filter(None, (s.strip() for s in (text or "").split(","))):
        key, sep, value = item.partition("=")
        if key.strip() in out:
            raise SettingError("agent_params", f"{key.strip()!r} is given twice; give each parameter once")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            sep = ""
        if sep and key.strip() in out and not math.isfinite(out[key.strip()]):
            raise SettingError("agent_params", f"{item!r}: the value must be a finite number")
        if not sep or not key.strip():
            raise SettingError("agent_params", f"{item!r} is not name=number (e.g. slope=5,lapse=0.05)")
    return out



POPULATION_MODELS = ("factorized", "linear")
"""The choice models of a simulated population, alternating (``population_params``)."""


def population_params(rng: np.random.Generator) -> dict[str, float]:
    """One simulated participant's parameters drawn around the published fits: slope ~ U(2, 6) per
    level, lapse ~ U(0, 0.1), boundary bias delta ~ N(0, 10 deg)."""
    return {"slope": float(rng.uniform(2, 6)), "lapse": float(rng.uniform(0, 0.1)),
            "delta": float(rng.normal(0, 10))}


def get_agent(name: str, params: dict[str, float] | None = None, seed: int = 0) -> Agent:
    """An agent from ``AGENTS`` with overrides: model parameters by kind ('slope') or full name
    ('delta_north'), and the settings ``learning_tau``, ``rt_min_s``, ``rt_mean_s``; plus a seed."""
    if name not in AGENTS:
        raise UserError(f"unknown agent {name!r}: use one of {sorted(AGENTS)}")
    params = dict(params or {})
    settings = {k: params.pop(k) for k in SETTINGS if k in params}
    base = AGENTS[name]
    return replace(base, params={**base.params, **params}, seed=int(seed), **settings)

