"""The install's split by use: the core (analysis and modelling) runs every command's parser, and a command
whose extra is not installed says which extra in one line (garden.core.errors.EXTRAS), never a traceback.

A missing package is made missing for real in a fresh interpreter: ``sys.modules[name] = None`` makes Python's
import fail with the same ModuleNotFoundError an uninstalled package gives.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from garden.core.errors import EXTRAS

REPO = Path(__file__).resolve().parents[1]
OPTIONAL = sorted(EXTRAS)


def garden_without(modules: list[str], *argv: str, cwd: Path, env: dict[str, str] | None = None):
    """Run ``garden ARGV`` in a fresh interpreter in which ``modules`` cannot be imported."""
    code = ("import sys\nfor m in sys.argv[1].split(','): sys.modules[m] = None\n"
            "from garden.cli import main\nsys.exit(main(sys.argv[2:]))")
    return subprocess.run([sys.executable, "-c", code, ",".join(modules), *argv], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env={**os.environ, **(env or {})})


def test_the_core_install_parses_every_command(tmp_path):
    done = garden_without(OPTIONAL, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for command in ("run", "web", "neural", "demo", "report", "fit", "train"):
        assert command in done.stdout


def test_web_without_the_web_extra_names_it_in_one_line(tmp_path):
    done = garden_without(["starlette", "uvicorn"], "web", "serve", "--protocol", "flesch2018",
                          "--out", str(tmp_path / "p"), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "garden web needs uvicorn: pip install 'garden-task[web]' (or, in a clone, pip install -e '.[web]')"]


def test_a_window_session_without_the_lab_extra_names_it_in_one_line(tmp_path):
    done = garden_without(["psychopy", "pyglet"], "run", "--participant", "P1", "--session", "1", "--protocol",
                          "flesch2018", "--window", "--out", str(tmp_path / "p"), cwd=tmp_path,
                          env={"DISPLAY": ":0"})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("garden run needs PsychoPy: pip install 'garden-task[lab]'")


def test_the_extras_split_by_use():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    extras = project["optional-dependencies"]
    for heavy in ("psychopy", "starlette", "uvicorn", "nilearn", "playwright", "numdifftools", "pytest"):
        assert heavy not in core
    assert {extra for _, extra in EXTRAS.values()} <= set(extras) - {"test"}
    for module, (_, extra) in EXTRAS.items():
        wanted = {"serial": "pyserial", "pyglet": "psychopy", "bids": "pybids"}.get(module, module)
        assert any(req.startswith(wanted) for req in extras[extra]), (module, extra)
    assert "garden-task[lab,web,neural]" in extras["test"]
