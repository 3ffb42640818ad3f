"""The practice (``[practice]``): its protocol checks, reserved exemplars, trees, repeats until the
criterion, resume, what readers and analyses leave out, BIDS, and the real window under Xvfb (a
scanner session: the practice on the keyboard, the scan on the button box)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from starlette.testclient import TestClient

from garden.analysis.behaviour.choices import analysis_trials, fit_phase
from garden.core.errors import UserError
from garden.core.trials import PRACTICE_PHASE, read_trials, session_path
from garden.experiment.config import ARENA_EXEMPLARS, PRACTICE_EXEMPLARS, load_protocol
from garden.experiment.recording import session_info, sidecar_path
from garden.experiment.sequences import allocate_exemplars, assign, numbered_pool, session_sequence
from garden.experiment.session import key_for, plan_session, practice_attempts
from garden.experiment.simulate import simulate_session
from garden.experiment.web.server import make_app
from garden.experiment.web.site import SHOWN_FIELDS, page_config, write_shell
from garden.modeling.agents import get_agent
from garden_cli import run_garden
from protocol_texts import RANDOM_SIDES, protocol, scan_phase, timing

REPO = Path(__file__).resolve().parents[1]
PRACTICE = protocol("practised", "seed = 3\n[display]\ncheck_timing = false", timing(), """
[practice]
trials = 8
criterion = 7
max_repeats = 2
[[phases]]
name = "training"
trials = 50
[[phases]]
name = "test"
trials = 50
feedback = false
""")


def _protocol(tmp_path: Path, text: str = PRACTICE, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _garden(*args: str, timeout: float = 150) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "garden", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def test_practice_is_the_first_phase_of_its_sessions_and_recorded_as_the_file_gives_it(tmp_path):
    protocol = load_protocol(_protocol(tmp_path))
    assert [(p.name, p.trials, p.feedback) for p in protocol.phases] == [
        (PRACTICE_PHASE, 8, True), ("training", 50, True), ("test", 50, False)]
    assert protocol.practice.attempts == 3 and protocol.phases[0].keys == protocol.keys
    recorded = protocol.to_dict()
    assert [p["name"] for p in recorded["phases"]] == ["training", "test"] and recorded["practice"]["trials"] == 8
    assert "practice" not in load_protocol("flesch2022").to_dict()  # no practice: the hash of old sessions holds


@pytest.mark.parametrize("change, words", [
    ("trials = 7", "even number"),
    ("criterion = 9", "more than its 8 trials"),
    ("criterion = 0", "repeats need a criterion"),
    ("sessions = [2]", "practice.sessions"),
    ("trial = 8", "unknown key"),
])
def test_a_bad_practice_table_is_one_line(tmp_path, change, words):
    key = change.split(" = ")[0]
    block = "trials = 8\ncriterion = 7\nmax_repeats = 2\n"
    kept = "".join(line + "\n" for line in block.splitlines() if not line.startswith(f"{key} ="))
    text = PRACTICE.replace(block, kept + change + "\n")
    with pytest.raises(UserError, match=words):
        load_protocol(_protocol(tmp_path, text))


def test_a_phase_named_practice_is_refused(tmp_path):
    text = PRACTICE.replace('name = "test"', 'name = "practice"')
    with pytest.raises(UserError, match=r"phases\[1\].name: 'practice' is the label of the \[practice\]"):
        load_protocol(_protocol(tmp_path, text))


def test_practice_trees_are_reserved_exemplars_never_in_the_main_task_or_the_arena(tmp_path):
    protocol = load_protocol(_protocol(tmp_path))
    main_pool = {str(i) for i in range(1, protocol.exemplar_pool + 1)}
    for seed in range(20):
        allocation = allocate_exemplars(protocol, seed)
        practice = {e for cell in allocation[0].values() for e in cell}
        main = {e for phase in allocation[1:] for cell in phase.values() for e in cell}
        assert practice <= set(PRACTICE_EXEMPLARS) and main <= main_pool
        assert not practice & set(ARENA_EXEMPLARS) and not practice & main
    assert set(PRACTICE_EXEMPLARS).isdisjoint(ARENA_EXEMPLARS) and min(map(int, PRACTICE_EXEMPLARS)) == 1009
    # a stimulus set: the practice takes the set's exemplars, none of them again in a later phase
    allocation = allocate_exemplars(protocol, 5, numbered_pool(6))
    for cell in allocation[0]:
        taken = [e for phase in allocation for e in phase[cell]]
        assert len(taken) == len(set(taken)) == 3


def test_practice_trees_are_each_gardens_best_and_worst_half_and_half(tmp_path):
    protocol = load_protocol(_protocol(tmp_path))
    assignment = assign(protocol, "P001")
    seq = session_sequence(protocol, assignment, 1, practice_attempts=3)
    practice = seq[seq.phase == PRACTICE_PHASE]
    assert len(practice) == 24 and practice.block.tolist() == [1] * 8 + [2] * 8 + [3] * 8
    for _, attempt in practice.groupby("block"):
        assert attempt.context.value_counts().to_dict() == {"north": 4, "south": 4}
        assert sorted(attempt.reward_value) == [-50] * 4 + [50] * 4 and attempt.feedback.eq(1).all()
    # an added attempt leaves the earlier trials as they were
    one = session_sequence(protocol, assignment, 1)
    assert one.iloc[:8].equals(seq.iloc[:8]) and seq.trial.tolist() == list(range(1, len(seq) + 1))
    assert one.iloc[8:].drop(columns=["trial", "block"]).reset_index(drop=True).equals(
        seq.iloc[24:].drop(columns=["trial", "block"]).reset_index(drop=True))


def test_practice_repeats_until_the_criterion_and_readers_leave_it_out(tmp_path, capsys):
    protocol = load_protocol(_protocol(tmp_path))
    out = tmp_path / "participants"
    guessing = simulate_session(protocol, "P001", 1, get_agent("random"), out)
    knowing = simulate_session(protocol, "P002", 1, get_agent("factorized"), out)
    info = session_info(guessing)
    attempts = info["practice"]["attempts"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3] and not info["practice"]["passed"]  # at most 1 + 2
    assert all(a["correct"] < 7 for a in attempts) and info["n_trials"] == 24 + 100
    assert session_info(knowing)["practice"]["attempts"] == [{"attempt": 1, "trials": 8, "correct": 7, "passed": True}]
    every = read_trials(out, include_practice=True)
    assert (every.phase == PRACTICE_PHASE).sum() == 24 + 8
    table = read_trials(out)
    assert set(table.phase) == {"training", "test"} and len(table) == 200
    recorded = pd.read_csv(guessing, sep="\t")
    right = recorded[recorded.phase == PRACTICE_PHASE].groupby("block").correct.apply(lambda c: int((c == 1).sum()))
    assert right.tolist() == [a["correct"] for a in attempts]
    assert set(analysis_trials(every.drop(every.index[every.phase == "test"])).phase) == {"training"}
    assert fit_phase(every[every.phase != "test"], None) is None  # only training left: fitted as it is
    assert run_garden("validate", str(out)).stdout.strip() == (
        "valid: 200 trials (and 32 practice trials, left out of analyses), 2 participants, 2 sessions")


def test_a_resumed_session_plans_the_attempts_it_had_recorded(tmp_path):
    protocol = load_protocol(_protocol(tmp_path))
    agent = get_agent("random")
    whole = pd.read_csv(simulate_session(protocol, "P001", 1, agent, tmp_path / "a"), sep="\t")
    path = simulate_session(protocol, "P001", 1, agent, tmp_path / "b")
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:1 + 11]))  # a crash in the second attempt, after 11 trials
    info = json.loads(sidecar_path(path).read_text())
    info["GardenProvenance"]["completed"] = False
    sidecar_path(path).write_text(json.dumps(info))
    assert practice_attempts(protocol, pd.read_csv(path, sep="\t")) == 2
    assert plan_session(protocol, "P001", 1, tmp_path / "b", resume=True).practice_attempts == 2
    resumed = pd.read_csv(simulate_session(protocol, "P001", 1, agent, tmp_path / "b", resume=True), sep="\t")
    same = ["trial", "phase", "block", "context", "branchiness", "leafiness", "exemplar", "choice", "correct"]
    assert resumed[same].equals(whole[same])


def test_a_practised_session_is_valid_bids(tmp_path, bids_errors):
    out = tmp_path / "participants"
    simulate_session(load_protocol(_protocol(tmp_path)), "P001", 1, get_agent("random"), out)
    assert bids_errors(out) == []


def _web_report(trial: int, key: str | None, trials: list[dict]) -> dict:
    """A page's report of trial ``trial`` (1-based) of the payload ``trials`` it was shown."""
    shown = {name: trials[trial - 1][name] for name in SHOWN_FIELDS}
    return {"participant_id": "P001", "session": 1, "trial": trial, **shown, "key": key,
            "rt_s": None if key is None else 0.6,
            "onset_s": float(trial), "cue_onset_s": trial - 0.2, "duration_s": 1.5,
            "key_onset_s": None if key is None else trial + 0.6, "frames": 90, "frame_interval_median_s": 0.0167,
            "frame_interval_max_s": 0.02, "dropped_frames": 0}


