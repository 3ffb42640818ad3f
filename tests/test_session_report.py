"""`garden session-report` on a session written by `garden run --simulate`, checked in a real
headless Chromium (Debian's /usr/bin/chromium driven by playwright): the page renders, loads
no external resource and shows every figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from built_once import built_once

from garden.cli import main
from garden.reports.session_report import FIGURE_CAPTIONS
from report_browser import IMAGES, read_page

pytestmark = pytest.mark.built_once


def _session_and_report(root):
    data = root / "participants"
    assert main(["run", "--participant", "7", "--session", "1", "--simulate", "learner", "--out", str(data)]) == 0
    assert main(["session-report", "sub-7", "--root", str(data), "--out", str(root / "report.html")]) == 0


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    """A simulated session and its report, read (never changed) by the tests on both xdist workers."""
    return built_once(tmp_path_factory, "session-report", _session_and_report) / "report.html"


@pytest.mark.slow
def test_session_report_has_every_part(page_file, capsys):
    text = page_file.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == len(FIGURE_CAPTIONS)
    for caption in FIGURE_CAPTIONS:
        assert f"<figcaption>{caption}</figcaption>" in text
    for table in ("accuracy per phase", "parameters: maximum-likelihood estimate, Wald SE, 95 % posterior interval",
                  "response times (s)", "timing quality"):
        assert table in text
    assert "factorized_full" in text and "posterior_lo" in text and "rhat" in text
    assert "accuracy at chance in the last block" not in text  # the learner ends well above chance
    assert main(["session-report", str(page_file.parent / "participants" / "sub-7"), "--out", str(page_file)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.browser
def test_session_report_renders_in_headless_chromium(page_file):
    found, external = read_page(page_file, {"images": IMAGES, "title": "document.title",
                                            "height": "document.body.scrollHeight"})
    images, title, height = found["images"], found["title"], found["height"]
    assert title == "session report 7" and height > 2000
    assert sorted(alt for alt, _, _ in images) == sorted(FIGURE_CAPTIONS)
    assert all(complete and width > 300 for _, complete, width in images), images
    assert external == []


@pytest.mark.slow
def test_a_random_responder_is_flagged_at_chance(tmp_path):
    data = tmp_path / "participants"
    assert main(["run", "--participant", "8", "--session", "1", "--simulate", "random", "--out", str(data)]) == 0
    out = tmp_path / "random.html"
    assert main(["session-report", "sub-8", "--root", str(data), "--out", str(out)]) == 0
    assert "accuracy at chance in the last block" in out.read_text(encoding="utf-8")


def test_an_estimate_outside_its_interval_comes_with_the_median_and_why():
    from garden.reports.session_report import OUTSIDE, parameter_table

    fits = pd.DataFrame([{"model": "factorized", "slope": 20.0, "slope_se": np.nan, "slope_post_lo": 1.41,
                          "slope_post_hi": 17.94, "slope_post_piled": "upper bound", "slope_post_median": 6.2,
                          "slope_rhat": 1.002,
                          "slope_at_bound": True, "lapse": 0.02, "lapse_se": 0.01, "lapse_post_lo": 0.005,
                          "lapse_post_hi": 0.06, "lapse_post_median": 0.025, "lapse_rhat": 1.0,
                          "lapse_at_bound": False}])
    table = parameter_table(fits).set_index("parameter")
    assert table.loc["slope", "note"] == OUTSIDE and table.loc["slope", "posterior_median"] == 6.2
    piles = table["posterior_piles_at"]
    assert piles["slope"] == "upper bound" and piles["lapse"] == ""
    assert table.loc["lapse", "note"] == ""


def test_an_interval_whose_chains_did_not_converge_says_not_to_report_it():
    """R-hat 1.02 (above the target 1.01): the note says the chains disagree (such intervals under-covered in the
    simulation-based calibration), beside the note on an estimate outside its interval where both apply."""
    from garden.reports.session_report import OUTSIDE, UNCONVERGED, parameter_table

    fits = pd.DataFrame([{"model": "linear", "slope": 20.0, "slope_se": np.nan, "slope_post_lo": 1.4,
                          "slope_post_hi": 17.9, "slope_post_median": 6.2, "slope_rhat": 1.02, "slope_at_bound": True,
                          "lapse": 0.02, "lapse_se": 0.01, "lapse_post_lo": 0.005, "lapse_post_hi": 0.06,
                          "lapse_post_median": 0.025, "lapse_rhat": 1.02, "lapse_at_bound": False,
                          "offset": 0.1, "offset_se": 0.05, "offset_post_lo": 0.0, "offset_post_hi": 0.2,
                          "offset_post_median": 0.1, "offset_rhat": 1.01, "offset_at_bound": False}])
    notes = parameter_table(fits).set_index("parameter")["note"]
    assert notes["slope"] == f"{OUTSIDE}; {UNCONVERGED}" and notes["lapse"] == UNCONVERGED and notes["offset"] == ""


def test_dropped_frames_come_with_the_display_timing_problems_the_sidecar_records():
    """Under Xvfb vsync is off and the refresh rate is 590 Hz: the frame count alone misleads, the run's own
    ``screen.timing_problems`` say why."""
    from garden.analysis.behaviour.session_summary import _timing, _warnings

    scored = pd.DataFrame({"phase": "test", "block": 1, "correct": [1.0, 1.0, 0.0, 1.0] * 5, "responded": True})
    trials = scored.assign(dropped_frames=[3, 0, 0, 0] * 5)
    problems = ["the measured refresh rate 590.00 Hz differs from refresh_hz 60 Hz",
                "flips do not wait for the vertical blank (vsync is off)"]
    sidecar = {"screen": {"vsync": False, "timing_problems": problems}}
    warnings = _warnings(scored, trials, pd.DataFrame(), sidecar)
    assert warnings == [f"15 dropped frames on 5 trials (counted against the display's frame period, which the run "
                        f"itself flagged: {problems[0]}; {problems[1]})"]
    assert _warnings(scored, trials, pd.DataFrame(), {}) == ["15 dropped frames on 5 trials"]
    assert _warnings(scored, trials.assign(dropped_frames=0), pd.DataFrame(), sidecar) == [
        f"display timing problems recorded by the run: {problems[0]}; {problems[1]}"]
    timing = _timing(trials, sidecar).set_index("measure")["value"]
    assert timing["display timing problems"] == "; ".join(problems) and timing["dropped frames (total)"] == 15
