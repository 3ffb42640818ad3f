"""``garden networks report``: the report section of a ``networks fit`` folder, rendered through the
command from the files a fit and a recovery write (people.tsv, fit.json, recovery.tsv, confusion.tsv)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from garden.analysis.networks import person_fits as pf
from garden.analysis.networks.fit_summary import curriculum_summary, findings
from garden.cli import main
from garden.reports import figures
from garden.reports.html import CONTENT_PX, figure_texts, legend_over_data, readable

SCALES = (0.01, 0.1, 1.0, 3.0)


def _people() -> pd.DataFrame:
    """12 B200 people (9 no network, 2 lazy, 1 undecided) and 8 interleaved (2 rich, 6 no network)."""
    rng = np.random.default_rng(0)
    verdicts = [pf.NO_NETWORK] * 9 + ["lazy", "lazy", "undecided"] + ["rich", "rich"] + [pf.NO_NETWORK] * 6
    rows = []
    for i, verdict in enumerate(verdicts):
        best = {"rich": 0.01, "lazy": 3.0}.get(verdict, float(rng.choice(SCALES)))
        rows.append({"participant_id": f"P{i + 1:03d}", "curriculum": "b200" if i < 12 else "int",
                     "best_scale": best, "scale_lo": min(best, 0.1), "scale_hi": max(best, 1.0),
                     "p_rich": 1.0 if verdict == "rich" else 0.0 if verdict == "lazy" else 0.5,
                     "bic_network": 500.0 + (20 if verdict == pf.NO_NETWORK else -20), "bic_choice_best": 500.0,
                     "verdict": verdict})
    return pd.DataFrame(rows)


def _recovery(int_identifiable: bool) -> pd.DataFrame:
    return pd.DataFrame({"curriculum": ["B200", "interleaved"], "network_people": [8, 8],
                         "rich_or_lazy_people": [4, 4], "confident": [4, 1], "rich_vs_lazy_accuracy": [1.0, 0.0],
                         "learner_no_network": [1.0, 0.5], "identifiable": [True, int_identifiable]})


def test_summary_counts_verdicts_per_curriculum():
    summary = curriculum_summary(_people()).set_index("curriculum")
    assert summary.loc["b200", ["people", "no_network", "lazy", "rich", "undecided"]].tolist() == [12, 9, 2, 0, 1]
    assert summary.loc["int", ["people", "no_network", "rich"]].tolist() == [8, 6, 2]
    assert summary.loc["b200", "no_network_share"] == pytest.approx(0.75)
    assert summary.loc["int", "median_bic_difference"] == pytest.approx(20.0)


def test_findings_say_cannot_tell_where_recovery_fails():
    summary = curriculum_summary(_people())
    text = findings(summary, _recovery(int_identifiable=False))
    b200, interleaved = text.split("int:")
    assert "for 9 of 12 people (75%) no network" in b200 and "2 lazy" in b200 and "right in 100%" in b200
    assert "cannot tell rich from lazy" in interleaved and "1 of 4 classified" in interleaved
    assert "cannot tell" not in findings(summary, _recovery(int_identifiable=True))
    assert "unchecked" in findings(summary, None)


def test_figures_draw_every_person_and_verdict():
    fig = figures.best_scale_intervals(_people())
    assert [ax.get_title() for ax in fig.axes] == ["b200 (12 people)", "int (8 people)"]
    assert [len(ax.collections[1].get_offsets()) for ax in fig.axes] == [12, 8]
    shares = figures.verdict_shares(_people())
    assert {t.get_text() for t in shares.axes[0].get_legend().get_texts()} >= {"no network better", "rich", "lazy"}


@pytest.mark.parametrize("draw", [figures.best_scale_intervals, figures.verdict_shares])
def test_figures_are_readable_at_their_printed_size(draw):
    fig = readable(draw(_people()))
    sizes = [t.get_fontsize() for t in figure_texts(fig)]
    printed_px = fig.get_figwidth() * 96
    assert min(sizes) * min(printed_px, CONTENT_PX) / printed_px >= 9 - 1e-6
    assert not [ax.get_title() for ax in fig.axes if legend_over_data(ax)]


def test_report_command_renders_the_fit_and_its_recovery(tmp_path, capsys):
    fit, rec = tmp_path / "fit", tmp_path / "recover"
    fit.mkdir(), rec.mkdir()
    _people().to_csv(fit / "people.tsv", sep="\t", index=False)
    _recovery(int_identifiable=False).to_csv(rec / "recovery.tsv", sep="\t", index=False)
    pd.DataFrame({"curriculum": ["B200"], "scale": [0.01], "0.01": [1]}).to_csv(rec / "confusion.tsv", sep="\t",
                                                                                 index=False)
    (fit / "fit.json").write_text(json.dumps({"settings": {"recovery": str(rec / "recovery.tsv")}}))
    assert main(["networks", "report", str(fit)]) == 0
    html = (fit / "report.html").read_text()
    assert html.count("<img") == 2 and "network recovery" in html and "network confusion" in html
    assert "cannot tell rich from lazy" in html and "for 9 of 12 people (75%)" in html
    assert str(fit / "report.html") in capsys.readouterr().out
    assert main(["networks", "report", str(fit)]) == 2                      # kept unless --overwrite
    assert "--overwrite" in capsys.readouterr().err
    (fit / "people.tsv").unlink()
    assert main(["networks", "report", str(fit), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "people.tsv" in err[0] and "networks fit" in err[0]
