"""``garden demo``: the whole pipeline on simulated participants, headless, into a new folder."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from garden.core.errors import UserError
from garden.experiment.config import load_protocol
from garden.arguments import MAX_INIT_SCALE, SEED, Rule, add_rules, bounded_int, float_list, new_folder, out_folder
from garden.pipeline import MIN_SCANNED, DemoConfig, run_demo
from garden.rsa.compression_model import COMPRESSION_MODELS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` sub-command."""
    p = subparsers.add_parser(
        "demo", help="run the end-to-end demo (stimuli, simulated people, fits, networks, RSA, report)",
        description="Make stimuli, simulate participants (blocked and interleaved curricula), fit and compare "
                    "the choice models, train rich and lazy networks, run RSA and MDS, compare people with "
                    "networks, simulate scanner data for some of them (GLM, RDMs, searchlight, model statistics), "
                    "and write DIR/report.html plus every table (TSV + JSON sidecar). "
                    "Refuses an existing non-empty DIR; with --runs-in, each run gets a new dated folder.")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=new_folder, metavar="DIR", help="new (or empty) output folder")
    where.add_argument("--runs-in", type=out_folder, metavar="PARENT",
                       help="make a new folder PARENT/<UTC date and time> for this run (never reuses one)")
    p.add_argument("--participants", type=bounded_int(2, "participants"), default=8, metavar="N",
                   help="simulated participants, >= 2: one per curriculum (default 8)")
    p.add_argument("--seed", type=SEED, default=0, metavar="S", help="seed of every random step (default 0)")
    p.add_argument("--full", action="store_true",
                   help="train the published network sweep (8 init scales x 30 seeds x 10 000 steps)")
    p.add_argument("--scales", type=float_list(0.0, MAX_INIT_SCALE, above=True), default=None, metavar="S1,S2,...",
                   help="init scales of the networks (overrides)")
    p.add_argument("--ctx-scales", type=float_list(0.0, MAX_INIT_SCALE), default=None, metavar="C1,C2,...",
                   help="context-weight SDs, one per scale")
    p.add_argument("--network-seeds", type=bounded_int(1, "networks"), default=None, metavar="K", help="networks per init scale")
    p.add_argument("--steps", type=bounded_int(1, "steps"), default=None, metavar="T", help="training steps per network")
    p.add_argument("--protocol", default=None, help="protocol to simulate (default flesch2022)")
    p.add_argument("--recovery-agents", type=bounded_int(1, "agents"), default=None, metavar="K",
                   help="simulated agents per model and trial count for parameter/model recovery (default 10)")
    p.add_argument("--scanner-participants", type=bounded_int(0, "participants"), default=None, metavar="K",
                   help="participants whose scanner session gets simulated BOLD, GLM, RDMs and a searchlight "
                        "(the report's Neural geometry; 0: none, else >= 3; default 8)")
    p.add_argument("--compression-model", choices=COMPRESSION_MODELS, default=None,
                   help="compression model fitted to the networks' and ROIs' RDMs: ours (default) or paper "
                        "(Flesch et al. 2022; with the demo's few restarts: 10 per network, 2 per ROI)")
    p.add_argument("--dpi", type=bounded_int(10, "dpi"), default=100,
                   help="figure resolution in the report, pixels per inch, 10..600 (default 100)")
    add_rules(p, Rule("--scanner-participants", _scanner_problem), Rule("--ctx-scales", _ctx_scales_problem))
    p.set_defaults(func=demo_command)


def new_run_folder(parent: Path, now: dt.datetime | None = None) -> Path:
    """Create and return a new folder ``parent/<UTC YYYY-MM-DDTHHMMSSZ>`` (``-2``, ``-3``... when a run
    started in the same second): a re-run never meets an earlier run's results."""
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H%M%SZ")
    parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        folder = parent / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise UserError(f"{parent}: 999 runs started in the same second; wait a second and run again")


def _config(args: argparse.Namespace) -> DemoConfig:
    overrides = {"participants": args.participants, "seed": args.seed, "dpi": args.dpi}
    if args.scales:
        overrides["scales"] = args.scales
    if args.ctx_scales:
        overrides["ctx_scales"] = args.ctx_scales
    for name in ("network_seeds", "steps", "protocol", "recovery_agents", "scanner_participants", "compression_model"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    return DemoConfig.full(**overrides) if args.full else DemoConfig(**overrides)


def _scanner_problem(args: argparse.Namespace) -> str | None:
    """Rule of ``--scanner-participants``: none, or enough for correlations across participants."""
    if args.scanner_participants is not None and 0 < args.scanner_participants < MIN_SCANNED:
        return f"give 0 (no scanner data) or >= {MIN_SCANNED} (correlations across participants need three)"
    return None


def _ctx_scales_problem(args: argparse.Namespace) -> str | None:
    """Rule of ``--ctx-scales``: one context scale per init scale (given or the demo's)."""
    config = _config(args)
    if len(config.ctx_scales) != len(config.scales):
        return f"give one context scale per init scale ({len(config.scales)} scales)"
    return None


def demo_command(args: argparse.Namespace) -> int:
    config = _config(args)
    load_protocol(config.protocol)  # a bad protocol stops the demo before its first step
    out = args.out if args.out is not None else new_run_folder(args.runs_in)
    report = run_demo(out, config)
    print(f"report: {report}")
    return 0
