"""The ``garden`` command: parse arguments, dispatch to a command module, report user errors.

User errors (``core.errors.UserError``, bad files, existing outputs) become one line on
stderr and exit status 2; set ``GARDEN_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

import garden
import garden.commands

USER_ERRORS = (ValueError, OSError)
"""Exceptions shown as one line: ``UserError`` is a ValueError; missing/existing files are OSErrors."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command module under ``garden.commands`` registered."""
    parser = argparse.ArgumentParser(
        prog="garden",
        description="Run, fit and analyse the tree-planting task for people, simulated agents and networks.",
    )
    parser.add_argument("--version", action="version", version=f"garden {garden.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(garden.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"garden.commands.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``garden`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("garden: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as exc:
        if os.environ.get("GARDEN_DEBUG"):
            raise
        print(f"garden {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
