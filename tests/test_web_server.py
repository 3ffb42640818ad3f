"""The browser task's server and site without a browser: the real starlette app over HTTP
(starlette's TestClient), the files it writes, and what it refuses."""

from __future__ import annotations

import functools
import io
import json
import logging
import math
import uuid
import zipfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from starlette.testclient import TestClient

from garden.cli import main
from garden.core.errors import UserError
from garden.core.responders import responder_rng
from garden.core.trials import read_trials, session_path
from garden.experiment.arrangement import data as ad
from garden.experiment.config import PROTOCOLS, load_protocol, parse_protocol
from garden.experiment.recording import session_info
from garden.experiment.session import key_for, plan_session
from garden.experiment.simulate import simulate_session
from garden.experiment.web.jatos import export_study, import_results
from garden.experiment.web.server import make_app
from garden.experiment.web.site import SHOWN_FIELDS, build_site, page_config, switches, write_shell
from garden.modeling.agents import get_agent
from garden.stimuli.trees import render_tree

TINY = {
    "name": "webtiny", "rule_code": 2, "curriculum": "interleaved",
    "timing": {"iti_s": 0.05, "cue_s": 0.1, "response_window_s": 1.0, "feedback_delay_s": 0.05,
               "feedback_s": 0.1, "too_slow_s": 0.1},
    "phases": [{"name": "training", "trials": 50, "max_trials": 6, "block_trials": 3},
               {"name": "test", "trials": 50, "max_trials": 4, "feedback": False}],
}
BROWSER = {"user_agent": "test", "window_px": [1280, 1024], "refresh_hz_measured": 60.0}


@pytest.fixture()
def protocol():
    return parse_protocol(json.loads(json.dumps(TINY)), "webtiny.toml")


@pytest.fixture()
def client(protocol, tmp_path):
    site = tmp_path / "site"
    write_shell(site, protocol, server=True)
    with TestClient(make_app(protocol, tmp_path / "participants", site)) as c:
        yield c


@functools.cache
def _planned(participant: str) -> list[dict]:
    """The planned rows of a participant's session 1 of TINY (what the page shows)."""
    protocol = parse_protocol(json.loads(json.dumps(TINY)), "webtiny.toml")
    return plan_session(protocol, participant, 1, "/nonexistent").sequence.to_dict("records")


def _report(trial: int, key: str | None, rt: float | None, participant: str = "P003") -> dict:
    onset = 1.0 * trial
    shown = {name: _planned(participant)[trial - 1][name] for name in SHOWN_FIELDS}
    return {"participant_id": participant, "session": 1, "trial": trial, "key": key, "rt_s": rt, **shown,
            "onset_s": onset, "cue_onset_s": onset - 0.1, "duration_s": 0.5,
            "key_onset_s": None if rt is None else onset + rt, "frames": 40,
            "frame_interval_median_s": 0.0167, "frame_interval_max_s": 0.02, "dropped_frames": 0}


def _begin(client, participant: str = "P003", session: int = 1):
    return client.post("/api/session", json={"participant_id": participant, "session": session, "browser": BROWSER})


def test_reports_of_the_agents_answers_give_the_simulated_table(client, protocol, tmp_path):
    agent = get_agent("factorized", {"rt_mean_s": 0.7})
    began = _begin(client).json()
    assert began["start"] == 0 and began["n_trials"] == 10 and began["trials"][0]["tree"].startswith("trees/B")
    run = plan_session(protocol, "P003", 1, tmp_path / "unused")
    assert [t["exemplar"] for t in began["trials"]] == run.sequence.exemplar.tolist()
    choices, rts = agent.respond(run.sequence, responder_rng(agent, run.assignment.seed), run.items)
    assert (rts > 1.0).any() and (rts <= 1.0).any()
    for i, trial in enumerate(began["trials"]):
        missed = rts[i] > 1.0
        key = None if missed else key_for(choices[i], trial["side_accept"], "f", "j")
        answer = client.post("/api/trial", json=_report(i + 1, key, None if missed else float(rts[i])))
        assert answer.status_code == 200, answer.text
        assert answer.json()["finished"] == (i == 9)
    web = read_trials(session_path(tmp_path / "participants", "P003", 1))
    sim = read_trials(simulate_session(protocol, "P003", 1, agent, tmp_path / "simulated"))
    same = ["trial", "context", "branchiness", "leafiness", "exemplar", "reward_value", "side_accept", "choice",
            "rt", "response_key", "correct", "reward_received", "timed_out", "block", "phase"]
    pd.testing.assert_frame_equal(web[same], sim[same], check_dtype=False)
    assert web.frame_interval_median_s.eq(0.0167).all() and web.key_onset.sub(web.onset).round(6).equals(
        web.rt.round(6))
    info = session_info(session_path(tmp_path / "participants", "P003", 1))
    assert info["score"] == web.reward_received.sum() and info["bonus"] is None  # TINY has no bonus rule
    assert info["completion_code"] == began["completion_code"] and len(began["completion_code"]) == 8


