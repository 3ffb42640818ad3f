"""Identifiability before interpretation: can a person's init scale be recovered from their choices?

``simulate_people`` makes people whose answer is known, through a shipped protocol's own sequences
(``garden.experiment.sequences``: each person their counterbalancing, curriculum and feedback):

* network people: a network of known scale σ, learning rate, temperature and lapse, run through the
  sequence (``input_norm="item"``, online SGD on feedback trials) and choosing by p(accept) =
  lapse/2 + (1 - lapse) sigmoid(output / T), with an init seed the fit never uses and parameters
  drawn off the fit's grid (lr log-uniform 0.02..0.15, T log-uniform 0.1..0.5, lapse U(0, 0.05));
* agents (``garden.modeling.agents``): factorized and linear choice models with population
  parameters (``population_params``), which no network generated; optionally ``learner`` agents
  (factorized, choices moving from chance with an exponential learning curve, time constant
  U(20, 150) trials): people who learn, but not as a network does.

``recovery_tables`` compares ``garden.analysis.networks.person_fits`` verdicts with the truth: the
confusion over scales, rich-vs-lazy accuracy and calibration per curriculum, where agents land,
and whether a curriculum is identifiable (``person_fits.IDENTIFIABLE_ACCURACY``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from garden.analysis.networks import person_fits as pf
from garden.core.errors import SettingError, UserError
from garden.core.files import write_file
from garden.core.provenance import read_record, to_jsonable, write_sidecar
from garden.core.task import CONTEXTS, item_table
from garden.experiment.config import load_protocol
from garden.experiment.sequences import assign, session_sequence
from garden.modeling.agents import get_agent, population_params
from garden.modeling.networks import likelihood as lk
from garden.modeling.networks.config import SweepConfig, TrainConfig
from garden.modeling.networks.curriculum import choice_probability, matched_outputs, sequences

GENERATING_SEED = 1000
"""Init seeds of network people start here (the fit averages over seeds 0..K-1, never these)."""
AGENT_KINDS = ("factorized", "linear", "learner")
DEFAULT_AGENTS = ("factorized", "linear")
PREFIX = {"network": "N", "factorized": "F", "linear": "L", "learner": "R"}
"""First letter of a simulated person's id, by kind."""
MIN_CONFIDENT = 0.25
"""Fraction of the rich (σ ≤ 0.1) and lazy (σ ≥ 2) network people a curriculum must classify with
confidence, besides the accuracy, to count as identifiable."""


def protocol_sequence(protocol_name: str, pid: str, curriculum: str) -> pd.DataFrame:
    """Every trial of every session of ``protocol_name`` for one person of ``curriculum``."""
    protocol = load_protocol(protocol_name)
    if curriculum not in protocol.curricula:
        raise SettingError("curricula", f"{curriculum!r} is not a curriculum of protocol {protocol.name!r}; use one "
                                        f"of {list(protocol.curricula)}")
    assignment = assign(protocol, pid, curriculum=curriculum)
    sessions = sorted({p.session for p in protocol.phases})
    return pd.concat([session_sequence(protocol, assignment, s) for s in sessions], ignore_index=True)


def _network_choices(trials: pd.DataFrame, truth: dict, rng: np.random.Generator) -> np.ndarray:
    config = SweepConfig(scales=(truth["scale"],), ctx_scales=(truth["ctx_scale"],), seeds=(truth["network_seed"],),
                         train=TrainConfig(dtype="float64", threads=1), input_norm="item")
    # protocol sequences are in session, trial order: the order ``sequences`` runs them in
    out = matched_outputs(sequences(trials, CONTEXTS), config, np.array([truth["lr"]]))[0, :len(trials), 0]
    p = truth["lapse"] / 2 + (1 - truth["lapse"]) * choice_probability(out, truth["temperature"])
    return (rng.random(len(p)) < p).astype(float)