def _right(payload: dict, trial: int, protocol) -> str:
    """The key of the right answer to trial ``trial`` (1-based) of a sequence payload."""
    t = payload["trials"][trial - 1]
    return key_for(float(t["reward_value"] > 0), t["side_accept"], protocol.keys.left, protocol.keys.right)


def test_the_browser_server_repeats_a_practice_below_the_criterion_and_resumes_with_the_repeat(tmp_path):
    """Through the real app: a missed attempt (0 of 8) makes the server plan a second one and send the
    new sequence; a reload in the middle of it resumes there; 8 of 8 right ends the practice.
    A static site cannot repeat (no server): its page config lists the criterion as ignored."""
    protocol = load_protocol(_protocol(tmp_path))
    served, static = page_config(protocol, server=True), page_config(protocol, server=False)
    assert PRACTICE_PHASE in served["phases"] and "practice.max_repeats" not in served["ignored"]
    assert {"practice.criterion", "practice.max_repeats"} <= set(static["ignored"])
    site, out = tmp_path / "site", tmp_path / "participants"
    write_shell(site, protocol, server=True)
    browser = {"user_agent": "test", "window_px": [1280, 1024], "refresh_hz_measured": 60.0}
    begin = {"participant_id": "P001", "session": 1, "browser": browser}
    with TestClient(make_app(protocol, out, site)) as first:
        trials = first.post("/api/session", json=begin).json()["trials"]
        assert [t["phase"] for t in trials] == [PRACTICE_PHASE] * 8 + ["training"] * 50 + ["test"] * 50
        assert first.get(trials[0]["tree"]).headers["content-type"] == "image/png"  # practice trees are served
        answers = [first.post("/api/trial", json=_web_report(trial, None, trials)).json() for trial in range(1, 9)]
        assert [a["practice"] for a in answers[:7]] == [None] * 7
        practice = answers[7]["practice"]
        assert (practice["correct"], practice["trials"], practice["again"]) == (0, 8, True)
        replanned = practice["payload"]
        assert replanned["start"] == 8 and replanned["n_trials"] == 116 and not answers[7]["finished"]
        assert [(t["phase"], t["block"]) for t in replanned["trials"][8:16]] == [(PRACTICE_PHASE, 2)] * 8
        assert replanned["trials"][16]["phase"] == "training"
        for trial in (9, 10):
            report = _web_report(trial, _right(replanned, trial, protocol), replanned["trials"])
            assert first.post("/api/trial", json=report).status_code == 200
    with TestClient(make_app(protocol, out, site)) as second:  # a new server: the page reloads mid-repeat
        again = second.post("/api/session", json=begin).json()
        assert again["start"] == 10 and again["n_trials"] == 116 and again["trials"][10]["block"] == 2
        for trial in range(11, 17):
            last = second.post("/api/trial", json=_web_report(trial, _right(again, trial, protocol),
                                                              again["trials"])).json()
        assert last["practice"] == {"correct": 8, "trials": 8, "again": False}
    table = read_trials(session_path(out, "P001", 1), include_practice=True, include_incomplete=True)  # still open
    practice_rows = table[table.phase == PRACTICE_PHASE]
    assert practice_rows.block.tolist() == [1] * 8 + [2] * 8 and practice_rows.trial.tolist() == list(range(1, 17))
    info = session_info(session_path(out, "P001", 1))
    assert [a["attempt"] for a in info["practice"]["attempts"]] == [1, 2] and info["n_trials"] == 116
    assert [a["correct"] for a in info["practice"]["attempts"]][0] == 0


