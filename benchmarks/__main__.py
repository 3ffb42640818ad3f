"""Run every ``benchmarks/bench_*.py`` (or those named on the command line) and print JSON.

Usage: ``python -m benchmarks [NAME ...]`` (``make bench``). Each module's ``main()`` returns a
dict of measurements; ratios inside one module are measured side by side in the same run.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time

import benchmarks


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    if argv:
        names = [n for n in names if n in argv or n.removeprefix("bench_") in argv]
    results = {}
    for name in names:
        start = time.perf_counter()
        results[name] = importlib.import_module(f"benchmarks.{name}").main()
        results[name]["_wall_s"] = round(time.perf_counter() - start, 2)
        print(json.dumps({name: results[name]}, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
