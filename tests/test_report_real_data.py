"""``garden report`` on real behavioural data: 8 people of the published 2018 data (2 per curriculum) brought in
with ``garden import`` as README shows, fitted with ``garden fit``, reported, and opened in headless Chromium at
1 280 px: no page overflow, every figure's smallest text >= 9 pt as shown, no legend over data, provenance
filled, and the groups in one order everywhere. Skips without the published data or Chromium."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import pytest

from conftest import FLESCH2018
from garden import pipeline
from garden.reports.figures.style import group_order
from garden.reports.html import CONTENT_PX
from garden_cli import run_garden
from report_browser import page_at_1280
from report_spy import drawn_figures, embedded_figures

SCREENSHOT = os.environ.get("GARDEN_SCREENSHOTS")
"""Folder to save the page's 1 280 px screenshot in (docs/img when the docs' picture is renewed); unset: tmp."""


class RealReport(NamedTuple):
    """The folder the commands wrote into, and each figure ``garden report`` embedded as it drew it (``report_spy``)."""

    root: Path
    figures: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def real_report(tmp_path_factory) -> RealReport:
    flesch2018 = FLESCH2018
    if not (flesch2018 / "exp1a_trials.csv.gz").exists():
        pytest.skip(f"published data not found at {flesch2018}")
    root = tmp_path_factory.mktemp("real")
    trials = pd.read_csv(flesch2018 / "exp1a_trials.csv.gz")
    chosen = trials.groupby("group").participant.unique().map(lambda ids: sorted(ids)[:2]).explode()
    trials[trials.participant.isin(chosen)].to_csv(root / "eight.csv", index=False)
    steps = [("import", str(root / "eight.csv"), "--map", "participant=participant_id,choice_model=choice,rt_s=rt",
              "--set", "session=1", "--out", str(root / "participants")),
             ("validate", str(root / "participants")),
             ("fit", str(root / "participants"), "--out", str(root / "fits.tsv")),
             ("report", str(root / "participants"), "--out", str(root / "report.html"), "--dpi", "60")]
    computed = []  # the tables garden report computes from the participants tree (in memory): once
    compute = pipeline.participant_tables
    with drawn_figures() as drawn, pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "participant_tables", lambda *args: computed.append(compute(*args)) or computed[-1])
        for argv in steps:
            result = run_garden(*argv)
            assert result.returncode == 0, (argv, result.stderr)
    assert len(computed) == 1 and computed[0].out == root / "participants"
    return RealReport(root, embedded_figures((root / "report.html").read_text(encoding="utf-8"), drawn))


@pytest.mark.slow
def test_eight_imported_people_are_fitted_and_reported(real_report):
    root = real_report.root
    fits = pd.read_csv(root / "fits.tsv", sep="\t")
    assert fits.participant_id.nunique() == 8 and set(fits.model) == {"factorized", "factorized_full", "linear"}
    text = (root / "report.html").read_text(encoding="utf-8")
    assert "created unknown" not in text and "seed None" not in text
    assert re.search(r"report drawn \d{4}-\d\d-\d\dT", text)
    assert "Incomplete sections" not in text  # sections that do not apply to behaviour are left out
    groups = ["b2", "b20", "b200", "int"]
    firsts = [text.index(f"group={g}") for g in groups]
    assert firsts == sorted(firsts)
    assert "Choice-RDM betas per participant" in text and "Fitted decision boundaries" in text
    columns = table_group_columns(text)
    assert len(columns) >= 3
    for column in columns:  # every table with a group column lists the groups in that order (pooled rows aside)
        ranks = [groups.index(g) for g in column if g in groups]
        assert ranks == sorted(ranks), column


def table_group_columns(page: str) -> list[list[str]]:
    """The ``group`` column of every HTML table of the page that has one, top to bottom."""
    columns = []
    for table in re.findall(r"<table.*?</table>", page, flags=re.S):
        head, _, body = table.partition("</thead>")
        headers = re.findall(r"<th>(.*?)</th>", head)
        if "group" in headers:
            k = headers.index("group")
            columns.append([re.findall(r"<td>(.*?)</td>", row)[k] for row in re.findall(r"<tr>(.*?)</tr>", body,
                                                                                      flags=re.S)])
    return columns


@pytest.mark.slow
@pytest.mark.browser
def test_real_data_report_reads_at_1280_px(real_report, tmp_path):
    shot = Path(SCREENSHOT or tmp_path) / "report_real_1280.png"
    page_width, shown = page_at_1280(real_report.root / "report.html", shot)
    assert page_width <= 1280 and shot.stat().st_size > 10_000
    smallest, order = {}, group_order(["b2", "b20", "b200", "int"])
    for caption, figure in real_report.figures.items():
        assert not figure["legends_over_data"], caption
        for labels in figure["legend_labels"]:
            named = [label for label in labels if label in order]
            assert named == [g for g in order if g in named], (caption, labels)
        printed_px = figure["width_in"] * 96
        assert shown[caption] == pytest.approx(min(printed_px, CONTENT_PX), abs=2), caption
        smallest[caption] = figure["smallest_pt"] * shown[caption] / printed_px
    assert len(smallest) >= 10
    assert min(smallest.values()) >= 9 - 1e-6, sorted(smallest.items(), key=lambda kv: kv[1])[:3]
