"""Import-graph numbers of a checkout: package-level cycles and imports inside functions.

    python scripts/import_stats.py [ROOT]

A package-level cycle is a pair of top-level packages that import each other (directly or through
others), counted with grimp (the graph library behind import-linter), imports inside functions
included. Function-level imports are ``import``/``from`` statements inside a function body (ast).
Prints JSON.
"""

from __future__ import annotations

import ast
import itertools
import json
import sys
from pathlib import Path

import grimp

SKIP = {"tests", "benchmarks", "scripts", "docs", "participants"}


def packages(root: Path) -> list[str]:
    """Top-level project packages under ``root``: folders with Python files, less tests and tools."""
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and p.name not in SKIP and not p.name.startswith(".") and any(p.glob("*.py")))


def function_imports(root: Path, names: list[str]) -> list[str]:
    """``path:line module`` of every import statement inside a function."""
    found = []
    for package in names:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    for sub in ast.walk(node):
                        if isinstance(sub, (ast.Import, ast.ImportFrom)):
                            module = sub.module if isinstance(sub, ast.ImportFrom) else sub.names[0].name
                            found.append(f"{path.relative_to(root)}:{sub.lineno} {module}")
    return found


def package_cycles(names: list[str]) -> list[list[str]]:
    """Pairs of packages with import chains both ways."""
    graph = grimp.build_graph(*names, include_external_packages=False)
    return [[a, b] for a, b in itertools.combinations(names, 2)
            if graph.chain_exists(importer=a, imported=b, as_packages=True)
            and graph.chain_exists(importer=b, imported=a, as_packages=True)]


def main(root: Path) -> dict:
    sys.path.insert(0, str(root))
    names = packages(root)
    inside = function_imports(root, names)
    return {"root": str(root), "packages": names, "package_cycles": package_cycles(names),
            "function_level_imports": len(inside), "where": inside}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()), indent=2))