def test_the_bonus_rule_is_recorded_with_the_score(tmp_path):
    protocol = parse_protocol({**json.loads(json.dumps(TINY)), "bonus": {"per_point": 0.01, "minimum": 0.5,
                                                                           "currency": "£"}}, "bonus.toml")
    write_shell(tmp_path / "site", protocol, server=True)
    with TestClient(make_app(protocol, tmp_path / "participants", tmp_path / "site")) as client:
        _begin(client)
        for trial in range(1, 11):
            side = _planned("P003")[trial - 1]["side_accept"]
            key = "f" if side == "left" else "j"
            assert client.post("/api/trial", json=_report(trial, key, 0.5)).status_code == 200
    info = session_info(session_path(tmp_path / "participants", "P003", 1))
    planted = sum(row["reward_value"] for row in _planned("P003"))  # every tree planted
    assert info["score"] == planted and info["bonus"] == max(0.5, round(planted * 0.01, 2))
    assert page_config(protocol, server=True)["bonus"] == {"per_point": 0.01, "minimum": 0.5, "maximum": 0.0,
                                                          "currency": "£"}


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_shipped_protocols_give_whole_pixel_pages_and_trees(name, tmp_path):
    protocol = load_protocol(name)
    config = page_config(protocol, server=True)
    sizes = {k: v for k, v in config["display"].items() if k.endswith("_px") and k != "size_px"}
    assert all(isinstance(v, int) for v in sizes.values()) and sizes["tree_size_px"] == 443
    write_shell(tmp_path / "site", protocol, server=True)
    with TestClient(make_app(protocol, tmp_path / "participants", tmp_path / "site")) as client:
        trial = _begin(client, "P001").json()["trials"][0]
        tree = client.get(f"/{trial['tree']}")
    assert tree.status_code == 200 and Image.open(io.BytesIO(tree.content)).size == (443, 443)


@pytest.mark.parametrize("option, message", [
    (["--redirect-url", "javascript:alert(1)"], "not an http:// or https:// address"),
    (["--redirect-url", "file:///etc/passwd"], "not an http:// or https:// address"),
    (["--participants", "P001,P001"], "participant id P001 given twice"),
    (["--participants", "P001,,P002"], "an empty participant id"),
    (["--participants", " , "], "give participant ids"),
    (["--sessions", "1,1"], "session 1 given twice"),
])
@pytest.mark.parametrize("command", ["build", "jatos"])
def test_web_options_are_checked_before_any_work(command, option, message, tmp_path, capsys):
    out = tmp_path / ("site" if command == "build" else "study.jzip")
    given = option if option[0] == "--participants" else ["--participants", "P001", *option]
    status = main(["web", command, "--protocol", "flesch2018", "--out", str(out), *given])
    err = capsys.readouterr().err
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []


def test_serve_refuses_a_redirect_that_is_not_http(tmp_path, capsys):
    status = main(["web", "serve", "--redirect-url", "ftp://example.org", "--out", str(tmp_path / "p")])
    err = capsys.readouterr().err
    assert status == 2 and "not an http:// or https:// address" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "p").exists()


def test_a_reload_gets_the_next_trial_and_the_score(client, tmp_path):
    began = _begin(client).json()
    side = began["trials"][0]["side_accept"]
    accept = "f" if side == "left" else "j"
    assert client.post("/api/trial", json=_report(1, accept, 0.5)).status_code == 200
    again = _begin(client).json()
    assert again["start"] == 1 and again["score"] == began["trials"][0]["reward_value"]
    sidecar = session_info(session_path(tmp_path / "participants", "P003", 1))
    assert [r["after_trial"] for r in sidecar["reloads"]] == [1]


