"""The one place where ``garden`` checks its arguments, before any command does work.

Two declarations, both next to a command's ``add_argument`` lines, both checked by ``garden.cli``
before the command's function runs:

1. **One option alone: an argparse type.** Every number a command takes goes through a typed, bounded
   type: integers within ``LIMITS`` (upper bounds sized to a 2-core / 24 GB machine, each overridable
   for a bigger machine with the environment variable ``GARDEN_MAX_<NAME>``, e.g.
   ``GARDEN_MAX_EXEMPLARS=5000``), floats finite and in range, names from a list, and paths checked to
   exist, or to be free and in a writable folder. A bad value is one argparse line naming the option,
   the value and the allowed range, exit status 2.
2. **Options together: a ``Rule``** declared with ``add_rules(parser, ...)``: ``together`` (both or
   neither), ``requires`` (this one needs those), ``only_with`` (this one only for that value), or a
   ``Rule(option, problem)`` whose ``problem(args)`` computes the answer (a memory estimate, a device,
   SLURM, the input files a command will read: ``raising`` adapts a domain check that raises
   ``UserError``). ``garden.cli`` runs a command's rules in their declared order after parsing; the
   first broken one stops the command with one line ``garden CMD: error: --OPTION ...: problem; fix``,
   exit status 2, before any output is written.

The domain functions keep their own checks (``check_executor``, ``check_memory``, ...): the notebook
API calls them without this parser; a rule calls the same function earlier, so the command line
and the notebook refuse with the same sentence.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from garden.core.errors import UserError
from garden.core.jobs import EXECUTORS, Resources, check_executor
from garden.core.trials import check_participant_id

LIMITS: dict[str, int] = {
    "seed": 2**32 - 1,            # numpy seeds are 32-bit
    "size_px": 2048,              # one tree image side (stimuli make): 25 x exemplars RGBA images
    "exemplars": 1000,            # exemplars per cell (25 000 images at most)
    "cell_px": 1024,              # contact-sheet cell side: a 5 x 5 sheet of 5144 px
    "image_px": 128,              # network image input side (train --inputs images): 50 x side^2 inputs
    "dpi": 600,                   # report figures
    "jobs": 64,                   # worker processes
    "participants": 1000,         # simulated participants of a demo
    "trials": 10_000,             # simulated test trials per participant (recover)
    "n_sim": 1000,                # simulated participants per model and trial count (recover)
    "agents": 1000,               # recovery agents of a demo
    "starts": 1000,               # fit start points per participant and model
    "networks": 1000,             # networks per init scale (train --seeds, demo --network-seeds)
    "steps": 1_000_000,           # gradient steps
    "hidden": 10_000,             # hidden units
    "threads": 256,               # CPU threads of the network trainer
    "shards": 10_000,             # sweep shards
    "timeout_min": 10_080,        # one week per shard job
    "job_gb": 4096,               # memory asked of SLURM per job (--slurm-mem-gb)
    "arrangements": 50,           # arrangements of one arrangement session
    "window_px": 10_000,          # window side
    "scales": 64,                 # init scales of one sweep
    "settings": 64,               # values of --l2 or --lr swept by garden train (one sweep each)
    "session": 1000,              # session number
    "train_gib": 16,              # estimated memory of one network sweep shard set (GiB)
    "permutations": 1_000_000,    # sign-flip permutations / bootstrap samples (neural stats)
    "splits": 100,                # trial splits per condition (neural mante)
    "bootstrap": 10_000,          # parametric-bootstrap refits per participant and model (fit --bootstrap)
}
"""Upper bounds by name; ``limit(name)`` applies the ``GARDEN_MAX_<NAME>`` override."""


def limit(name: str) -> int:
    """The upper bound ``name`` of ``LIMITS``, or its ``GARDEN_MAX_<NAME>`` override (an integer)."""
    variable = f"GARDEN_MAX_{name.upper()}"
    text = os.environ.get(variable)
    if text is None:
        return LIMITS[name]
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"{variable}={text!r}: not an integer; set it to the larger bound you want") from None
    if value < 1:
        raise UserError(f"{variable}={text!r}: must be >= 1")
    return value


def _number(text: str, parse: Callable[[str], float]) -> float:
    try:
        return parse(text.strip())
    except (ValueError, OverflowError):
        kind = "an integer" if parse is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None


def bounded_int(low: int, name: str | None = None, *, high: int | None = None) -> Callable[[str], int]:
    """argparse type: an integer ``low..high`` (``high`` = ``limit(name)`` when a limit is named)."""

    def parse(text: str) -> int:
        value = int(_number(text, int))
        top = limit(name) if name else high
        if value < low or (top is not None and value > top):
            bound = f"{low}..{top}" if top is not None else f">= {low}"
            hint = f" (a bigger machine may raise it: GARDEN_MAX_{name.upper()})" if name and value > top else ""
            raise argparse.ArgumentTypeError(f"{value} is out of range; use {bound}{hint}")
        return value

    parse.__name__ = "integer"
    return parse


def finite_float(low: float | None = None, high: float | None = None, *, above: bool = False) -> Callable[[str], float]:
    """argparse type: a finite number >= ``low`` (> ``low`` when ``above``) and <= ``high``."""

    def parse(text: str) -> float:
        value = float(_number(text, float))
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        check_range(value, low, high, above=above)
        return value

    parse.__name__ = "number"
    return parse


def check_range(value: float, low: float | None, high: float | None, *, above: bool = False) -> None:
    """ArgumentTypeError when ``value`` is outside [low, high] (or (low, high] when ``above``)."""
    if low is not None and (value < low or (above and value == low)) or high is not None and value > high:
        left = "" if low is None else (f"> {low:g}" if above else f">= {low:g}")
        right = "" if high is None else f"<= {high:g}"
        raise argparse.ArgumentTypeError(f"{value:g} is out of range; use a number {' and '.join(filter(None, (left, right)))}")


def float_list(low: float | None = None, high: float | None = None, *, above: bool = False,
               name: str = "scales") -> Callable[[str], tuple[float, ...]]:
    """argparse type: ``0.01,1,3`` -> (0.01, 1.0, 3.0): finite numbers in [low, high], at most ``limit(name)``."""

    def parse(text: str) -> tuple[float, ...]:
        check_no_empty_item(text, "0.01,1,3")
        items = [v for v in text.split(",") if v.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"expected comma-separated numbers (e.g. 0.01,1,3), got {text!r}")
        if len(items) > limit(name):
            raise argparse.ArgumentTypeError(f"{len(items)} values: at most {limit(name)} "
                                             f"(GARDEN_MAX_{name.upper()} raises it)")
        one = finite_float(low, high, above=above)
        return tuple(one(v) for v in items)

    parse.__name__ = "list of numbers"
    return parse


def name_list(choices: tuple[str, ...] | None = None) -> Callable[[str], tuple[str, ...]]:
    """argparse type: ``a,b`` -> ('a', 'b'), non-empty, no repeats, each in ``choices`` if given."""

    def parse(text: str) -> tuple[str, ...]:
        names = tuple(n.strip() for n in text.split(",") if n.strip())
        if not names:
            raise argparse.ArgumentTypeError(f"{text!r}: give at least one name"
                                             + (f" of {', '.join(choices)}" if choices else ""))
        check_no_empty_item(text)
        unknown = [n for n in names if choices and n not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown name(s) {unknown}; use {', '.join(choices)}")
        if len(set(names)) < len(names):
            raise argparse.ArgumentTypeError(f"{text!r} names something twice")
        return names

    parse.__name__ = "list of names"
    return parse


def check_no_empty_item(text: str, example: str = "NAME,NAME,...") -> None:
    """ArgumentTypeError for a comma-separated list with an empty item (``a,,b``, ``a,``): a value left out."""
    items = text.split(",")
    if len(items) > 1 and any(not item.strip() for item in items):
        raise argparse.ArgumentTypeError(f"{text[:80]!r} has an empty item (two commas in a row or one at an end); "
                                         f"give {example}")


def unwritable(folder: Path) -> str | None:
    """Why ``folder`` (or, when it does not exist yet, its nearest existing ancestor) cannot take new files,
    or None: checked before any work, so a long command does not fail at its end."""
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write into {existing} (read-only or no permission); choose another path"
    return None


def _check_folder_writable(folder: Path, text: str) -> None:
    """The nearest existing ancestor of ``folder`` must be a writable folder."""
    if problem := unwritable(folder):
        raise argparse.ArgumentTypeError(f"{text}: {problem}")


def _check_name(path: Path, text: str) -> None:
    try:
        max_name = os.pathconf(".", "PC_NAME_MAX")
    except (OSError, ValueError):
        max_name = 255
    long = [part for part in path.parts if len(os.fsencode(part)) > max_name]
    if long:
        raise argparse.ArgumentTypeError(f"{text[:80]}...: a path part is longer than {max_name} bytes; use a shorter name")


def new_file(*suffixes: str) -> Callable[[str], Path]:
    """argparse type: a file path that does not exist yet (nor its JSON sidecar), in a writable folder,
    ending with one of ``suffixes`` when given."""

    def parse(text: str) -> Path:
        path = Path(text)
        _check_name(path, text)
        if suffixes and not path.name.lower().endswith(suffixes):
            raise argparse.ArgumentTypeError(f"{text}: expected a file name ending with {' or '.join(suffixes)}")
        sidecar = path.with_name(path.name.split(".")[0] + ".json")
        for target in (path, sidecar):
            if target.exists():
                raise argparse.ArgumentTypeError(f"{target}: already exists; refusing to overwrite it "
                                                 "(choose another path or move the old file away)")
        _check_folder_writable(path.parent, text)
        return path

    parse.__name__ = "new file"
    return parse


def out_folder(text: str) -> Path:
    """argparse type: an output folder whose nearest existing ancestor is writable (emptiness is
    the command's business: some resume into their own folder)."""
    path = Path(text)
    _check_name(path, text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a file, not a folder")
    _check_folder_writable(path, text)
    return path


def new_folder(text: str) -> Path:
    """argparse type: a folder that does not exist or is empty, somewhere writable."""
    path = out_folder(text)
    if path.exists() and any(path.iterdir()):
        raise argparse.ArgumentTypeError(f"{text}: already exists and is not empty; choose a new folder "
                                         "(results are never overwritten)")
    return path


def existing_path(text: str) -> Path:
    """argparse type: a file or folder that exists."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file or folder")
    return path


def existing_file(text: str) -> Path:
    """argparse type: a file that exists."""
    return _existing_kind(text, file=True)


def existing_folder(text: str) -> Path:
    """argparse type: a folder that exists."""
    return _existing_kind(text, file=False)


def _existing_kind(text: str, *, file: bool) -> Path:
    """``text`` as an existing path that is a file (``file``) or a folder; ArgumentTypeError naming it otherwise."""
    path = existing_path(text)
    if not (path.is_file() if file else path.is_dir()):
        found, wanted = ("folder", "file") if file else ("file", "folder")
        raise argparse.ArgumentTypeError(f"{text}: is a {found}; expected a {wanted}")
    return path


def participant_id(text: str) -> str:
    """argparse type: a participant id (letters and digits, at most ``garden.core.trials.MAX_ID_CHARS``)."""
    try:
        return check_participant_id(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def host_address(text: str) -> str:
    """argparse type: an address to listen on that this machine can bind (an IP or a name it resolves)."""
    if not text.strip() or text != text.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: give an address, e.g. 127.0.0.1 (this machine only) or 0.0.0.0")
    try:
        socket.getaddrinfo(text, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise argparse.ArgumentTypeError(f"{text[:80]!r}: not an address of this machine ({exc}); give an IP such as "
                                         "127.0.0.1 or 0.0.0.0") from None
    return text


def distinct(*options: str) -> Rule:
    """Rule: the output files of ``options`` are all different (one would overwrite another)."""
    def problem(args: argparse.Namespace) -> str | None:
        seen: dict[Path, str] = {}
        for option in options:
            path = getattr(args, _dest(option))
            if path is None:
                continue
            key = Path(os.path.abspath(path))
            if key in seen:
                return f"{option} {path}: the same file as {seen[key]}; give every output its own path"
            seen[key] = option
        return None
    return Rule(options[0], problem)


MAX_INIT_SCALE = 1000.0
"""Largest network weight-initialisation scale (--scales, --ctx-scales): the published ones are 0.01..3;
beyond this the first forward pass overflows float32."""

SEED = bounded_int(0, "seed")
"""A seed: 0..2**32-1."""


def executor_options(p: argparse.ArgumentParser, unit: str, *, jobs: bool = True) -> None:
    """--executor, --jobs, --timeout-min and the SLURM resources of commands that run one job per ``unit``
    (docs/cluster.md): CPUs, memory and time are estimated from the work unless given."""
    p.add_argument("--executor", choices=EXECUTORS, default="inline",
                   help=f"run one job per {unit} here in turn (inline, default) or as submitit jobs: local processes "
                        "or a SLURM array (docs/cluster.md); a rerun resumes, keeping finished work")
    if jobs:
        p.add_argument("--jobs", type=bounded_int(1, "jobs"), default=None,
                       help=f"at most this many {unit} jobs at once (local, slurm; default: all)")
    p.add_argument("--timeout-min", "--slurm-time-min", type=bounded_int(1, "timeout_min"), default=240,
                   help=f"per-{unit} job time limit in minutes (local, slurm; default 240)")
    p.add_argument("--slurm-partition", default=None, help="SLURM partition (default: the cluster's default)")
    p.add_argument("--slurm-cpus", type=bounded_int(1, "threads"), default=None,
                   help="CPUs per SLURM job (default: --threads, at least 1)")
    p.add_argument("--slurm-mem-gb", type=bounded_int(1, "job_gb"), default=None,
                   help=f"memory per SLURM job in GB (default: garden's estimate of one {unit}'s need)")
    p.add_argument("--keep-logs", action="store_true",
                   help="keep submitit's logs (OUT.jobs/) when every job succeeded (failed runs always keep them)")
    add_rules(p, EXECUTOR_RULE)


def job_resources(args: argparse.Namespace, *, threads: int, mem_gb: float) -> Resources:
    """The Resources of ``executor_options``: the options given, else ``threads`` CPUs and ``mem_gb``
    (an estimate, rounded up to whole GB)."""
    return Resources(cpus=args.slurm_cpus or max(threads, 1), mem_gb=args.slurm_mem_gb or max(1, math.ceil(mem_gb)),
                     time_min=args.timeout_min, partition=args.slurm_partition, keep_logs=args.keep_logs)


class Rule(NamedTuple):
    """A rule between a command's options, checked after parsing and before the command works.

    ``problem(args)`` returns None when the rule holds, else what is wrong and the fix; calling the
    rule then raises ``UserError("OPTION: problem")`` (not prefixed when the problem already starts
    with an option, as the messages of domain checks do)."""

    option: str
    problem: Callable[[argparse.Namespace], str | None]

    def __call__(self, args: argparse.Namespace) -> None:
        text = self.problem(args)
        if text is not None:
            raise UserError(text if text.startswith((self.option, "--")) else f"{self.option}: {text}")


def add_rules(p: argparse.ArgumentParser, *rules: Rule) -> None:
    """Declare ``rules`` of the command parsed by ``p``, after those already declared; ``garden.cli``
    runs them in this order after parsing."""
    p.set_defaults(rules=(*(p.get_default("rules") or ()), *rules))


def _dest(option: str) -> str:
    return option.lstrip("-").replace("-", "_")


def given(args: argparse.Namespace, option: str) -> bool:
    """Whether ``option`` (e.g. ``--ctx-scales``) has a value: not None, False or empty."""
    value = getattr(args, _dest(option))
    return value is not None and value is not False and value != () and value != [] and value != ""


def together(*options: str) -> Rule:
    """Rule: ``options`` go together: all given or none."""
    def problem(args: argparse.Namespace) -> str | None:
        if 0 < sum(given(args, o) for o in options) < len(options):
            return f"{' and '.join(options)} go together: give all of them or none"
        return None
    return Rule(options[0], problem)


def requires(option: str, *needed: str, why: str = "") -> Rule:
    """Rule: ``option``, when given, needs every one of ``needed`` too (``why``: what for)."""
    def problem(args: argparse.Namespace) -> str | None:
        missing = [n for n in needed if not given(args, n)]
        if given(args, option) and missing:
            what = f" ({why})" if why else ""
            return f"needs {' and '.join(missing)}{what}; add {' '.join(missing)} or leave {option} out"
        return None
    return Rule(option, problem)


def only_with(option: str, other: str, value: object, why: str) -> Rule:
    """Rule: ``option``, when given, only with ``other`` set to ``value`` (``why``: the reason)."""
    def problem(args: argparse.Namespace) -> str | None:
        if given(args, option) and getattr(args, _dest(other)) != value:
            return f"{why}: only with {other} {value}; give {other} {value} or leave {option} out"
        return None
    return Rule(option, problem)


def raising(check: Callable[[argparse.Namespace], None]) -> Callable[[argparse.Namespace], str | None]:
    """A rule's ``problem`` from a domain check that raises ``UserError``: its message, or None."""
    def problem(args: argparse.Namespace) -> str | None:
        try:
            check(args)
        except UserError as exc:
            return str(exc)
        return None
    return problem


HTML = (".html", ".htm")
"""File name endings of an HTML report."""


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


EXECUTOR_RULE = Rule("--executor", raising(lambda args: check_executor(args.executor)))
"""Rule of every command with ``--executor``: SLURM only where it can run jobs (``check_executor``)."""
