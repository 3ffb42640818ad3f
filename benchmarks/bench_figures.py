"""The report's figures as PNG: ``garden.reports.html.figure_png`` (one Agg draw) against the ``Figure.savefig`` way
it replaced (savefig draws a figure that has a layout engine twice: once to lay it out, once to render it), side by
side on the report of a simulated participants tree.

``python -m benchmarks figures``. Four participants of the shipped flesch2018 protocol played by seeded agents (as
``garden run --simulate`` plays them), then ``garden report`` on their participants tree (the behavioural results,
computed in memory) ``REPORTS`` times: once to warm matplotlib's caches (discarded), then alternately with each way of
saving a figure. CPU seconds spent saving figures per report, the ratio, and whether both ways wrote every PNG
byte for byte the same."""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

from garden.cli import main as garden
from garden.reports import html as report_html

PARTICIPANTS = 4
ORDER = ("savefig", "figure_png", "figure_png", "savefig")
"""The timed reports, after one untimed: each way first once and second once."""


def savefig_png(fig, dpi: int = report_html.DPI) -> bytes:
    """The PNG as ``figure_png`` made it through ``Figure.savefig`` before (pixel budget check left out)."""
    report_html.enlarge_text(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    if report_html.move_covering_legends(fig):
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _report(tree: Path, out: Path, save) -> tuple[float, list[bytes]]:
    """(CPU seconds in ``save``, the PNGs) of one ``garden report`` of ``tree`` whose figures ``save`` writes."""
    spent, pngs, own = [0.0], [], report_html.figure_png

    def timed(fig, dpi: int = report_html.DPI) -> bytes:
        start = time.process_time()
        pngs.append(save(fig, dpi))
        spent[0] += time.process_time() - start
        return pngs[-1]

    report_html.figure_png = timed
    try:
        garden(["report", str(tree), "--out", str(out), "--overwrite"])
    finally:
        report_html.figure_png = own
    return spent[0], pngs


def main() -> dict:
    ways = {"savefig": savefig_png, "figure_png": report_html.figure_png}
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "participants"
        for k in range(PARTICIPANTS):
            garden(["run", "--participant", f"P{k}", "--session", "1", "--protocol", "flesch2018", "--simulate",
                    ("factorized", "linear")[k % 2], "--seed", str(k), "--out", str(tree)])
        _, first = _report(tree, Path(folder) / "warm.html", report_html.figure_png)
        cpu = {way: 0.0 for way in ways}
        same = True
        for way in ORDER:
            spent, pngs = _report(tree, Path(folder) / "page.html", ways[way])
            cpu[way] += spent / ORDER.count(way)
            same &= pngs == first
    return {"participants": PARTICIPANTS, "figures": len(first), "reports_timed": len(ORDER),
            "savefig_cpu_s": round(cpu["savefig"], 2), "figure_png_cpu_s": round(cpu["figure_png"], 2),
            "speedup": round(cpu["savefig"] / cpu["figure_png"], 2), "png_bytes_identical": same}
