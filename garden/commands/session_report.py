"""``garden session-report``: one participant's session as one self-contained HTML page.

Thin wiring: the tables come from ``garden.analysis.behaviour.session``, the page from ``garden.reports.session``.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from garden.analysis.behaviour.session import summarise_session
from garden.core.errors import UserError
from garden.core.files import write_file
from garden.core.provenance import write_sidecar
from garden.core.trials import read_trials, session_tables
from garden.reports.session import render_session


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
    p.add_argument("--too-slow", type=float, default=None, metavar="SECONDS",
                   help="count responses slower than this (default: the protocol's response window)")
    p.add_argument("--seed", type=int, default=0, help="seed of the predictive simulations and the posterior sampler")
    p.add_argument("--dpi", type=int, default=70, help="figure resolution (pixels per inch)")
    p.set_defaults(func=session_report_command)


def _locate(text: str, root: str) -> Path:
    path = Path(text)
    if path.exists():
        return path
    if re.fullmatch(r"sub-[A-Za-z0-9]+", text) and (Path(root) / text).is_dir():
        return Path(root) / text
    raise UserError(f"{text}: no such file or folder (nor {Path(root) / text}); give sub-<ID> with --root, "
                    "or the path of a trial table")


def _sidecar(path: Path) -> dict:
    """The session sidecar next to the trial table (the first one found), or {}."""
    files = [path] if path.is_file() else session_tables(path)
    for table in files:
        side = table.with_suffix(".json")
        if side.exists():
            return json.loads(side.read_text(encoding="utf-8"))
    return {}


def _response_window(sidecar: dict) -> float | None:
    windows = [p.get("timing", {}).get("response_window_s") for p in sidecar.get("config", {}).get("phases", [])]
    windows = [w for w in windows if w]
    return max(windows) if windows else None


def session_report_command(args: argparse.Namespace) -> int:
    path = _locate(args.participant, args.root)
    trials = read_trials(path)
    pid = str(trials["participant_id"].iloc[0])
    out = Path(args.out or f"sub-{pid}_session-report.html")
    if out.exists():
        raise UserError(f"{out}: already exists; refusing to overwrite it (choose another --out)")
    sidecar = _sidecar(path)
    too_slow = args.too_slow if args.too_slow is not None else _response_window(sidecar)
    summary = summarise_session(trials, sidecar, too_slow_s=too_slow, seed=args.seed)
    write_file(out, render_session(summary, dpi=args.dpi))
    write_sidecar(out, {"participant": str(path), "too_slow_s": too_slow, "dpi": args.dpi}, seed=args.seed)
    print(f"session report: {out}" + (f" ({len(summary.warnings)} warning(s))" if summary.warnings else ""))
    return 0
