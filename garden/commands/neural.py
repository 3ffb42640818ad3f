"""``garden neural``: from scanner sessions to BOLD, GLM betas, RDMs and model statistics.

Thin wiring: the domain logic is in ``garden.analysis.neural.simulate``, ``garden.analysis.neural.glm``,
``garden.analysis.neural.rdms`` and ``garden.analysis.neural.study``; ``neural networks`` calls
``garden.pipeline.network_evidence`` (it joins the neural and network analyses). Every step writes a
new folder (never overwriting) with JSON sidecars. BLAS runs on ``--threads`` threads (default 1: the arrays are
small and several threads on small matrices only contend).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from nibabel.filebasedimages import ImageFileError
from threadpoolctl import threadpool_limits

from garden.analysis.neural.bids import EVENTS_CONTRACT, EventColumns
from garden.analysis.neural.glm import (
    AUTO,
    DRIFT_MODELS,
    HRF_MODELS,
    NOISE_MODELS,
    GlmConfig,
    Selection,
    fit_dataset,
    load_mask,
)
from garden.analysis.neural.noise import NOISE_SOURCES
from garden.analysis.neural.mante import ManteConfig, write_mante
from garden.analysis.neural.rdms import BRAIN_MODELS, RdmConfig, roi_rdms, searchlight_maps
from garden.analysis.neural.rois import load_rois, parse_rois
from garden.analysis.neural.simulate import SimulationConfig, simulate_dataset
from garden.analysis.neural.simulate import parse_rois as parse_sim_rois
from garden.analysis.neural.searchlight import METHODS
from garden.analysis.neural.bids import find_runs, read_events
from garden.core.budget import array_bytes, check_memory
from garden.core.errors import UserError
from garden.core.jobs import Resources
from garden.core.provenance import INCOMPLETE, completion
from garden.arguments import (
    SEED,
    Rule,
    add_rules,
    bounded_int,
    check_no_empty_item,
    executor_options,
    existing_file,
    existing_folder,
    existing_path,
    finite_float,
    float_list,
    job_resources,
    name_list,
    out_folder,
    raising,
)
from garden.rsa.compression_model import COMPRESSION_MODELS
from garden.rsa.crossval import SHRINKAGE

MAX_DRIFT_ORDER = 10
"""Highest polynomial drift order (--drift-order)."""
MAX_VOXELS_PER_AXIS = 512
"""Largest simulated volume side (--shape), in voxels."""


def _distinct(text: str) -> str:
    """argparse type of a comma-separated list of names: each name at most once, no empty item."""
    check_no_empty_item(text)
    names = _names(text)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"{text[:80]!r} names {', '.join(twice)} twice; give each once")
    return text


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def _shape(text: str) -> tuple[int, int, int]:
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 3 or max(shape) > MAX_VOXELS_PER_AXIS:
        raise argparse.ArgumentTypeError(f"expected X,Y,Z voxel counts 3..{MAX_VOXELS_PER_AXIS} (e.g. 20,10,10), "
                                         f"got {text!r}")
    return shape


def _entity_value(text: str) -> tuple[str, str]:
    """argparse type of ``--filter``: ENTITY=VALUE as an (entity, value) pair."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not ENTITY=VALUE (e.g. acq=mb4)")
    return key.strip(), value.strip()


def _filter_twice(args: argparse.Namespace) -> str | None:
    """Rule of ``--filter``: each entity at most once (a run has one value of it)."""
    entities = [key for key, _ in args.filter]
    twice = next((key for key in entities if entities.count(key) > 1), None)
    return None if twice is None else f"entity {twice!r} given twice; a run has one value of it"


def _selection_options(p: argparse.ArgumentParser) -> None:
    """--derivatives, --space, --task, --filter, --conditions: which runs of a BIDS dataset, and where."""
    p.add_argument("--derivatives", default=None, metavar="FOLDER",
                   help="preprocessed BOLD (*_desc-preproc_bold), brain masks and confounds (default: "
                        "BIDS/derivatives/fmriprep when it exists; 'none' for the raw *_bold.nii.gz)")
    p.add_argument("--space", default=None, help="output space of the derivatives (e.g. MNI152NLin2009cAsym) "
                                                 "when they hold several")
    p.add_argument("--task", default=None, help="only runs of this task (BIDS task label)")
    p.add_argument("--filter", action="append", type=_entity_value, default=[], metavar="ENTITY=VALUE",
                   help="only runs with this BIDS entity value (e.g. acq=mb4, dir=AP); repeat")
    add_rules(p, Rule("--filter", _filter_twice))
    p.add_argument("--conditions", default="", metavar="KEY=VALUE,...",
                   help="where the conditions are in the events: trial_type=VALUE (default tree), context=COLUMN, "
                        "branchiness=COLUMN, leafiness=COLUMN (defaults: those names)")


