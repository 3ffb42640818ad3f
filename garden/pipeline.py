"""The end-to-end demo and the report rebuild: wiring only, the work is done by the domain packages.

``run_demo`` runs explicit steps, each a function with typed inputs and outputs: make stimuli,
simulate participants with the protocol's curricula through the task (windowless), fit and compare
the choice models, recover parameters, tabulate choice patterns, run the 2022 choice-pattern RSA,
train rich and lazy networks, run MDS, compare people with networks, and run matched networks through
the people's own trial sequences; for the scanner sessions of a few of them, simulate BOLD (rich,
lazy and null ROIs), fit the GLM, compute ROI RDMs and a searchlight, and test the models and the
match with the networks (the functions the ``garden neural`` commands call). Every table is saved
(TSV + JSON sidecar) under ``DIR/tables`` by a ``Tables`` sink, and the report is written to
``DIR/report.html``. ``network_evidence`` (``garden neural networks``) joins the neural and network
analyses outside the demo: each scanned person's ROI RDMs against the networks fitted to their choices.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from garden.analysis.networks import people_vs_networks as hvn
from garden.analysis.networks.person_fits import check_feedback, read_fit
from garden.analysis.networks import gating as ng
from garden.analysis.networks import stats as ns
from garden.analysis.networks import tables as nt
from garden.analysis.behaviour.measures import (
    accuracy_table,
    behaviour_tests,
    group_means,
    parameter_group_tests,
)
from garden.analysis.behaviour.choice_rdms import (
    choice_rdms,
    group_mean_rdms,
    paired_tests,
    participant_betas,
    participant_groups,
)
from garden.analysis.behaviour.choices import (
    analysis_trials,
    canonical_boundaries,
    cell_table,
    fit_summary,
    predicted_cells,
    psychometric_table,
)
from garden.analysis.behaviour.grid_prior import change_test, grid_priors, has_arrangements, prior_change
from garden.analysis.behaviour.group import group_behaviour
from garden.analysis.neural.bids import find_runs
from garden.analysis.neural.glm import GlmConfig, fit_dataset
from garden.analysis.neural.rdms import RdmConfig, read_roi_rdms, roi_rdms, searchlight_maps
from garden.analysis.neural.rois import Roi, load_rois
from garden.analysis.neural.sensitivity import sensitivity
from garden.analysis.neural.simulate import SimulationConfig, default_rois, simulate_dataset
from garden.analysis.neural.study import StatsConfig, write_statistics
from garden.core.bids import bids_id
from garden.core.errors import UserError
from garden.core.files import output_folder, refuse_existing, write_tsv
from garden.core.progress import progress_bar
from garden.core.provenance import provenance, write_json, write_sidecar
from garden.core.trials import read_trials, write_table
from garden.experiment.arrangement.simulate import simulate_arrangements
from garden.experiment.config import load_protocol
from garden.experiment.sequences import participant_seed
from garden.experiment.simulate import simulate_session
from garden.modeling.agents import POPULATION_MODELS, get_agent, population_params
from garden.modeling.comparison import FAMILIES, between_groups, bms_table, family_bms_table
from garden.modeling.models import DEFAULT_MODELS
from garden.modeling.networks import load_results, train_sweep
from garden.modeling.networks import rdms as network_rdms
from garden.modeling.networks.config import (
    PUBLISHED_CTX_SCALES,
    PUBLISHED_SCALES,
    SweepConfig,
    TrainConfig,
)
from garden.modeling.networks.curriculum import run_curriculum, sequences
from garden.modeling.networks.fitted_rdms import fitted_hidden_rdms, lr_indices
from garden.modeling.psychometric import fit_table
from garden.modeling.recovery import run_recovery
from garden.reports.html import RUN_FILE, SKIPPED_FILE, TABLES_DIR, load_tables, write_report
from garden.rsa import candidates, evidence
from garden.rsa.mds import mds_panels
from garden.rsa.model_rdms import choice_model_rdms, condition_table
from garden.rsa.rdms import RDMs
from garden.stimuli.sets import contact_sheet, load_set, make_set

T = TypeVar("T")


@dataclass(frozen=True)
class DemoConfig:
    """Everything that sets a demo run (recorded in ``run.json`` and every sidecar)."""

    participants: int = 8
    seed: int = 0
    protocol: str = "flesch2022"
    curricula: tuple[str, ...] | None = None   # None: every curriculum of the protocol, in its order
    exemplars: int = 2
    size_px: int = 96
    scales: tuple[float, ...] = (0.01, 0.1, 1.0, 3.0)
    ctx_scales: tuple[float, ...] = (0.5, 0.5, 0.8, 1.5)
    network_seeds: int = 4
    steps: int = 3000
    models: tuple[str, ...] = DEFAULT_MODELS
    n_boot: int = 1000
    recovery_agents: int = 10
    recovery_trials: tuple[int, ...] = (100, 200, 400)
    matched_network_seeds: int = 2
    ppc_replicates: int = 500
    scanner_participants: int = 8   # participants whose scanner session gets simulated BOLD (0: none)
    scanner_shape: tuple[int, int, int] = (20, 10, 10)   # simulated volume, voxels of 3 mm
    scanner_snr: float = 0.5
    scanner_noise_model: str = "ols"   # the command default is ar1 (about twice as slow)
    searchlight_radius: float = 2.0   # voxels
    n_perm: int = 2000   # sign-flip permutations of the neural group tests
    neural_restarts: int = 2   # compression-model restarts per ROI RDM
    compression_model: str = "ours"   # garden.rsa.compression_model version for networks and ROIs (or "paper")
    dpi: int = 100

    @classmethod
    def full(cls, **overrides: Any) -> DemoConfig:
        """The published network sweep: 8 init scales x 30 seeds x 10 000 steps."""
        return replace(cls(scales=PUBLISHED_SCALES, ctx_scales=PUBLISHED_CTX_SCALES, network_seeds=30,
                           steps=10_000), **overrides)


@dataclass
class Tables:
    """Where results go: kept in memory for the report and, when ``write``, saved as
    ``tables/<name>.tsv`` with a sidecar (config, seed)."""

    out: Path
    config: DemoConfig
    write: bool = True
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def save(self, name: str, table: pd.DataFrame, **extra: Any) -> pd.DataFrame:
        self.tables[name] = table
        if self.write:
            path = write_table(table, self.out / TABLES_DIR / f"{name}.tsv")
            write_sidecar(path, asdict(self.config), self.config.seed, n_rows=len(table), completed=True, **extra)
        return table


@dataclass(frozen=True)
class Participants:
    """Every trial of the participants and the trials analysed
    (``garden.analysis.behaviour.choices.analysis_trials``)."""

    all_trials: pd.DataFrame
    trials: pd.DataFrame


@dataclass(frozen=True)
class Scanner:
    """The demo's scanner data, one folder each (as the ``garden neural`` commands write them):
    simulated BOLD with its masks, GLM betas, ROI RDMs, searchlight maps and statistics."""

    bold: Path
    glm: Path
    rdms: Path
    searchlight: Path
    sensitivity: Path
    stats: Path

    @classmethod
    def under(cls, out: Path) -> Scanner:
        """The folders under ``out/neural``."""
        return cls(*(out / "neural" / name for name in ("bold", "glm", "rdms", "searchlight", "sensitivity", "stats")))

    def mask(self, name: str = "brain") -> Path:
        """The simulator's brain mask, or the mask of ROI ``name``."""
        return self.bold / "masks" / ("brain_mask.nii.gz" if name == "brain" else f"roi-{name}_mask.nii.gz")

    def rois(self, config: DemoConfig) -> tuple[dict[str, Roi], np.ndarray | None]:
        """The simulated ROIs by name (``garden.analysis.neural.rois.load_rois``) and their grid's affine."""
        return load_rois({roi.name: self.mask(roi.name) for roi in default_rois(config.scanner_shape)})