def _ends_first(n: int) -> list[int]:
    """0, n-1, 1, n-2, ...: the richest and laziest scales come first, so few people span both ends."""
    return [k // 2 if k % 2 == 0 else n - 1 - k // 2 for k in range(n)]


def simulate_people(protocol: str, curricula: Sequence[str], n_per_kind: int, *, seed: int = 0,
                    agents: Sequence[str] = DEFAULT_AGENTS,
                    scales: Sequence[float] = lk.FitGrid().scales,
                    ctx_scales: Sequence[float] = lk.FitGrid().ctx_scales) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trial tables (one per simulated person, stacked, with ``choice``) and the truth table: per
    curriculum ``n_per_kind`` network people (scales cycled from both ends, ``_ends_first``) and as many
    agents of each kind in ``agents`` (``AGENT_KINDS``)."""
    unknown = sorted(set(agents) - set(AGENT_KINDS))
    if unknown:
        raise SettingError("agents", f"{','.join(unknown)}: unknown; use some of {list(AGENT_KINDS)}")
    rng = np.random.default_rng(seed)
    tables, truths = [], []
    order = _ends_first(len(scales))
    for c_index, curriculum in enumerate(curricula):
        for kind in ("network", *agents):
            for i in range(n_per_kind):
                pid = f"{PREFIX[kind]}{c_index}x{i + 1:03d}"
                trials = protocol_sequence(protocol, pid, curriculum)
                truth = {"participant_id": pid, "kind": kind, "curriculum": curriculum}
                if kind == "network":
                    j = order[i % len(order)]
                    truth.update(scale=float(scales[j]), ctx_scale=float(ctx_scales[j]),
                                 network_seed=GENERATING_SEED + len(truths), lr=float(np.exp(rng.uniform(*np.log([0.02, 0.15])))),
                                 temperature=float(np.exp(rng.uniform(*np.log([0.1, 0.5])))),
                                 lapse=float(rng.uniform(0, 0.05)))
                    choices = _network_choices(trials, truth, rng)
                else:
                    params = population_params(rng)
                    if kind == "learner":
                        params["learning_tau"] = float(rng.uniform(20, 150))
                    agent = get_agent(kind, params, seed=len(truths))
                    p = agent.p_accept(trials, item_table(int(trials["rule_code"].iloc[0])))
                    choices = (rng.random(len(p)) < p).astype(float)
                tables.append(trials.assign(choice=choices, rt=np.nan, curriculum=curriculum))
                truths.append(truth)
    return pd.concat(tables, ignore_index=True), pd.DataFrame(truths)


def recovery_tables(people: pd.DataFrame, truth: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``recovery`` (per curriculum: network people's rich-vs-lazy accuracy and calibration, agents'
    outcomes, ``identifiable``), ``confusion`` (true scale x best scale counts of network people)."""
    t = truth.merge(people[["participant_id", "best_scale", "p_rich", "classification", "network_better",
                            "verdict"]], on="participant_id")
    nets = t[t.kind == "network"]
    rows = []
    for curriculum, group in t.groupby("curriculum", sort=False):
        n = group[group.kind == "network"]
        ends = n[(n.scale <= 0.1) | (n.scale >= 2)]
        confident = ends[ends.network_better & ends.classification.isin(["rich", "lazy"])]
        right = (confident.classification == np.where(confident.scale <= 0.1, "rich", "lazy"))
        called_rich = n[n.network_better & (n.classification == "rich")]
        row = {"curriculum": curriculum, "network_people": len(n), "rich_or_lazy_people": len(ends),
               "confident": len(confident), "confident_fraction": len(confident) / max(len(ends), 1),
               "rich_vs_lazy_accuracy": float(right.mean()) if len(confident) else np.nan,
               "called_rich": len(called_rich),
               "called_rich_truly_rich": float((called_rich.scale <= lk.RICH_MAX_SCALE).mean())
               if len(called_rich) else np.nan,
               "network_people_network_better": float(n.network_better.mean()) if len(n) else np.nan}
        for kind in sorted(set(t.kind) - {"network"}):
            a = group[group.kind == kind]
            row[f"{kind}_no_network"] = float((a.verdict == pf.NO_NETWORK).mean()) if len(a) else np.nan
            row[f"{kind}_confident_scale"] = float(a.classification.isin(["rich", "lazy"])[a.network_better].sum()
                                                   / max(len(a), 1))
        row["identifiable"] = bool(len(confident) and row["rich_vs_lazy_accuracy"] >= pf.IDENTIFIABLE_ACCURACY
                                   and row["confident_fraction"] >= MIN_CONFIDENT)
        rows.append(row)
    confusion = pd.crosstab([nets.curriculum, nets.scale], nets.best_scale).reset_index()
    confusion.columns = [str(c) if not isinstance(c, str) else c for c in confusion.columns]
    return {"recovery": pd.DataFrame(rows), "confusion": confusion}


def recover_networks(protocol: str, curricula: Sequence[str], n_per_kind: int, out: str | os.PathLike,
                     grid: lk.FitGrid = lk.FitGrid(), *, seed: int = 0, agents: Sequence[str] = DEFAULT_AGENTS,
                     **options) -> dict[str, pd.DataFrame]:
    """Simulate (``simulate_people``), fit (``person_fits.fit_people`` into ``out/fit``, resumable) and
    write ``out/truth.tsv``, ``out/recovery.tsv`` and ``out/confusion.tsv`` with sidecars: what
    ``garden networks recover`` runs."""
    out = Path(out)
    config = {"protocol": protocol, "curricula": list(curricula), "people_per_kind": n_per_kind, "agents": list(agents),
              "grid": grid.to_dict(), "generating": {"lr": "log-uniform 0.02..0.15", "temperature":
                                                     "log-uniform 0.1..0.5", "lapse": "uniform 0..0.05",
                                                     "init_seeds_from": GENERATING_SEED}}
    if (out / "truth.json").exists():
        earlier = read_record(out / "truth.json", what="recovery sidecar")
        if (earlier.get("config"), earlier.get("seed")) != (to_jsonable(config), seed):
            raise UserError(f"{out}: holds a recovery with other settings; use another --out")
    trials, truth = simulate_people(protocol, curricula, n_per_kind, seed=seed, agents=agents, scales=grid.scales,
                                    ctx_scales=grid.ctx_scales)
    people = pf.fit_people(trials, out / "fit", grid, source=f"protocol {protocol}", **options)
    tables = {"truth": truth, **recovery_tables(people, truth)}
    for name, table in tables.items():
        path = out / f"{name}.tsv"
        if not path.exists():
            write_file(path, table.to_csv(sep="\t", index=False))
            write_sidecar(path, config, seed, completed=True, identifiable_accuracy=pf.IDENTIFIABLE_ACCURACY,
                          min_confident=MIN_CONFIDENT, rich_max_scale=lk.RICH_MAX_SCALE, confident=lk.CONFIDENT)
    return tables