def test_a_new_server_resumes_after_the_last_recorded_trial(protocol, tmp_path):
    site = tmp_path / "site"
    write_shell(site, protocol, server=True)
    out = tmp_path / "participants"
    with TestClient(make_app(protocol, out, site)) as first:
        _begin(first)
        for trial in (1, 2):
            assert first.post("/api/trial", json=_report(trial, None, None)).status_code == 200
    with TestClient(make_app(protocol, out, site)) as second:
        assert _begin(second).json()["start"] == 2
        assert second.post("/api/trial", json=_report(2, None, None)).status_code == 409
        assert second.post("/api/trial", json=_report(3, None, None)).status_code == 200
    assert read_trials(session_path(out, "P003", 1), include_incomplete=True).trial.tolist() == [1, 2, 3]


BAD_TRIALS = [
    ({"trial": 2}, 409, "expected trial 1"),
    ({"key": "k"}, 400, "key"),
    ({"rt_s": 1.5}, 400, "rt_s"),
    ({"rt_s": -0.1}, 400, "rt_s"),
    ({"onset_s": 1e9}, 400, "onset_s"),
    ({"key": None}, 400, "both or neither"),
    ({"frames": 1.5}, 400, "frames"),
    ({"participant_id": "P004"}, 409, "no open session"),
    ({"participant_id": "../P003"}, 400, "invalid"),
    ({"extra": 1}, 400, "fields"),
    ({"exemplar": "zz"}, 409, "the page showed exemplar 'zz'"),
    ({"side_accept": "middle"}, 409, "side_accept 'middle'"),
]


