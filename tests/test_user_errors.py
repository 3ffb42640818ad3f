"""The eleven groups of issue 16, one test (or more) each, on real files through the real CLI.

The fuzz harness (tests/test_fuzz_cli.py) shows that hostile input is refused cleanly; these tests
show that the good paths around each fix still work and record what they should.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from garden.core.bids import PROVENANCE_KEY
from garden.core.trials import read_trials, write_table
from garden.arguments import LIMITS, bounded_int, limit, new_file
from garden.cli import main
from garden.commands.demo import new_run_folder
from garden.modeling.psychometric import simulate_choices
from garden.modeling.recovery import simulated_trials

REPO = Path(__file__).resolve().parent.parent


def _people(*ids: str) -> pd.DataFrame:
    tables = []
    for i, pid in enumerate(ids):
        t = simulated_trials(200, pid)
        params = {"delta_north": 0, "delta_south": 0, "slope": 4 + i, "offset": 0, "lapse": 0.05}
        t["choice"] = simulate_choices("factorized", params, t, i)
        tables.append(t)
    return pd.concat(tables, ignore_index=True)


# 1. ids are text everywhere; validate checks the two contexts
def test_ids_that_look_missing_survive_fit_and_bms(tmp_path, capsys):
    trials = write_table(_people("NA", "null", "None", "P1"), tmp_path / "trials.tsv")
    assert main(["fit", str(trials), "--out", str(tmp_path / "fits.tsv"), "--models", "factorized,linear"]) == 0
    assert main(["bms", str(tmp_path / "fits.tsv"), "--out", str(tmp_path / "bms.tsv"),
                 "--winners", str(tmp_path / "winners.tsv")]) == 0
    capsys.readouterr()
    bms = pd.read_csv(tmp_path / "bms.tsv", sep="\t")
    assert set(bms.n) == {4}  # was 1: NA, null and None were read as missing and dropped
    winners = pd.read_csv(tmp_path / "winners.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert sorted(winners.participant_id) == ["NA", "None", "P1", "null"]


def test_validate_counts_contexts_and_refuses_nan_rt(tmp_path, capsys):
    table = _people("P1")
    write_table(table, tmp_path / "ok.tsv")
    assert main(["validate", str(tmp_path / "ok.tsv")]) == 0
    three = table.copy()
    three.loc[5, "context"] = "east"
    write_table(three, tmp_path / "three.tsv")
    assert main(["validate", str(tmp_path / "three.tsv")]) == 1
    assert "3 contexts" in capsys.readouterr().err
    text = (tmp_path / "ok.tsv").read_text().split("\n")
    cells = text[1].split("\t")
    cells[list(text[0].split("\t")).index("rt")] = "nan"
    (tmp_path / "nan.tsv").write_text("\n".join([text[0], "\t".join(cells), *text[2:]]))
    assert main(["validate", str(tmp_path / "nan.tsv")]) == 1
    assert "column 'rt' value 'nan'" in capsys.readouterr().err


# 2. bms --prior bounds (and a valid prior is used)
def test_bms_prior_must_be_positive_and_finite(tmp_path, capsys):
    trials = write_table(_people("P1", "P2"), tmp_path / "trials.tsv")
    assert main(["fit", str(trials), "--out", str(tmp_path / "fits.tsv"), "--models", "factorized,linear"]) == 0
    for bad in ("0", "-1", "nan", "inf"):
        assert main(["bms", str(tmp_path / "fits.tsv"), "--out", str(tmp_path / "b.tsv"), "--prior", bad]) == 2
        assert "--prior" in capsys.readouterr().err
    assert main(["bms", str(tmp_path / "fits.tsv"), "--out", str(tmp_path / "b.tsv"), "--prior", "2"]) == 0
    assert set(pd.read_csv(tmp_path / "b.tsv", sep="\t").alpha_prior) == {2.0}


# 3. arrange checks its outputs before the window opens
@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_arrange_refuses_a_read_only_out_before_any_window(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["arrange", "--participant", "P1", "--session", "1", "--phase", "pre", "--out", str(locked)]) == 2
        assert "cannot write" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_arrange_refuses_a_long_id_and_bad_texts_before_any_window(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)  # were a window opened, this would fail differently
    base = ["arrange", "--session", "1", "--phase", "pre", "--out", str(tmp_path)]
    assert main([*base, "--participant", "P" * 300]) == 2
    assert "participant" in capsys.readouterr().err
    strings = tmp_path / "s.toml"
    strings.write_text((REPO / "experiment/strings/arrangement_en.toml").read_text()
                       .replace('start = "', 'start = "{arrangement} ', 1))
    assert main([*base, "--participant", "P1", "--strings", str(strings)]) == 2
    assert "'start' has an unknown or broken {placeholder}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [strings]


# 4. partial results never pass as complete
def test_incomplete_sessions_are_refused_unless_asked_and_that_is_recorded(tmp_path, capsys):
    folder = tmp_path / "participants"
    for pid in ("P1", "P2"):
        path = folder / f"sub-{pid}" / "ses-1" / "beh" / f"sub-{pid}_ses-1_task-garden_beh.tsv"
        table = _people(pid)
        write_table(table if pid == "P1" else table.iloc[:60], path)
        path.with_suffix(".json").write_text(json.dumps({"completed": pid == "P1"}))
    assert main(["fit", str(folder), "--out", str(tmp_path / "fits.tsv")]) == 2
    assert "sub-P2_ses-1_task-garden_beh.tsv" in capsys.readouterr().err
    assert not (tmp_path / "fits.tsv").exists()
    assert main(["fit", str(folder), "--out", str(tmp_path / "fits.tsv"), "--include-incomplete"]) == 0
    sidecar = json.loads((tmp_path / "fits.json").read_text())
    assert sidecar["config"]["include_incomplete"] is True and sidecar["completed"] is True
    assert len(read_trials(folder, include_incomplete=True)) == 260


def test_a_cut_fits_table_is_not_compared_and_a_foreign_one_is_said_to_be(tmp_path, capsys):
    trials = write_table(_people("P1", "P2"), tmp_path / "trials.tsv")
    assert main(["fit", str(trials), "--out", str(tmp_path / "fits.tsv"), "--models", "factorized,linear"]) == 0
    sidecar = json.loads((tmp_path / "fits.json").read_text())
    (tmp_path / "fits.json").write_text(json.dumps({**sidecar, "completed": False}))  # as a fit killed mid-write
    capsys.readouterr()
    assert main(["bms", str(tmp_path / "fits.tsv"), "--out", str(tmp_path / "b.tsv")]) == 2
    err = capsys.readouterr().err
    assert "fits.json says completed: false" in err and "--include-incomplete" in err and len(err.splitlines()) == 1
    assert main(["bms", str(tmp_path / "fits.tsv"), "--out", str(tmp_path / "b.tsv"), "--include-incomplete"]) == 0
    assert json.loads((tmp_path / "b.json").read_text())["config"]["include_incomplete"] is True
    (tmp_path / "fits.json").unlink()  # BICs from another tool: no garden sidecar at all
    capsys.readouterr()
    assert main(["bms", str(tmp_path / "fits.tsv"), "--out", str(tmp_path / "c.tsv")]) == 0
    assert "foreign table" in capsys.readouterr().err


def test_stimuli_make_marks_the_set_complete_last(tmp_path, capsys):
    assert main(["stimuli", "make", "--out", str(tmp_path / "set"), "--exemplars", "1", "--size", "16"]) == 0
    manifest = json.loads((tmp_path / "set" / "manifest.json").read_text())
    assert manifest["completed"] is True and len(manifest["files"]) == 25
    assert main(["stimuli", "check", str(tmp_path / "set")]) == 0
    manifest["completed"] = False  # what an interrupted make leaves (written before the first tree)
    (tmp_path / "set" / "manifest.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    assert main(["stimuli", "check", str(tmp_path / "set")]) == 2
    assert "interrupted" in capsys.readouterr().err


def test_import_marks_completion_by_removing_its_marker(tmp_path):
    source = write_table(_people("P1", "P2"), tmp_path / "src.tsv")
    assert main(["import", str(source), "--out", str(tmp_path / "out")]) == 0
    assert not (tmp_path / "out" / "import-incomplete.json").exists()
    assert (tmp_path / "out" / "participants.tsv").exists()
    (tmp_path / "out" / "import-incomplete.json").write_text("{}")  # an import killed before participants.tsv
    with pytest.raises(ValueError, match="import into .* did not finish"):
        read_trials(tmp_path / "out")


# 5. no silent overwrites
def test_import_set_keeps_the_replaced_column(tmp_path):
    table = _people("P1")
    source = write_table(table, tmp_path / "src.tsv")
    assert main(["import", str(source), "--out", str(tmp_path / "out"), "--set", "session=2"]) == 0
    imported = read_trials(tmp_path / "out")
    assert set(imported.session) == {2} and set(imported.session_original) == {1}


def test_report_overwrite_replaces_only_a_report(tmp_path, capsys):
    (tmp_path / "results" / "tables").mkdir(parents=True)
    data = tmp_path / "results" / "trials.html"
    data.write_text("participant_id\tchoice\nP1\t1\n")
    assert main(["report", str(tmp_path / "results"), "--out", str(data), "--overwrite"]) == 2
    assert "not an HTML report" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "results"), "--out", str(tmp_path / "t.tsv")]) == 2
    assert data.read_text().startswith("participant_id")


# 7. bounds are documented and overridable
def test_limits_are_overridable_for_a_bigger_machine(monkeypatch):
    exemplars = bounded_int(1, "exemplars")
    with pytest.raises(argparse.ArgumentTypeError, match="GARDEN_MAX_EXEMPLARS"):
        exemplars(str(LIMITS["exemplars"] + 1))
    monkeypatch.setenv("GARDEN_MAX_EXEMPLARS", str(10 * LIMITS["exemplars"]))
    assert exemplars(str(LIMITS["exemplars"] + 1)) == LIMITS["exemplars"] + 1 and limit("exemplars") == 10_000
    docs = (REPO / "docs" / "user-errors.md").read_text()
    assert all(f"`{name}`" in docs for name in LIMITS)  # every bound is documented


# 9. clearer messages
def test_a_semicolon_csv_is_told_about_its_separator(tmp_path, capsys):
    text = write_table(_people("P1"), tmp_path / "t.tsv").read_text().replace("\t", ";")
    (tmp_path / "t.csv").write_text(text)
    assert main(["validate", str(tmp_path / "t.csv")]) == 1
    err = capsys.readouterr().err
    assert "semicolon-separated" in err and "--map" not in err


def test_bad_agent_parameters_name_the_parameter_and_range(tmp_path, capsys):
    assert main(["run", "--simulate", "factorized", "--participant", "P1", "--session", "1", "--out", str(tmp_path),
                 "--agent-params", "lapse=2"]) == 2
    assert "lapse=2.0 is out of range; use a number in 0..1" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


# 10. nothing written before a command fails
def test_sheet_refuses_before_drawing_when_its_sidecar_exists(tmp_path, capsys):
    assert main(["stimuli", "make", "--out", str(tmp_path / "set"), "--exemplars", "1", "--size", "16"]) == 0
    (tmp_path / "sheet.json").write_text("{}")
    assert main(["stimuli", "sheet", str(tmp_path / "set"), "--out", str(tmp_path / "sheet.png")]) == 2
    assert "sheet.json: already exists" in capsys.readouterr().err
    assert not (tmp_path / "sheet.png").exists()
    with pytest.raises(argparse.ArgumentTypeError):
        new_file(".png")(str(tmp_path / "sheet.png"))


# 11. the README's main command works when run again
def test_each_demo_run_gets_its_own_new_folder(tmp_path):
    now = dt.datetime(2026, 12, 1, 10, 0, 0, tzinfo=dt.timezone.utc)
    first, second = new_run_folder(tmp_path, now), new_run_folder(tmp_path, now)
    assert first.name == "2026-12-01T100000Z" and second.name == "2026-12-01T100000Z-2"
    assert first.is_dir() and second.is_dir() and not any(first.iterdir())
    makefile = (REPO / "Makefile").read_text()
    assert "garden demo --runs-in $(DEMO_OUT)" in makefile


def test_demo_refuses_bad_numbers_before_the_first_step(tmp_path, capsys):
    for option in ("--dpi=0", "--recovery-agents=0", "--dpi=100000", "--participants=100000", "--steps=1e8"):
        assert main(["demo", "--runs-in", str(tmp_path / "runs"), option]) == 2
        assert option.split("=")[0] in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_resumed_sweep_replaces_a_stray_merge_leftover(tmp_path):
    from garden.modeling.networks.config import SweepConfig, TrainConfig
    from garden.modeling.networks.sweep import DONE, load_results, prepare_sweep, train_sweep

    config = SweepConfig(scales=(1.0,), ctx_scales=(1.0,), seeds=(0,), train=TrainConfig(steps=5, threads=1),
                         noise_repeats=1)
    prepare_sweep(config, tmp_path / "sweep", 1)
    (tmp_path / "sweep" / "results.npz").write_bytes(b"half a zip")  # an interrupted merge
    (tmp_path / "sweep" / "summary.tsv").write_text("scale\n")
    out = train_sweep(config, tmp_path / "sweep", progress=False)
    assert (out / DONE).exists() and len(load_results(out).summary) == 1
    assert np.load(out / "results.npz")["loss"].shape[0] == 1


# 8. a resumed session must be the one that was interrupted
def test_resume_refuses_a_changed_recording(tmp_path):
    from garden.core.errors import UserError
    from garden.experiment.config import load_protocol
    from garden.experiment.simulate import simulate_session
    from garden.modeling.agents import get_agent

    protocol = load_protocol("flesch2022")
    path = simulate_session(protocol, "P005", 2, get_agent("random"), tmp_path)
    header, *rows = path.read_text().splitlines(keepends=True)
    choice = header.rstrip("\n").split("\t").index("choice")
    cells = rows[2].rstrip("\n").split("\t")
    cells[choice] = "7"  # edited by hand
    path.write_text(header + "".join(rows[:2]) + "\t".join(cells) + "\n" + "".join(rows[3:30]))
    sidecar = path.with_suffix(".json")
    info = json.loads(sidecar.read_text())
    info.get(PROVENANCE_KEY, info)["completed"] = False   # as a crash leaves it
    sidecar.write_text(json.dumps(info))
    with pytest.raises(UserError, match="column 'choice' value '7'.*changed"):
        simulate_session(protocol, "P005", 2, get_agent("random"), tmp_path, resume=True)
