"""Start-up of the ``garden`` command: CPU seconds and imported modules of a fresh Python that runs
``garden --help`` (no command's domain), ``garden fit --help`` (one command loaded), ``garden run --help`` (what a
session loads before its window opens) beside the same with ``scipy.stats`` imported first (what it loaded until a
posterior's R-hat ranks imported it only when they sample), ``garden neural glm --help`` (what every neural
step loads to parse its arguments) beside the same with the modules of ``neural stats`` and ``neural sensitivity``
imported first (what it loaded until those two steps imported them when they run, and ``garden.rsa.compare``
scipy.stats when it correlates), ``garden networks fit --help`` beside the same with the modules of ``networks
report`` and ``garden report`` imported first (what it loaded until ``networks report`` imported its report when it
runs and the report's argument checks moved to ``garden.arguments``) and a parser with every command loaded
(``build_parser(load_all=True)``: what each start cost before commands were imported on demand).
Each figure is the fastest of ``REPEATS`` fresh processes (interpreter start included), CPU seconds of the child
(user + system) from ``resource.getrusage``; module count from ``sys.modules``. The numbers of docs/testing.md."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REPEATS = 5


def _cli(argv: list[str]) -> str:
    """Code that runs ``garden ARGV`` in the fresh Python, its output discarded."""
    return f"from garden.cli import main\nwith contextlib.redirect_stdout(io.StringIO()): main({argv!r})"


CASES = {
    "garden --help": _cli(["--help"]),
    "garden fit --help": _cli(["fit", "--help"]),
    "garden run --help": _cli(["run", "--help"]),
    "garden run --help, scipy.stats first": "import scipy.stats\n" + _cli(["run", "--help"]),
    "garden neural glm --help": _cli(["neural", "glm", "--help"]),
    "garden neural glm --help, statistics modules first": "import garden.analysis.neural.sensitivity, "
                                                           "garden.analysis.neural.study\n"
                                                           + _cli(["neural", "glm", "--help"]),
    "garden networks fit --help": _cli(["networks", "fit", "--help"]),
    "garden networks fit --help, report modules first": "import garden.reports.person_fits_report, "
                                                         "garden.commands.report\n"
                                                         + _cli(["networks", "fit", "--help"]),
    "every command loaded": "from garden.cli import build_parser\nbuild_parser(load_all=True)",
}
TEMPLATE = "import contextlib, io, sys\n{body}\nprint(len(sys.modules))"


def _once(body: str) -> tuple[float, int]:
    """CPU seconds and module count of one fresh Python running ``body``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-c", TEMPLATE.format(body=body)], capture_output=True, text=True,
                          check=True, cwd=REPO)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return cpu, int(done.stdout.split()[-1])


def main() -> dict:
    result = {}
    for name, body in CASES.items():
        runs = [_once(body) for _ in range(REPEATS)]
        result[name] = {"cpu_s": round(min(cpu for cpu, _ in runs), 3), "modules": runs[0][1]}
    return result
