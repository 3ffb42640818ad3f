"""The install's split by use: the core (analysis and modelling) runs every command's parser, and a command
whose extra is not installed says which extra in one line (garden.core.errors.EXTRAS), never a traceback.

A missing package is made missing for real in a fresh interpreter: a finder put first on ``sys.meta_path``
makes Python's import fail with the same ModuleNotFoundError an uninstalled package gives (not
``sys.modules[name] = None``: scipy looks torch up in ``sys.modules`` and would read None as torch).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from garden.core.errors import EXTRAS

REPO = Path(__file__).resolve().parents[1]
OPTIONAL = sorted(module for modules in EXTRAS.values() for module in modules)


def garden_without(modules: list[str], *argv: str, cwd: Path, env: dict[str, str] | None = None):
    """Run ``garden ARGV`` in a fresh interpreter in which ``modules`` cannot be imported."""
    code = ("import sys\nblocked = set(sys.argv[1].split(','))\n"
            "class Missing:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.partition('.')[0] in blocked:\n"
            "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
            "sys.meta_path.insert(0, Missing())\n"
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
                          "flesch2018", "--window", "--out", str(tmp_path / "p"), cwd=tmp_path)  # no display needed
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("garden run needs PsychoPy: pip install 'garden-task[lab]'")


def test_training_on_a_gpu_without_the_gpu_extra_names_it_in_one_line(tmp_path):
    done = garden_without(["torch"], "train", "--device", "cuda", "--seeds", "1", "--steps", "1",
                          "--out", str(tmp_path / "n"), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "garden train needs torch (networks on a CUDA GPU): pip install 'garden-task[gpu]' "
        "(or, in a clone, pip install -e '.[gpu]')"]


def test_networks_train_on_the_cpu_without_torch(tmp_path):
    done = garden_without(["torch"], "train", "--scales", "0.01", "--ctx-scales", "0.5", "--seeds", "2",
                          "--steps", "20", "--out", str(tmp_path / "n"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "n" / "summary.tsv").exists()


def test_the_extras_split_by_use():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    extras = project["optional-dependencies"]
    for heavy in ("psychopy", "starlette", "uvicorn", "nilearn", "torch", "playwright", "numdifftools", "pytest"):
        assert heavy not in core
    assert set(EXTRAS) <= set(extras) - {"test"}
    for extra, module in ((extra, module) for extra, modules in EXTRAS.items() for module in modules):
        wanted = {"serial": "pyserial", "pyglet": "psychopy", "bids": "pybids"}.get(module, module)
        assert any(req.startswith(wanted) for req in extras[extra]), (module, extra)
    assert "garden-task[lab,web,neural,gpu]" in extras["test"]
