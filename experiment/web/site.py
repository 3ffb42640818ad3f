"""The browser site of a protocol: what the page is told, and the static site on disk.

Why: the page must run exactly the trials ``garden run`` runs. It computes none of them: the
sequence of a participant comes from ``garden.experiment.session.plan_session`` (here at build time for
a static host, or from the server per page load), and the page only shows it and reports keys
and times. Display sizes, keys, timings and texts come from the same protocol TOML and
strings; settings with no meaning in a browser are listed as ignored, and scanner phases are
refused (they need the scanner's trigger and the lab's screen: run them with ``garden run``).

A built site holds ``index.html``, the task's script and style, jsPsych (copied from
``node_modules``, installed from the npm registry with ``npm ci`` when missing), ``config.json``,
tree images under ``trees/`` and, for a static host, one ``sequences/sub-<id>_ses-<n>.json`` per
participant and session it was built for. It loads nothing from other hosts.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from garden.core.errors import SettingError, UserError
from garden.core.provenance import provenance, to_jsonable, write_json
from garden.core.trials import check_participant_id
from garden.experiment.config import SIZE_FIELDS, Protocol
from garden.experiment.screen_texts import STRINGS_DIR, load_strings, read_strings
from garden.experiment.recording import recorded_trials
from garden.experiment.sequences import ExemplarPool
from garden.experiment.session import Session, plan_session
from garden.experiment.web.arranging import WebArrangements
from garden.experiment.web.paths import TREE_PATH, tree_url
from garden.stimuli.trees import render_tree

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
LIBRARIES = {
    "lib/jspsych.js": "jspsych/dist/index.browser.min.js",
    "lib/jspsych.css": "jspsych/css/jspsych.css",
    "lib/plugin-html-keyboard-response.js": "@jspsych/plugin-html-keyboard-response/dist/index.browser.min.js",
    "lib/plugin-virtual-chinrest.js": "@jspsych/plugin-virtual-chinrest/dist/index.browser.min.js",
}
"""Files of the built site copied from ``experiment/web/node_modules`` (npm packages in package.json)."""
PAGES_DIR = WEB_DIR / "pages"
PAGES = {"index.html": ("Garden task", ("lib/plugin-html-keyboard-response.js", "lib/plugin-virtual-chinrest.js",
                                        "garden-task.js")),
         "arrange.html": ("Tree arrangement", ("garden-arrange.js",))}
"""The site's pages: file name -> (title, the page's scripts, run in this order after jsPsych's). A page's
body is ``pages/<name>``; ``page_html`` writes the head every page shares."""

BROWSER_KEYS = {"space": " ", "left": "ArrowLeft", "right": "ArrowRight", "up": "ArrowUp", "down": "ArrowDown",
                "return": "Enter", "escape": "Escape"}
"""Protocol (PsychoPy) key names whose browser ``KeyboardEvent.key`` differs; single characters are the same."""

IGNORED_ONLINE = ("display.check_timing", "display.realtime_priority", "display.refresh_hz", "keys.quit",
                  "keys.confirm", "keys.trigger", "phases.comprehension")
"""Protocol settings a browser cannot use: the refresh rate is measured by the page instead, a
participant quits by closing the tab (the data so far are kept; reloading resumes); the comprehension
check is the lab's (the page names the keys in every instruction and under each label instead)."""
IGNORED_STATIC = ("practice.criterion", "practice.max_repeats")
"""... and on a static host (no server to plan another practice attempt): the page plays the
planned sequence, so a practice runs its first attempt only. With ``garden web serve`` the server
plans another attempt after one below the criterion, as ``garden run`` does."""


def ignored_online(protocol: Protocol, *, server: bool) -> str:
    """The line ``garden web build|jatos|serve`` print: the protocol settings the page does not use, and the
    comprehension check by name when a phase of ``protocol`` asks for one (the page does not run it)."""
    ignored = IGNORED_ONLINE + (() if server else IGNORED_STATIC)
    line = f"ignored online: {', '.join(ignored)}"
    asking = [f"{phase.name} ({phase.comprehension} right in a row)" for phase in protocol.phases
              if phase.comprehension]
    if asking:
        line += (f"; NOT RUN online: the comprehension check of phase(s) {', '.join(asking)} (the page names the "
                 "keys in every instruction and under the labels instead; run it in the lab with `garden run`)")
    return line


TRIAL_FIELDS = ["trial", "phase", "block", "context", "branchiness", "leafiness", "exemplar", "reward_value",
                "side_accept", "feedback", "iti_s"]
"""Columns of the planned sequence the page is given for each trial."""
SHOWN_FIELDS = ("phase", "block", "context", "branchiness", "leafiness", "exemplar", "side_accept")
"""What the page reports it showed in each trial; the recorder refuses a report that differs from its plan."""
KEY_LABELS = {"left": "LEFT ARROW", "right": "RIGHT ARROW", "up": "UP ARROW", "down": "DOWN ARROW", "space": "SPACE",
              "return": "ENTER", "escape": "ESC"}
