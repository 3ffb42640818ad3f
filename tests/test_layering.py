"""The layering rules. Statically (import-linter, config in ``.importlinter``): one-way layers
core -> rsa | stimuli -> experiment | modeling -> analysis -> reports -> garden, PsychoPy only in
the presentation module, torch only in the trainer. At run time: importing the domain packages (or
building the CLI) loads neither psychopy (it needs a display) nor torch (slow, only for training)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "rsa", "stimuli", "experiment", "modeling", "analysis", "reports", "garden")
PRESENTATION = {"experiment.present", "experiment.arrangement"}
LINT = Path(sys.executable).with_name("lint-imports")

CHECK = """
import importlib, pkgutil, sys
import {packages}
names = []
for pkg in [{packages}]:
    names += [m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]
skip = set({skip!r})
for name in names:
    if name not in skip and name != "modeling.networks.train":
        importlib.import_module(name)
bad = sorted(m for m in ("psychopy", "torch") if m in sys.modules)
print(",".join(bad))
"""


def lint(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the packages under ``root`` (with the project's contracts)."""
    return subprocess.run([str(LINT), str(REPO / ".importlinter"), "--no-cache"], cwd=root,
                          env={"PATH": "", "PYTHONPATH": str(root)}, capture_output=True, text=True, timeout=300)


def test_import_contracts_hold():
    out = lint(REPO)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "Contracts: 4 kept, 0 broken." in out.stdout


@pytest.mark.parametrize("module, line, broken", [
    ("core/task.py", "import analysis.choices", "core is not allowed to import analysis"),
    ("experiment/session.py", "import modeling.agents", "experiment is not allowed to import modeling"),
    ("analysis/neural.py", "import torch", "analysis is not allowed to import torch"),
])
def test_breaking_a_layer_fails_the_contracts(tmp_path, module, line, broken):
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # a forbidden import\n")
    out = lint(tmp_path)
    assert out.returncode != 0 and broken in out.stdout, out.stdout[-3000:]


def test_domain_modules_import_neither_psychopy_nor_torch():
    packages = ", ".join(p for p in PACKAGES if p != "garden")
    code = CHECK.format(packages=packages, skip=PRESENTATION)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PATH": ""}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"imported at module level: {out.stdout.strip()}"


def test_networks_package_and_cli_do_not_import_torch():
    code = ("import sys, modeling.networks, garden.cli; garden.cli.build_parser(); "
            "print(','.join(m for m in ('psychopy', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PATH": ""}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
