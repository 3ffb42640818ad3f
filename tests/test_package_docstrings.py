"""Every package's docstring names every module it holds (a newcomer reads the ``__init__`` first), and the
modules of a session are named for what they hold (three were once called ``session``)."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def _folder(package: str) -> Path:
    """The folder of ``package`` through pyproject.toml's package-dir mapping (``garden.analysis.neural`` ->
    analysis/neural)."""
    root = max((name for name in SETUPTOOLS["package-dir"] if package == name or package.startswith(name + ".")),
               key=len)
    return REPO / SETUPTOOLS["package-dir"][root] / Path(*package[len(root):].split(".")[1:])


def _modules(folder: Path) -> list[str]:
    """The modules and subpackages directly in ``folder`` (not ``__init__``/``__main__``)."""
    files = [p.stem for p in folder.glob("*.py") if not p.stem.startswith("__")]
    return sorted(files + [p.parent.name for p in folder.glob("*/__init__.py")])


def _named(docstring: str) -> set[str]:
    """Every dotted name in the docstring's code markup (``x`` or `x`), and each of its parts."""
    spans = re.findall(r"`+([^`]+)`+", docstring)
    return {part for span in spans for word in re.split(r"[\s,()/]+", span) for part in word.split(".")}


@pytest.mark.parametrize("package", SETUPTOOLS["packages"])
def test_the_package_docstring_names_every_module(package):
    init = _folder(package) / "__init__.py"
    docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    missing = [m for m in _modules(init.parent) if m not in _named(docstring)]
    assert not missing, f"{init.relative_to(REPO)}: its docstring does not name {missing}"


def test_the_session_modules_say_which_part_of_a_session_they_hold():
    """``experiment.session`` runs one, ``analysis.behaviour.session_summary`` sums it up, ``reports.session_report``
    draws the page (and ``commands.session_report`` is its command)."""
    packages: dict[str, list[str]] = {}
    for package in SETUPTOOLS["packages"]:
        for module in _modules(_folder(package)):
            packages.setdefault(module, []).append(package)
    assert packages["session"] == ["garden.experiment"]
    assert packages["session_summary"] == ["garden.analysis.behaviour"]
    assert packages["session_report"] == ["garden.commands", "garden.reports"]
