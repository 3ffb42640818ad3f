"""The ``garden`` command: parse arguments, dispatch to a command module, report user errors.

Only the invoked command's module is imported (``garden.commands.COMMANDS`` holds every command's
one-line help), so ``garden --help`` and ``garden --version`` load no command's domain.

After parsing, the command's rules between its options run (``garden.arguments.Rule``, declared
next to its arguments), then the command.

User errors (``garden.core.errors.UserError``, bad files, existing outputs) become one line on
stderr and exit status 2; set ``GARDEN_DEBUG=1`` to see the traceback instead. A setting's error
(``SettingError``: domain code names the concept, ``scales``) is worded with the command's option, ``--scales``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
import typing
from collections.abc import Sequence

import garden
from garden.commands import COMMANDS
from garden.core.errors import SettingError, UserError, missing_extra

USER_ERRORS = (ValueError, OSError)
"""Exceptions shown as one line: ``UserError`` is a ValueError; missing/existing files are OSErrors."""
BUG_STATUS = 3
"""Exit status of an unexpected error (a bug, shown as one line too; GARDEN_DEBUG=1 for the traceback)."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``garden CMD: error: ...``), exit status 2."""

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> typing.Any:
        # Python 3.11's argparse drops a lone "--" given as an option's value (--steps=--) and passes []
        # on without calling the type: check "--" like any other value instead
        if action.nargs is None and arg_strings == ["--"]:
            return self._get_value(action, "--")
        return super()._get_values(action, arg_strings)

    def error(self, message: str) -> typing.NoReturn:
        print(f"{self.prog}: error: {message}; see `{self.prog} --help`", file=sys.stderr)
        raise SystemExit(2)


class LazyCommands(argparse._SubParsersAction):
    """The sub-command action: each command starts as a stub parser holding its one-line help and is
    replaced by its module's real parser when it is invoked (or by ``load``)."""

    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        super().__init__(*args, **kwargs)
        self.loaded: set[str] = set()
        for name, command in COMMANDS.items():
            self.add_parser(name, help=command.help)

    def load(self, module: str) -> None:
        """Import ``garden.commands.<module>`` and register its real parsers in place of the stubs."""
        if module in self.loaded:
            return
        names = [name for name, command in COMMANDS.items() if command.module == module]
        self._choices_actions = [action for action in self._choices_actions if action.dest not in names]
        for name in names:
            del self._name_parser_map[name]
        importlib.import_module(f"garden.commands.{module}").register(self)
        self.loaded.add(module)
        order = list(COMMANDS)  # keep the listing order of --help and of "invalid choice" messages
        self._choices_actions.sort(key=lambda action: order.index(action.dest))
        parsers = sorted(self._name_parser_map.items(), key=lambda item: order.index(item[0]))
        self._name_parser_map.clear()
        self._name_parser_map.update(parsers)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: typing.Any, option_string: str | None = None) -> None:
        self.load(COMMANDS[values[0]].module)  # argparse has already refused names not in COMMANDS
        super().__call__(parser, namespace, values, option_string)


def build_parser(load_all: bool = False) -> argparse.ArgumentParser:
    """The argument parser of ``garden``; each command's module is imported when the command is parsed,
    or at once with ``load_all`` (every command's parser built, e.g. to test them all)."""
    parser = OneLineParser(
        prog="garden",
        description="Run, fit and analyse the tree-planting task for people, simulated agents and networks.",
    )
    parser.add_argument("--version", action="version", version=f"garden {garden.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", action=LazyCommands)
    if load_all:
        for module in dict.fromkeys(command.module for command in COMMANDS.values()):
            commands.load(module)
    return parser


def main(argv: Sequence[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    """Entry point of the ``garden`` console script; returns the exit status (130 after Ctrl-C, at
    any moment: while the commands are loaded, while arguments are checked, or while one runs).
    ``parser``: one from ``build_parser`` to reuse over many calls in one process (parsing leaves it
    unchanged)."""
    previous = signal.getsignal(signal.SIGINT)
    noting = (previous in (garden._interrupted_at_start_up, signal.default_int_handler)
              and threading.current_thread() is threading.main_thread())  # signals are the main thread's
    if noting:  # start-up is over, or main() was called by a script: note a Ctrl-C as well as raise it
        _Interrupts.seen = False
        signal.signal(signal.SIGINT, _note_interrupt)
    try:
        return _main(argv, parser)
    except KeyboardInterrupt:
        print("garden: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not interrupted(exc):
            raise
        print("garden: interrupted", file=sys.stderr)
        return 130
    finally:
        if noting and previous is signal.default_int_handler:  # a script's own handler back as it was
            signal.signal(signal.SIGINT, previous)


class _Interrupts:
    """Whether the command line's Ctrl-C handler ran (``_note_interrupt``)."""

    seen = False


def _note_interrupt(signum: int, frame: object) -> None:
    _Interrupts.seen = True
    raise KeyboardInterrupt


def interrupted(exc: BaseException | None) -> bool:
    """Whether ``exc`` came of a Ctrl-C. Libraries may turn a KeyboardInterrupt during their import into
    another error: numpy into an ImportError that keeps it as its cause, or one from its C code that does
    not (then only the handler knows)."""
    if _Interrupts.seen:
        return True
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _main(argv: Sequence[str] | None, parser: argparse.ArgumentParser | None) -> int:
    parser = parser or build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a bad argument (2, already printed)
        return int(exc.code or 0)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        for rule in getattr(args, "rules", ()):  # the command's cross-option rules (garden.arguments.Rule)
            rule(args)
        return int(args.func(args) or 0)
    except USER_ERRORS as exc:
        if os.environ.get("GARDEN_DEBUG"):
            raise
        print(f"garden {args.command}: error: {one_line(as_options(exc, args))}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: still one line, never a traceback in the participant's face
        if os.environ.get("GARDEN_DEBUG") or interrupted(exc):
            raise
        if hint := missing_extra(exc):  # an optional extra is not installed: name it, not a bug
            print(f"garden {args.command} {hint}", file=sys.stderr)
            return 2
        print(f"garden {args.command}: internal error ({type(exc).__name__}: {one_line(exc)}); please report it "
              "with the command line (GARDEN_DEBUG=1 shows the traceback)", file=sys.stderr)
        return BUG_STATUS


def as_options(exc: BaseException, args: argparse.Namespace) -> BaseException:
    """A ``SettingError`` worded with the command's options (``scales`` -> ``--scales``: argparse's dest of an
    option is its name with "_" for "-"); settings the command has no option for keep their names."""
    if not isinstance(exc, SettingError):
        return exc
    return UserError(exc.worded(lambda name: f"--{name.replace('_', '-')}" if hasattr(args, name) else name))


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (a multi-line message's lines joined by ' | ')."""
    problems = getattr(exc, "problems", None)
    if problems:  # a TrialTableError: the first problem, how many, the fix
        hint = f"; fix: {exc.hint}" if getattr(exc, "hint", "") else ""
        more = f" (and {len(problems) - 1} more; `garden validate` lists them all)" if len(problems) > 1 else ""
        return f"{problems[0]}{more}{hint}"
    text = str(exc) or type(exc).__name__
    return " | ".join(line.strip() for line in text.splitlines() if line.strip())


if __name__ == "__main__":
    raise SystemExit(main())
