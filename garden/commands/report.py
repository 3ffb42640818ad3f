"""``garden report``: rebuild the HTML report of a results folder (or of a participants/ tree)."""

from __future__ import annotations

import argparse
from pathlib import Path

from garden.arguments import Rule, add_rules, bounded_int, existing_folder, unwritable
from garden.pipeline import rebuild_report

HTML = (".html", ".htm")


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


def html_path(text: str) -> Path:
    """argparse type of ``--out``: a ``.html`` file name (a report never replaces a data table)."""
    if not text.lower().endswith(HTML):
        raise argparse.ArgumentTypeError(f"{text}: a report is an .html file; give a name ending with .html")
    return Path(text)


def out_rules(folder: str, *, refuse_existing: bool = False) -> tuple[Rule, ...]:
    """Rules of a report's ``--out`` (default ``<folder argument>/report.html``): its folder takes new files
    (checked before minutes of rendering); ``--overwrite`` replaces only an HTML report, never a file that
    is not one (e.g. data renamed .html); with ``refuse_existing`` an existing report needs ``--overwrite``."""
    def target(args: argparse.Namespace) -> Path:
        return args.out if args.out is not None else getattr(args, folder) / "report.html"

    def writable(args: argparse.Namespace) -> str | None:
        problem = unwritable(target(args).parent)
        return None if problem is None else f"--out {target(args)}: {problem}"

    def replaceable(args: argparse.Namespace) -> str | None:
        path = target(args)
        if not path.exists():
            return None
        if not args.overwrite:
            return (f"--out {path}: already exists; pass --overwrite to rebuild it or --out another file"
                    if refuse_existing else None)
        if not path.is_file():
            return f"--out {path}: is a folder; give a file name ending with .html"
        with open(path, "rb") as fh:
            head = fh.read(512).lstrip().lower()
        if not head.startswith((b"<!doctype html", b"<html")):
            return (f"--out {path}: exists and is not an HTML report; refusing to replace it with --overwrite: "
                    "choose another --out")
        return None

    return Rule("--out", writable), Rule("--out", replaceable)


def report_command(args: argparse.Namespace) -> int:
    print(f"report: {rebuild_report(args.folder, args.out, overwrite=args.overwrite, dpi=args.dpi)}")
    return 0
