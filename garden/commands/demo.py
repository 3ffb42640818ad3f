"""``garden demo``: the whole pipeline on simulated participants, headless, into a new folder."""

from __future__ import annotations

import argparse

from core.errors import UserError
from garden.arguments import float_list
from garden.pipeline import DemoConfig, run_demo


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` sub-command."""
    p = subparsers.add_parser(
        "demo", help="run the end-to-end demo (stimuli, simulated people, fits, networks, RSA, report)",
        description="Make stimuli, simulate participants (blocked and interleaved curricula), fit and compare "
                    "the choice models, train rich and lazy networks, run RSA and MDS, compare people with "
                    "networks, and write DIR/report.html plus every table (TSV + JSON sidecar). "
                    "Refuses an existing non-empty DIR.")
    p.add_argument("--out", required=True, metavar="DIR", help="new (or empty) output folder")
    p.add_argument("--participants", type=int, default=8, metavar="N", help="simulated participants (default 8)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of every random step (default 0)")
    p.add_argument("--full", action="store_true",
                   help="train the published network sweep (8 init scales x 30 seeds x 10 000 steps)")
    p.add_argument("--scales", type=float_list, default=None, metavar="S1,S2,...", help="init scales of the networks (overrides)")
    p.add_argument("--ctx-scales", type=float_list, default=None, metavar="C1,C2,...", help="context-weight SDs, one per scale")
    p.add_argument("--network-seeds", type=int, default=None, metavar="K", help="networks per init scale")
    p.add_argument("--steps", type=int, default=None, metavar="T", help="training steps per network")
    p.add_argument("--protocol", default=None, help="protocol to simulate (default flesch2022)")
    p.add_argument("--recovery-agents", type=int, default=None, metavar="K",
                   help="simulated agents per model and trial count for parameter/model recovery (default 10)")
    p.add_argument("--dpi", type=int, default=100,
                   help="figure resolution in the report, pixels per inch (default 100)")
    p.set_defaults(func=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    if args.participants < 2:
        raise UserError(f"--participants {args.participants}: need at least 2 (one per curriculum)")
    overrides = {"participants": args.participants, "seed": args.seed, "dpi": args.dpi}
    if args.scales:
        overrides["scales"] = args.scales
    if args.ctx_scales:
        overrides["ctx_scales"] = args.ctx_scales
    for name in ("network_seeds", "steps", "protocol", "recovery_agents"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    config = DemoConfig.full(**overrides) if args.full else DemoConfig(**overrides)
    if len(config.ctx_scales) != len(config.scales):
        raise UserError(f"--ctx-scales: give one context scale per init scale ({len(config.scales)} scales)")
    report = run_demo(args.out, config)
    print(f"report: {report}")
    return 0
