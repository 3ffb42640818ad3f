"""Safe recording: append-and-flush tables, sidecars, refusal to overwrite, kill -9 and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from garden.core.bids import PROVENANCE_KEY
from garden.core.errors import UserError
from garden.core.trials import read_trials, session_path
from garden.experiment.config import load_protocol
from garden.experiment.recording import AppendTable, session_info
from garden.experiment.simulate import simulate_session
from garden.modeling.agents import get_agent

P2022 = load_protocol("flesch2022")
GARDEN = [sys.executable, "-m", "garden"]
REPO = Path(__file__).resolve().parents[1]


def _garden(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*GARDEN, *args], cwd=REPO, capture_output=True, text=True, timeout=120, **kwargs)


def test_append_table_refuses_existing_and_resumes_after_a_cut_line(tmp_path):
    path = tmp_path / "t.tsv"
    table = AppendTable(path, ["trial", "choice"])
    table.append({"trial": 1, "choice": 1.0})
    table.append({"trial": 2})
    table.close()
    assert path.read_text() == "trial\tchoice\n1\t1\n2\tn/a\n"
    with pytest.raises(UserError, match="already exists; refusing to overwrite"):
        AppendTable(path, ["trial", "choice"])
    with open(path, "a") as fh:  # a write cut by a crash
        fh.write("3\t")
    resumed = AppendTable(path, ["trial", "choice"], resume=True)
    assert resumed.rows_before == 2
    resumed.append({"trial": 3, "choice": 0})
    resumed.close()
    assert path.read_text() == "trial\tchoice\n1\t1\n2\tn/a\n3\t0\n"
    with pytest.raises(UserError, match="columns differ"):
        AppendTable(path, ["trial", "rt"], resume=True)


def test_simulated_session_writes_valid_table_sidecar_events_and_participants(tmp_path):
    agent = get_agent("factorized", {"slope": 4.0, "lapse": 0.02})
    path = simulate_session(P2022, "P005", 2, agent, tmp_path)
    table = read_trials(path)
    assert len(table) == 650 and table.trial.tolist() == list(range(1, 651))
    assert set(table.phase) == {"refresher", "scan"} and table.rule_code.eq(1).all()
    answered = table.dropna(subset=["choice"])
    assert answered.correct.mean() > 0.85  # a sharp factorized agent is mostly right
    assert (answered.reward_received == np.where(answered.choice == 1, answered.reward_value, 0)).all()
    sidecar = session_info(path)
    assert sidecar["completed"] is True and sidecar["end_utc"] and sidecar["seed"] == sidecar["assignment"]["seed"]
    assert sidecar["config"]["name"] == "flesch2022" and "numpy" in sidecar["software"]
    assert sidecar["agent"]["params"] == {"slope": 4.0, "lapse": 0.02}
    events = sorted((path.parent.parent / "func").glob("*_events.tsv"))
    assert [e.name.split("_")[3] for e in events] == [f"run-{r}" for r in range(1, 7)]
    run1 = pd.read_csv(events[0], sep="\t")
    answered_run1 = table[table.run == 1].choice.notna().sum()
    assert run1.trial_type.value_counts().to_dict() == {"cue": 100, "tree": 100, "response": answered_run1,
                                                         "trigger": 333}  # 666 s planned, TR 2 s
    planned = run1[run1.trial_type.isin(["cue", "tree"])]
    assert np.allclose(planned.onset, planned.planned_onset)
    participants = pd.read_csv(tmp_path / "participants.tsv", sep="\t")
    assert participants.participant_id.tolist() == ["sub-P005"] and participants.rule_code.tolist() == [1]


def test_a_second_run_is_refused_and_the_cli_says_so_in_one_line(tmp_path, small_protocol):
    args = ["run", "--participant", "P001", "--session", "1", "--simulate", "random", "--out", str(tmp_path),
            "--protocol", small_protocol]
    first = _garden(*args)
    assert first.returncode == 0, first.stderr
    before = session_path(tmp_path, "P001", 1).read_bytes()
    second = _garden(*args)
    assert second.returncode == 2 and "Traceback" not in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1 and "refusing to overwrite" in second.stderr
    assert session_path(tmp_path, "P001", 1).read_bytes() == before


def test_malformed_protocol_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "lab.toml"
    bad.write_text((REPO / "experiment/protocols/flesch2018.toml").read_text().replace("trials = 400", "trials = 410"))
    result = _garden("run", "--participant", "P001", "--session", "1", "--protocol", str(bad),
                     "--simulate", "random", "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "lab.toml: phases[0].trials" in line and "multiple of 50" in line
    assert not (tmp_path / "out").exists()


def _crash(path: Path, n_trials: int | None = None) -> None:
    """Leave a finished session as a crash would: its first ``n_trials`` rows, sidecar not completed."""
    if n_trials is not None:
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(lines[:1 + n_trials]))
    sidecar = path.with_suffix(".json")
    info = json.loads(sidecar.read_text())
    record = info.get(PROVENANCE_KEY, info)   # new layout: garden's record under its own key
    record.update(completed=False, end_utc=None)
    sidecar.write_text(json.dumps(info))


def test_resume_refuses_a_finished_session(tmp_path):
    simulate_session(P2022, "P004", 2, get_agent("random"), tmp_path)
    with pytest.raises(UserError, match="this session finished"):
        simulate_session(P2022, "P004", 2, get_agent("random"), tmp_path, resume=True)
    _crash(session_path(tmp_path, "P004", 2), 30)
    with pytest.raises(UserError, match="agent"):
        simulate_session(P2022, "P004", 2, get_agent("linear"), tmp_path, resume=True)


def _rows(path: Path) -> list[str]:
    return path.read_text().split("\n")


@pytest.mark.slow
def test_kill_9_loses_at_most_the_trial_in_progress_and_resume_completes_the_same_sequence(tmp_path, small_protocol):
    out = tmp_path / "killed"
    args = ["run", "--participant", "P003", "--session", "1", "--simulate", "learner", "--out", str(out),
            "--protocol", small_protocol]
    proc = subprocess.Popen([*GARDEN, *args, "--pace", "0.03"], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    path = session_path(out, "P003", 1)
    deadline = time.time() + 90
    while time.time() < deadline and not (path.exists() and path.read_text().count("\n") > 20):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    lines = _rows(path)
    complete = lines[1:-1]  # after the header; the last piece is '' or a cut line
    assert 20 <= len(complete) < 150
    assert [int(line.split("\t")[4]) for line in complete] == list(range(1, len(complete) + 1))
    assert all(len(line.split("\t")) == len(lines[0].split("\t")) for line in complete)

    resumed = _garden(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    reference = tmp_path / "reference"
    assert _garden("run", "--participant", "P003", "--session", "1", "--simulate", "learner",
                   "--out", str(reference), "--protocol", small_protocol).returncode == 0
    done, whole = read_trials(path), read_trials(session_path(reference, "P003", 1))
    columns = ["trial", "phase", "block", "context", "branchiness", "leafiness", "exemplar", "choice", "rt"]
    pd.testing.assert_frame_equal(done[columns], whole[columns])
    sidecar = session_info(path)
    assert sidecar["completed"] is True and sidecar["resumed"][0]["after_trial"] == len(complete)


def test_resume_refuses_a_contradicting_assignment(tmp_path):
    _crash(simulate_session(P2022, "P002", 2, get_agent("random"), tmp_path))
    with pytest.raises(UserError, match="rule_code 3 differs from the recorded 2"):
        simulate_session(P2022, "P002", 2, get_agent("random"), tmp_path, rule_code=3, resume=True)
    with pytest.raises(UserError, match="nothing to resume|missing"):
        simulate_session(P2022, "P009", 2, get_agent("random"), tmp_path, resume=True)


def test_resuming_inside_a_scanner_run_writes_a_new_run_file_timed_from_its_own_trigger(tmp_path):
    path = simulate_session(P2022, "P008", 2, get_agent("random"), tmp_path)
    full = read_trials(path)
    _crash(path, 60)  # crashed after 50 refresher + 10 scanner trials
    func = path.parent.parent / "func"
    run1 = func / "sub-P008_ses-2_task-garden_run-1_events.tsv"
    events = pd.read_csv(run1, sep="\t")
    run1.write_text(events[events.trial <= 60].to_csv(sep="\t", index=False, na_rep="n/a"))
    for later in func.glob("*_run-[2-6]_events.*"):
        later.unlink()
    simulate_session(P2022, "P008", 2, get_agent("random"), tmp_path, resume=True)
    resumed = pd.read_csv(func / "sub-P008_ses-2_task-garden_run-7_events.tsv", sep="\t")
    trees = resumed[resumed.trial_type == "tree"]
    assert trees.trial.tolist() == list(range(61, 151))  # the rest of planned run 1, in its own file
    assert trees.onset.iloc[0] == pytest.approx(10.0 + 1.0)  # lead-in + cue after the new trigger
    old = full[full.trial.between(61, 150)].onset.to_numpy()
    assert trees.onset.to_numpy() == pytest.approx(old - old[0] + 11.0)  # the same schedule, re-based
    assert pd.read_csv(run1, sep="\t").query("trial_type == 'tree'").trial.max() == 60  # untouched
    sidecar = session_info(path)
    assert sidecar["resumed"][-1]["planned_run"] == 1 and sidecar["resumed"][-1]["run_file"] == 7
    assert sidecar["scanner_runs"]["7"]["planned_run"] == 1 and sidecar["scanner_runs"]["7"]["n_trials"] == 90
    table = read_trials(path)
    assert table.planned_onset[table.trial == 61].item() == pytest.approx(11.0)
