"""Import-graph numbers of a checkout: package-level cycles and imports inside functions.

    python scripts/import_stats.py [ROOT]

The repository keeps the lab's folders (core/, rsa/, ..., garden/) while everything imports as
``garden.*`` (pyproject.toml's ``[tool.setuptools.package-dir]``). grimp, the graph library behind
import-linter, reads packages from one folder tree, so ``stage`` copies the sources into that shape
first; ``lint-imports`` runs on the same staged copy (tests/test_layering.py).

A package-level cycle is a pair of subpackages of ``garden`` that import each other (directly or
through others), imports inside functions included. Function-level imports are ``import``/``from``
statements inside a function body (ast); each carries its reason as a trailing tag on one of its lines,
``# deferred: REASON`` with a reason from ``REASONS``. Third-party and first-party (``garden.*``) ones
are counted apart: a first-party import inside a function is suspect (it may dodge a cycle), so the
report says whether each would close a module-level chain back to its importer. Prints JSON.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
import shutil
import sys
import tomllib
from pathlib import Path

import grimp

REASONS = {
    "start-up": "heavy, only needed by one command or step: kept off `garden --help` and `import garden`",
    "display": "PsychoPy/pyglet need an X display: imported only when a window opens",
    "optional": "an optional dependency (hardware or notebook extra): imported only when it is asked for",
}
"""Tag reason -> what it means (``# deferred: start-up`` on the import's line)."""
TAG = re.compile(r"#\s*deferred:\s*([\w-]+)")


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


def function_imports(staged: Path) -> list[dict]:
    """Every import statement inside a function: ``where`` (path:line), ``importer`` and ``module``
    (dotted), ``first_party`` and its ``tag`` (a ``REASONS`` key, or None when untagged/unknown)."""
    found = []
    for path in sorted((staged / "garden").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        importer = ".".join(path.relative_to(staged).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for sub in ast.walk(node):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        module = (sub.module if isinstance(sub, ast.ImportFrom) else sub.names[0].name) or ""
                        if getattr(sub, "level", 0):  # relative: from the importer's package
                            parts = importer.split(".")
                            base = parts[:len(parts) - sub.level + (path.name == "__init__.py")]
                            module = ".".join([*base, *([module] if module else [])])
                        from_names = sub.names if isinstance(sub, ast.ImportFrom) else []
                        tags = TAG.findall("\n".join(lines[sub.lineno - 1:sub.end_lineno]))
                        found.append({"where": f"{path.relative_to(staged).as_posix()}:{sub.lineno}",
                                      "importer": importer, "module": module,
                                      "names": [f"{module}.{alias.name}" for alias in from_names],
                                      "first_party": module.split(".")[0] == "garden",
                                      "tag": tags[0] if tags and tags[0] in REASONS else None})
    return found


def package_cycles(graph: grimp.ImportGraph, names: list[str]) -> list[list[str]]:
    """Pairs of subpackages with import chains both ways."""
    return [[a, b] for a, b in itertools.combinations(names, 2)
            if graph.chain_exists(importer=a, imported=b, as_packages=True)
            and graph.chain_exists(importer=b, imported=a, as_packages=True)]


def closes_cycle(graph: grimp.ImportGraph, found: dict) -> bool:
    """Whether a first-party function-level import would close a cycle at module level: what it imports
    (the submodules named by ``from X import name``, else ``X``) already reaches the importer."""
    targets = [name for name in found["names"] if name in graph.modules] or [found["module"]]
    return any(target in graph.modules and graph.chain_exists(importer=target, imported=found["importer"])
               for target in targets)


def main(root: Path, staged: Path) -> dict:
    """The numbers of the checkout at ``root`` (staged into ``staged``) as a JSON-ready dict."""
    stage(root, staged)
    sys.path.insert(0, str(staged))
    names = subpackages(staged)
    inside = function_imports(staged)
    graph = grimp.build_graph("garden", include_external_packages=False)
    first_party = [dict(found, closes_cycle=closes_cycle(graph, found)) for found in inside if found["first_party"]]
    return {"root": str(root), "packages": names, "package_cycles": package_cycles(graph, names),
            "function_level_imports": len(inside),
            "third_party_by_reason": {reason: sum(1 for f in inside if not f["first_party"] and f["tag"] == reason)
                                      for reason in REASONS},
            "first_party_by_reason": {reason: sum(1 for f in first_party if f["tag"] == reason) for reason in REASONS},
            "untagged": [f"{f['where']} {f['module']}" for f in inside if f["tag"] is None],
            "first_party": [f"{f['where']} {f['module']} ({f['tag']}{', closes a cycle' * f['closes_cycle']})"
                            for f in first_party],
            "closing_cycles": [f"{f['where']} {f['module']}" for f in first_party if f["closes_cycle"]],
            "reasons": REASONS,
            "where": [f"{f['where']} {f['module']} ({f['tag']})" for f in inside]}


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(main(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve(), Path(tmp)), indent=2))
