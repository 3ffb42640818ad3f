"""``garden networks``: is this person rich or lazy? Networks fitted to each person's choices by
likelihood (``fit``), recovery of the scale from people whose answer is known (``recover``), and the
report of a fit (``report``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from garden.analysis.networks.person_fits import fit_people_files
from garden.analysis.networks.recovery import recover_networks
from garden.arguments import (
    SEED,
    EXECUTOR_RULE,
    add_rules,
    bounded_int,
    existing_file,
    existing_folder,
    existing_path,
    float_list,
    html_path,
    name_list,
    out_folder,
    out_rules,
    together,
)
from garden.core.jobs import EXECUTORS
from garden.modeling.networks.likelihood import FitGrid

DESCRIPTION_FIT = (
    "Per person and init scale: a network (per-item unit-norm inputs, docs/networks.md) run through the person's own "
    "trials, learning only where feedback == 1, with learning rate, choice temperature and lapse fitted by "
    "likelihood of every choice (grid; averaged over init seeds); the factorized, factorized_full and linear choice "
    "models, and factorized and linear with a learning curve (choices moving from chance with a fitted time "
    "constant), fitted to the same trials: a network must beat all five. Writes OUT/people/<id>.json as each person finishes (a rerun of the same "
    "command resumes), then OUT/scales.tsv (person x scale) and OUT/people.tsv (best scale, 95 % profile interval, "
    "p(rich), BICs, verdict) with JSON sidecars.")


def _grid_arguments(p: argparse.ArgumentParser) -> None:
    """The networks and parameter grid searched (defaults: ``garden.modeling.networks.likelihood.FitGrid``)."""
    p.add_argument("--scales", type=float_list(0.0, above=True), default=None, metavar="S,...",
                   help="input->hidden init SDs (default: the published 8)")
    p.add_argument("--ctx-scales", type=float_list(0.0), default=None, metavar="S,...",
                   help="context->hidden init SDs, one per scale (default: the published 8)")
    p.add_argument("--seeds", type=bounded_int(1, "networks"), default=4, help="init seeds averaged per scale (default 4)")
    p.add_argument("--lrs", type=float_list(0.0, above=True), default=None, metavar="R,...",
                   help="online learning rates searched (default 0.01,0.02,0.05,0.1,0.2)")
    p.add_argument("--temperatures", type=float_list(0.0, above=True), default=None, metavar="T,...",
                   help="choice temperatures searched, value / 25 units (default 0.05..4, 8 values)")
    p.add_argument("--lapses", type=float_list(0.0), default=None, metavar="E,...",
                   help="lapse rates searched, 0..1 (default 0..1, 8 values)")
    p.add_argument("--threads", type=bounded_int(0, "threads"), default=0, help="CPU threads (default: the BLAS's)")
    p.add_argument("--jobs", type=bounded_int(1, "jobs"), default=1, help="jobs at once with --executor local/slurm")
    p.add_argument("--executor", choices=EXECUTORS, default="inline",
                   help="fit here (inline) or as submitit jobs of a few people each (local processes, SLURM)")
    add_rules(p, together("--scales", "--ctx-scales"), EXECUTOR_RULE)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``networks fit``, ``networks recover`` and ``networks report``."""
    group = subparsers.add_parser("networks", help="fit networks to people's choices (rich or lazy?) and check recovery")
    steps = group.add_subparsers(dest="step", metavar="STEP", required=True)
    p = steps.add_parser("fit", help="fit networks of every init scale and the choice models to each person",
                         description=DESCRIPTION_FIT)
    p.add_argument("paths", nargs="+", type=existing_path, metavar="PATH", help="trial table(s): files or folders")
    _grid_arguments(p)
    p.add_argument("--recovery", type=existing_file, default=None, metavar="FILE",
                   help="recovery.tsv of `garden networks recover`: people of curricula it finds not identifiable "
                        "get that verdict instead of a scale")
    p.add_argument("--include-incomplete", action="store_true", help="also use sessions that did not finish")
    p.add_argument("--out", required=True, type=out_folder, metavar="DIR", help="output folder (resumes its own fit)")
    p.set_defaults(func=fit_command)

    r = steps.add_parser("recover", help="recover the scale of network-generated people through a protocol",
                         description="Simulates people through a shipped protocol's sequences: networks of known "
                                     "scale, lr, temperature and lapse, factorized and linear agents (and with "
                                     "--agents learner, agents that learn gradually); fits them "
                                     "as `networks fit` does and writes OUT/recovery.tsv (per curriculum: rich-vs-lazy "
                                     "accuracy and calibration, agents' outcomes, identifiable) and OUT/confusion.tsv.")
    r.add_argument("--protocol", default="flesch2018", help="protocol name or .toml path (default flesch2018)")
    r.add_argument("--curricula", type=name_list(), default=("B200", "interleaved"), metavar="C,...",
                   help="curricula of the protocol (default B200,interleaved)")
    r.add_argument("--people", type=bounded_int(1, "agents"), default=16, metavar="N",
                   help="per curriculum: N network people (scales cycled) and N factorized and N linear agents")
    r.add_argument("--seed", type=SEED, default=0, help="seed of the simulated people (default 0)")
    r.add_argument("--agents", type=name_list(("factorized", "linear", "learner")), default=("factorized", "linear"),
                   metavar="A,...", help="agent kinds beside the network people (default factorized,linear; also learner)")
    _grid_arguments(r)
    r.add_argument("--out", required=True, type=out_folder, metavar="DIR", help="output folder (resumes its own fit)")
    r.set_defaults(func=recover_command)

    w = steps.add_parser("report", help="the HTML report of a `networks fit` folder",
                         description="Per curriculum: the verdicts, every person's best init scale with its 95 % "
                                     "profile interval, the recovery table and findings worded by what recovery "
                                     "allows (\"cannot tell\" where it cannot). Reads only the fit's files.")
    w.add_argument("fit", type=existing_folder, metavar="DIR", help="output folder of `garden networks fit`")
    w.add_argument("--recovery", type=existing_file, default=None, metavar="FILE",
                   help="recovery.tsv of `garden networks recover` (default: the one the fit was given)")
    w.add_argument("--out", type=html_path, default=None, metavar="FILE.html", help="default DIR/report.html")
    w.add_argument("--overwrite", action="store_true", help="replace an existing report")
    add_rules(w, *out_rules("fit", refuse_existing=True))
    w.set_defaults(func=report_command)