SCANNER = protocol("practised-scan", "[display]\ncheck_timing = false", RANDOM_SIDES, timing(), """
[practice]
trials = 4
criterion = 4
max_repeats = 1
""", scan_phase(2))


@pytest.mark.display
@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("DISPLAY") or not shutil.which("xdotool"),
                    reason="needs an X display and xdotool (run under xvfb-run)")
def test_a_window_session_practises_on_the_keyboard_before_the_scan(tmp_path, bids_errors):
    protocol_path = _protocol(tmp_path, SCANNER)
    out = tmp_path / "participants"
    result = _garden("run", "--participant", "P002", "--session", "1", "--protocol", str(protocol_path),
                     "--simulate", "random", "--window", "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    simulated = pd.read_csv(simulate_session(load_protocol(protocol_path), "P002", 1, get_agent("random"),
                                             tmp_path / "simulated"), sep="\t")
    path = session_path(out, "P002", 1)
    table = pd.read_csv(path, sep="\t")
    practice = table[table.phase == PRACTICE_PHASE]
    info = session_info(path)
    # the random responder misses the criterion of 4 right out of 4 in its first attempt, as when simulated
    assert [a["attempt"] for a in info["practice"]["attempts"]] == [1, 2] and len(practice) == 8
    assert table.phase.tolist() == simulated.phase.tolist() == [PRACTICE_PHASE] * 8 + ["scan"] * 2
    answered = practice.choice.notna()
    assert answered.sum() >= 6 and set(practice.response_key[answered]) <= {"f", "j"}  # the keyboard
    assert set(table[table.phase == "scan"].response_key.dropna()) <= {"1", "2"}  # the button box
    assert np.array_equal(practice.choice[answered], simulated.choice[:8][answered])
    log = path.with_name("sub-P002_ses-1_task-garden_psychopy.log").read_text()
    assert "practise once more" in log and "End of the practice" in log and "First a short practice" in log
    assert read_trials(out).phase.eq("scan").all()
    assert bids_errors(out) == []


def test_each_sessions_practice_keeps_its_own_set_exemplars_on_day_two(tmp_path):
    text = PRACTICE.replace("max_repeats = 2\n", "max_repeats = 2\nsessions = [1, 2]\n") + \
        '[[phases]]\nname = "refresher"\nsession = 2\ntrials = 50\n'
    protocol = load_protocol(_protocol(tmp_path, text))
    out, pool = tmp_path / "participants", numbered_pool(6)
    first = simulate_session(protocol, "P001", 1, get_agent("factorized"), out, pool=pool)
    second = simulate_session(protocol, "P001", 2, get_agent("factorized"), out, pool=pool)  # linked: not refused
    day1, day2 = (pd.read_csv(p, sep="\t", dtype={"exemplar": str}) for p in (first, second))
    shown = {(r.branchiness, r.leafiness, r.exemplar) for r in day1.itertuples()}
    assert not shown & {(r.branchiness, r.leafiness, r.exemplar) for r in day2.itertuples()}  # no tree of day 1
    assert {"practice-ses-1", "practice-ses-2"} <= set(session_info(second)["exemplars"])
