"""The layering rules. Statically (import-linter, config in ``.importlinter``, run once on a staged
copy in import shape): one-way layers core -> rsa | stimuli -> experiment | modeling -> analysis ->
reports -> the command, analysis rooms independent, PsychoPy only in the presentation module, torch
only in the trainer's backend. At run time: importing the domain packages (or building the CLI) loads neither
psychopy (it needs a display) nor torch (slow, only for training)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from import_stats import stage  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PRESENTATION = {"garden.experiment.present", "garden.experiment.arrangement.task"}  # and their submodules
LINT = Path(sys.executable).with_name("lint-imports")

DOMAIN = ("core", "rsa", "stimuli", "experiment", "modeling", "analysis", "reports")
CHECK = """
import importlib, pkgutil, sys
names = []
for pkg in {packages!r}:
    module = importlib.import_module("garden." + pkg)
    names += [m.name for m in pkgutil.walk_packages(module.__path__, module.__name__ + ".")]
skip = set({skip!r})
for name in names:
    if not any(name == s or name.startswith(s + ".") for s in skip):
        importlib.import_module(name)
bad = sorted(m for m in ("psychopy", "torch") if m in sys.modules)
print(",".join(bad))
"""


def lint(staged: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` (the project's contracts) on a staged copy (``import_stats.stage``)."""
    return subprocess.run([str(LINT), str(REPO / ".importlinter"), "--no-cache"], cwd=staged,
                          env={"PATH": "", "PYTHONPATH": str(staged)}, capture_output=True, text=True, timeout=300)


def test_import_contracts_hold(tmp_path):
    out = lint(stage(REPO, tmp_path))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "Contracts: 5 kept, 0 broken." in out.stdout


BREAKS = [
    ("core/task.py", "import garden.analysis.behaviour.choices", "garden.core is not allowed to import garden.analysis"),
    ("experiment/session.py", "import garden.modeling.agents",
     "garden.experiment is not allowed to import garden.modeling"),
    ("analysis/neural/patterns.py", "import torch", "garden.analysis.neural.patterns -> torch"),
    ("analysis/neural/rois.py", "import garden.analysis.behaviour.choices",
     "garden.analysis.neural is not allowed to import garden.analysis.behaviour"),
]


def test_breaking_a_contract_fails_the_lint(tmp_path):
    """Every kind of break at once in one staged copy (one lint run): each is reported."""
    staged = stage(REPO, tmp_path)
    for module, line, _ in BREAKS:
        target = staged / "garden" / module
        target.write_text(target.read_text() + f"\n{line}  # a forbidden import\n")
    out = lint(staged)
    assert out.returncode != 0
    for _, _, broken in BREAKS:
        assert broken in out.stdout, (broken, out.stdout[-3000:])


def test_domain_modules_import_neither_psychopy_nor_torch():
    code = CHECK.format(packages=DOMAIN, skip=PRESENTATION)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PATH": ""}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"imported at module level: {out.stdout.strip()}"


def test_networks_package_and_cli_do_not_import_torch():
    code = ("import sys, garden.modeling.networks, garden.cli; garden.cli.build_parser(load_all=True); "
            "print(','.join(m for m in ('psychopy', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PATH": ""}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
