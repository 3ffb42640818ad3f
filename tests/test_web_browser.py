"""The browser task end to end in a real headless Chromium (Debian's, driven by Playwright).

A short protocol (4 training trials with feedback and a break, 2 test trials) is served by
``garden web serve`` (or by its app in this process, ``AppServer``, where the process is not what a test
is about); a simulated participant (``garden.modeling.agents``) answers by pressing the real
keys after its planned RTs. The server's table must pass ``garden validate`` and equal, trial by
trial, what ``garden run --simulate`` writes for the same id; a reload and a killed server must
lose nothing but the trial in progress; the site must load nothing from other hosts; the tree
screen must match PsychoPy's screenshot of the same trial.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import uvicorn
from PIL import Image

from garden.core.errors import UserError
from garden.core.responders import responder_rng
from garden.core.trials import read_trials, session_path
from garden.experiment.arrangement import data as ad
from garden.experiment.config import PROTOCOLS, load_protocol
from garden.experiment.recording import session_info
from garden.experiment.session import key_for, plan_session
from garden.experiment.simulate import simulate_session
from garden.experiment.web.jatos import import_results
from garden.experiment.web.server import make_app
from garden.experiment.web.site import browser_key, write_shell
from garden.modeling.agents import get_agent
from garden_cli import run_garden
from protocol_texts import RANDOM_SIDES, protocol, timing, training_phase
from report_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.slow, pytest.mark.browser]
if not Path(CHROMIUM).exists():
    pytest.skip("needs Debian's chromium (scripts/system-deps.sh installs it)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

REPO = Path(__file__).resolve().parents[1]
TINY = protocol("webtiny", """
[display]
size_px = [1280, 1024]
check_timing = false
realtime_priority = false
""", RANDOM_SIDES, timing(iti_s=0.05, cue_s=0.1, response_window_s=1.0, feedback_delay_s=0.05, feedback_s=0.1,
                         too_slow_s=0.1), training_phase(4), """
[[phases]]
name = "test"
trials = 50
max_trials = 2
feedback = false
""")
AGENT, AGENT_PARAMS = "factorized", "rt_mean_s=0.7"
WINDOW_S = 1.0
ANSWERED = {"text", "switch", "tree", "end", "error"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("protocol") / "webtiny.toml"
    path.write_text(TINY)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``garden web serve`` in a subprocess (so it can be killed like a real one), with its own temporary
    folder (``tmp``, beside ``log``: TMPDIR), where it writes the page shell it serves."""

    def __init__(self, protocol: Path, out: Path, log: Path, *args: str):
        self.protocol, self.out, self.log, self.port, self.args = protocol, out, log, _free_port(), args
        self.tmp = log.with_name("server-tmp")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> "Server":
        self.tmp.mkdir(exist_ok=True)
        self.proc = subprocess.Popen([sys.executable, "-m", "garden", "web", "serve", "--protocol", str(self.protocol),
                                      "--out", str(self.out), "--port", str(self.port), *self.args], cwd=REPO,
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "a"),
                                     env={**os.environ, "TMPDIR": str(self.tmp)})
        for _ in range(600):  # up to 30 s on a loaded machine
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError(self.log.read_text())

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class AppServer:
    """The app ``garden web serve`` runs (``make_app`` on the page shell ``serve`` writes), in a thread of this
    process: for tests of what the server does, not of its process (``Server`` runs the command; its start-up,
    1-3 s of imports, was most of these tests' wait on a loaded machine). ``stop`` shuts it down as SIGTERM
    shuts the command down (open sessions closed, resumable)."""

    def __init__(self, protocol: Path, out: Path, *, n_arrangements: int = 6, redirect_url: str = ""):
        self.protocol, self.out, self.port = load_protocol(protocol), out, _free_port()
        self.n_arrangements, self.redirect_url = n_arrangements, redirect_url
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> AppServer:
        self.site = tempfile.TemporaryDirectory(prefix="garden-site-")
        write_shell(Path(self.site.name), self.protocol, server=True, redirect_url=self.redirect_url)
        app = make_app(self.protocol, self.out, self.site.name, n_arrangements=self.n_arrangements)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    log_config=None))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the app did not start"
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)
            self.site.cleanup()
            self.thread = None


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _closed_pages(request):
    """Close the pages a test opened once it ends: an open task page draws on every frame (its frame log), and
    pages left open by earlier tests took CPU from the real-time trials of later ones on a loaded machine."""
    yield
    if "browser" in request.fixturenames:
        for context in request.getfixturevalue("browser").contexts:
            context.close()


def _page(browser, requests: list[str]):
    page = browser.new_page(viewport={"width": 1280, "height": 1024})
    page.on("request", lambda r: requests.append(r.url))
    return page


