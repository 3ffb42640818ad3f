"""``garden session-report``: one participant's session as one self-contained HTML page.

Thin wiring: the tables come from ``garden.analysis.behaviour.session_summary``, the page from
``garden.reports.session_report``.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from garden.analysis.behaviour.session_summary import summarise_session
from garden.core.errors import UserError
from garden.core.files import write_file
from garden.core.provenance import read_session_record, session_sidecar, write_sidecar
from garden.core.trials import foreign_tables, read_trials, session_tables
from garden.arguments import SEED, bounded_int, finite_float
from garden.reports.session_report import render_session


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``session-report`` sub-command."""
    p = subparsers.add_parser(
        "session-report", help="one participant's session as a self-contained HTML page",
        description="Accuracy by phase and block (with chance), learning curve, choice matrices, psychometric "
                    "curves with every model's fit and a 95%% posterior predictive band, parameters with 95%% "
                    "posterior intervals, RTs, too-slow responses, timing quality and warnings, for one "
                    "participant. PARTICIPANT is sub-<ID> (found under --root), or a trial table or folder.")
    p.add_argument("participant", metavar="PARTICIPANT", help="sub-<ID>, or a trial table / folder of one person")
    p.add_argument("--root", default="participants", help="data folder holding sub-<ID>/ (default participants)")
    p.add_argument("--out", default=None, metavar="FILE.html",
                   help="output page (default sub-<ID>_session-report.html here; never overwritten)")
    p.add_argument("--too-slow", type=finite_float(0.0, MAX_TOO_SLOW_S, above=True), default=None, metavar="SECONDS",
                   help="count responses slower than this (default: the protocol's response window)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the predictive simulations and the posterior sampler")
    p.add_argument("--dpi", type=bounded_int(10, "dpi"), default=70, help="figure resolution (pixels per inch)")
    p.add_argument("--include-incomplete", action="store_true",
                   help="also report a session whose sidecar says completed: false (recorded in the sidecar)")
    p.set_defaults(func=session_report_command)


def _locate(text: str, root: str) -> Path:
    path = Path(text)
    if path.exists():
        return path
    if re.fullmatch(r"sub-[A-Za-z0-9]+", text) and (Path(root) / text).is_dir():
        return Path(root) / text
    raise UserError(f"{text}: no such file or folder (nor {Path(root) / text}); give sub-<ID> with --root, "
                    "or the path of a trial table")


MAX_TOO_SLOW_S = 60.0
"""Longest --too-slow (s): no protocol's response window is longer."""


def _session_record(path: Path) -> dict:
    """Garden's record of the session (the first sidecar found beside its trial tables), or {} for a
    foreign table without one."""
    files = [path] if path.is_file() else session_tables(path)
    for table in files:
        if session_sidecar(table).exists():
            return read_session_record(table)
    return {}


def _response_window(record: dict) -> float | None:
    """The longest response window (s) of the recorded protocol's phases, or None when not recorded."""
    phases = record.get("config", {}).get("phases", []) if isinstance(record.get("config"), dict) else []
    windows = [p.get("timing", {}).get("response_window_s") for p in phases if isinstance(p, dict)]
    windows = [w for w in windows if isinstance(w, (int, float)) and w > 0]
    return max(windows) if windows else None


def session_report_command(args: argparse.Namespace) -> int:
    path = _locate(args.participant, args.root)
    trials = read_trials(path, include_incomplete=args.include_incomplete)
    pid = str(trials["participant_id"].iloc[0])
    out = Path(args.out or f"sub-{pid}_session-report.html")
    if out.exists():
        raise UserError(f"{out}: already exists; refusing to overwrite it (choose another --out)")
    record = _session_record(path)
    too_slow = args.too_slow if args.too_slow is not None else _response_window(record)
    summary = summarise_session(trials, record, too_slow_s=too_slow, seed=args.seed)
    write_file(out, render_session(summary, dpi=args.dpi))
    write_sidecar(out, {"participant": str(path), "too_slow_s": too_slow, "dpi": args.dpi,
                        "include_incomplete": args.include_incomplete}, seed=args.seed, completed=True)
    foreign = " (a foreign table without a garden sidecar: taken as it is)" if foreign_tables(path) else ""
    print(f"session report: {out}" + (f" ({len(summary.warnings)} warning(s))" if summary.warnings else "") + foreign)
    return 0