"""How the page names a protocol key to a participant (single characters: upper case)."""
WEB_STRINGS = ("keys", "end", "closing", "finished", "connection_lost", "not_in_study", "window_small")
"""Texts of the browser task only (``strings/web_<language>.toml``)."""


def browser_key(name: str, where: str) -> str:
    """The ``KeyboardEvent.key`` of a protocol key name; UserError for a key a page cannot name."""
    if name in BROWSER_KEYS:
        return BROWSER_KEYS[name]
    if len(name) == 1 and name.isprintable():
        return name
    raise UserError(f"{where}: key {name!r} has no browser equivalent here; use a letter, digit, 'space', "
                    f"or one of {sorted(BROWSER_KEYS)}")


def online_sessions(protocol: Protocol) -> list[int]:
    """The protocol's sessions that can run in a browser (no scanner phase); UserError if none."""
    sessions = sorted({p.session for p in protocol.phases})
    online = [s for s in sessions if not any(p.scanner for p in protocol.session_phases(s))]
    if not online:
        raise UserError(f"protocol {protocol.name!r}: every session has a scanner phase; scanner runs need the "
                        "scanner trigger and the lab screen: run them with `garden run`")
    return online


def check_session(protocol: Protocol, session: int) -> None:
    """UserError unless ``session`` is one of the protocol's browser sessions."""
    if session not in online_sessions(protocol):
        raise UserError(f"session {session}: not a browser session of protocol {protocol.name!r} "
                        f"(browser sessions: {online_sessions(protocol)}; scanner sessions run with `garden run`)")


def key_label(name: str) -> str:
    """A protocol key as named to a participant (``f`` -> ``F``, ``left`` -> ``LEFT ARROW``)."""
    return KEY_LABELS.get(name, name.upper())


def web_strings(language: str) -> dict[str, str]:
    """The browser task's own texts (``strings/web_<language>.toml``)."""
    return read_strings(STRINGS_DIR / f"web_{language}.toml", WEB_STRINGS, template=STRINGS_DIR / "web_en.toml")


def completion_code(protocol: Protocol, participant_id: str, session: int) -> str:
    """The code a participant is shown (and a completion link gets) at the end of a session: 8 hex
    digits of SHA-256 of the protocol's name and seed, the id and the session. Not a secret (a static
    site could compute it): it lets a researcher match a submission to its recorded session."""
    digest = hashlib.sha256(f"{protocol.name}:{protocol.seed}:{participant_id}:{session}".encode())
    return digest.hexdigest()[:8].upper()


def page_config(protocol: Protocol, *, server: bool, redirect_url: str = "") -> dict[str, Any]:
    """Everything the page needs of the protocol: display (whole pixels, RGB 0..255), keys (browser and
    protocol names, and as named to a participant), timings (s) and feedback of every browser phase,
    the bonus rule, texts; ``server`` says whether it records through the server (else it runs from
    precomputed sequences, for a static host); ``redirect_url`` (may be empty) is opened when the
    session ends (e.g. a completion link; ``{participant}`` and ``{completion_code}`` are filled in).
    A protocol in degrees (``display.units = "deg"``) also gives its sizes in degrees (``display_deg``):
    the page measures pixels per degree with jsPsych's virtual chinrest and draws them at that size."""
    keys, where = protocol.keys, f"{protocol.source or protocol.name}: keys"
    names = {k: getattr(keys, k) for k in ("left", "right", "proceed")}
    online = set(online_sessions(protocol))
    phases = {p.name: {"timing": dataclasses.asdict(p.timing), "feedback": p.feedback}
              for p in protocol.phases if p.session in online}
    return {
        "protocol": protocol.name,
        "server": server,
        "redirect_url": redirect_url,
        "sessions": sorted(online),
        "display": dataclasses.asdict(protocol.display.in_pixels()),
        "display_deg": ({name: getattr(protocol.display, name) for name in SIZE_FIELDS}
                        if protocol.display.units == "deg" else None),
        "keys": {k: browser_key(v, f"{where}.{k}") for k, v in names.items()},
        "key_names": {browser_key(v, f"{where}.{k}"): v for k, v in names.items()},
        "key_labels": {k: key_label(v) for k, v in names.items()},
        "phases": phases,
        "bonus": dataclasses.asdict(protocol.bonus),
        "strings": load_strings(protocol.language),
        "web_strings": web_strings(protocol.language),
        "ignored": list(IGNORED_ONLINE) + ([] if server else list(IGNORED_STATIC)),
    }