@dataclass(frozen=True)
class Networks:
    """A trained sweep: its per-network summary, the hidden-layer RDMs of every network (for the
    geometry) and the choice RDMs of the networks' outputs (for people); rdm descriptor ``scale``."""

    summary: pd.DataFrame
    rdms: RDMs
    choice_rdms: RDMs


# ---------------------------------------------------------------- steps

def make_stimuli(out: Path, config: DemoConfig) -> Path:
    """A small stimulus set and its contact sheet (the trees the task shows); returns its folder."""
    folder = make_set(out / "stimuli", config.exemplars, config.size_px, seed=config.seed)
    contact_sheet(load_set(folder), cell_px=config.size_px).save(folder / "contact_sheet.png")
    return folder


def simulate_participants(out: Path, config: DemoConfig, tables: Tables) -> Path:
    """Simulated participants, spread over the curricula, alternating factorized and linear agents
    (``garden.modeling.agents.population_params``), each through every session of the protocol; returns
    the BIDS tree ``out/participants``."""
    protocol = load_protocol(config.protocol)
    curricula = config.curricula or tuple(protocol.curricula)
    sessions = sorted({p.session for p in protocol.phases})
    rng = np.random.default_rng(config.seed)
    plan, folder = [], out / "participants"
    for i in progress_bar(range(config.participants), desc="participants", unit="participant"):
        pid, model = f"P{i + 1:02d}", POPULATION_MODELS[(i // len(curricula)) % len(POPULATION_MODELS)]
        params = population_params(rng)
        agent = get_agent(model, params, seed=config.seed + i)
        curriculum = curricula[i % len(curricula)]
        seed = participant_seed(config.seed, pid)  # each participant their own sequence
        for session in sessions:
            simulate_session(protocol, pid, session, agent, folder, curriculum=curriculum, seed=seed)
        plan.append({"participant_id": pid, "curriculum": curriculum, "agent": model, "sequence_seed": seed,
                     **params})
    tables.save("simulated_agents", pd.DataFrame(plan))
    return folder


def arrange_participants(folder: Path, config: DemoConfig, tables: Tables) -> None:
    """Simulated arrangement sessions of every simulated participant (``garden.experiment.arrangement.simulate``):
    6 arrangements before training (first session, ``pre``) and 6 after (last session, ``post``), each
    with its own noise SD drawn uniformly in [0.05, 0.4] arena radii (recorded in ``simulated_arrangements``)."""
    sessions = sorted({p.session for p in load_protocol(config.protocol).phases})
    rng, rows = np.random.default_rng([config.seed, 25]), []
    for pid in tables.tables["simulated_agents"]["participant_id"]:
        for phase, session in (("pre", sessions[0]), ("post", sessions[-1])):
            noise = float(rng.uniform(0.05, 0.4))
            simulate_arrangements(folder, pid, session, phase, noise=noise,
                                  seed=participant_seed(config.seed, f"{pid}{phase}"))
            rows.append({"participant_id": pid, "session": session, "phase": phase, "noise": noise})
    tables.save("simulated_arrangements", pd.DataFrame(rows))


def grid_prior(folder: Path, tables: Tables) -> None:
    """Each participant's grid prior, its pre-to-post change and the group test, when ``folder``
    holds arrangement data (``garden.analysis.behaviour.grid_prior``); nothing otherwise."""
    if has_arrangements(folder):
        change = tables.save("grid_prior", prior_change(grid_priors(folder)))
        tables.save("grid_prior_test", change_test(change))


def demo_grid_prior(folder: Path, config: DemoConfig, tables: Tables) -> None:
    """The demo's arrangement task: simulated arrangements, then the grid prior."""
    arrange_participants(folder, config, tables)
    grid_prior(folder, tables)


def load_participants(folder: Path) -> Participants:
    """Read and validate the participants' trial tables once; keep the analysed trials."""
    trials = read_trials(folder)
    return Participants(trials, analysis_trials(trials))


def fit_choice_models(people: Participants, config: DemoConfig, tables: Tables) -> pd.DataFrame:
    """The choice models fitted per participant (trial-level likelihood); returns the fits."""
    fits = fit_table(people.trials, config.models, progress=True)
    tables.save("fits", fits, skipped=fits.attrs.get("skipped", {}))
    tables.save("fit_summary", fit_summary(fits))
    if fits["group"].nunique() > 1:
        tables.save("parameter_group_tests", parameter_group_tests(fits, ["bias", "slope", "offset", "lapse"]))
    tables.save("boundaries", canonical_boundaries(fits))
    return fits


def compare_choice_models(fits: pd.DataFrame, config: DemoConfig, tables: Tables) -> None:
    """Random-effects Bayesian model selection (log evidence = -BIC/2), per group and over everyone."""
    tables.save("bms", pd.concat([bms_table(fits, by="group"),
                                  bms_table(fits).assign(group="all")], ignore_index=True))
    if {m for members in FAMILIES.values() for m in members} <= set(fits["model"]):
        tables.save("bms_families", pd.concat([family_bms_table(fits, by="group"),
                                               family_bms_table(fits).assign(group="all")],
                                              ignore_index=True))
    if fits["group"].nunique() > 1:
        tables.save("bms_between_groups", between_groups(fits, "group"))


def recover_parameters(config: DemoConfig, tables: Tables) -> None:
    """Parameter and model recovery from simulated agents at several test-phase trial counts."""
    recovered = run_recovery(config.models, config.recovery_trials, config.recovery_agents, seed=config.seed,
                             progress=True)
    for name in ("parameter_recovery", "recovery_summary", "model_recovery", "model_confusion"):
        tables.save(name, recovered[name])


def choice_patterns(people: Participants, fits: pd.DataFrame | None, tables: Tables) -> pd.DataFrame:
    """Choice matrices per participant and psychometric curves along both features (with the fitted
    factorized model's predictions when there are fits); returns the cell table."""
    cells = tables.save("choice_cells", cell_table(people.trials))
    tables.save("accuracy_by_phase", group_means(accuracy_table(people.all_trials, by=("phase",)), "accuracy",
                                                 ["group", "phase"]))
    tables.save("behaviour_tests", behaviour_tests(people.trials))
    predicted = predicted_cells(cells, fits) if fits is not None else None
    tables.save("psychometric_curves", psychometric_table(cells, predicted))
    return cells


def behaviour_checks(people: Participants, cells: pd.DataFrame, fits: pd.DataFrame, config: DemoConfig,
                     tables: Tables) -> None:
    """The papers' further behavioural analyses (``garden.analysis.behaviour.group``): posterior predictive
    checks of every model, the 2018 behavioural RSA, baseline vs scan (2022), sigmoid slopes, RTs."""
    for name, table in group_behaviour(people.all_trials, people.trials, cells, fits, models=config.models,
                                       n_replicates=config.ppc_replicates, seed=config.seed).items():
        tables.save(name, table)


def choice_rdm_regression(cells: pd.DataFrame, tables: Tables) -> None:
    """The 2022 comparison: choice-RDM betas on the factorized and linear model RDMs, paired tests."""
    betas = tables.save("choice_rdm_betas", participant_betas(cells))
    tables.save("choice_rdm_tests", paired_tests(betas))


def train_networks(out: Path, config: DemoConfig, tables: Tables) -> Networks:
    """The rich-to-lazy sweep (``out/networks`` holds the sweep's own files), reshaped for the figures."""
    sweep = SweepConfig(scales=tuple(config.scales), ctx_scales=tuple(config.ctx_scales),
                        seeds=tuple(range(config.seed, config.seed + config.network_seeds)),
                        train=TrainConfig(steps=config.steps))
    results = load_results(train_sweep(sweep, out / "networks"))
    summary, arrays = results.summary, results.arrays
    tables.save("network_summary", summary)
    tables.save("network_scale_summary", nt.scale_summary(summary))
    tables.save("network_curves", nt.curves_table(summary, arrays))
    tables.save("network_weight_change", nt.weight_change_table(summary, arrays))
    tables.save("network_spectrum", nt.spectrum_table(summary, arrays))
    tables.save("context_weights", nt.context_weights_table(summary, arrays))
    tables.save("network_ablation", nt.ablation_table(summary))
    tables.save("network_noise", nt.noise_table(summary))
    compression = tables.save("network_compression", ns.compression_fits(summary, arrays, seed=config.seed,
                                                                             model=config.compression_model))
    measures = summary.merge(compression[["scale", "seed", "log_irrelevant_gain"]], on=["scale", "seed"])
    tables.save("network_paired_tests", ns.paired_scale_tests(measures, ns.EXPECTED_TRENDS))
    overlap = tables.save("network_gating_overlap", ng.overlap_table(results))
    tables.save("network_gating_dynamics", ng.dynamics_table(summary, arrays))
    tables.save("network_gating_tests", ng.gating_tests(overlap, summary))
    return Networks(summary, network_rdms.network_rdms(summary, arrays),
                    hvn.network_choice_rdms(arrays["outputs"], summary["scale"].to_numpy(float)))


def geometry(cells: pd.DataFrame, networks: Networks | None, config: DemoConfig, tables: Tables) -> None:
    """3-D metric MDS of each init scale's mean hidden RDM and of each group's mean choice RDM."""
    if networks is not None:
        means = networks.rdms.mean("scale")
        tables.save("mds_networks", mds_panels(means, [f"σ = {s:g}" for s in means.rdm_descriptors.scale], config.seed))
    people = [(group_mean_rdms(choice_rdms(cells, code)), frame) for code, frame in ((1, ""), (5, " (diagonal rules)"))]
    labels = [f"{group}{frame}" for means, frame in people for group in means.rdm_descriptors.group]
    if labels:
        stack = RDMs(np.concatenate([means.matrices for means, _ in people]), condition_table())  # both frames
        tables.save("mds_people", mds_panels(stack, labels, config.seed))


def people_vs_networks(cells: pd.DataFrame, networks: Networks, config: DemoConfig, tables: Tables) -> None:
    """Behaviour vs behaviour: each participant's choice RDM against the choice RDMs of the sweep's
    networks at every init scale (p(accept) = sigmoid(output / T)); best scale, bootstrap, and the
    choice-model betas (factorized, linear) of people beside those of the networks."""
    rdms = choice_rdms(cells, SweepConfig.rule_code)
    groups = participant_groups(cells)
    similarity = tables.save("similarity", candidates.similarity_table(rdms, networks.choice_rdms))
    tables.save("best_scale_per_participant", candidates.best_scales(similarity))
    profile, best, distribution = candidates.bootstrap_profiles(similarity, groups, config.n_boot, config.seed)
    tables.save("similarity_profile", profile)
    tables.save("best_scale", best)
    tables.save("best_scale_bootstrap", distribution)
    models = choice_model_rdms(rule_code=SweepConfig.rule_code)
    nets = hvn.beta_profiles(networks.choice_rdms, models)
    tables.save("beta_profiles", hvn.compare_beta_profiles(hvn.beta_profiles(rdms, models), nets, best, groups))


def matched_networks(people: Participants, cells: pd.DataFrame, fits: pd.DataFrame,
                     config: DemoConfig, tables: Tables) -> None:
    """Networks of every init scale run through each participant's own trial sequence (online SGD
    on the feedback trials, per-scale learning rates, sigmoid choices with the documented
    temperature): accuracy by phase beside the person's, their test choice RDMs against the person's,
    factorized-model fits laid beside the person's at the best-matching scale."""
    sweep = SweepConfig(scales=tuple(config.scales), ctx_scales=tuple(config.ctx_scales),
                        seeds=tuple(range(config.seed, config.seed + config.matched_network_seeds)))
    analysed = choice_rdms(cells, SweepConfig.rule_code)
    trials = people.all_trials[people.all_trials.participant_id.isin(analysed.rdm_descriptors.participant_id)]
    runs = run_curriculum(trials, sweep, choice_rule="sigmoid", choice_seed=config.seed)
    tables.save("matched_accuracy", hvn.phase_accuracy(trials, runs))
    network_cells = cell_table(analysis_trials(runs))
    sources = dict(zip(runs.participant_id, zip(runs.source_participant_id, runs.scale)))
    similarity = tables.save("matched_similarity", hvn.matched_similarity(
        analysed, choice_rdms(network_cells, SweepConfig.rule_code), sources))
    best = tables.save("matched_best_scale", candidates.best_scales(similarity))
    network_fits = tables.save("network_fits", fit_table(analysis_trials(runs), ("factorized",), progress=True))
    tables.save("matched_parameters", hvn.matched_parameters(best, fits, network_fits, hvn.MATCHED_PARAMETERS))


MIN_SCANNED = 3
"""Scanned participants the neural statistics need (a correlation across participants needs 3)."""


def scanned_participants(folder: Path, config: DemoConfig) -> list[str]:
    """Ids of the first ``config.scanner_participants`` participants with scanner runs under
    ``folder``; none when the protocol has no scanner phase or fewer than ``MIN_SCANNED`` would be."""
    if config.scanner_participants < MIN_SCANNED or not any(p.scanner for p in load_protocol(config.protocol).phases):
        return []
    ids = sorted({pid.removeprefix("sub-") for pid, _ in find_runs(folder)})
    return ids[:config.scanner_participants] if len(ids) >= MIN_SCANNED else []


def simulate_scanner(scanner: Scanner, folder: Path, scanned: list[str], config: DemoConfig) -> None:
    """Simulated BOLD for the scanner sessions of ``scanned`` (``garden neural simulate``): a rich
    (orthogonal), a lazy (grid) and a null ROI, the rich ROI's signal scaled by scan accuracy."""
    sim = SimulationConfig(shape=config.scanner_shape, rois=tuple(default_rois(config.scanner_shape)),
                           snr=config.scanner_snr, seed=config.seed)
    with threadpool_limits(1):
        simulate_dataset(folder, scanner.bold, sim, participants=scanned)


def _glm_config(config: DemoConfig) -> GlmConfig:
    """The demo's GLM: its noise model and the six motion confounds (the default HRF)."""
    return GlmConfig(noise_model=config.scanner_noise_model, confounds=("motion",))


def scanner_glm(scanner: Scanner, config: DemoConfig) -> None:
    """The first-level LSA GLM (``garden neural glm``) with the six motion confounds."""
    with threadpool_limits(1):
        fit_dataset(scanner.bold, scanner.glm, mask=scanner.mask(), config=_glm_config(config))


def scanner_rdms(scanner: Scanner, config: DemoConfig) -> None:
    """Crossnobis ROI RDMs with the default run-wise noise (``garden neural rdms``) and a crossnobis
    searchlight over the brain mask (``garden neural searchlight``)."""
    with threadpool_limits(1):
        rois, affine = scanner.rois(config)
        roi_rdms(scanner.glm, scanner.rdms, rois=rois, affine=affine, config=RdmConfig())
        searchlight_maps(scanner.glm, scanner.searchlight, mask=scanner.mask(),
                         config=RdmConfig(method="crossnobis", radius=config.searchlight_radius))


def scanner_sensitivity(scanner: Scanner, config: DemoConfig) -> None:
    """The ROI contrast and relevance under every HRF and distance (``garden neural sensitivity``), so
    the report flags a conclusion that depends on an analysis choice."""
    rois, _ = scanner.rois(config)
    with threadpool_limits(1):
        sensitivity(scanner.bold, scanner.sensitivity, rois=rois, glm=_glm_config(config), mask=scanner.mask(),
                    n_perm=config.n_perm, seed=config.seed, fitted={_glm_config(config).hrf_model: scanner.glm})


def neural_statistics(scanner: Scanner, networks: Path, config: DemoConfig, tables: Tables) -> None:
    """Model betas, group tests, compression, accuracy, noise ceilings, the match with the demo's
    network sweep and the searchlight group maps (``garden neural stats``); its tables are saved
    with the demo's."""
    stats = StatsConfig(n_perm=config.n_perm, n_boot=config.n_boot, n_restarts=config.neural_restarts,
                        compression_model=config.compression_model, seed=config.seed)
    rois, affine = scanner.rois(config)
    with threadpool_limits(1):
        write_statistics(scanner.rdms, scanner.stats, config=stats, behaviour=scanner.bold, networks=networks,
                         searchlight=scanner.searchlight, mask=scanner.mask(), rois=rois, roi_affine=affine,
                         sensitivity=scanner.sensitivity)
    for name, table in load_tables(scanner.stats).items():
        tables.save(name, table, source=str(scanner.stats))


# ---------------------------------------------------------------- runs

class Timer:
    """Runs steps by name with a progress bar and records how long each took: wall seconds (``timings``) and
    CPU seconds (``cpu``: user + system of this process and of the child processes it waited for)."""

    def __init__(self, n_steps: int, progress: bool = True):
        self.timings: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.bar = progress_bar(total=n_steps, desc="demo steps", unit="step", enabled=progress)

    def __call__(self, name: str, step: Callable[..., T], *args: Any) -> T:
        start, cpu = time.perf_counter(), cpu_seconds()
        result = step(*args)
        self.timings[name] = round(time.perf_counter() - start, 3)
        self.cpu[name] = round(cpu_seconds() - cpu, 3)
        self.bar.update()
        return result


def cpu_seconds() -> float:
    """CPU seconds used so far (user + system) by this process and its waited-for child processes."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


DEMO_STEPS = ("stimuli", "participants", "grid_prior", "choice_models", "model_comparison", "recovery", "behaviour",
              "behaviour_checks", "choice_rdms", "networks", "geometry", "people_vs_networks", "matched_networks",
              "scanner", "scanner_glm", "scanner_rdms", "scanner_sensitivity", "neural")
"""The demo's steps in order; the names match report sections where a step feeds one."""


def _check_new_folder(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out}: already exists and is not empty; give a new folder to --out "
                        "(demo results are never overwritten)")


def run_demo(out: str | os.PathLike, config: DemoConfig, progress: bool = True) -> Path:
    """Run the whole demo into the new folder ``out``; return the path of ``report.html``."""
    out = Path(out)
    _check_new_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    tables, step = Tables(out, config), Timer(len(DEMO_STEPS), progress)
    start = time.perf_counter()
    step("stimuli", make_stimuli, out, config)
    folder = step("participants", simulate_participants, out, config, tables)
    step("grid_prior", demo_grid_prior, folder, config, tables)
    people = load_participants(folder)
    fits = step("choice_models", fit_choice_models, people, config, tables)
    step("model_comparison", compare_choice_models, fits, config, tables)
    step("recovery", recover_parameters, config, tables)
    cells = step("behaviour", choice_patterns, people, fits, tables)
    step("behaviour_checks", behaviour_checks, people, cells, fits, config, tables)
    step("choice_rdms", choice_rdm_regression, cells, tables)
    networks = step("networks", train_networks, out, config, tables)
    step("geometry", geometry, cells, networks, config, tables)
    step("people_vs_networks", people_vs_networks, cells, networks, config, tables)
    step("matched_networks", matched_networks, people, cells, fits, config, tables)
    skipped = {}
    scanned = scanned_participants(folder, config)
    if scanned:
        scanner = Scanner.under(out)
        step("scanner", simulate_scanner, scanner, folder, scanned, config)
        step("scanner_glm", scanner_glm, scanner, config)
        step("scanner_rdms", scanner_rdms, scanner, config)
        step("scanner_sensitivity", scanner_sensitivity, scanner, config)
        step("neural", neural_statistics, scanner, out / "networks", config, tables)
    else:
        skipped["neural"] = (f"no scanner data (protocol {config.protocol} has no scanner phase, or fewer than "
                             f"{MIN_SCANNED} participants are scanned: --scanner-participants, --participants)")
    write_json(out / TABLES_DIR / SKIPPED_FILE, skipped)
    write_json(out / RUN_FILE, provenance(asdict(config), config.seed, total_s=round(time.perf_counter() - start, 1),
                                          timings_s=step.timings, cpu_s=step.cpu, skipped=skipped,
                                          tables=sorted(tables.tables)))
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
    return write_report(folder, out, extra_tables=participant_tables(folder, trees).tables, overwrite=overwrite,
                        dpi=dpi, note_missing=False)  # behaviour only: network and scanner figures do not apply


def participant_tables(folder: Path, trees: Path) -> Tables:
    """The behavioural results of the participants tree ``trees`` (what ``garden report`` draws for real data),
    computed in memory: nothing is written."""
    config = DemoConfig()
    tables = Tables(folder, config, write=False)
    people = load_participants(trees)
    fits = fit_choice_models(people, config, tables)
    compare_choice_models(fits, config, tables)
    cells = choice_patterns(people, fits, tables)
    behaviour_checks(people, cells, fits, config, tables)
    choice_rdm_regression(cells, tables)
    geometry(cells, None, config, tables)
    grid_prior(trees, tables)
    return tables


EVIDENCE_TABLES = {
    "neural_networks_similarity": "participant_id, roi, scale, similarity: each person's ROI RDM vs their own fitted network",
    "neural_networks_ceiling": "roi, n, lower, upper: leave-one-participant-out noise ceilings on the same measure",
    "neural_networks_profile": "roi, scale, similarity, ci_low, ci_high: mean over people, bootstrap 95 % CI",
    "neural_networks_people": "participant_id, roi, best_scale, rich_minus_lazy, verdict (the person's networks-fit verdict)",
    "neural_networks_reading": "per ROI: best scale (bootstrap CI), relative to the ceilings, rich - lazy, reading",
    "neural_networks_conclusion": "per ROI: neural reading (primary), behaviour reading (check), consistency, sentence",
}


def network_evidence(rdms: str | os.PathLike, fits: str | os.PathLike, trials: list[str | os.PathLike],
                     out: str | os.PathLike, *, measure: str = "spearman", n_boot: int = 2000, seed: int = 0,
                     include_incomplete: bool = False, participants: list[str] | None = None) -> Path:
    """``garden neural networks``: every scanned person's ROI RDMs (``garden neural rdms`` folder)
    against the hidden RDMs of the networks fitted to their own choices (``garden networks fit``
    folder ``fits``, rerun through their ``trials``), noise ceilings, the neural reading per ROI
    and the conclusion chain with behaviour as the check (``garden.rsa.evidence``); writes
    ``OUT/tables/neural_networks_*.tsv`` (``EVIDENCE_TABLES``) and their record ``OUT/neural_networks.json``
    (options, seed, inputs, table descriptions). ``participants``: only
    these scanned participants (ids with or without ``sub-``)."""
    refuse_existing(out)
    grid, contexts, people, scales = read_fit(fits)
    roi = read_roi_rdms(rdms)
    if roi.rdm_descriptors.duplicated(["participant_id", "roi"]).any():
        raise UserError(f"{rdms}: several RDMs per participant and ROI (sessions or methods); give a folder with one "
                        "session and one --method")
    scanned = sorted(roi.rdm_descriptors["participant_id"].unique())
    if participants:
        unknown = sorted({bids_id(p) for p in participants} - set(scanned))
        if unknown:
            raise UserError(f"--participants: {unknown} have no ROI RDMs in {rdms} (it has {scanned})")
        scanned = sorted({bids_id(p) for p in participants})
        roi = roi.subset(participant_id=scanned)
    table = read_trials(list(trials), include_incomplete=include_incomplete)
    table = table[table["participant_id"].astype(str).map(bids_id).isin(scanned)]
    check_feedback(table, ", ".join(map(str, trials)))   # as the fit: networks learn only where feedback was shown
    fitted = set(people["participant_id"].map(bids_id))
    missing = [s for s in scanned if s not in fitted or s not in set(table["participant_id"].astype(str).map(bids_id))]
    if missing:
        raise UserError(f"{rdms}: participant(s) {missing} have ROI RDMs but no network fit in {fits} or no trials in "
                        "the trial tables given; fit them (`garden networks fit`) or leave their RDMs out")
    if len(scanned) < 3:
        raise UserError(f"{rdms}: RDMs of {len(scanned)} participant(s); noise ceilings and intervals need >= 3")
    seqs = sequences(table, contexts)
    networks = fitted_hidden_rdms(seqs, lr_indices(seqs, scales, grid), grid)
    networks.rdm_descriptors["participant_id"] = networks.rdm_descriptors["participant_id"].map(bids_id)
    similarity = evidence.own_network_similarity(roi, networks, measure=measure)
    ceilings = evidence.noise_ceilings(roi, measure=measure)
    profile, per_person, reading = evidence.neural_reading(similarity, ceilings, n_boot=n_boot, seed=seed)
    verdicts = people.assign(participant_id=people["participant_id"].map(bids_id)).set_index("participant_id")["verdict"]
    per_person["verdict"] = per_person["participant_id"].map(verdicts)
    conclusion = evidence.conclusion_chain(reading, evidence.behaviour_reading(verdicts.loc[scanned]))
    options = {"measure": measure, "n_boot": n_boot, "rich_max_scale": evidence.RICH_MAX_SCALE,
               "min_lower_ceiling": evidence.MIN_LOWER_CEILING, "min_similarity": evidence.MIN_SIMILARITY,
               "grid": grid.to_dict()}
    with output_folder(out) as partial:  # built aside and renamed whole, as `garden neural stats` (one record)
        for name, frame in zip(EVIDENCE_TABLES, (similarity, ceilings, profile, per_person, reading, conclusion)):
            write_tsv(partial / TABLES_DIR / f"{name}.tsv", frame, float_format="%.6g")
        write_json(partial / "neural_networks.json", provenance(
            options, seed, tables=EVIDENCE_TABLES, rdms=str(rdms), fits=str(fits), trials=[str(t) for t in trials],
            participants=scanned))
    return Path(out)
