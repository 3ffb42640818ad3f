"""Every timing README.md and docs/*.md state cites the result file of the benchmark that measured it.

The docs are parsed (``tests/doc_timings.py``); nothing is run. A unit (paragraph, list item, table) that states a
duration or a speed ratio beside a word of measuring must cite ``benchmarks/results/NAME.json``, and that file must
exist and come from ``benchmarks/bench_NAME.py`` (or be one of the files a benchmark keeps under another name); each
measured figure stated there must be one that file holds. Exceptions are listed with their reason and checked to
be still needed."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pytest

from doc_timings import citations, not_in_results, timings, uncited, units

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RESULTS = REPO / "benchmarks" / "results"

EXCEPTED = tomllib.loads((Path(__file__).with_name("doc_timing_exceptions.toml")).read_text(encoding="utf-8"))
NOT_TIMINGS = {(e["file"], e["phrase"]): e["why"] for e in EXCEPTED["not_a_timing"]}
"""Phrases the parser reads as timings that are not the speed of our code: (file, exact text) -> why."""
NOT_IN_RESULT = {(e["file"], e["phrase"]): e["why"] for e in EXCEPTED["not_in_result"]}
"""Figures in a cited unit that its result file does not hold: (file, phrase) -> why."""

PENDING = {
}
"""Benchmarks the docs cite whose result file is not yet kept: NAME -> who runs it and when."""

KEPT_UNDER_OTHER_NAMES = {"uncertainty_posterior": "uncertainty", "uncertainty_posterior_batches64": "uncertainty",
                          "posterior_every_block": "posterior", "posterior_afternoon": "posterior",
                          "suite_three_workers": "suite", "calibration_two_kernels": "calibration",
                          "posterior_two_kernels": "posterior", "uncertainty_two_kernels": "uncertainty",
                          "posterior_clean_clone": "posterior", "suite_screen_workers": "suite",
                          "suite_before_screen_workers": "suite",
                          "suite_before_waiting_worker": "suite", "suite_display_worker": "suite",
                          "suite_before_display_worker": "suite", "suite_waiting_worker": "suite", "suite_four_workers": "suite",
                          "suite_afternoon_four": "suite", "suite_afternoon_three": "suite",
                          "suite_run_startup_cut": "suite", "suite_tail_balanced": "suite",
                          "suite_gzip_by_isal": "suite", "suite_neural_startup_cut": "suite",
                          "suite_fit_one_call": "suite", "fit_before_one_call_nll": "fit", "fit_one_call_nll": "fit"}
"""Result files a benchmark keeps under another name (hand-assembled from one run per model, or a run of code since
changed, kept for comparison): file -> benchmark."""


def _source(name: str) -> str:
    """The benchmark that wrote result ``name`` (``fit``, ``idle/fit``, ``loaded/fit``: ``fit``)."""
    name = name.rpartition("/")[2]
    return KEPT_UNDER_OTHER_NAMES.get(name, name)


def test_the_parser_finds_the_timings_it_should_and_not_the_task_settings():
    assert timings("took 2 min 46 s wall / 11 s CPU at load ≈ 15") == ["2 min", "46 s", "11 s"]
    assert timings("the batched trainer is 22.8× faster than the loop") == ["22.8×"]
    assert timings("it took about a minute") == ["about a minute"]
    assert timings("(slow: about 4 minutes for its two pipelines)") == ["about 4 minutes"]
    assert timings("10 s lead-in + 100 x (1 s cue + 1.5 s tree), volumes of 2 s") == []
    assert citations("(`python -m benchmarks fit`, `benchmarks/results/fit.json`)") == ["fit"]
    assert citations("idle `benchmarks/results/idle/fit.json`, loaded `benchmarks/results/loaded/fit.json`") == \
        ["idle/fit", "loaded/fit"]


def test_a_table_is_cited_by_the_paragraph_above_it(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Measured by `benchmarks/results/fit.json`:\n\n| run | wall |\n|---|---|\n| one | 12 s wall |\n\n"
                    "Another run took 30 s wall.\n", encoding="utf-8")
    assert [unit.line for unit, _ in uncited(page, tmp_path)] == [7]
    assert [unit.table for unit in units(page, tmp_path)] == [False, True, False]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_timing_in_the_docs_cites_a_benchmark_result(path):
    name = str(path.relative_to(REPO))
    allowed = [text for (file, text) in NOT_TIMINGS if file == name]
    missing = [f"{unit.where()} -> {phrases}" for unit, phrases in uncited(path, REPO)
               if not any(text in " ".join(unit.text.split()) for text in allowed)]
    assert not missing, "state no timing without its benchmark's result file:\n" + "\n".join(missing)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_cited_result_file_exists_and_has_its_benchmark(path):
    cited = {name for unit in units(path, REPO) for name in citations(unit.text)}
    for name in cited:
        assert (REPO / "benchmarks" / f"bench_{_source(name)}.py").exists(), f"{path.name}: no benchmark for {name}"
        if name in PENDING:
            continue
        result = RESULTS / f"{name}.json"
        assert result.exists(), f"{path.name} cites {result.relative_to(REPO)}, which no run has kept"
        assert json.loads(result.read_text(encoding="utf-8").replace("NaN", "null"))


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_measured_figure_is_in_the_result_file_it_cites(path):
    """A figure stated beside a citation is one the cited file holds (to the decimals stated), so an edit that
    changes a number without a new run, or cites a file that measured something else, fails."""
    name = str(path.relative_to(REPO))
    stray = [f"{unit.where()} -> {phrase}" for unit, phrase in not_in_results(path, REPO, RESULTS)
             if (name, phrase) not in NOT_IN_RESULT]
    assert not stray, "figures their cited result file does not hold:\n" + "\n".join(stray)


def test_the_exceptions_are_still_needed():
    """An allowed phrase still in its file; a pending benchmark still without its result file."""
    for (file, text), why in NOT_TIMINGS.items():
        assert text in " ".join((REPO / file).read_text(encoding="utf-8").split()), (file, text, why)
    for (file, phrase), why in NOT_IN_RESULT.items():
        assert any(p == phrase for _, p in not_in_results(REPO / file, REPO, RESULTS)), (file, phrase, why)
    for name, why in PENDING.items():
        assert not (RESULTS / f"{name}.json").exists(), f"{name}.json is kept now: remove it from PENDING ({why})"
        assert (REPO / "benchmarks" / f"bench_{name}.py").exists(), name


def test_every_kept_result_says_how_and_under_what_load_it_ran():
    """``python -m benchmarks`` writes a ``_run`` record; the files assembled by hand say their command and load."""
    from benchmarks.__main__ import is_idle

    kept = sorted(RESULTS.glob("*.json"))
    assert len(kept) >= 15
    for folder in ("idle", "loaded"):
        for path in (RESULTS / folder).glob("*.json"):
            run = json.loads(path.read_text(encoding="utf-8"))["_run"]
            assert run["idle"] == (folder == "idle"), path
            kept.append(path)
    for path in kept:
        result = json.loads(path.read_text(encoding="utf-8").replace("NaN", "null"))
        run = result.get("_run", result)
        assert "python -m benchmarks" in run["command"], path.name
        assert any(key.startswith("load_average") for key in run), path.name
        if "_run" in result:
            assert run["wall_s"] > 0 and run["cpu_s"] > 0 and run["date"].startswith("20"), path.name
            assert run["idle"] == is_idle(run), path.name


def test_the_run_record_names_the_command_its_settings_and_the_load(monkeypatch):
    from benchmarks.__main__ import result_path, run_record

    monkeypatch.setenv("GARDEN_BENCH_PARTICIPANTS", "30")
    record = run_record("fit", wall_s=12.345, cpu_s=6.0, load_before=0.5)
    assert "GARDEN_BENCH_PARTICIPANTS=30 " in record["command"]
    assert record["command"].endswith("python -m benchmarks fit")
    assert record["wall_s"] == 12.35 and record["cpu_s"] == 6.0 and record["load_average_1min_before"] == 0.5
    assert record["idle"] == (record["load_average_1min_after"] - record["own_load"] < 1)
    assert result_path("bench_fit") == result_path("fit") == RESULTS / "fit.json"
    assert result_path("fit", "idle") == RESULTS / "idle" / "fit.json"


def test_the_benchmark_s_own_load_is_not_counted_as_other_work():
    """One busy core for a minute lifts the 1-minute load average by 1 − 1/e (the kernel's exponential average):
    a run that ends at load 1.5 after a minute alone on one core was idle; the same at load 2.0 was not."""
    from benchmarks.__main__ import is_idle, own_load

    assert own_load(60.0, 60.0) == pytest.approx(1 - math.exp(-1))
    assert own_load(600.0, 1200.0) == pytest.approx(2.0, abs=1e-4)
    run = {"wall_s": 60.0, "cpu_s": 60.0, "load_average_1min_before": 0.5}
    assert is_idle(run | {"load_average_1min_after": 1.5})
    assert not is_idle(run | {"load_average_1min_after": 2.0})
    assert not is_idle(run | {"load_average_1min_before": 1.2, "load_average_1min_after": 0.9})
    # the load an earlier benchmark of the same run left is not other work either
    assert is_idle(run | {"load_average_1min_before": 1.2, "own_load_before": 0.9, "load_average_1min_after": 1.5})



def test_other_work_is_the_machine_s_busy_cpu_less_the_benchmark_s_own():
    """A run with more runnable processes than cores (3 suite workers on 2 cores) lifts the load average past its
    CPU share; the machine's busy CPU seconds during the run, less its own, say whether other work ran."""
    from benchmarks.__main__ import busy_seconds, is_idle, run_record

    first = busy_seconds()
    sum(i * i for i in range(2_000_000))  # some CPU of this process
    assert busy_seconds() > first
    record = run_record("suite", wall_s=400.0, cpu_s=790.0, load_before=0.5, machine_busy_s=800.0)
    assert record["others_busy_cores"] == 0.03 and record["idle"]  # whatever the load average after
    assert not is_idle(record | {"others_busy_cores": 1.2})
    assert not is_idle(record | {"load_average_1min_before": 1.5})

def test_a_benchmark_run_after_another_carries_its_decaying_load(monkeypatch):
    from benchmarks.__main__ import run_record

    monkeypatch.setattr("os.getloadavg", lambda: (1.6, 1.0, 1.0))
    record = run_record("fit", wall_s=60.0, cpu_s=60.0, load_before=1.1, own_before=0.9)
    assert record["own_load"] == pytest.approx(0.9 * math.exp(-1) + 1 - math.exp(-1), abs=0.01)
    assert record["idle"]


def test_a_figure_the_cited_file_does_not_hold_is_found(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "fit.json").write_text('{"wall_s": 116.68, "cpu_s": 29.8}', encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text("The fits (`benchmarks/results/fit.json`) took 116.7 s wall, 29.8 s CPU, about 15 s idle.\n\n"
                    "Again (`benchmarks/results/fit.json`): 30.5 s CPU, < 60 s target.\n", encoding="utf-8")
    assert [(unit.line, phrase) for unit, phrase in not_in_results(page, tmp_path, tmp_path / "results")] == \
        [(3, "30.5 s")]
