"""The end-to-end demo and the report rebuild: wiring only, the work is done by the domain packages.

``run_demo`` makes stimuli, simulates participants with both curricula through the task (windowless),
fits and compares the choice models, runs the 2022 choice-pattern RSA, trains rich and lazy networks,
runs RSA and MDS on their hidden layers and on the participants' choice patterns, compares people
with networks, and writes every table (TSV + JSON sidecar) under ``DIR/tables`` and ``DIR/report.html``.

A step whose upstream module is missing from this checkout is skipped, and the report says so
(``tables/skipped.json``); any other error stops the run.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from analysis import human_vs_network as hvn
from analysis import network_tables as nt
from analysis.choice_rdms import group_mean_rdms, paired_tests, participant_betas, participant_groups, participant_rdms
from analysis.choices import (
    analysis_trials,
    canonical_boundaries,
    cell_table,
    fit_summary,
    predicted_cells,
    psychometric_table,
)
from analysis.human_vs_network import matched_parameters, mean_network_rdms
from core.errors import UserError
from core.provenance import provenance, write_json, write_sidecar
from core.trials import read_trials, write_table
from reports.html import RUN_FILE, SKIPPED_FILE, TABLES_DIR, write_report
from rsa.mds import mds_panels
from rsa.model_rdms import model_rdms

PUBLISHED_SCALES = (0.01, 0.1, 0.2, 0.3, 0.4, 1.0, 2.0, 3.0)
PUBLISHED_CTX_SCALES = (0.5, 0.5, 0.5, 0.5, 0.5, 0.8, 1.35, 1.5)
CURRICULA = {"flesch2022": ("blocked", "interleaved"), "flesch2018": ("B200", "interleaved")}
AGENT_MODELS = ("factorized", "linear")


@dataclass(frozen=True)
class DemoConfig:
    """Everything that sets a demo run (recorded in ``run.json`` and every sidecar)."""

    participants: int = 8
    seed: int = 0
    protocol: str = "flesch2022"
    exemplars: int = 2
    size_px: int = 96
    scales: tuple[float, ...] = (0.01, 0.1, 1.0, 3.0)
    ctx_scales: tuple[float, ...] = (0.5, 0.5, 0.8, 1.5)
    network_seeds: int = 4
    steps: int = 3000
    models: tuple[str, ...] = ("factorized", "factorized_full", "linear")
    n_boot: int = 1000
    recovery_agents: int = 10
    recovery_trials: tuple[int, ...] = (100, 200, 400)
    matched_network_seeds: int = 2
    dpi: int = 100

    @classmethod
    def full(cls, **overrides: Any) -> "DemoConfig":
        """The published network sweep: 8 init scales x 30 seeds x 10 000 steps."""
        return replace(cls(scales=PUBLISHED_SCALES, ctx_scales=PUBLISHED_CTX_SCALES, network_seeds=30,
                           steps=10_000), **overrides)


class Unavailable(Exception):
    """An upstream module or function this step needs is not in this checkout."""


def require(module: str, *names: str) -> Any:
    """Import ``module`` and check it has ``names``; Unavailable (naming what is missing) otherwise."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise Unavailable(f"{module} is not available in this checkout ({exc})") from None
    missing = [n for n in names if not hasattr(mod, n)]
    if missing:
        raise Unavailable(f"{module} has no {', '.join(missing)} in this checkout")
    return mod


@dataclass
class Run:
    """State shared by the steps of one run: where to write, the config, and results in memory."""

    out: Path
    config: DemoConfig
    write: bool = True
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    def save(self, name: str, table: pd.DataFrame, **extra: Any) -> pd.DataFrame:
        """Keep ``table`` for the report and, when writing, save it as ``tables/<name>.tsv`` + sidecar."""

        self.tables[name] = table
        if self.write:
            path = write_table(table, self.out / TABLES_DIR / f"{name}.tsv")
            write_sidecar(path, asdict(self.config), self.config.seed, **extra)
        return table


# ---------------------------------------------------------------- steps

