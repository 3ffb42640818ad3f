"""``garden validate`` and ``garden import``: check trial tables and bring other data into the layout."""

from __future__ import annotations

import argparse
import sys

from garden.core.errors import UserError
from garden.core.importing import import_table, parse_pairs
from garden.core.provenance import require_complete
from garden.core.trials import TrialTableError, foreign_tables, read_trials, without_practice
from garden.experiment.config import load_protocol
from garden.arguments import add_rules, existing_file, out_folder, requires


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate`` and ``import`` sub-commands."""
    p = subparsers.add_parser("validate", help="check trial tables against the trial-table contract",
                              description="Exit 0 if every table is valid; 1 with one line per problem otherwise.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="trial table(s) (.tsv/.csv/.csv.gz) or folders of them")
    p.add_argument("--include-incomplete", action="store_true",
                   help="accept sessions whose sidecar says completed: false")
    p.set_defaults(func=validate_command)

    p = subparsers.add_parser("import", help="import a table with other column names into participants/ layout",
                              description="Rename columns, add constants, validate, and write one BIDS-like "
                                          "file per participant and session. Never overwrites.")
    p.add_argument("source", type=existing_file, metavar="SRC", help="table to import (.tsv, .csv or .csv.gz)")
    p.add_argument("--out", required=True, type=out_folder, help="output folder (e.g. participants)")
    p.add_argument("--map", default="", metavar="OLD=NEW,...", help="rename columns, e.g. participant=participant_id")
    p.add_argument("--set", default="", metavar="COLUMN=VALUE,...",
                   help="add constant columns, e.g. session=1 (a replaced column is kept as <COLUMN>_original)")
    p.add_argument("--blank-invalid", default="", metavar="COLUMN,...",
                   help="import values that break the contract in these columns (e.g. negative rt) as missing; "
                        "the raw value is kept in <COLUMN>_invalid")
    p.add_argument("--web", action="store_true",
                   help="SRC holds results of the browser task: a JATOS results archive (.jrzip) or plain-text "
                        "export, or a downloaded .jsonl; needs --protocol")
    p.add_argument("--protocol", help="with --web: the protocol the site was built from (name or .toml)")
    p.add_argument("--include-incomplete", action="store_true",
                   help="import SRC although its sidecar says completed: false")
    add_rules(p, requires("--web", "--protocol", why="the protocol the site was built from"))
    p.set_defaults(func=import_command)


def validate_command(args: argparse.Namespace) -> int:
    try:
        every = read_trials(args.paths, include_incomplete=args.include_incomplete, include_practice=True)
    except TrialTableError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"invalid: {len(exc.problems)} problem(s)", file=sys.stderr)
        return 1
    except UserError as exc:  # no table to check (a missing path, a folder without tables): also "invalid"
        print(f"garden validate: invalid: {exc}", file=sys.stderr)
        return 1
    table = without_practice(every)
    sessions = every.groupby(["participant_id", "session"]).ngroups
    n_practice = len(every) - len(table)
    practice = f" (and {n_practice} practice trials, left out of analyses)" if n_practice else ""
    people = every.participant_id.nunique()
    print(f"valid: {_count(len(table), 'trial')}{practice}, {_count(people, 'participant')}, "
          f"{_count(sessions, 'session')}" + foreign_note(args.paths))
    return 0


def _count(n: int, noun: str) -> str:
    """``"1 participant"``, ``"2 participants"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def foreign_note(paths: list[str]) -> str:
    """``; N foreign table(s) ...`` when some tables have no garden sidecar (nothing says they are complete)."""
    foreign = foreign_tables(paths)
    return (f"; {len(foreign)} foreign table(s) without a garden sidecar, taken as they are (e.g. {foreign[0]})"
            if foreign else "")


def import_command(args: argparse.Namespace) -> int:
    if args.web:
        from garden.experiment.web.jatos import import_results  # deferred: optional (the [web] extra, Starlette)

        counts = import_results(load_protocol(args.protocol), args.source, args.out)
        if not counts.get("sessions") and not counts.get("arrangements"):
            raise UserError(f"{args.source}: holds no session of the browser task (no trial or arrangement "
                            "records); export the study's results again from JATOS")
        print(f"imported {counts.get('sessions', 0)} session(s), {counts.get('trials', 0)} trial(s) into {args.out}"
              f" ({counts.get('reloads', 0)} reload(s); {counts.get('skipped', 0)} repeated trial(s) skipped; "
              f"{counts.get('arrangements', 0)} arrangement(s))")
        return 0
    if not foreign_tables([args.source]):
        require_complete(args.source, include_incomplete=args.include_incomplete)
    blank = [c.strip() for c in args.blank_invalid.split(",") if c.strip()]
    written = import_table(args.source, args.out, parse_pairs(args.map, "--map"), parse_pairs(args.set, "--set"),
                           blank)
    print(f"imported {len(written)} session file(s) into {args.out}")
    return 0