@pytest.mark.parametrize("change, status, message", BAD_TRIALS)
def test_bad_trial_reports_are_refused_logged_and_not_written(client, tmp_path, caplog, change, status, message):
    _begin(client)
    path = session_path(tmp_path / "participants", "P003", 1)
    before = path.read_bytes()
    with caplog.at_level(logging.WARNING, logger="garden.web"):
        answer = client.post("/api/trial", json={**_report(1, "f", 0.5), **change})
    assert answer.status_code == status and message in answer.json()["error"], answer.text
    assert path.read_bytes() == before
    assert any(f"rejected {status} POST /api/trial" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("body, status", [
    ({"participant_id": "P 1", "session": 1, "browser": {}}, 400),
    ({"participant_id": "P001", "session": 0, "browser": {}}, 400),
    ({"participant_id": "P001", "session": 1, "browser": {"nested": {"a": 1}}}, 400),
    ({"participant_id": "P001", "session": 1}, 400),
    ({"participant_id": "P001", "session": 1, "browser": {}, "pad": "x" * 9000}, 413),
])
def test_bad_session_requests_write_nothing(client, tmp_path, caplog, body, status):
    with caplog.at_level(logging.WARNING, logger="garden.web"):
        answer = client.post("/api/session", json=body)
    assert answer.status_code == status, answer.text
    assert not (tmp_path / "participants").exists()
    assert any(f"rejected {status} POST /api/session" in r.getMessage() for r in caplog.records)


def test_not_json_and_unknown_routes(client, tmp_path):
    assert client.post("/api/trial", content=b"{not json").status_code == 400
    _begin(client)
    infinite = json.dumps({**_report(1, "f", 0.5), "onset_s": math.inf}).encode()
    assert b"Infinity" in infinite and client.post("/api/trial", content=infinite).status_code == 400
    assert len(read_trials_or_empty(session_path(tmp_path / "participants", "P003", 1))) == 0
    assert client.get("/api/trial").status_code == 404  # only POST reaches the recorder


def read_trials_or_empty(path) -> list[str]:
    """The data lines of a table (a session just begun has only its header)."""
    return path.read_text().splitlines()[1:]


def test_a_finished_session_is_never_reopened(client, tmp_path):
    _begin(client)
    for trial in range(1, 11):
        assert client.post("/api/trial", json=_report(trial, None, None)).status_code == 200
    path = session_path(tmp_path / "participants", "P003", 1)
    before = path.read_bytes(), path.with_suffix(".json").read_bytes()
    again = _begin(client)
    assert again.status_code == 409 and "already finished" in again.json()["error"]
    code = session_info(path)["completion_code"]
    assert again.json()["finished"] is True and again.json()["completion_code"] == code and len(code) == 8
    assert (path.read_bytes(), path.with_suffix(".json").read_bytes()) == before  # nothing new recorded


def test_trees_are_served_as_garden_run_renders_them(client, protocol):
    answer = client.get("/trees/B2L4_7.png")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    served = np.asarray(Image.open(io.BytesIO(answer.content)))
    assert np.array_equal(served, np.asarray(render_tree(2, 4, 7, protocol.display.tree_size_px,
                                                         seed=protocol.tree_seed)))
    assert client.get("/trees/B2L4_51.png").status_code == 404  # beyond the exemplar pool
    assert client.get("/trees/B6L4_1.png").status_code == 404
    page = client.get("/")
    assert page.status_code == 200 and "garden-task.js" in page.text
    assert client.get("/config.json").json()["server"] is True


def test_scanner_sessions_are_refused_online(tmp_path):
    protocol = load_protocol("flesch2022")
    site = tmp_path / "site"
    write_shell(site, protocol, server=True)
    with TestClient(make_app(protocol, tmp_path / "participants", site)) as c:
        answer = _begin(c, "P001", 2)
    assert answer.status_code == 400 and "garden run" in answer.json()["error"]
    with pytest.raises(UserError, match="not a browser session"):
        build_site(protocol, tmp_path / "built", participants=["P001"], sessions=[2])
    assert page_config(protocol, server=False)["sessions"] == [1]


def test_page_keys_and_build_refusals(protocol, tmp_path):
    keys = page_config(load_protocol("flesch2018"), server=False)
    assert keys["keys"] == {"left": "ArrowLeft", "right": "ArrowRight", "proceed": " "}
    assert keys["key_names"]["ArrowLeft"] == "left"
    bad = parse_protocol({**json.loads(json.dumps(TINY)), "keys": {"left": "f1"}}, "bad.toml")
    with pytest.raises(UserError, match="keys.left: key 'f1' has no browser equivalent"):
        page_config(bad, server=False)
    site = build_site(protocol, tmp_path / "site", participants=["P001", "P002"])
    assert sorted(p.name for p in (site / "sequences").iterdir()) == ["sub-P001_ses-1.json", "sub-P002_ses-1.json"]
    trees = json.loads((site / "sequences" / "sub-P001_ses-1.json").read_text())["trials"]
    assert all((site / t["tree"]).is_file() for t in trees)
    assert json.loads((site / "build.json").read_text())["jspsych"].startswith("8.")
    with pytest.raises(UserError, match="already exists"):
        build_site(protocol, tmp_path / "site", participants=["P001"])
    with pytest.raises(UserError, match="invalid"):
        build_site(protocol, tmp_path / "other", participants=["P-1"])
    assert not (tmp_path / "other").exists()


def _arrangement(client, number: int, final=None, **change):
    final = final if final is not None else [[0.1 * (i % 5) - 0.2, 0.1 * (i // 5) - 0.2] for i in range(25)]
    body = {"participant_id": "P001", "session": 1, "phase": "pre", "arrangement": number, "final": final,
            "moves": [1] * 25, "duration_s": 12.5, **change}
    return client.post("/api/arrangement", json=body)


def test_arrangements_are_checked_recorded_and_never_overwritten(client, tmp_path, caplog):
    begin = {"participant_id": "P001", "session": 1, "phase": "pre", "browser": BROWSER}
    setup = client.post("/api/arrangement/session", json=begin).json()
    assert setup["n_arrangements"] == 6 and len(setup["trees"]) == 25 and np.shape(setup["starts"]) == (6, 25, 2)
    files = ad.arrangement_files(tmp_path / "participants", "P001", 1, "pre")
    with caplog.at_level(logging.WARNING, logger="garden.web"):
        assert _arrangement(client, 1, final=[[0.95, 0.0]] * 25).status_code == 400  # outside the circle
        assert _arrangement(client, 2).status_code == 409
        assert _arrangement(client, 1, moves=[1] * 24).status_code == 400
        assert client.post("/api/arrangement/session", json={**begin, "phase": "p/re"}).status_code == 400
    assert not files.trees.exists() and sum("rejected" in r.getMessage() for r in caplog.records) == 4
    for number in range(1, 7):
        assert _arrangement(client, number).json()["finished"] == (number == 6)
    rdm = ad.read_rdm(files.rdm_npy)
    assert np.allclose(rdm, ad.participant_rdm(files.trees))
    again = client.post("/api/arrangement/session", json=begin)
    assert again.status_code == 409 and "never overwritten" in again.json()["error"]


# ------------------------------------------------------------------ JATOS

def test_jatos_study_archive_structure(protocol, tmp_path):
    archive = export_study(protocol, tmp_path / "study.jzip", participants=["P001", "P002"],
                           redirect_url="https://example.org/done")
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        jas_names = [n for n in names if n.endswith(".jas")]
        assert len(jas_names) == 1 and "/" not in jas_names[0]
        study = json.loads(z.read(jas_names[0]))
        folder = study["data"]["dirName"]
        assert all(n == jas_names[0] or n.startswith(folder + "/") for n in names)
        page = z.read(f"{folder}/index.html").decode()
        sequence = json.loads(z.read(f"{folder}/sequences/sub-P002_ses-1.json"))
        config = json.loads(z.read(f"{folder}/config.json"))
    # the fields of JATOS's own study archives (serial version 3)
    assert study["version"] == "3" and set(study["data"]) >= {"uuid", "title", "description", "active", "groupStudy",
                                                              "linearStudy", "dirName", "comments", "jsonData",
                                                              "endRedirectUrl", "componentList", "batchList"}
    component = study["data"]["componentList"][0]
    assert set(component) == {"uuid", "title", "htmlFilePath", "reloadable", "active", "comments", "jsonData"}
    assert f"{folder}/{component['htmlFilePath']}" in names and str(uuid.UUID(study["data"]["uuid"]))
    assert study["data"]["endRedirectUrl"] == config["redirect_url"] == "https://example.org/done"
    assert page.index('src="jatos.js"') < page.index('src="garden-task.js"')
    assert {f"{folder}/{t['tree']}" for t in sequence["trials"]} <= set(names)
    assert {f"{folder}/lib/jspsych.js", f"{folder}/garden-task.js"} <= set(names)
    again = export_study(protocol, tmp_path / "again.jzip", participants=["P001", "P002"])
    with zipfile.ZipFile(again) as z:
        assert json.loads(z.read(jas_names[0]))["data"]["uuid"] == study["data"]["uuid"]  # re-import updates
    with pytest.raises(UserError, match="already exists"):
        export_study(protocol, archive, participants=["P001"])


def _result_lines(protocol, tmp_path, participant: str = "P003") -> list[str]:
    """The lines a page appends in JATOS for a whole session answered by the agent."""
    agent = get_agent("factorized", {"rt_mean_s": 0.7})
    run = plan_session(protocol, participant, 1, tmp_path / "unused")
    choices, rts = agent.respond(run.sequence, responder_rng(agent, run.assignment.seed), run.items)
    lines = [json.dumps({"kind": "session", "participant_id": participant, "session": 1, "browser": BROWSER})]
    for i, side in enumerate(run.sequence.side_accept):
        missed = rts[i] > 1.0
        key = None if missed else key_for(choices[i], side, "f", "j")
        lines.append(json.dumps({"kind": "trial", **_report(i + 1, key, None if missed else float(rts[i]),
                                                            participant)}))
    return lines


def test_jatos_results_archive_imports_as_the_simulated_table(protocol, tmp_path):
    lines = _result_lines(protocol, tmp_path)
    reloaded = lines[:4] + [lines[0]] + lines[1:]  # the page reloaded after trial 3: trials 1-3 again
    archive = tmp_path / "results.jrzip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("metadata.json", "{}")
        z.writestr("study_result_7/comp-result_12/data.txt", "\n".join(reloaded) + "\n")
    counts = import_results(protocol, archive, tmp_path / "participants")
    assert counts == {"sessions": 1, "reloads": 1, "trials": 10, "skipped": 3}
    web = read_trials(session_path(tmp_path / "participants", "P003", 1))
    agent = get_agent("factorized", {"rt_mean_s": 0.7})
    sim = read_trials(simulate_session(protocol, "P003", 1, agent, tmp_path / "simulated"))
    same = ["trial", "exemplar", "side_accept", "choice", "rt", "response_key", "correct", "reward_received"]
    pd.testing.assert_frame_equal(web[same], sim[same], check_dtype=False)
    before = session_path(tmp_path / "participants", "P003", 1).read_bytes()
    with pytest.raises(UserError, match="already exists"):
        import_results(protocol, archive, tmp_path / "participants")
    assert session_path(tmp_path / "participants", "P003", 1).read_bytes() == before


def test_an_import_that_would_change_a_row_refuses(protocol, tmp_path):
    """A line whose shown tree is not the plan's (e.g. results of another build) and a trial answered
    twice differently are refused in one line; nothing is written."""
    lines = _result_lines(protocol, tmp_path)
    other = json.loads(lines[3])
    other["exemplar"] = "49" if other["exemplar"] != "49" else "48"
    text = tmp_path / "results.jsonl"
    text.write_text("\n".join(lines[:3] + [json.dumps(other)] + lines[4:]) + "\n")
    with pytest.raises(UserError, match=r"results.jsonl:4: trial 3: the page showed exemplar") as refused:
        import_results(protocol, text, tmp_path / "participants")
    assert "\n" not in str(refused.value) and not (tmp_path / "participants").exists()
    again = json.loads(lines[1])
    again["key"], again["rt_s"], again["key_onset_s"] = "j" if again["key"] == "f" else "f", 0.4, again["onset_s"] + 0.4
    text.write_text("\n".join(lines[:3] + [lines[0], json.dumps(again)] + lines[3:]) + "\n")
    with pytest.raises(UserError, match=r"results.jsonl:5: trial 1 of sub-P003 ses-1 was answered again differently"):
        import_results(protocol, text, tmp_path / "participants")
    assert not (tmp_path / "participants").exists()


def test_jatos_results_that_are_not_garden_records_are_refused(protocol, tmp_path):
    text = tmp_path / "results.txt"
    text.write_text(_result_lines(protocol, tmp_path)[0] + "\n{\"kind\": \"trial\", \"trial\": 1}\n")
    with pytest.raises(UserError, match=r"results.txt:2: fields"):
        import_results(protocol, text, tmp_path / "participants")
    assert not (tmp_path / "participants").exists()  # checked before writing
    text.write_text("hello\n")
    with pytest.raises(UserError, match=r"results.txt:1: not a JSON line"):
        import_results(protocol, text, tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_the_switch_message_comes_where_garden_run_shows_it():
    """flesch2022, blocked curriculum (P001): one message, before the first tree of the other garden in
    the main phase (trial 701: 50 training + 200 baseline + 450 main trials before it); none when interleaved."""
    protocol = load_protocol("flesch2022")
    blocked = plan_session(protocol, "P001", 1, "/nonexistent")
    marked = [i for i, switch in enumerate(switches(blocked)) if switch]
    seq = blocked.sequence
    assert blocked.assignment.curriculum == "blocked" and marked == [700]
    assert seq.phase.iloc[700] == "main" and seq.context.iloc[699] != seq.context.iloc[700]
    assert seq.iloc[250:700].context.nunique() == 1 and seq.iloc[700:].context.nunique() == 1
    interleaved = plan_session(protocol, "P005", 1, "/nonexistent")
    assert interleaved.assignment.curriculum == "interleaved" and not any(switches(interleaved))


def test_build_says_the_comprehension_check_is_not_run_online(tmp_path, capsys):
    """The page does not run the lab's comprehension check: `garden web build` names it (and the phase that asks
    for it) beside the other settings the page ignores; a protocol without one gets no such note."""
    asking = json.loads(json.dumps(TINY))
    asking["phases"][1]["comprehension"] = 3
    (tmp_path / "asking.toml").write_text(_toml(asking))
    (tmp_path / "plain.toml").write_text(_toml(TINY))
    for name in ("asking", "plain"):
        assert main(["web", "build", "--protocol", str(tmp_path / f"{name}.toml"), "--out", str(tmp_path / name),
                     "--participants", "P001"]) == 0
    asking_out, plain_out = capsys.readouterr().out.strip().splitlines()
    assert "ignored online: display.check_timing" in asking_out and "practice.criterion" in asking_out
    assert "NOT RUN online: the comprehension check of phase(s) test (3 right in a row)" in asking_out
    assert "ignored online" in plain_out and "NOT RUN" not in plain_out


def _toml(protocol: dict) -> str:
    """A protocol dict as TOML text (the few shapes TINY uses: scalars, one table, a list of tables)."""
    def value(v):
        return json.dumps(v) if not isinstance(v, bool) else str(v).lower()
    lines = [f"{k} = {value(v)}" for k, v in protocol.items() if not isinstance(v, (dict, list))]
    lines += ["[timing]", *(f"{k} = {value(v)}" for k, v in protocol["timing"].items())]
    for phase in protocol["phases"]:
        lines += ["[[phases]]", *(f"{k} = {value(v)}" for k, v in phase.items())]
    return "\n".join(lines) + "\n"
