"""``garden grid-prior``: each participant's grid prior (arrangement RDM vs grid model) and its change."""

from __future__ import annotations

import argparse
from pathlib import Path

from garden.analysis.behaviour.grid_prior import grid_priors, prior_change
from garden.arguments import Rule, add_rules
from garden.core.files import write_tsv
from garden.core.provenance import write_sidecar


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``grid-prior`` sub-command."""
    p = subparsers.add_parser(
        "grid-prior", help="Kendall tau_a of each arrangement RDM with the 25-tree grid model, and pre/post change",
        description="Reads every sub-*_task-arrangement_phase-*_rdm.tsv under DIR (written by garden arrange) and "
                    "writes OUT (one row per participant: grid_prior_pre, grid_prior_post, change = post - pre) "
                    "and OUT with _sessions before .tsv (one row per RDM), each with a JSON sidecar. Never overwrites.")
    p.add_argument("folder", type=Path, metavar="DIR", help="participants folder")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.tsv", help="per-participant table")
    add_rules(p, Rule("--out", _out_problem))
    p.set_defaults(func=grid_prior_command)


def _per_rdm(out: Path) -> Path:
    return out.with_name(out.name.removesuffix(".tsv") + "_sessions.tsv")


def _out_problem(args: argparse.Namespace) -> str | None:
    """Rule of ``--out``: neither table nor sidecar exists yet (never overwrites)."""
    per_rdm = _per_rdm(args.out)
    outputs = (args.out, per_rdm, args.out.with_suffix(".json"), per_rdm.with_suffix(".json"))
    existing = [p for p in outputs if p.exists()]
    return f"{existing[0]}: already exists; refusing to overwrite it (choose another --out)" if existing else None


def grid_prior_command(args: argparse.Namespace) -> int:
    out = args.out
    per_rdm = _per_rdm(out)
    priors = grid_priors(args.folder)
    change = prior_change(priors)
    config = {"folder": str(args.folder), "measure": "Kendall tau_a of the arrangement RDM with the 25-tree grid "
                                                     "model RDM; change = post - pre"}
    for table, path in ((priors, per_rdm), (change, out)):
        write_tsv(path, table, na_rep="n/a")
        write_sidecar(path, config)
    print(f"grid prior of {len(change)} participant(s): median change {change.change.median():+.3f}; wrote {out}")
    return 0