def switches(run: Session) -> list[bool]:
    """Per planned trial: is it the first in the other garden of a blocked curriculum that announces the
    switch (``announce_switch``)? The page then shows the switch message before it, as ``garden run``."""
    seq, protocol = run.sequence, run.protocol
    curriculum = protocol.curricula.get(run.assignment.curriculum)
    if not (curriculum and curriculum.order == "blocked" and curriculum.announce_switch):
        return [False] * len(seq)
    order = {p.name: p.order for p in protocol.phases}
    phase, context = seq.phase.astype(str).tolist(), seq.context.astype(str).tolist()
    return [i > 0 and order.get(phase[i]) == "curriculum" and phase[i] == phase[i - 1] and context[i] != context[i - 1]
            for i in range(len(seq))]


def session_score(path: Path) -> float:
    """Points earned in a recorded session so far (every row, practice included, as ``garden run``'s score)."""
    return float(np.nansum(recorded_trials(path).reward_received.replace("", "nan").astype(float)))


def sequence_payload(run: Session, *, done: int = 0) -> dict[str, Any]:
    """What the page gets for one session: ids, where to start (``done`` trials already recorded), the
    score so far, the completion code, the blocks of each phase (for break texts) and every planned
    trial with its tree's path and whether the switch message comes before it."""
    seq = run.sequence
    start, score = done, session_score(run.recorder.path) if done else 0.0
    trials = [{**{c: row[c] for c in TRIAL_FIELDS}, "switch": switch,
               "tree": tree_url(row["branchiness"], row["leafiness"], row["exemplar"])}
              for row, switch in zip(seq[TRIAL_FIELDS].to_dict("records"), switches(run))]
    blocks = {str(name): {"first": int(g.block.min()), "n": int(g.block.nunique())}
              for name, g in seq.groupby("phase", sort=False)}
    pid = run.assignment.participant_id
    return to_jsonable({"participant_id": pid, "session": run.session, "start": start, "score": score,
                        "completion_code": completion_code(run.protocol, pid, run.session),
                        "n_trials": len(seq), "blocks": blocks,
                        "trials": trials})


def tree_png(protocol: Protocol, stimulus_set: Any | None, branchiness: int, leafiness: int,
             exemplar: str) -> bytes:
    """PNG bytes of one tree: the stimulus set's file, or the tree rendered at ``tree_size_px`` (whole
    pixels, ``Display.in_pixels``) with the protocol's ``tree_seed`` (as ``garden run`` renders it)."""
    if stimulus_set is not None:
        return stimulus_set.file(branchiness, leafiness, exemplar).read_bytes()
    return _rendered_png(int(branchiness), int(leafiness), int(exemplar), protocol.display.in_pixels().tree_size_px,
                         protocol.tree_seed)


RENDERED_TREES_KEPT = 2048
"""Rendered tree PNGs kept in memory per process (about 40 KB each at 443 px, so at most about 80 MB): a
server renders each tree once for all its pages, and a build followed by a JATOS archive renders once."""


@functools.lru_cache(maxsize=RENDERED_TREES_KEPT)
def _rendered_png(branchiness: int, leafiness: int, exemplar: int, size_px: int, seed: int) -> bytes:
    """PNG bytes of ``render_tree`` (a pure function of its arguments) at ``size_px`` pixels."""
    image: Image.Image = render_tree(branchiness, leafiness, exemplar, size_px, seed=seed)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def ensure_libraries() -> Path:
    """``experiment/web/node_modules`` with the npm packages of package.json (``npm ci`` if missing)."""
    modules = WEB_DIR / "node_modules"
    if all((modules / source).is_file() for source in LIBRARIES.values()):
        return modules
    npm = shutil.which("npm")
    if npm is None:
        raise UserError("npm not found: install Node.js and npm (scripts/system-deps.sh does) to fetch jsPsych")
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB_DIR, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"{WEB_DIR}: `npm ci` failed ({tail}); check access to the npm registry")
    return modules


def jspsych_version() -> str:
    """The installed jsPsych version (from its package.json)."""
    meta = json.loads((ensure_libraries() / "jspsych" / "package.json").read_text(encoding="utf-8"))
    return str(meta["version"])


def page_html(name: str) -> str:
    """The page ``name`` of ``PAGES``: the head every page shares (jsPsych's style and the task's, jsPsych)
    with the page's title and scripts, then its body from ``pages/<name>``."""
    title, scripts = PAGES[name]
    head = ['<meta charset="utf-8">', f"<title>{title}</title>", '<link rel="icon" href="data:,">',
            '<link rel="stylesheet" href="lib/jspsych.css">', '<link rel="stylesheet" href="garden.css">',
            *(f'<script defer src="{script}"></script>' for script in ("lib/jspsych.js", *scripts))]
    body = (PAGES_DIR / name).read_text(encoding="utf-8")
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n' + "".join(f"  {line}\n" for line in head)
            + f"</head>\n{body}</html>\n")


