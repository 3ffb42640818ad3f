"""``garden report``: rebuild the HTML report of a results folder (or of a participants/ tree)."""

from __future__ import annotations

import argparse

from garden.arguments import add_rules, bounded_int, existing_folder, html_path, out_rules
from garden.pipeline import rebuild_report


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command."""
    p = subparsers.add_parser(
        "report", help="rebuild DIR/report.html from existing results (or from a participants/ tree)",
        description="Build the self-contained HTML report from DIR/tables (written by garden demo). On a folder "
                    "of participants (sub-*/... trial tables, e.g. real data) the behavioural results are "
                    "computed in memory; only the report file is written.")
    p.add_argument("folder", type=existing_folder, metavar="DIR", help="demo output folder, or a participants/ tree")
    p.add_argument("--out", type=html_path, default=None, metavar="FILE.html", help="report file (default DIR/report.html)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing report file (an HTML report only)")
    add_rules(p, *out_rules("folder"))
    p.add_argument("--dpi", type=bounded_int(10, "dpi"), default=100, help="figure resolution, pixels per inch, 10..600 (default 100)")
    p.set_defaults(func=report_command)


def report_command(args: argparse.Namespace) -> int:
    print(f"report: {rebuild_report(args.folder, args.out, overwrite=args.overwrite, dpi=args.dpi)}")
    return 0
