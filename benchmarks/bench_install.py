"""What ``make demo`` and ``make test`` install: a fresh venv built by each Makefile target (demo:
``-e '.[neural]'``, no torch; test: torch and ``-e '.[test]'``) in a temporary folder, one after the other
in the same run, each with its install wall and CPU seconds, its size on disk (``du``), and the size of each
installed distribution (the files its RECORD lists), largest first, with any CUDA (nvidia-*, triton) package
named. Wheels come from pip's configured indexes (a local index: no download time). The load average says
how busy the machine was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZES = """
import importlib.metadata as md, json
sizes = {}
for d in md.distributions():
    total = 0
    for f in d.files or []:
        try:
            total += f.locate().stat().st_size
        except OSError:
            pass
    sizes[d.metadata["Name"]] = total
print(json.dumps(sizes))
"""
"""Run by the new venv's Python: bytes per installed distribution."""
CUDA_PREFIXES = ("nvidia-", "triton")


TARGETS = {"demo": ".garden-demo", "test": ".garden-installed"}
"""Makefile target (the stamp file it makes in the venv) per use: the demo's venv and the suite's."""


def main() -> dict:
    load_before = os.getloadavg()[0]
    result = {name: _install(stamp) for name, stamp in TARGETS.items()}
    return result | {"load_average_1min_before": round(load_before, 2),
                     "load_average_1min_after": round(os.getloadavg()[0], 2)}


def _install(stamp: str) -> dict:
    """Build a fresh venv with the Makefile rule that makes ``stamp``; its install time (s), size (MB) and
    distributions."""
    with tempfile.TemporaryDirectory() as folder:
        venv = Path(folder) / "venv"
        python = Path(sys.executable).resolve()
        wall, cpu = time.perf_counter(), _children_cpu()
        subprocess.run(["make", "-C", str(REPO), f"VENV={venv}", f"PYTHON={python}", f"{venv}/{stamp}"],
                       check=True, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - wall, _children_cpu() - cpu
        du_mb = int(subprocess.run(["du", "-sm", str(venv)], capture_output=True, text=True,
                                   check=True).stdout.split()[0])
        sizes = json.loads(subprocess.run([str(venv / "bin" / "python"), "-c", SIZES], capture_output=True,
                                          text=True, check=True).stdout)
    by_size = dict(sorted(((name, round(size / 1e6, 1)) for name, size in sizes.items()), key=lambda kv: -kv[1]))
    return {"install_wall_s": round(wall, 1), "install_cpu_s": round(cpu, 1), "venv_du_mb": du_mb,
            "distributions": len(sizes), "cuda_packages": [n for n in sizes if n.lower().startswith(CUDA_PREFIXES)],
            "mb_by_distribution": by_size}


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system