def _answers(protocol, participant: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The planned sequence and the agent's choices and RTs (as `garden run --simulate` draws them)."""
    run = plan_session(protocol, participant, 1, "/nonexistent")
    agent = get_agent(AGENT, {"rt_mean_s": 0.7})
    choices, rts = agent.respond(run.sequence, responder_rng(agent, run.assignment.seed), run.items)
    return run.sequence, choices, rts


def _wait_screen(page, last: str, timeout_ms: float = 15000) -> tuple[str, int | None, str]:
    page.wait_for_function(f"document.body.dataset.step !== {last!r} && "
                           f"{sorted(ANSWERED)!r}.includes(document.body.dataset.screen)", timeout=timeout_ms)
    screen, trial, step = page.evaluate("[document.body.dataset.screen, document.body.dataset.trial, "
                                        "document.body.dataset.step]")
    return screen, (int(trial) if trial else None), step


def drive(page, seq, choices, rts, *, until_tree: int | None = None, shot: Path | None = None,
          window_s: float = WINDOW_S, keys: tuple[str, str] = ("f", "j"),
          pressed: dict[int, tuple[float, float]] | None = None) -> str:
    """Answer every screen like the agent: proceed on texts, its key after its RT on trees (none when
    the RT is beyond the window ``window_s``). Stops at the end screen, or when the tree of ``until_tree``
    is up; returns the last screen. ``shot``: screenshot of the first tree screen (before answering);
    ``keys``: the protocol's left and right keys (Playwright names); ``pressed``: filled with trial -> (earliest,
    latest) time the key can have gone down, in s from the tree's onset on the page's clock (``press_window``)."""
    last = page.evaluate("document.body.dataset.step || ''")
    while True:
        screen, trial, last = _wait_screen(page, last)
        if screen == "end":
            page.keyboard.press(" ")
            page.wait_for_function("document.body.dataset.screen === 'done'")
            return screen
        if screen == "error" or (screen == "tree" and trial == until_tree):
            return screen
        if screen in ("text", "switch"):
            page.keyboard.press(" ")
            continue
        if shot is not None:
            page.screenshot(path=str(shot))
            shot = None
        i = trial - 1
        if rts[i] <= window_s:
            window = press_window(page, rts[i], key_for(choices[i], seq.side_accept.iloc[i], *keys))
            if pressed is not None:
                pressed[trial] = window


def press_window(page, rt_s: float, key: str) -> tuple[float, float]:
    """Press ``key`` ``rt_s`` after the tree's onset (at once when that is past) and return the (earliest, latest)
    time the key can have gone down, in s from the onset on the page's clock: the page's time when this was
    called plus the sleep, and its time once the press was dispatched (Chromium answers Playwright's key-down
    after the page handled it). Every delay of the test's own (Python, Playwright, a busy machine) falls inside."""
    shown_s = page.evaluate("performance.now() - Number(document.body.dataset.time)") / 1000
    wait_s = max(0.0, rt_s - shown_s)
    time.sleep(wait_s)
    page.keyboard.press(key)
    return shown_s + wait_s, page.evaluate("performance.now() - Number(document.body.dataset.time)") / 1000


def _garden(*args: str) -> subprocess.CompletedProcess:
    return run_garden(*args)  # in this process: the server is the process under test


SAME = ["participant_id", "session", "phase", "block", "trial", "context", "branchiness", "leafiness", "exemplar",
        "reward_value", "side_accept", "feedback", "choice", "response_key", "correct", "reward_received",
        "timed_out"]


@pytest.fixture(scope="module")
def served(tiny, browser, tmp_path_factory):
    """P003 run through the browser and served; the same id simulated by `garden run --simulate`."""
    root = tmp_path_factory.mktemp("served")
    server = Server(tiny, root / "participants", root / "server.log").start()
    requests: list[str] = []
    try:
        page = _page(browser, requests)
        page.goto(f"{server.url}?participant=P003&session=1")
        seq, choices, rts = _answers(load_protocol(tiny), "P003")
        pressed: dict[int, tuple[float, float]] = {}
        assert drive(page, seq, choices, rts, pressed=pressed) == "end"
        page.close()
    finally:
        server.stop()
    # SIGTERM (a service manager's stop) ends it as Ctrl-C does: shut down, exit 0, its page folder removed
    assert server.proc.returncode == 0 and list(server.tmp.iterdir()) == [], (server.proc.returncode,
                                                                               list(server.tmp.iterdir()))
    sim = _garden("run", "--participant", "P003", "--session", "1", "--protocol", str(tiny), "--simulate", AGENT,
                  "--agent-params", AGENT_PARAMS, "--out", str(root / "simulated"))
    assert sim.returncode == 0, sim.stderr
    return {"root": root, "server": server, "requests": requests, "rts": rts, "pressed": pressed,
            "table": session_path(root / "participants", "P003", 1),
            "simulated": session_path(root / "simulated", "P003", 1)}


def test_browser_table_validates_and_equals_the_simulated_session(served):
    valid = _garden("validate", str(served["table"]))
    assert valid.returncode == 0 and "valid: 6 trials" in valid.stdout, valid.stdout + valid.stderr
    web, sim = read_trials(served["table"]), read_trials(served["simulated"])
    assert len(web) == len(sim) == 6
    assert web.timed_out.sum() == 1 and sim.timed_out.sum() == 1  # the agent's 1.1 s RT: too slow
    pd.testing.assert_frame_equal(web[SAME], sim[SAME], check_dtype=False)
    # each recorded RT lies in the window the press was made in, measured on the page's clock (1 ms: the page's
    # clock is coarsened; RTs are kept to the microsecond); no bound on the test's own latency (a busy machine)
    windows = served["pressed"]
    assert sorted(windows) == web.trial[web.rt.notna()].tolist() == list(np.flatnonzero(served["rts"] <= WINDOW_S) + 1)
    for trial, (earliest, latest) in windows.items():
        rt = web.rt[web.trial == trial].item()
        assert earliest - 0.001 <= rt <= latest + 0.001, (trial, earliest, rt, latest)
    assert list(web.columns[: len(sim.columns)]) == list(sim.columns)  # same layout, browser timing after it


def test_browser_timing_and_sidecar(served):
    web = read_trials(served["table"])
    # headless Chromium paints at 60 Hz
    assert web.frame_interval_median_s.between(0.012, 0.021).all(), web.frame_interval_median_s
    assert (web.frames > 10).all() and web.dropped_frames.ge(0).all()
    assert np.allclose(web.key_onset - web.onset, web.rt, atol=2e-6, equal_nan=True)
    assert (np.diff(web.onset) > 0).all() and (web.cue_onset + 0.1 - web.onset).abs().max() < 0.025
    raw = json.loads(served["table"].with_suffix(".json").read_text())
    sidecar = session_info(served["table"])
    assert sidecar["completed"] is True and sidecar["mode"] == "browser"
    browser = sidecar["browser"]
    assert "Chrome" in browser["user_agent"] and browser["window_px"] == [1280, 1024]
    assert 55 < browser["refresh_hz_measured"] < 65 and browser["jspsych"].startswith("8.")
    assert "frame_interval_median_s" in raw and "onset" in raw   # one BIDS entry per column
    log = (served["root"] / "server.log").read_text()
    assert "sub-P003 ses-1: started at trial 1" in log and "finished (6 trials)" in log


def test_site_loads_nothing_from_other_hosts(served):
    requests = served["requests"]
    assert any(r.endswith("lib/jspsych.js") for r in requests) and any("/trees/" in r for r in requests)
    assert all(r.startswith(served["server"].url) for r in requests), [r for r in requests
                                                                         if not r.startswith(served["server"].url)]


def test_the_link_of_a_finished_session_shows_it_is_finished_and_records_nothing(tiny, browser, served):
    """P003's link opened again after the session ended (the server restarted meanwhile): the page says the
    session is already finished, shows its completion code, and not one byte of its files changes."""
    out, table = served["root"] / "participants", served["table"]
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    server = AppServer(tiny, out).start()
    try:
        page = _page(browser, [])
        page.goto(f"{server.url}?participant=P003&session=1")
        page.wait_for_function("document.body.dataset.screen === 'done'")
        text = page.inner_text("body")
    finally:
        server.stop()
    code = session_info(table)["completion_code"]
    assert "already finished this session" in text and f"completion code: {code}" in text, text
    assert "close this tab" in text and "does not open a session" not in text
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before


def test_reload_mid_session_resumes_without_loss_or_duplicates(tiny, browser, tmp_path):
    server = AppServer(tiny, tmp_path / "participants").start()
    seq, choices, rts = _answers(load_protocol(tiny), "P001")
    try:
        page = _page(browser, [])
        page.goto(f"{server.url}?participant=P001&session=1")
        assert drive(page, seq, choices, rts, until_tree=4) == "tree"
        page.reload()  # trial 4 in progress: not recorded, shown again
        assert drive(page, seq, choices, rts) == "end"
    finally:
        server.stop()
    path = session_path(tmp_path / "participants", "P001", 1)
    table = read_trials(path)
    assert table.trial.tolist() == list(range(1, 7))
    assert table.exemplar.astype(str).tolist() == seq.exemplar.astype(str).tolist()
    sidecar = session_info(path)
    assert [r["after_trial"] for r in sidecar["reloads"]] == [3] and sidecar["completed"] is True


def test_killed_server_loses_at_most_the_trial_in_progress(tiny, browser, tmp_path):
    out = tmp_path / "participants"
    server = Server(tiny, out, tmp_path / "server.log").start()
    seq, choices, rts = _answers(load_protocol(tiny), "P002")
    path = session_path(out, "P002", 1)
    try:
        page = _page(browser, [])
        page.goto(f"{server.url}?participant=P002&session=1")
        assert drive(page, seq, choices, rts, until_tree=4) == "tree"
        server.kill()  # SIGKILL while trial 4 is on screen
        assert len(read_trials(path, include_incomplete=True)) == 3  # the server died: still open
        assert drive(page, seq, choices, rts) == "error"  # trial 4 could not be recorded: the page stops
        assert "connection" in page.inner_text("body")
        assert len(read_trials(path, include_incomplete=True)) == 3
        server.start()
        page.reload()
        assert drive(page, seq, choices, rts) == "end"
    finally:
        server.stop()
    table = read_trials(path)
    assert table.trial.tolist() == list(range(1, 7))
    sidecar = session_info(path)
    assert sidecar["completed"] is True and [r["after_trial"] for r in sidecar["resumed"]] == [3]


# ------------------------------------------------------------------ the static site vs PsychoPy

PSYCHOPY_SHOT = """
import sys, threading
from garden.experiment.config import load_protocol
from garden.experiment.present import Screen, Trees
from garden.experiment.session import plan_session
protocol = load_protocol(sys.argv[1])
trial = plan_session(protocol, "P005", 1, "/nonexistent").sequence.iloc[0].to_dict()
screen = Screen(protocol, screenshots=__import__("pathlib").Path(sys.argv[2]))
screen.set_tree(Trees(protocol).image(trial["branchiness"], trial["leafiness"], trial["exemplar"]))
screen._flip(screen.trial_screen(trial), shot="tree")
screen.close()
for t in threading.enumerate():
    if t is not threading.main_thread():
        t.join()
"""
CENTRE = (512, 640)  # row, column
BACKGROUND = np.array([128, 128, 128])


def _labels(image: np.ndarray) -> dict[str, tuple[int, int]]:
    """Width and centre column (pixels) of the text on each side, outside the frame."""
    changed = np.abs(image - BACKGROUND).sum(axis=2) > 60
    r, c = CENTRE
    out = {}
    for side, cols in (("left", np.s_[: c - 300]), ("right", np.s_[c + 300:])):
        band = changed[r - 60:r + 60, cols]
        xs = np.flatnonzero(band.any(axis=0)) + (0 if side == "left" else c + 300)
        out[side] = (int(xs.max() - xs.min()), int((xs.max() + xs.min()) // 2))
    return out


@pytest.fixture(scope="module")
def static_site(tiny, tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    built = _garden("web", "build", "--protocol", str(tiny), "--out", str(root / "site"), "--participants", "P005")
    assert built.returncode == 0, built.stderr
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root / "site"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def static_run(tiny, browser, static_site):
    """P005 run on the static site: the page's records, its downloaded results, a tree screenshot."""
    root, url = static_site
    requests: list[str] = []
    page = _page(browser, requests)
    page.goto(f"{url}index.html?participant=P005&session=1")
    seq, choices, rts = _answers(load_protocol(tiny), "P005")
    with page.expect_download() as download:
        assert drive(page, seq, choices, rts, shot=root / "browser-tree.png") == "end"
    download.value.save_as(root / "results.jsonl")
    records = page.evaluate("window.gardenJsPsych.data.get().filter({trial_type: 'garden-trial'}).values()"
                            ".map((d) => d.garden)")
    page.close()
    return {"root": root, "url": url, "requests": requests, "records": records, "rts": rts,
            "results": root / "results.jsonl"}


def test_static_site_runs_from_a_plain_static_host(static_run):
    records, rts, url = static_run["records"], static_run["rts"], static_run["url"]
    assert [r["trial"] for r in records] == list(range(1, 7))
    assert [r["key"] is None for r in records[1:]] == list(rts[1:] > WINDOW_S)  # trial 1 waited for the screenshot
    assert all(r.startswith(url) for r in static_run["requests"])
    assert not any("/api/" in r for r in static_run["requests"])


def test_downloaded_results_import_to_the_simulated_table(tiny, static_run, tmp_path):
    lines = [json.loads(line) for line in static_run["results"].read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["session"] + ["trial"] * 6
    out = tmp_path / "participants"
    imported = _garden("import", "--web", str(static_run["results"]), "--protocol", str(tiny), "--out", str(out))
    assert imported.returncode == 0 and "1 session(s), 6 trial(s)" in imported.stdout, imported.stderr
    web = read_trials(session_path(out, "P005", 1)).iloc[1:]  # validated; trial 1 waited for the screenshot
    agent = get_agent(AGENT, {"rt_mean_s": 0.7})  # what `garden run --simulate` runs
    simulated = read_trials(simulate_session(load_protocol(tiny), "P005", 1, agent, tmp_path / "simulated")).iloc[1:]
    pd.testing.assert_frame_equal(web[SAME], simulated[SAME], check_dtype=False)
    with pytest.raises(UserError, match="already exists"):
        import_results(load_protocol(tiny), static_run["results"], out)


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="the PsychoPy screenshot needs xvfb-run")
def test_tree_screen_matches_the_psychopy_screenshot(tiny, static_run):
    root = static_run["root"]
    shot = root / "browser-tree.png"
    # on an X server of its own: a window on the run's display could take a display test's clicks (conftest.py)
    done = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", sys.executable, "-c", PSYCHOPY_SHOT,
                           str(tiny), str(root / "psychopy")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    web = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    ref = np.asarray(Image.open(root / "psychopy" / "tree.png").convert("RGB")).astype(int)
    assert web.shape == ref.shape == (1024, 1280, 3)
    trial = plan_session(load_protocol(tiny), "P005", 1, "/nonexistent").sequence.iloc[0]
    colour = load_protocol(tiny).display.context_colours[trial.context]
    r, c = CENTRE
    frame = np.zeros(web.shape[:2], bool)
    frame[r - 300:r + 300, c - 300:c + 300] = True
    frame[r - 260:r + 260, c - 260:c + 260] = False
    assert (web[frame] == colour).all() and (ref[frame] == colour).all()  # the whole ring, both screens
    tree = np.s_[r - 222:r + 221, c - 222:c + 221]
    diff = np.abs(web[tree] - ref[tree])
    assert diff.max() <= 3 and diff.mean() < 0.05, (diff.max(), diff.mean())
    web_labels, ref_labels = _labels(web), _labels(ref)
    accept = trial.side_accept
    reject = "left" if accept == "right" else "right"
    for labels in (web_labels, ref_labels):  # "reject" is the longer word: it is on the reject side
        assert labels[reject][0] > labels[accept][0], labels
    for side in ("left", "right"):
        assert abs(web_labels[side][1] - ref_labels[side][1]) <= 12, (web_labels, ref_labels)


# ------------------------------------------------------------------ the arrangement task

TARGETS = [(-0.4, 0.3), (0.35, 0.35), (0.0, -0.45), (-0.3, -0.2), (0.4, -0.1), (0.05, 0.05)]
"""Where the test drags six trees (arena-radius units); the other 19 stay on the start ring."""


def test_arrangement_dragged_with_the_mouse_gives_the_rdm_of_its_positions(tiny, browser, tmp_path):
    out = tmp_path / "participants"
    server = AppServer(tiny, out, n_arrangements=2).start()
    try:
        page = _page(browser, [])
        page.goto(f"{server.url}arrange.html?participant=P007&session=1&phase=pre")
        radius, centre = 0.45 * 1024, np.array([640, 512])
        to_px = lambda xy: centre + np.array([xy[0], -xy[1]]) * radius  # noqa: E731 - arena units -> pixels
        dragged = {}
        for arrangement, shift in ((1, 0), (2, 7)):
            page.wait_for_function(f"document.body.dataset.screen === 'start' && "
                                   f"document.body.dataset.arrangement === '{arrangement}'")
            page.keyboard.press(" ")
            page.wait_for_function("document.body.dataset.screen === 'arena'")
            page.wait_for_function("[...document.querySelectorAll('img.garden-tree')].every((i) => i.complete)",
                                   timeout=60000)
            assert page.evaluate("[...document.querySelectorAll('img.garden-tree')].map((i) => i.naturalWidth)") \
                == [443] * 25  # the arena's trees are served (rendered as `garden arrange` renders them)
            for k, target in enumerate(TARGETS):
                tree = page.locator(f"img.garden-tree[data-index='{k + shift}']").bounding_box()
                grab = np.array([tree["x"] + tree["width"] / 2, tree["y"] + tree["height"] / 2]) + (3, -2)
                page.mouse.move(*grab)
                page.mouse.down()
                page.mouse.move(*to_px(target) + (3, -2), steps=4)
                page.mouse.up()
                dragged[(arrangement, k + shift)] = target
            page.click("button.garden-done")
        page.wait_for_function("document.body.dataset.screen === 'end'")
    finally:
        server.stop()
    files = ad.arrangement_files(out, "P007", 1, "pre")
    table = ad.read_arrangements(files.trees)
    sidecar = json.loads(files.sidecar.read_text())
    assert sidecar["config"]["mode"] == "browser" and sidecar["seed"] == sidecar["config"]["seed"]
    start, final = ad.positions(table, "start"), ad.positions(table, "final")
    assert np.allclose(start, ad.start_layouts(sidecar["seed"], 2))  # the session seed's layouts
    moved = np.zeros((2, 25), bool)
    for (arrangement, tree), target in dragged.items():
        assert np.allclose(final[arrangement - 1, tree], target, atol=1.5 / radius), (arrangement, tree)
        moved[arrangement - 1, tree] = True
    assert np.array_equal(final[~moved], start[~moved])
    moves = table.sort_values(["arrangement", "branchiness", "leafiness"]).moves.to_numpy().reshape(2, 25)
    assert np.array_equal(moves, moved.astype(int))
    rdm = ad.read_rdm(files.rdm_npy)
    assert np.allclose(rdm, ad.arrangement_rdm(final)) and np.allclose(rdm, ad.read_rdm(files.rdm_tsv))
    assert rdm.shape == (25, 25) and np.allclose(rdm, rdm.T) and rdm.max() <= 1


# ------------------------------------------------------------------ jsPsych's simulation mode

def test_jspsych_simulation_mode_records_whole_sessions(tiny, browser, tmp_path):
    server = AppServer(tiny, tmp_path / "participants")
    completion = f"{server.url}?completed=1"  # a completion link (e.g. Prolific's), here on the same host
    server.redirect_url = completion
    server.start()
    modes = {"P009": "data-only", "P010": "visual"}
    try:
        for participant, mode in modes.items():
            page = _page(browser, [])
            page.goto(f"{server.url}?participant={participant}&session=1&simulate={mode}")
            page.wait_for_url(completion, timeout=60000)  # the session ended and the page went to the link
            page.close()
    finally:
        server.stop()
    for participant, mode in modes.items():
        path = session_path(tmp_path / "participants", participant, 1)
        table = read_trials(path)  # what `garden validate` checks
        seq = plan_session(load_protocol(tiny), participant, 1, "/nonexistent").sequence
        assert table.trial.tolist() == list(range(1, 7))
        assert table.exemplar.tolist() == seq.exemplar.astype(str).tolist()
        answered = table.choice.notna()
        assert answered.sum() >= 3 and table.rt[answered].between(0.25, WINDOW_S + 0.05).all()
        assert (table.timed_out == (~answered).astype(int)).all()
        sidecar = session_info(path)
        assert sidecar["completed"] is True and sidecar["browser"]["simulation"] == mode
        assert (table.frames > 10).all() == (mode == "visual")  # only the visual mode draws the screens


# ------------------------------------------------------------------ practice repeats

PRACTISED = TINY.replace('[[phases]]', '[practice]\ntrials = 4\ncriterion = 4\nmax_repeats = 1\n\n[[phases]]', 1)


def test_served_page_repeats_a_missed_practice_then_goes_on(browser, tmp_path):
    """Served: no key on the 4 practice trees (0 of 4, below the criterion 4) -> the page shows how
    many were right, the server plans a second attempt, the page plays it and goes on to the task;
    the table holds both attempts and validates, the sidecar records them."""
    protocol = tmp_path / "practised.toml"
    protocol.write_text(PRACTISED)
    server = AppServer(protocol, tmp_path / "participants").start()
    screens, texts = [], []
    try:
        page = _page(browser, [])
        page.goto(f"{server.url}?participant=P021&session=1")
        last = ""
        while True:
            page.wait_for_function(f"document.body.dataset.step !== {last!r} && ['text', 'practice', 'tree', "
                                   "'end', 'error'].includes(document.body.dataset.screen)", timeout=15000)
            screen, trial, last = page.evaluate("[document.body.dataset.screen, document.body.dataset.trial, "
                                                "document.body.dataset.step]")
            screens.append(screen)
            if screen in ("text", "practice", "end"):
                if screen == "practice":
                    texts.append(page.inner_text(".garden-message"))
                page.keyboard.press(" ")
                if screen == "end":
                    page.wait_for_function("document.body.dataset.screen === 'done'")
                    break
            elif screen == "tree" and int(trial) > 4:
                page.keyboard.press("f")
            assert screen != "error", page.inner_text("body")
        page.close()
    finally:
        server.stop()
    path = session_path(tmp_path / "participants", "P021", 1)
    table = read_trials(path, include_practice=True)
    assert table.trial.tolist() == list(range(1, 15))
    assert table.phase.tolist() == ["practice"] * 8 + ["training"] * 4 + ["test"] * 2
    assert table.block.tolist()[:8] == [1] * 4 + [2] * 4 and table.timed_out.tolist()[:4] == [1] * 4
    assert table.choice.iloc[4:].notna().all()
    info = session_info(path)
    assert [a["attempt"] for a in info["practice"]["attempts"]] == [1, 2] and info["completed"] is True
    assert screens.count("practice") == 2 and texts[0].startswith("You chose well for 0 of 4 trees")
    assert "once more" in texts[0] and "End of the practice" in texts[1]
    assert _garden("validate", str(path)).returncode == 0


# ------------------------------------------------------------------ static pages: reload and practice

def _static_host(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


def test_static_page_reloaded_mid_session_resumes_and_imports_without_loss(tiny, browser, tmp_path):
    """A static site reloaded while trial 4 is up: trials 1-3 are kept in the browser, trial 4 is shown
    again, the download holds every line (a second session line for the reload) and imports to the
    simulated table: nothing lost or duplicated."""
    assert _garden("web", "build", "--protocol", str(tiny), "--out", str(tmp_path / "site"),
                   "--participants", "P011").returncode == 0
    httpd, url = _static_host(tmp_path / "site")
    seq, choices, rts = _answers(load_protocol(tiny), "P011")
    try:
        page = _page(browser, [])
        page.goto(f"{url}index.html?participant=P011&session=1")
        assert drive(page, seq, choices, rts, until_tree=4) == "tree"
        page.reload()
        with page.expect_download() as download:
            assert drive(page, seq, choices, rts) == "end"
        download.value.save_as(tmp_path / "results.jsonl")
        assert "completion code" in page.inner_text("body") and "close this tab" in page.inner_text("body")
        page.reload()  # a finished session is not played again
        page.wait_for_function("document.body.dataset.screen === 'done'")
        assert "already finished" in page.inner_text("body")
    finally:
        httpd.shutdown()
    kinds = [json.loads(line)["kind"] for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert kinds == ["session"] + ["trial"] * 3 + ["session"] + ["trial"] * 3
    out = tmp_path / "participants"
    imported = _garden("import", "--web", str(tmp_path / "results.jsonl"), "--protocol", str(tiny), "--out", str(out))
    assert "1 session(s), 6 trial(s)" in imported.stdout and "1 reload(s)" in imported.stdout, imported.stderr
    path = session_path(out, "P011", 1)
    web = read_trials(path)
    simulated = read_trials(simulate_session(load_protocol(tiny), "P011", 1, get_agent(AGENT, {"rt_mean_s": 0.7}),
                                             tmp_path / "simulated"))
    pd.testing.assert_frame_equal(web[SAME], simulated[SAME], check_dtype=False)
    info = session_info(path)
    assert [r["after_trial"] for r in info["reloads"]] == [3] and info["completed"] is True
    assert info["score"] == web.reward_received.sum() and len(info["completion_code"]) == 8


def test_static_failed_practice_imports_as_played(browser, tmp_path):
    """A static page plays one practice attempt; with no key on its 4 trees (0 of 4, below the
    criterion) the import stores exactly the rows played: every row's tree, sides and answer are the
    page's records, no attempt is inserted; the sidecar says so."""
    protocol = tmp_path / "practised.toml"
    protocol.write_text(PRACTISED)
    assert _garden("web", "build", "--protocol", str(protocol), "--out", str(tmp_path / "site"),
                   "--participants", "P022").returncode == 0
    httpd, url = _static_host(tmp_path / "site")
    seq, choices, rts = _answers(load_protocol(protocol), "P022")
    rts[:4] = 9.0  # no key on the practice trees
    try:
        page = _page(browser, [])
        page.goto(f"{url}index.html?participant=P022&session=1")
        with page.expect_download() as download:
            assert drive(page, seq, choices, rts) == "end"
        download.value.save_as(tmp_path / "results.jsonl")
        records = page.evaluate("window.gardenJsPsych.data.get().filter({trial_type: 'garden-trial'}).values()"
                                ".map((d) => d.garden)")
    finally:
        httpd.shutdown()
    out = tmp_path / "participants"
    imported = _garden("import", "--web", str(tmp_path / "results.jsonl"), "--protocol", str(protocol),
                       "--out", str(out))
    assert imported.returncode == 0, imported.stderr
    path = session_path(out, "P022", 1)
    table = read_trials(path, include_practice=True)
    assert len(table) == len(records) == 10
    assert table.phase.tolist() == ["practice"] * 4 + ["training"] * 4 + ["test"] * 2
    played = pd.DataFrame(records)
    for column in ("trial", "block", "branchiness", "leafiness"):
        assert table[column].astype(int).tolist() == played[column].astype(int).tolist(), column
    for column in ("phase", "context", "exemplar", "side_accept"):
        assert table[column].astype(str).tolist() == played[column].astype(str).tolist(), column
    assert table.response_key.fillna("").tolist() == played.key.fillna("").tolist()
    assert table.timed_out.tolist()[:4] == [1] * 4
    practice = session_info(path)["practice"]
    assert [a["correct"] for a in practice["attempts"]] == [0] and practice["passed"] is False
    assert "one attempt" in practice["repeats"]


# ------------------------------------------------------------------ every shipped protocol, every route

SEQUENCE = ["participant_id", "session", "phase", "block", "trial", "context", "branchiness", "leafiness",
            "exemplar", "reward_value", "side_accept", "feedback"]
PLAYED = 1
"""Trials played with the agent's keys before the reload (one: in real time, 3-4 s with the shipped ITI, cue and
feedback); the rest are recorded by jsPsych's data-only mode, so every trial of the protocol is recorded."""


def _shipped(name: str) -> tuple:
    protocol = load_protocol(name)
    window = protocol.phases[0].timing.response_window_s
    keys = tuple(browser_key(getattr(protocol.keys, side), side) for side in ("left", "right"))
    return protocol, window, keys


def _play_then_finish(page, url: str, protocol, window: float, keys: tuple) -> None:
    """Play the first PLAYED trials with the agent's keys, then reload and let jsPsych's data-only
    simulation record the rest of the session (the reload resumes at trial PLAYED + 1)."""
    seq, choices, rts = _answers(protocol, "P001")
    page.goto(url)
    assert drive(page, seq, choices, rts, until_tree=PLAYED + 1, window_s=window, keys=keys) == "tree"
    page.goto(url + "&simulate=data-only")
    page.wait_for_function("['end', 'done'].includes(document.body.dataset.screen)", timeout=240000)
    if page.evaluate("document.body.dataset.screen") == "end":
        page.keyboard.press(" ")
    page.wait_for_function("document.body.dataset.screen === 'done'")


def _check_against_the_lab(protocol, path: Path, tmp_path: Path) -> None:
    """The recorded session: validates; every row the planned trial of `garden run --simulate` for P001,
    the played rows its answers too; resumed once after PLAYED trials; score and code in the sidecar."""
    valid = _garden("validate", str(path))
    assert valid.returncode == 0, valid.stdout + valid.stderr
    web = read_trials(path)
    lab = read_trials(simulate_session(protocol, "P001", 1, get_agent(AGENT, {"rt_mean_s": 0.7}), tmp_path / "lab"))
    assert len(web) == len(lab) > 100
    pd.testing.assert_frame_equal(web[SEQUENCE], lab[SEQUENCE], check_dtype=False)
    pd.testing.assert_frame_equal(web[SAME].iloc[:PLAYED], lab[SAME].iloc[:PLAYED], check_dtype=False)
    info = session_info(path)
    assert info["completed"] is True and [r["after_trial"] for r in info["reloads"]] == [PLAYED]
    assert info["score"] == web.reward_received.sum() and info["completion_code"]


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_shipped_protocol_served(name, browser, tmp_path):
    protocol, window, keys = _shipped(name)
    server = AppServer(PROTOCOLS[name], tmp_path / "participants").start()
    try:
        page = _page(browser, [])
        _play_then_finish(page, f"{server.url}?participant=P001&session=1", protocol, window, keys)
    finally:
        server.stop()
    _check_against_the_lab(protocol, session_path(tmp_path / "participants", "P001", 1), tmp_path)


@pytest.fixture(scope="module")
def shipped_sites(tmp_path_factory) -> dict[str, Path]:
    """Per shipped protocol, the folder `garden web build` writes for P001 with one planned arrangement:
    built once (about 10 s CPU for flesch2022's 600 trees), played on the static route and compared with
    the JATOS archive. The arrangement adds files beside the task's page; index.html is the same."""
    root, sites = tmp_path_factory.mktemp("sites"), {}
    for name in sorted(PROTOCOLS):
        sites[name] = root / name
        built = _garden("web", "build", "--protocol", name, "--out", str(sites[name]), "--participants", "P001",
                        "--arrangements", "1")
        assert built.returncode == 0, built.stderr
    return sites


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_shipped_protocol_static_site_and_import(name, browser, shipped_sites, tmp_path):
    protocol, window, keys = _shipped(name)
    httpd, url = _static_host(shipped_sites[name])
    try:
        page = _page(browser, [])
        with page.expect_download(timeout=300000) as download:
            _play_then_finish(page, f"{url}index.html?participant=P001&session=1", protocol, window, keys)
        download.value.save_as(tmp_path / "results.jsonl")
    finally:
        httpd.shutdown()
    out = tmp_path / "participants"
    imported = _garden("import", "--web", str(tmp_path / "results.jsonl"), "--protocol", name, "--out", str(out))
    assert imported.returncode == 0 and "1 reload(s)" in imported.stdout, imported.stderr
    _check_against_the_lab(protocol, session_path(out, "P001", 1), tmp_path)


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_shipped_protocol_jatos_archive_holds_the_static_site(name, shipped_sites, tmp_path):
    """`garden web jatos` packs the site `garden web build` writes (same sequences, trees, planned
    arrangements, page plus jatos.js), with a reloadable component. (No JATOS server here: the page
    is played on the static route.)"""
    done = _garden("web", "jatos", "--protocol", name, "--out", str(tmp_path / "study.jzip"), "--participants", "P001",
                   "--arrangements", "1")
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "study.jzip") as z:
        study = json.loads(z.read(f"garden_{name}.jas"))
        files = {n.split("/", 1)[1]: z.read(n) for n in z.namelist() if "/" in n and not n.endswith("/")}
    assert study["data"]["componentList"][0]["reloadable"] is True
    folder = shipped_sites[name]
    site = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert set(files) == set(site)
    differ = {n for n in site if files[n] != site[n]}
    assert differ == {"index.html", "build.json"}, differ  # jatos.js loaded; build time
    assert b'src="jatos.js"' in files["index.html"]


# ------------------------------------------------------------------ visual angle (virtual chinrest)

def test_protocol_in_degrees_is_drawn_at_the_measured_visual_angle(tiny, browser, tmp_path):
    """units = "deg": jsPsych's virtual chinrest runs first (the card resized with the mouse, three
    blind-spot presses); the tree is drawn at the protocol's 8 degrees times the measured pixels per
    degree, and the measurement is in the sidecar."""
    protocol = tmp_path / "degrees.toml"
    protocol.write_text(TINY.replace("check_timing = false", "check_timing = false\nunits = \"deg\"\n"
                                     "distance_cm = 57\nwidth_cm = 40\ntree_size_px = 8\nframe_size_px = 11\n"
                                     "frame_width_px = 0.7\nlabel_x_px = 8\ntext_height_px = 0.7\n"
                                     "fixation_size_px = 0.5\nhighlight_width_px = 0.1"))
    server = AppServer(protocol, tmp_path / "participants").start()
    try:
        page = _page(browser, [])
        page.goto(f"{server.url}?participant=P031&session=1")
        handle = page.locator("#jspsych-resize-handle").bounding_box()
        page.mouse.move(handle["x"] + 5, handle["y"] + 5)
        page.mouse.down()
        page.mouse.move(handle["x"] + 65, handle["y"] + 25, steps=5)
        page.mouse.up()
        page.click("#end_resize_phase")
        for _ in range(3):
            page.keyboard.press(" ")  # the ball starts
            page.wait_for_timeout(700)
            page.keyboard.press(" ")  # "it disappeared"
            page.wait_for_timeout(100)
        page.locator("#proceed:visible").click()
        page.wait_for_function("document.body.dataset.screen === 'text'")
        page.keyboard.press(" ")
        page.wait_for_function("document.body.dataset.screen === 'tree'")
        width = page.locator("img.garden-tree").bounding_box()["width"]
        page.keyboard.press("f")
        page.wait_for_function("['blank', 'feedback'].includes(document.body.dataset.screen)")
        page.wait_for_timeout(500)
    finally:
        server.stop()
    browser_info = session_info(session_path(tmp_path / "participants", "P031", 1))["browser"]
    px_per_deg = browser_info["chinrest_px_per_deg"]
    assert 5 < px_per_deg < 500 and browser_info["chinrest_viewing_distance_mm"] > 0
    assert abs(width - 8 * px_per_deg) <= 1 and browser_info["tree_size_px_shown"] == round(8 * px_per_deg)
    assert abs(browser_info["tree_size_deg_shown"] - 8) < 0.1


def test_arrangement_on_a_static_site_reloads_and_imports(tiny, browser, tmp_path):
    """arrange.html on a static site: the setup `garden web build` planned (its seed), one tree dragged
    per arrangement, a reload after the first arrangement continues at the second; the download
    imports to the files `garden web serve` writes, with the dragged positions and the seed's layouts."""
    built = _garden("web", "build", "--protocol", str(tiny), "--out", str(tmp_path / "site"), "--participants",
                    "P008", "--arrangements", "2")
    assert built.returncode == 0, built.stderr
    setup = json.loads((tmp_path / "site" / "arrangements" / "sub-P008_ses-1_pre.json").read_text())
    httpd, url = _static_host(tmp_path / "site")
    radius, centre = 0.45 * 1024, np.array([640, 512])
    to_px = lambda xy: centre + np.array([xy[0], -xy[1]]) * radius  # noqa: E731 - arena units -> pixels
    try:
        page = _page(browser, [])
        page.goto(f"{url}arrange.html?participant=P008&session=1&phase=pre")
        for arrangement, tree in ((1, 3), (2, 11)):
            page.wait_for_function(f"document.body.dataset.screen === 'start' && "
                                   f"document.body.dataset.arrangement === '{arrangement}'")
            page.keyboard.press(" ")
            page.wait_for_function("document.body.dataset.screen === 'arena'")
            box = page.locator(f"img.garden-tree[data-index='{tree}']").bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(*to_px(TARGETS[arrangement]), steps=4)
            page.mouse.up()
            if arrangement == 1:
                page.click("button.garden-done")
                page.wait_for_function("document.body.dataset.screen === 'start'")
                page.reload()
            else:
                with page.expect_download() as download:
                    page.click("button.garden-done")
                download.value.save_as(tmp_path / "arrangements.jsonl")
    finally:
        httpd.shutdown()
    kinds = [json.loads(line)["kind"] for line in (tmp_path / "arrangements.jsonl").read_text().splitlines()]
    assert kinds == ["arrangement_session", "arrangement", "arrangement_session", "arrangement"]
    out = tmp_path / "participants"
    imported = _garden("import", "--web", str(tmp_path / "arrangements.jsonl"), "--protocol", str(tiny),
                       "--out", str(out))
    assert imported.returncode == 0 and "2 arrangement(s)" in imported.stdout, imported.stderr
    files = ad.arrangement_files(out, "P008", 1, "pre")
    sidecar = json.loads(files.sidecar.read_text())
    assert sidecar["seed"] == setup["seed"]
    table = ad.read_arrangements(files.trees)
    start, final = ad.positions(table, "start"), ad.positions(table, "final")
    assert np.allclose(start, ad.start_layouts(setup["seed"], 2)) and np.allclose(start, setup["starts"])
    for arrangement, tree in ((1, 3), (2, 11)):
        assert np.allclose(final[arrangement - 1, tree], TARGETS[arrangement], atol=1.5 / radius)
    assert np.allclose(ad.read_rdm(files.rdm_npy), ad.arrangement_rdm(final))