def _selection(args: argparse.Namespace) -> Selection:
    return Selection(task=args.task, filters=tuple(args.filter), derivatives=args.derivatives, space=args.space)


def _roi_options(p: argparse.ArgumentParser, roi_help: str) -> None:
    """--roi NAME=PATH (repeatable), --atlas IMAGE, --atlas-labels LABELS, --atlas-rois NAMES."""
    p.add_argument("--roi", action="append", default=[], metavar="NAME=PATH", help=roi_help)
    p.add_argument("--atlas", type=existing_file, default=None, metavar="IMAGE.nii.gz",
                   help="atlas image of integer labels (0 = background): one ROI per label")
    p.add_argument("--atlas-labels", type=existing_file, default=None, metavar="LABELS",
                   help="the atlas's label table: a TSV with index and name columns, or one name per line "
                        "(nilearn style: line k names label k, the first line the background)")
    p.add_argument("--atlas-rois", type=name_list(), default=(), metavar="NAME,...",
                   help="only these atlas labels (their names with letters and digits only)")


def _rois(args: argparse.Namespace):
    """(ROIs by name, their grid's affine) of --roi and --atlas options."""
    return load_rois(parse_rois(args.roi), atlas=args.atlas, atlas_labels=args.atlas_labels,
                     atlas_names=args.atlas_rois)


IMAGE_COPIES = 4
"""Copies of a session's images (as float64) a GLM or searchlight job holds at once: our rough bound."""
PYTHON_GIB = 1.0
"""Memory (GiB) of a job's Python with nilearn loaded, before any data."""