def write_shell(site: Path, protocol: Protocol, *, server: bool, redirect_url: str = "") -> None:
    """The site's files that do not depend on participants: pages, script, style, jsPsych, config."""
    modules = ensure_libraries()
    shutil.copytree(STATIC_DIR, site, dirs_exist_ok=True)
    for name in PAGES:
        (site / name).write_text(page_html(name), encoding="utf-8")
    for target, source in LIBRARIES.items():
        (site / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(modules / source, site / target)
    config = {**page_config(protocol, server=server, redirect_url=redirect_url), "jspsych": jspsych_version()}
    (site / "config.json").write_text(json.dumps(to_jsonable(config), indent=1), encoding="utf-8")


ARRANGEMENT_PHASES = ("pre", "post")
"""Arrangement phases a static site is built for (``arrange.html?...&phase=pre``)."""


def arrangement_seed(protocol: Protocol, participant_id: str, session: int, phase: str) -> int:
    """The seed of a static site's planned arrangement task: from the protocol's seed and the ids, so
    every build of a study plans the same arrangements (a served page draws a new seed instead)."""
    digest = hashlib.sha256(f"{protocol.seed}:arrangement:{participant_id}:{session}:{phase}".encode())
    return int.from_bytes(digest.digest()[:4], "big")


def arrangement_setups(protocol: Protocol, out: Path, participants: list[str], sessions: list[int],
                       n_arrangements: int, stimulus_set: Any | None) -> dict[str, dict[str, Any]]:
    """The planned arrangement tasks of a static site (file name -> what the page needs, with the seed
    that ``garden import --web`` replays), one per participant, session and phase."""
    arrangements = WebArrangements(out, n_arrangements=n_arrangements, stimulus_set=stimulus_set)
    return {f"sub-{pid}_ses-{session}_{phase}.json":
            arrangements.begin(pid, session, phase, {}, seed=arrangement_seed(protocol, pid, session, phase))
            for pid in participants for session in sessions for phase in ARRANGEMENT_PHASES}


def build_site(protocol: Protocol, out: str | Path, *, participants: list[str], sessions: list[int] | None = None,
               stimulus_set: Any | None = None, redirect_url: str = "", n_arrangements: int = 0) -> Path:
    """Build a static site that runs ``participants`` (ids) in ``sessions`` (default: every browser
    session) with their planned sequences and trees and, when ``n_arrangements`` > 0, that many tree
    arrangements (``arrange.html``, phases ``ARRANGEMENT_PHASES``); return its folder.

    Written into a temporary folder beside ``out`` and renamed when complete; never overwrites.
    """
    out = Path(out)
    if out.exists():
        raise UserError(f"{out}: already exists; refusing to overwrite it (choose a new --out folder)")
    if not participants:
        raise SettingError("participants", "give at least one participant id (e.g. P001,P002)")
    for pid in participants:
        check_participant_id(pid)
    sessions = sessions or online_sessions(protocol)
    for session in sessions:
        check_session(protocol, session)
    pool: ExemplarPool | None = stimulus_set.exemplars if stimulus_set is not None else None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        write_shell(tmp, protocol, server=False, redirect_url=redirect_url)
        trees: set[tuple[int, int, str]] = set()
        (tmp / "sequences").mkdir()
        for pid in participants:
            for session in sessions:
                run = plan_session(protocol, pid, session, tmp / "unused", pool=pool)
                payload = sequence_payload(run)
                name = f"sub-{pid}_ses-{session}.json"
                (tmp / "sequences" / name).write_text(json.dumps(payload), encoding="utf-8")
                trees |= {(t["branchiness"], t["leafiness"], t["exemplar"]) for t in payload["trials"]}
        (tmp / "arrangements").mkdir()
        setups = arrangement_setups(protocol, tmp / "unused", participants, sessions, n_arrangements,
                                    stimulus_set) if n_arrangements else {}
        for name, setup in setups.items():
            (tmp / "arrangements" / name).write_text(json.dumps(to_jsonable(setup)), encoding="utf-8")
            trees |= {tuple(TREE_PATH.match(t["url"]).groups()) for t in setup["trees"]}
        (tmp / "trees").mkdir()
        for b, l, exemplar in sorted({(int(b), int(l), str(e)) for b, l, e in trees}):
            (tmp / tree_url(b, l, exemplar)).write_bytes(tree_png(protocol, stimulus_set, b, l, exemplar))
        write_json(tmp / "build.json", provenance(protocol.to_dict(), protocol.seed, participants=participants,
                                                  sessions=sessions, jspsych=jspsych_version(), trees=len(trees),
                                                  stimuli=str(getattr(stimulus_set, "path", "")) or
                                                  f"rendered (tree_seed {protocol.tree_seed})",
                                                  ignored_online=list(IGNORED_ONLINE + IGNORED_STATIC)))
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