def _grid(args: argparse.Namespace):
    given = {name: getattr(args, name) for name in ("scales", "ctx_scales", "lrs", "temperatures", "lapses")
             if getattr(args, name) is not None}
    return FitGrid(**given, seeds=tuple(range(args.seeds)), threads=args.threads)


def fit_command(args: argparse.Namespace) -> int:
    people = fit_people_files(args.paths, args.out, _grid(args), recovery=args.recovery, jobs=args.jobs,
                              executor=args.executor, include_incomplete=args.include_incomplete)
    _print_verdicts(people, args.out)
    return 0


def recover_command(args: argparse.Namespace) -> int:
    tables = recover_networks(args.protocol, args.curricula, args.people, args.out, _grid(args), seed=args.seed,
                              agents=args.agents, jobs=args.jobs, executor=args.executor)
    for row in tables["recovery"].itertuples():
        state = "identifiable" if row.identifiable else "NOT identifiable: choices do not tell rich from lazy"
        agents = ", ".join(f"{kind} {getattr(row, kind + '_no_network'):.2f}" for kind in args.agents)
        print(f"{row.curriculum}: rich vs lazy {row.rich_vs_lazy_accuracy:.2f} of {row.confident} confident "
              f"(of {row.rich_or_lazy_people}); called rich and truly rich {row.called_rich_truly_rich:.2f}; "
              f"agents with no network: {agents} -> {state}")
    print(f"wrote {Path(args.out) / 'recovery.tsv'} and {Path(args.out) / 'confusion.tsv'}")
    return 0


def report_command(args: argparse.Namespace) -> int:
    from garden.reports.person_fits_report import write_fit_report  # deferred: start-up (matplotlib)

    target = args.out if args.out is not None else args.fit / "report.html"
    print(f"report: {write_fit_report(args.fit, target, recovery=args.recovery, overwrite=args.overwrite)}")
    return 0


def _print_verdicts(people, out: Path) -> None:
    counts = people.groupby(["curriculum", "verdict"]).size()
    for (curriculum, verdict), n in counts.items():
        print(f"{curriculum or '-'}: {n} {verdict}")
    print(f"wrote {out / 'people.tsv'} and {out / 'scales.tsv'} ({len(people)} people)")