def make_stimuli(run: Run) -> None:
    """A small stimulus set and its contact sheet (the trees the task shows)."""
    sets = require("stimuli.sets", "make_set", "load_set", "contact_sheet")
    folder = sets.make_set(run.out / "stimuli", run.config.exemplars, run.config.size_px, seed=run.config.seed)
    sets.contact_sheet(sets.load_set(folder), cell_px=run.config.size_px).save(folder / "contact_sheet.png")


def simulate_participants(run: Run) -> None:
    """Simulated participants, half per curriculum, alternating factorized and linear agents with
    seeded parameter jitter, each through every session of the protocol (BIDS tree under participants/)."""
    config_mod = require("experiment.config", "load_protocol")
    simulate = require("experiment.simulate", "simulate_session")
    agents = require("modeling.agents", "get_agent")
    sequences = require("experiment.sequences", "participant_seed")
    protocol = config_mod.load_protocol(run.config.protocol)
    curricula = CURRICULA.get(run.config.protocol, tuple(protocol.curricula))
    sessions = sorted({p.session for p in protocol.phases})
    rng = np.random.default_rng(run.config.seed)
    plan = []
    for i in tqdm(range(run.config.participants), desc="participants", unit="participant"):
        pid, model = f"P{i + 1:02d}", AGENT_MODELS[(i // len(curricula)) % len(AGENT_MODELS)]
        params = {"slope": float(rng.uniform(2, 6)), "lapse": float(rng.uniform(0, 0.1)),
                  "delta": float(rng.normal(0, 10))}
        agent = agents.get_agent(model, params, seed=run.config.seed + i)
        curriculum = curricula[i % len(curricula)]
        seed = sequences.participant_seed(run.config.seed, pid)  # each participant their own sequence
        for session in sessions:
            simulate.simulate_session(protocol, pid, session, agent, run.out / "participants",
                                      curriculum=curriculum, seed=seed)
        plan.append({"participant_id": pid, "curriculum": curriculum, "agent": model, "sequence_seed": seed,
                     **params})
    run.save("simulated_agents", pd.DataFrame(plan))


def load_participants(run: Run, folder: Path | None = None) -> pd.DataFrame:
    """Read and validate the participants' trial tables once; keep the analysed trials."""

    if "trials" not in run.state:
        run.state["all_trials"] = read_trials(folder or run.out / "participants")
        run.state["trials"] = analysis_trials(run.state["all_trials"])
    return run.state["trials"]


def fit_choice_models(run: Run) -> None:
    """Factorized, factorized_full and linear models fitted per participant (trial-level likelihood)."""

    psychometric = require("modeling.psychometric", "fit_table", "predict", "parameter_names")
    fits = psychometric.fit_table(load_participants(run), run.config.models, progress=True)
    run.save("fits", fits, skipped=fits.attrs.get("skipped", {}))
    run.save("fit_summary", fit_summary(fits))
    run.save("boundaries", canonical_boundaries(fits))


def compare_choice_models(run: Run) -> None:
    """Random-effects Bayesian model selection (log evidence = -BIC/2), per group and over everyone."""
    comparison = require("modeling.comparison", "bms_table")
    if "fits" not in run.tables:
        raise Unavailable("no choice-model fits (the choice_models step did not run)")
    fits = run.tables["fits"]
    seed = run.config.seed
    run.save("bms", pd.concat([comparison.bms_table(fits, by="group", seed=seed),
                               comparison.bms_table(fits, seed=seed).assign(group="all")], ignore_index=True))


def recover_parameters(run: Run) -> None:
    """Parameter and model recovery from simulated agents at several test-phase trial counts."""
    recovery = require("modeling.recovery", "run_recovery")
    c = run.config
    tables = recovery.run_recovery(c.models, c.recovery_trials, c.recovery_agents, seed=c.seed, progress=True)
    for name in ("parameter_recovery", "recovery_summary", "model_recovery"):
        run.save(name, tables[name])


def choice_patterns(run: Run) -> None:
    """Choice matrices per participant and psychometric curves along both features (with the fitted
    factorized model's predictions when the fits exist)."""

    cells = run.save("choice_cells", cell_table(load_participants(run)))
    run.state["cells"] = cells
    predicted = predicted_cells(cells, run.tables["fits"]) if "fits" in run.tables else None
    run.save("psychometric_curves", psychometric_table(cells, predicted))


def choice_rdm_regression(run: Run) -> None:
    """The 2022 comparison: choice-RDM betas on the factorized and linear model RDMs, paired tests."""

    betas = run.save("choice_rdm_betas", participant_betas(run.state["cells"]))
    run.save("choice_rdm_tests", paired_tests(betas))


def train_networks(run: Run) -> None:
    """The rich-to-lazy sweep (networks/ holds the sweep's own files), reshaped for the figures."""

    networks = require("modeling.networks", "train_sweep", "load_results")
    config_mod = require("modeling.networks.config", "SweepConfig", "TrainConfig")
    c = run.config
    sweep = config_mod.SweepConfig(scales=tuple(c.scales), ctx_scales=tuple(c.ctx_scales),
                                   seeds=tuple(range(c.seed, c.seed + c.network_seeds)),
                                   train=config_mod.TrainConfig(steps=c.steps))
    results = networks.load_results(networks.train_sweep(sweep, run.out / "networks"))
    summary, arrays = results.summary, results.arrays
    run.save("network_summary", summary)
    run.save("network_scale_summary", nt.scale_summary(summary))
    run.save("network_curves", nt.curves_table(summary, arrays))
    run.save("network_spectrum", nt.spectrum_table(summary, arrays))
    run.save("context_weights", nt.context_weights_table(summary, arrays))
    run.save("network_ablation", nt.ablation_table(summary))
    run.save("network_noise", nt.noise_table(summary))
    run.state["network_rdms"] = nt.hidden_rdms(summary, arrays)


NETWORK_RULE = 1
"""The rule (counterbalancing code) the networks are trained on."""


def geometry(run: Run) -> None:
    """2-D metric MDS of each init scale's mean hidden RDM and of each group's mean choice RDM."""

    networks = {f"σ = {s:g}": r for s, r in mean_network_rdms(run.state.get("network_rdms", {})).items()}
    if networks:
        run.save("mds_networks", mds_panels(networks, run.config.seed))
    cells, groups, people = run.state["cells"], participant_groups(run.state["cells"]), {}
    for code, frame in ((1, ""), (5, " (diagonal rules)")):
        means = group_mean_rdms(participant_rdms(cells, code), groups)
        people.update({f"{group}{frame}": rdm for group, rdm in means.items()})
    if people:
        run.save("mds_people", mds_panels(people, run.config.seed))


def people_vs_networks(run: Run) -> None:
    """Each participant's choice RDM against every init scale's hidden RDMs: best scale, bootstrap,
    beta profiles of people and matched networks."""

    if "network_rdms" not in run.state:
        raise Unavailable("no network results (the networks step did not run)")
    rdms, units = participant_rdms(run.state["cells"], NETWORK_RULE), participant_groups(run.state["cells"])
    similarity = run.save("similarity", hvn.similarity_table(rdms, run.state["network_rdms"]))
    run.save("best_scale_per_participant", hvn.best_scales(similarity))
    profile, best, distribution = hvn.bootstrap_units(similarity, units, run.config.n_boot, run.config.seed)
    run.save("similarity_profile", profile)
    run.save("best_scale", best)
    run.save("best_scale_bootstrap", distribution)
    models = model_rdms(["grid", "orthogonal", "parallel"])
    run.save("beta_profiles", hvn.compare_beta_profiles(hvn.beta_profiles(rdms, models),
                                                        run.tables["network_summary"], best, units))


MATCHED_PARAMETERS = ("bias", "slope", "offset", "lapse")
"""Factorized-model parameters compared between people and their matched networks."""


def matched_networks(run: Run) -> None:
    """Networks of every init scale run through each participant's own trial sequence (online SGD,
    sigmoid choices), fitted with the factorized model, laid beside the people matched to them."""

    curriculum = require("modeling.networks.curriculum", "run_curriculum")
    config_mod = require("modeling.networks.config", "SweepConfig", "TrainConfig")
    psychometric = require("modeling.psychometric", "fit_table")
    for needed, step in (("best_scale_per_participant", "people_vs_networks"), ("fits", "choice_models")):
        if needed not in run.tables:
            raise Unavailable(f"no {needed} table (the {step} step did not run)")
    c = run.config
    sweep = config_mod.SweepConfig(scales=tuple(c.scales), ctx_scales=tuple(c.ctx_scales),
                                   seeds=tuple(range(c.seed, c.seed + c.matched_network_seeds)))
    people = run.state["all_trials"]
    runs = curriculum.run_curriculum(people[people.participant_id.isin(participant_rdms(run.state["cells"], NETWORK_RULE))], sweep,
                                     choice_rule="sigmoid", choice_seed=c.seed)
    fits = psychometric.fit_table(analysis_trials(runs), ("factorized",), progress=True)
    fits = fits.rename(columns={"network_scale": "scale"})
    run.save("network_fits", fits)
    run.save("matched_parameters", matched_parameters(run.tables["best_scale_per_participant"],
                                                      run.tables["fits"], fits, MATCHED_PARAMETERS))


STEPS: tuple[tuple[str, Callable[[Run], None]], ...] = (
    ("stimuli", make_stimuli),
    ("participants", simulate_participants),
    ("choice_models", fit_choice_models),
    ("model_comparison", compare_choice_models),
    ("recovery", recover_parameters),
    ("behaviour", choice_patterns),
    ("choice_rdms", choice_rdm_regression),
    ("networks", train_networks),
    ("geometry", geometry),
    ("people_vs_networks", people_vs_networks),
    ("matched_networks", matched_networks),
)
"""Demo steps in order; the names match report sections where a step feeds one."""
BEHAVIOUR_STEPS = ("choice_models", "model_comparison", "behaviour", "choice_rdms", "geometry")
"""The steps that need only trial tables (what ``garden report`` runs on a participants/ tree)."""


# ---------------------------------------------------------------- runs

def _check_new_folder(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out}: already exists and is not empty; give a new folder to --out "
                        "(demo results are never overwritten)")


def run_steps(run: Run, names: tuple[str, ...] | None = None, progress: bool = True) -> dict[str, Any]:
    """Run the named steps (all by default) in order; return per-step timings (s) and skip reasons."""
    timings, skipped = {}, {}
    steps = [(n, f) for n, f in STEPS if names is None or n in names]
    for name, step in tqdm(steps, desc="demo steps", unit="step", disable=not progress):
        start = time.perf_counter()
        try:
            step(run)
        except Unavailable as exc:
            skipped[name] = str(exc)
        timings[name] = round(time.perf_counter() - start, 3)
    return {"timings_s": timings, "skipped": skipped}


def run_demo(out: str | os.PathLike, config: DemoConfig, progress: bool = True) -> Path:
    """Run the whole demo into the new folder ``out``; return the path of ``report.html``."""

    out = Path(out)
    _check_new_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    run = Run(out, config)
    start = time.perf_counter()
    outcome = run_steps(run, progress=progress)
    write_json(out / TABLES_DIR / SKIPPED_FILE, outcome["skipped"])
    write_json(out / RUN_FILE, provenance(asdict(config), config.seed, total_s=round(time.perf_counter() - start, 1),
                                          **outcome))
    return write_report(out, dpi=config.dpi)


def participants_folder(folder: Path) -> Path | None:
    """The participants tree in or at ``folder`` (``folder/participants`` or ``folder`` itself)."""
    for candidate in (folder / "participants", folder):
        if candidate.is_dir() and any(candidate.glob("sub-*")):
            return candidate
    return None


def rebuild_report(folder: str | os.PathLike, out: str | os.PathLike | None = None,
                   overwrite: bool = False, dpi: int = 100) -> Path:
    """Rebuild the report of ``folder`` from its tables; without tables (a real participants/ tree),
    compute the behavioural results in memory (nothing is written into the data folder)."""

    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder; give a demo output folder or a participants/ tree")
    if (folder / TABLES_DIR).is_dir():
        return write_report(folder, out, overwrite=overwrite, dpi=dpi)
    trees = participants_folder(folder)
    if trees is None:
        raise UserError(f"{folder}: has neither {TABLES_DIR}/ (results) nor sub-*/ participant folders")
    run = Run(folder, DemoConfig(), write=False)
    load_participants(run, trees)
    outcome = run_steps(run, BEHAVIOUR_STEPS)
    return write_report(folder, out, extra_tables=run.tables, extra_skipped=outcome["skipped"],
                        overwrite=overwrite, dpi=dpi)
