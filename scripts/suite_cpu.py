"""Sum the per-test CPU log of ``pytest --cpu-log FILE`` (tests/cpu_log.py) per test file, and per xdist worker.

    python scripts/suite_cpu.py FILE [--top 30]

Prints CPU seconds (user + system, children included) and wall seconds per file, heaviest first, then the total
CPU and the summed wall time of each worker (the critical path is the largest)."""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--top", type=int, default=30, help="files to list (default 30)")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.log.read_text(encoding="utf-8").splitlines() if line.strip()]
    cpu, wall, count = collections.Counter(), collections.Counter(), collections.Counter()
    workers = collections.Counter()
    for row in rows:
        cpu[row["file"]] += row["cpu_s"]
        wall[row["file"]] += row["wall_s"]
        count[row["file"]] += 1
        workers[row["worker"]] += row["wall_s"]
    print(f"{'file':45} {'tests':>5} {'cpu_s':>8} {'wall_s':>8}")
    for name, seconds in cpu.most_common(args.top):
        print(f"{name:45} {count[name]:5d} {seconds:8.1f} {wall[name]:8.1f}")
    print(f"total: {len(rows)} tests, {sum(cpu.values()):.1f} s CPU; wall per worker: "
          + ", ".join(f"{w} {s:.1f} s" for w, s in sorted(workers.items())))


if __name__ == "__main__":
    main()
