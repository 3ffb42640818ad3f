"""Import-graph numbers of a checkout: package-level cycles and imports inside functions.

    python scripts/import_stats.py [ROOT]

The repository keeps the lab's folders (core/, rsa/, ..., garden/) while everything imports as
``garden.*`` (pyproject.toml's ``[tool.setuptools.package-dir]``). grimp, the graph library behind
import-linter, reads packages from one folder tree, so ``stage`` copies the sources into that shape
first; ``lint-imports`` runs on the same staged copy (tests/test_layering.py).

A package-level cycle is a pair of subpackages of ``garden`` that import each other (directly or
through others), imports inside functions included. Function-level imports are ``import``/``from``
statements inside a function body (ast). Prints JSON.
"""

from __future__ import annotations

import ast
import itertools
import json
import shutil
import sys
import tomllib
from pathlib import Path

import grimp


def package_dirs(root: Path) -> dict[str, Path]:
    """Import name -> folder, from pyproject.toml's package-dir mapping (e.g. garden.core -> core/)."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    return {name: root / folder for name, folder in config["tool"]["setuptools"]["package-dir"].items()}


def stage(root: Path, dest: Path) -> Path:
    """Copy the Python sources of ``root`` under ``dest`` in import shape (dest/garden/core/...);
    returns ``dest`` (put it first on PYTHONPATH)."""
    for name, folder in sorted(package_dirs(root).items()):
        target = dest.joinpath(*name.split("."))
        for path in folder.rglob("*.py"):
            if "node_modules" not in path.parts:
                (target / path.relative_to(folder)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target / path.relative_to(folder))
    return dest


def subpackages(staged: Path) -> list[str]:
    """``garden`` and its direct subpackages (garden.core, ..., garden.commands)."""
    base = staged / "garden"
    return sorted(f"garden.{p.name}" for p in base.iterdir() if (p / "__init__.py").exists())


def function_imports(staged: Path) -> list[str]:
    """``path:line module`` of every import statement inside a function."""
    found = []
    for path in sorted((staged / "garden").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for sub in ast.walk(node):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        module = sub.module if isinstance(sub, ast.ImportFrom) else sub.names[0].name
                        found.append(f"{path.relative_to(staged).as_posix()}:{sub.lineno} {module}")
    return found


def package_cycles(names: list[str]) -> list[list[str]]:
    """Pairs of subpackages with import chains both ways."""
    graph = grimp.build_graph("garden", include_external_packages=False)
    return [[a, b] for a, b in itertools.combinations(names, 2)
            if graph.chain_exists(importer=a, imported=b, as_packages=True)
            and graph.chain_exists(importer=b, imported=a, as_packages=True)]


def main(root: Path, staged: Path) -> dict:
    stage(root, staged)
    sys.path.insert(0, str(staged))
    names = subpackages(staged)
    inside = function_imports(staged)
    return {"root": str(root), "packages": names, "package_cycles": package_cycles(names),
            "function_level_imports": len(inside), "where": inside}


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(main(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve(), Path(tmp)), indent=2))