def _resources(args: argparse.Namespace, threads: int, root: Path, pattern: str) -> Resources:
    """The jobs' resources; for SLURM, memory estimated as ``IMAGE_COPIES`` x the float64 size of the largest
    session's images matching ``pattern`` under ``root``/sub-*/[ses-*/]func, plus ``PYTHON_GIB``
    (an unreadable image counts nothing here: its job reports it)."""
    sizes: dict[Path, int] = {}
    found = [*root.glob(f"sub-*/ses-*/func/{pattern}"), *root.glob(f"sub-*/func/{pattern}")]
    for path in found if args.executor == "slurm" else ():
        try:
            sizes[path.parent] = sizes.get(path.parent, 0) + 8 * math.prod(nib.load(path).shape)
        except (OSError, ValueError, ImageFileError):
            continue
    largest_gib = max(sizes.values(), default=0) / 2**30
    return job_resources(args, threads=threads, mem_gb=PYTHON_GIB + IMAGE_COPIES * largest_gib)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``neural`` with its sub-commands simulate, glm, rdms, searchlight, stats, mante."""
    neural = subparsers.add_parser("neural", help="scanner data: simulate BOLD, GLM, RDMs, model statistics",
                                   description="From scanner sessions (events.tsv written by `garden run` in "
                                               "scanner mode) to BOLD (simulated), GLM betas, RDMs and statistics.")
    steps = neural.add_subparsers(dest="step", metavar="STEP", required=True)

    p = steps.add_parser("simulate", help="simulated BOLD runs with a known geometry for scanner sessions",
                         description="Write BOLD runs (+ JSON with RepetitionTime, confounds, masks, ground truth) "
                                     "for every scanner session under SESSIONS into the new folder OUT.")
    p.add_argument("sessions", type=existing_folder, metavar="SESSIONS", help="folder with sub-*/ses-*/func/*_events.tsv")
    p.add_argument("--out", type=out_folder, required=True, help="new output folder")
    p.add_argument("--shape", type=_shape, default=(20, 10, 10), help="volume X,Y,Z in voxels (default 20,10,10)")
    p.add_argument("--voxel-mm", type=finite_float(0.0, 100.0, above=True), default=3.0,
                   help="voxel size in mm, > 0 (default 3)")
    p.add_argument("--rois", default="", metavar="NAME:GEOMETRY:X,Y,Z:RADIUS;...",
                   help="spherical ROIs (default: rich=orthogonal, lazy=grid, noise=none along X, radius 2.5 voxels)")
    p.add_argument("--snr", type=finite_float(0.0, 1e3), default=0.5, help="SD of true condition responses / noise SD (default 0.5)")
    p.add_argument("--ar1", type=finite_float(0.0, 0.99), default=0.4, help="AR(1) coefficient of the noise, 0..0.99 "
                                                                                  "(default 0.4)")
    p.add_argument("--accuracy-rois", type=_distinct, default="rich",
                   help="ROIs whose signal scales with accuracy (default rich)")
    p.add_argument("--tr", type=finite_float(0.0, 60.0, above=True), default=2.0, help="repetition time in s (default 2)")
    p.add_argument("--seed", type=SEED, default=0, help="simulation seed (default 0)")
    p.add_argument("--participants", type=_distinct, default="", help="only these participant ids (comma-separated)")
    p.add_argument("--include-incomplete", action="store_true",
                   help="also simulate sessions whose sidecar says completed: false")
    add_rules(p, Rule("--rois", raising(lambda args: _simulation(args).check())),
              Rule("SESSIONS", raising(_check_sessions)))
    p.set_defaults(func=simulate_command)

    p = steps.add_parser("glm", help="first-level LSA GLM (nilearn): condition betas per run",
                         description="One regressor per condition per run (50 x runs), HRF, drift and confounds; "
                                     "writes beta maps and residuals as a BIDS-derivatives folder OUT. "
                                     "Runs are read with pybids: the events from the raw dataset BIDS, the "
                                     "preprocessed BOLD, brain mask and confounds from its fMRIPrep derivatives. "
                                     f"Events contract: {EVENTS_CONTRACT}.")
    p.add_argument("bids", type=existing_folder, metavar="BIDS",
                   help="BIDS dataset: sub-*/[ses-*/]func/*_events.tsv (+ *_bold.nii.gz without derivatives)")
    _selection_options(p)
    p.add_argument("--mask", type=existing_file, default=None,
                   help="brain mask (NIfTI) on the BOLD grid (default: the intersection of the runs' brain masks "
                        "in the derivatives)")
    p.add_argument("--out", type=out_folder, required=True, help="new derivatives folder")
    p.add_argument("--hrf", default="glover", choices=HRF_MODELS, help="HRF model (default glover)")
    p.add_argument("--drift", default="cosine", choices=DRIFT_MODELS, help="drift model (default cosine)")
    p.add_argument("--high-pass", type=finite_float(0.0, 10.0, above=True), default=0.01, help="high-pass cut-off in Hz (default 0.01)")
    p.add_argument("--drift-order", type=bounded_int(0, high=MAX_DRIFT_ORDER), default=1, help="polynomial drift order (default 1)")
    p.add_argument("--noise-model", default="ar1", choices=NOISE_MODELS, help="GLM noise model (default ar1)")
    p.add_argument("--confounds", type=_distinct, default=AUTO, help="confound columns to regress out, from "
                   "*_desc-confounds_timeseries.tsv: 'motion' = the six motion parameters, 'outliers' = every "
                   "motion_outlier* spike column; default 'auto' = motion,outliers where a run has the file; '' = none")
    p.add_argument("--tr", type=finite_float(0.0, 60.0, above=True), default=None, help="TR in s when the bold.json lacks RepetitionTime")
    p.add_argument("--participants", type=_distinct, default="", help="only these participant ids (comma-separated)")
    executor_options(p, "participant session")
    p.set_defaults(func=glm_command)

    for name, helptext in (("rdms", "cross-validated ROI RDMs from GLM betas"),
                           ("searchlight", "searchlight model-beta maps from GLM betas")):
        p = steps.add_parser(name, help=helptext, description=helptext + "; writes the new folder OUT.")
        p.add_argument("glm", type=existing_folder, metavar="GLM", help="folder written by `garden neural glm`")
        p.add_argument("--out", type=out_folder, required=True, help="new output folder")
        default = "crossnobis" if name == "rdms" else "correlation"
        p.add_argument("--method", default=default, choices=METHODS,
                       help="crossnobis (cross-validated squared Euclidean distance, the distance the model RDMs and "
                            "the compression model describe; default for rdms) or the paper's cross-validated "
                            f"correlation distance (default {default}; docs/neural.md says why)")
        p.add_argument("--shrinkage", default="shrinkage_diag", choices=SHRINKAGE,
                       help="crossnobis noise covariance shrinkage (default shrinkage_diag, as rsatoolbox)")
        p.add_argument("--threads", type=bounded_int(1, "threads"), default=1, help="BLAS threads (default 1)")
        p.add_argument("--noise", default="runs-diag", choices=NOISE_SOURCES,
                       help="crossnobis noise covariance: runs-diag (default: each voxel's variance of its run-wise "
                            "pattern deviations, immune to an HRF misfit), runs (their full covariance), residuals "
                            "(the GLM residuals' covariance), none (identity)")
        if name == "rdms":
            _roi_options(p, "ROI mask; repeat")
            p.set_defaults(func=rdms_command)
        else:
            p.add_argument("--mask", type=existing_file, required=True, help="brain mask (NIfTI)")
            p.add_argument("--radius", type=finite_float(0.0, 100.0), default=3.0, help="sphere radius (default 3)")
            p.add_argument("--radius-unit", default="voxels", choices=("voxels", "mm"))
            p.add_argument("--min-fraction", type=finite_float(0.0, 1.0), default=0.5,
                           help="skip centres whose sphere keeps less of its voxels in the mask (default 0.5)")
            p.add_argument("--models", type=_distinct, default=",".join(BRAIN_MODELS),
                           help="model RDMs (default: the paper's 7)")
            executor_options(p, "participant session")
            add_rules(p, Rule("--radius", raising(_check_spheres)))
            p.set_defaults(func=searchlight_command)

    p = steps.add_parser("sensitivity", help="the ROI contrast and relevance under every HRF and distance",
                         description="Fit the GLM under each HRF (glover, spm, + derivatives) and compute ROI RDMs "
                                     "under each distance; per ROI the orthogonal - grid contrast and the relevance "
                                     "index side by side, an ROI whose reading changes flagged "
                                     "(OUT/tables/neural_sensitivity.tsv).")
    p.add_argument("bids", type=existing_folder, metavar="BIDS", help="BIDS dataset, as for `garden neural glm`")
    p.add_argument("--out", type=out_folder, required=True, help="new output folder")
    _selection_options(p)
    p.add_argument("--mask", type=existing_file, default=None, help="brain mask, as for `garden neural glm`")
    _roi_options(p, "ROI mask; repeat")
    p.add_argument("--alpha", type=finite_float(0.0, 1.0, above=True), default=0.01,
                   help="one-sided level of each reading (default 0.01)")
    p.add_argument("--n-perm", type=bounded_int(1, "permutations"), default=1000, help="sign-flip permutations (default 1000)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the permutations (default 0)")
    p.set_defaults(func=sensitivity_command)

    p = steps.add_parser("stats", help="model betas, group tests, compression, accuracy, networks, searchlight maps",
                         description="Regress each ROI RDM on the model RDMs and test across participants; "
                                     "optionally relate to accuracy, network init scales and searchlight maps.")
    p.add_argument("rdms", type=existing_folder, metavar="RDMS", help="folder written by `garden neural rdms`")
    p.add_argument("--out", type=out_folder, required=True, help="new output folder")
    p.add_argument("--models", type=_distinct, default=",".join(BRAIN_MODELS),
                   help="model RDMs (default: the paper's 7)")
    p.add_argument("--behaviour", type=existing_folder, help="sessions folder (sub-*/ses-*/beh) for task accuracy")
    p.add_argument("--networks", type=existing_folder, help="network sweep folder (`garden train`) for the init-scale match")
    p.add_argument("--searchlight", type=existing_folder, help="folder written by `garden neural searchlight`")
    p.add_argument("--mask", type=existing_file, help="brain mask of the searchlight")
    p.add_argument("--sensitivity", type=existing_folder, default=None,
                   help="folder written by `garden neural sensitivity`: its HRF x distance table goes beside the "
                        "results and the report flags a conclusion that changes across it")
    _roi_options(p, "count significant searchlight voxels inside this ROI; repeat")
    p.add_argument("--n-perm", type=bounded_int(1, "permutations"), default=10000, help="sign-flip permutations (default 10000)")
    p.add_argument("--n-boot", type=bounded_int(1, "permutations"), default=1000, help="bootstrap samples over participants (default 1000)")
    _compression_options(p)
    p.add_argument("--fdr", type=finite_float(0.0, 1.0, above=True), default=0.05, help="searchlight FDR level q (default 0.05)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of permutations, bootstrap and restarts (default 0)")
    add_rules(p, Rule("--roi", _stats_rois_problem))
    p.set_defaults(func=stats_command)

    p = steps.add_parser("networks", help="rich or lazy? ROI RDMs vs the networks fitted to each person's choices",
                         description="Per scanned person, ROI and init scale: the rank correlation of the person's ROI "
                                     "RDM with the hidden-layer RDM (mean over init seeds) of the network fitted to "
                                     "their own choices (`garden networks fit`, rerun through their trials at the "
                                     "fitted learning rate); leave-one-participant-out noise ceilings on the same "
                                     "measure; per ROI the best scale and rich - lazy similarity with bootstrap "
                                     "intervals across people, the neural reading (rich, lazy, cannot tell) and the "
                                     "conclusion with the fit's verdicts as the check. Writes the new folder OUT "
                                     "(tables/neural_networks_*.tsv, for `garden report OUT`).")
    p.add_argument("rdms", type=existing_folder, metavar="RDMS", help="folder written by `garden neural rdms`")
    p.add_argument("--fits", type=existing_folder, required=True, help="folder written by `garden networks fit`")
    p.add_argument("--trials", type=existing_path, nargs="+", required=True, metavar="PATH",
                   help="the trial tables the fit was given (files or folders)")
    p.add_argument("--out", type=out_folder, required=True, help="new output folder")
    p.add_argument("--participants", type=_distinct, default="",
                   help="only these scanned participants (comma-separated ids; default: every one with ROI RDMs)")
    p.add_argument("--measure", choices=("spearman", "pearson"), default="spearman",
                   help="RDM similarity, also of the noise ceilings (default spearman)")
    p.add_argument("--n-boot", type=bounded_int(1, "permutations"), default=2000,
                   help="bootstrap samples over participants (default 2000)")
    p.add_argument("--include-incomplete", action="store_true", help="also use sessions that did not finish")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the bootstrap (default 0)")
    p.set_defaults(func=networks_command)

    p = steps.add_parser("mante", help="Mante et al. (2013) monkey units: cross-validated RDM, model betas, "
                                       "compression",
                         description="The 72-condition RDM of Mante et al. unit files (cross-validated across "
                                     "trial splits), regressed on the 7 model RDMs on a 6 x 6 grid and fitted by the "
                                     "compression model; writes the new folder OUT (tables/neural_mante_*.tsv).")
    p.add_argument("units", nargs="+", type=existing_file, metavar="UNIT.mat", help="per-unit MATLAB files")
    p.add_argument("--out", type=out_folder, required=True, help="new output folder")
    p.add_argument("--window", type=float_list(), default=None, metavar="START,END",
                   help="time window in s (default: all bins)")
    p.add_argument("--splits", type=bounded_int(2, "splits"), default=2, help="trial splits per condition, the 'runs' (default 2)")
    p.add_argument("--method", default="crossnobis", choices=METHODS,
                   help="cross-validated squared Euclidean (crossnobis, identity metric; default) or correlation")
    p.add_argument("--correct-only", action="store_true", help="only correct trials")
    _compression_options(p)
    p.add_argument("--seed", type=SEED, default=0, help="seed of the splits and restarts (default 0)")
    add_rules(p, Rule("--window", _window_problem))
    p.set_defaults(func=mante_command)


def _compression_options(p: argparse.ArgumentParser) -> None:
    """``--compression-model`` and ``--restarts`` (``garden.rsa.compression_model``)."""
    p.add_argument("--compression-model", choices=COMPRESSION_MODELS, default="ours",
                   help="ours (unbounded gains, +-180 deg, best restart; default) or paper (Flesch et al. 2022: "
                        "c in [0, 1], +-90 deg, max-scaled RDMs, mean of the restarts); docs/networks.md")
    p.add_argument("--restarts", type=bounded_int(1, "starts"), default=None,
                   help="compression-model restarts (default: ours 20, paper 100)")


SIMULATION_COPIES = 8
"""Float64 arrays of (volumes x brain voxels) one simulated run holds at once (signal, drift, motion,
noise, sum, and the design's temporaries), beside the float32 volume it writes."""
MASK_COPIES = 4
"""Int64 arrays of the volume's size that building the masks holds (three coordinates, a distance)."""


def _check_sessions(args: argparse.Namespace) -> None:
    """Before any work: every scanner session complete (unless --include-incomplete), every events file
    readable with all 50 conditions, and the BOLD of the longest run within the memory budget."""
    found = find_runs(args.sessions, participants=list(_names(args.participants)) or None)
    voxels = array_bytes(args.shape, 8, MASK_COPIES)
    check_memory(voxels, f"--shape {','.join(map(str, args.shape))}: the simulated volume's masks")
    for runs in found.values():
        beh = sorted((runs[0].events.parent.parent / "beh").glob("*_task-garden_beh.tsv"))
        for table in beh:
            state, reason = completion(table, session=True)
            if state == INCOMPLETE and not args.include_incomplete:
                raise UserError(f"{table}: incomplete: {reason}; finish the session (garden run --resume) or pass "
                                "--include-incomplete to simulate it anyway")
        for run in runs:
            events = read_events(run.events)
            conditions = set(events.loc[events["condition"] >= 0, "condition"])
            if len(conditions) < 50:
                raise UserError(f"{run.events}: tree events of only {len(conditions)} of the 50 conditions (a run "
                                "cut short?); the simulation needs every condition in every run")
            seconds = float((events["onset"] + events["duration"]).max())
            volumes = math.ceil((seconds + SimulationConfig.tail_s) / args.tr)
            need = volumes * (array_bytes(args.shape, 8, SIMULATION_COPIES) + array_bytes(args.shape, 4))
            check_memory(need, f"{run.events}: {seconds:.6g} s of events at --tr {args.tr:g} s "
                               f"({volumes:.3g} volumes of {'x'.join(map(str, args.shape))} voxels)")


def _simulation(args: argparse.Namespace) -> SimulationConfig:
    return SimulationConfig(shape=args.shape, voxel_mm=args.voxel_mm, rois=parse_sim_rois(args.rois, args.shape),
                            snr=args.snr, ar1=args.ar1, accuracy_rois=_names(args.accuracy_rois), tr_s=args.tr,
                            seed=args.seed)


def simulate_command(args: argparse.Namespace) -> int:
    config = _simulation(args)
    with threadpool_limits(1):
        out = simulate_dataset(args.sessions, args.out, config, participants=list(_names(args.participants)) or None)
    print(f"wrote simulated BOLD to {out}")
    return 0


def glm_command(args: argparse.Namespace) -> int:
    config = GlmConfig(hrf_model=args.hrf, drift_model=args.drift, high_pass_hz=args.high_pass,
                       drift_order=args.drift_order, noise_model=args.noise_model, confounds=_names(args.confounds),
                       tr_s=args.tr, columns=EventColumns.parse(args.conditions))
    with threadpool_limits(1):
        out = fit_dataset(args.bids, args.out, mask=args.mask, config=config, select=_selection(args),
                          participants=list(_names(args.participants)) or None, executor=args.executor,
                          jobs=args.jobs, slurm=_resources(args, 1, args.bids, "*_bold.nii*"))
    print(f"wrote GLM betas to {out}")
    return 0


def rdms_command(args: argparse.Namespace) -> int:
    config = RdmConfig(method=args.method, shrinkage=args.shrinkage, noise=args.noise)
    rois, affine = _rois(args)
    with threadpool_limits(args.threads):
        out = roi_rdms(args.glm, args.out, rois=rois, affine=affine, config=config)
    print(f"wrote ROI RDMs to {out}")
    return 0


def _check_spheres(args: argparse.Namespace) -> None:
    """Before any work: the searchlight sphere fits the mask (``--min-fraction`` of it inside) and its
    offset grid fits the memory budget."""
    try:
        mask, image = load_mask(args.mask)
    except UserError:
        return  # a bad mask is reported by the step, after its checks of the options
    size = np.asarray(image.header.get_zooms()[:3], float) if args.radius_unit == "mm" else np.ones(3)
    reach = np.floor(args.radius / size)
    check_memory(array_bytes(2 * reach + 1, 8, 4),
                 f"--radius {args.radius:g} {args.radius_unit}: the sphere's offset grid")
    sphere = 4 / 3 * math.pi * float(np.prod(args.radius / size))
    inside = int(mask.sum())
    if args.min_fraction * sphere > inside:
        raise UserError(f"--radius {args.radius:g} {args.radius_unit}: a sphere of about {sphere:.3g} voxels needs "
                        f"{args.min_fraction:g} of them in the mask (--min-fraction), which has {inside} voxels: "
                        "lower --radius or --min-fraction")


def searchlight_command(args: argparse.Namespace) -> int:
    config = RdmConfig(method=args.method, shrinkage=args.shrinkage, noise=args.noise, radius=args.radius,
                       radius_unit=args.radius_unit, min_fraction=args.min_fraction, models=_names(args.models))
    with threadpool_limits(args.threads):
        out = searchlight_maps(args.glm, args.out, mask=args.mask, config=config, executor=args.executor,
                               jobs=args.jobs, slurm=_resources(args, args.threads, args.glm, "*.nii*"))
    print(f"wrote searchlight maps to {out}")
    return 0


def sensitivity_command(args: argparse.Namespace) -> int:
    from garden.analysis.neural.sensitivity import sensitivity  # deferred: start-up (scipy.stats)

    rois, _ = _rois(args)
    with threadpool_limits(1):
        out = sensitivity(args.bids, args.out, rois=rois, glm=GlmConfig(columns=EventColumns.parse(args.conditions)),
                          select=_selection(args), mask=args.mask, alpha=args.alpha, n_perm=args.n_perm, seed=args.seed)
    print(f"wrote the sensitivity table to {out}/tables/neural_sensitivity.tsv")
    return 0


def _wants_rois(args: argparse.Namespace) -> bool:
    return bool(args.roi or args.atlas or args.atlas_labels)


def _stats_rois_problem(args: argparse.Namespace) -> str | None:
    """Rule of ``stats --roi/--atlas``: ROIs count searchlight voxels, so they need a searchlight."""
    if _wants_rois(args) and args.searchlight is None:
        return ("--roi/--atlas of `garden neural stats` count significant searchlight voxels per ROI: "
                "give --searchlight and --mask too, or leave the ROIs out")
    return None


def _window_problem(args: argparse.Namespace) -> str | None:
    """Rule of ``mante --window``: a start and an end."""
    if args.window is not None and len(args.window) != 2:
        return f"give START,END in seconds, got {args.window}"
    return None


def stats_command(args: argparse.Namespace) -> int:
    from garden.analysis.neural.study import StatsConfig, write_statistics  # deferred: start-up (scipy.stats, sklearn)

    config = StatsConfig(models=_names(args.models), n_perm=args.n_perm, n_boot=args.n_boot,
                         n_restarts=args.restarts, compression_model=args.compression_model, fdr_q=args.fdr,
                         seed=args.seed)
    rois, affine = _rois(args) if _wants_rois(args) else (None, None)
    with threadpool_limits(1):
        out = write_statistics(args.rdms, args.out, config=config, behaviour=args.behaviour, networks=args.networks,
                               searchlight=args.searchlight, mask=args.mask, rois=rois, roi_affine=affine,
                               sensitivity=args.sensitivity)
    print(f"wrote neural statistics to {out}")
    return 0


def mante_command(args: argparse.Namespace) -> int:
    config = ManteConfig(window_s=args.window, n_splits=args.splits, method=args.method,
                         correct_only=args.correct_only, n_restarts=args.restarts,
                         compression_model=args.compression_model, seed=args.seed)
    with threadpool_limits(1):
        out = write_mante(args.units, args.out, config)
    print(f"wrote Mante et al. geometry to {out}")
    return 0


def networks_command(args: argparse.Namespace) -> int:
    from garden.pipeline import network_evidence  # deferred: start-up (the demo's imports)

    with threadpool_limits(1):
        out = network_evidence(args.rdms, args.fits, args.trials, args.out, measure=args.measure, n_boot=args.n_boot,
                               seed=args.seed, include_incomplete=args.include_incomplete,
                               participants=list(_names(args.participants)) or None)
    conclusion = pd.read_csv(out / "tables" / "neural_networks_conclusion.tsv", sep="\t")
    for sentence in conclusion["conclusion"]:
        print(sentence)
    print(f"wrote {out}/tables/neural_networks_*.tsv")
    return 0
