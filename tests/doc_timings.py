"""The timings README.md and docs/*.md state, parsed out of the Markdown, and the benchmark results they cite.

A *timing* is a duration (``146 s``, ``1 014 s``, ``2 min 46 s``, ``3.2 ms``, ``about a minute``) or a speed ratio
(``22.8×``, ``2.4× more efficient``) stated near a word of measuring (wall, CPU, took, faster, ...): the speed of
our code, not a setting of the task (a 1 s ITI, a 2 s TR, a 20 s alarm). A *unit* is what one citation covers: a
paragraph, a list item or a table (with the paragraph just above it). A citation is the path of a benchmark's
result file, ``benchmarks/results/NAME.json`` (written by ``python -m benchmarks NAME``); a measured figure in a
cited unit must be one that file holds (``not_in_results``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

NUMBER = r"(?<![\w.-])\d[\d.,]*(?: \d{3})*(?:[–-]\d[\d.,]*)?"
DURATION = re.compile(NUMBER + r"\s?(?:ms|s|min|minutes|seconds|h|hours?)\b(?![-/])|\babout a minute\b")
APPROXIMATE = re.compile(r"(?:about|≈|~)\s*" + NUMBER + r"\s?(?:ms|s|min|minutes|seconds|h|hours?)\b")
"""A duration said to be approximate (``about 4 minutes``): a timing even without a word of measuring near it."""
RATIO = re.compile(NUMBER + r"\s?×(?!\s?\d)")
MEASURING = re.compile(r"\b(?:wall|CPU|took|takes?|faster|slower|speed(?:-up)?|costs?|timed|measured|ran in|runs? in|"
                       r"came up in|went down in|per call|efficient|idle|load(?: average)?\s*[≈~]?\s*\d)",
                       re.IGNORECASE)
NEAR = 90
"""Characters either side of a duration searched for a word of measuring."""
CITATION = re.compile(r"benchmarks/results/((?:idle/|loaded/)?[a-z0-9_]+)\.json")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
ITEM = re.compile(r"^\s*(?:[*-]|\d+\.)\s")


@dataclass(frozen=True)
class Unit:
    """One citable stretch of a Markdown file: 1-based first line, text, and whether it is a table."""

    file: str
    line: int
    text: str
    table: bool

    def where(self) -> str:
        return f"{self.file}:{self.line}: {' '.join(self.text.split())[:150]}"


def units(path: Path, root: Path) -> list[Unit]:
    """The paragraphs, list items and tables of a Markdown file, code blocks left out."""
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), path.read_text(encoding="utf-8"))
    found: list[Unit] = []
    lines: list[str] = []
    start = 0
    name = str(path.relative_to(root))

    def close() -> None:
        if lines:
            found.append(Unit(name, start, "\n".join(lines), lines[0].lstrip().startswith("|")))
            lines.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        is_row = line.lstrip().startswith("|")
        new = (not line.strip() or line.startswith("#") or ITEM.match(line)
               or (lines and is_row != lines[0].lstrip().startswith("|")))
        if new:
            close()
        if line.strip():
            if not lines:
                start = number
            lines.append(line)
    close()
    return found


def timings(text: str) -> list[str]:
    """The timing phrases of a text: durations and ratios with a word of measuring within ``NEAR`` characters."""
    flat = " ".join(text.split())
    hits = []
    for pattern in (DURATION, RATIO):
        for match in pattern.finditer(flat):
            window = flat[max(0, match.start() - NEAR):match.end() + NEAR]
            if MEASURING.search(window):
                hits.append(match.group(0))
    return hits + [match.group(0) for match in APPROXIMATE.finditer(flat)]


def citations(text: str) -> list[str]:
    """The benchmark result files a text cites (``NAME`` of ``benchmarks/results/NAME.json``)."""
    return CITATION.findall(" ".join(text.split()))


def uncited(path: Path, root: Path) -> list[tuple[Unit, list[str]]]:
    """Units of ``path`` that state a timing and cite no result file (a table may be cited by the unit above it)."""
    found = units(path, root)
    missing = []
    for index, unit in enumerate(found):
        phrases = timings(unit.text)
        above = found[index - 1].text if unit.table and index else ""
        if phrases and not citations(unit.text + "\n" + above):
            missing.append((unit, phrases))
    return missing


ESTIMATE = re.compile(r"(?:about|≈|~|<|≤|>|≥)\s*$|(?:target|per core on)\s*$")
"""Text just before a timing that makes it an estimate or a target, not a measured figure."""


def _numbers(value: object) -> list[float]:
    """Every number in a JSON value (numbers inside strings too: a note that names a measured figure)."""
    if isinstance(value, dict):
        return [n for item in value.values() for n in _numbers(item)]
    if isinstance(value, list):
        return [n for item in value for n in _numbers(item)]
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    return [float(n) for n in re.findall(r"\d+(?:\.\d+)?", value)] if isinstance(value, str) else []


def _stated(phrase: str) -> tuple[float, int]:
    """The number a timing phrase states and its decimals (``1 014 s`` -> 1014.0, 0; ``3.2–3.7 ms`` -> 3.2, 1)."""
    text = re.match(r"\d[\d.,]*(?: \d{3})*", phrase).group(0).replace(" ", "").replace(",", "")
    return float(text), len(text.partition(".")[2])


def not_in_results(path: Path, root: Path, results: Path) -> list[tuple[Unit, str]]:
    """Measured figures of a cited unit that none of its cited result files holds (to the decimals stated, or
    rounded to a whole number); estimates and targets (``about 40 s``, ``< 60 s``) are not measured figures."""
    missing = []
    for unit in units(path, root):
        files = [results / f"{name}.json" for name in citations(unit.text)]
        held = [n for file in files if file.exists()
                for n in _numbers(json.loads(file.read_text(encoding="utf-8").replace("NaN", "null")))]
        if not held:
            continue
        flat = " ".join(unit.text.split())
        for phrase in dict.fromkeys(timings(unit.text)):
            if not phrase[0].isdigit() or ESTIMATE.search(flat[:flat.find(phrase)][-12:]):
                continue
            number, decimals = _stated(phrase)
            tolerance = 0.5 * 10 ** -decimals + 1e-9
            if not any(abs(number - n) <= tolerance or abs(number - round(n)) <= tolerance for n in held):
                missing.append((unit, phrase))
    return missing
