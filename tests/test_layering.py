"""The layering rules: importing the domain packages (or building the CLI) never imports psychopy
(it needs a display) and never imports torch (slow, only needed for training)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PRESENTATION = {"experiment.present", "experiment.arrangement"}

CHECK = """
import importlib, pkgutil, sys
import {packages}
names = []
for pkg in [{packages}]:
    names += [m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]
skip = set({skip!r})
for name in names:
    if name not in skip and not name.startswith("modeling.networks."):
        importlib.import_module(name)
bad = sorted(m for m in ("psychopy", "torch") if m in sys.modules)
print(",".join(bad))
"""


@pytest.mark.parametrize("packages", ["common, stimuli, experiment, modeling, analysis"])
def test_domain_modules_import_neither_psychopy_nor_torch(packages):
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
