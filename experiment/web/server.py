"""``garden web serve``: an ASGI app (starlette, run by uvicorn) that serves the browser task and
records every trial as it arrives.

Why: a lab testing online, or running the browser task on its own network, needs the same files as
``garden run`` and the same safety: the page gets its planned sequence from
``garden.experiment.session.plan_session`` (so it is ``garden run``'s by construction), reports each trial
(key, RT and browser times), and the server turns it into the table row with
``garden.experiment.session.outcome`` and appends it with ``garden.experiment.recording`` (flushed and fsynced)
before the page may start the next trial. So a killed server loses at most the trial in progress,
and a reloaded page resumes after the last recorded trial (``plan_session(resume=True)``, as
``garden run --resume``). A finished session is never reopened. Every request is checked: ids as
everywhere (``garden.core.trials.check_participant_id``), fields, types and ranges, the trial number (the
next one, so a duplicate or a skipped trial is refused), and size (``MAX_BODY_BYTES``); a refused
request gets a 4xx status and a JSON ``error``, writes nothing and logs one line.

The browser's timing goes into extra columns (``WEB_COLUMNS``) and its screen and software into
the sidecar (``browser``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from garden.core.errors import UserError
from garden.core.interrupts import sigterm_stops
from garden.core.provenance import JsonError, parse_json
from garden.core.trials import check_participant_id, session_path
from garden.experiment.config import ARENA_EXEMPLARS, PRACTICE_EXEMPLARS, Protocol
from garden.experiment.recording import recorded_trials, session_info, sidecar_path
from garden.experiment.sequences import ExemplarPool
from garden.experiment.session import (
    Session,
    choice_for,
    close_session,
    outcome,
    plan_session,
    practice_ends,
    practice_results,
    settle_practice,
    start_recording,
)
from garden.experiment.web.arranging import WebArrangements
from garden.experiment.web.refusals import Rejected
from garden.experiment.web.site import (
    SHOWN_FIELDS,
    check_session,
    completion_code,
    sequence_payload,
    session_score,
    tree_png,
    write_shell,
)

LOG = logging.getLogger("garden.web")
MAX_BODY_BYTES = 8192
"""Largest request body accepted (bytes); a trial report is ~400."""
MAX_TIME_S = 86400.0
"""Largest time a report may carry (s from the page's first trial)."""
RT_TOLERANCE_S = 0.1
"""An RT may exceed the response window by this much (the window is checked on frames)."""
TREE_NAME = re.compile(r"^B([1-5])L([1-5])_([A-Za-z0-9]+)\.png$")

WEB_COLUMNS = ("key_onset", "frames", "frame_interval_median_s", "frame_interval_max_s")
"""Extra columns of a browser session (after the usual ones)."""
WEB_DESCRIPTIONS = {
    "onset": "Tree onset: requestAnimationFrame timestamp of the frame that first drew the tree, from the "
             "page's first trial (s).",
    "key_onset": "Key press: the KeyboardEvent timestamp, same clock as onset (s); empty if none.",
    "frames": "Animation frames from the cue to the end of the trial.",
    "frame_interval_median_s": "Median interval between animation frames during the trial (s).",
    "frame_interval_max_s": "Longest interval between animation frames during the trial (s).",
    "dropped_frames": "Frames dropped during the trial: sum over frame intervals of round(interval / "
                      "refresh period) - 1 (refresh period measured by the page at its start).",
}


# ------------------------------------------------------------------ checking requests

def _number(value: Any, name: str, *, optional: bool = False, integer: bool = False,
            high: float = MAX_TIME_S) -> float | int | None:
    if value is None and optional:
        return None
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not 0 <= value <= high or not math.isfinite(value):
        raise Rejected(400, f"{name}: {value!r} is not {'an integer' if integer else 'a number'} in 0..{high:g}")
    return value


def _ids(body: dict[str, Any]) -> tuple[str, int]:
    try:
        participant = check_participant_id(body.get("participant_id"))
    except UserError as exc:
        raise Rejected(400, str(exc)) from None
    session = _number(body.get("session"), "session", integer=True, high=1000)
    if session < 1:
        raise Rejected(400, "session: must be >= 1")
    return participant, int(session)


def _exact_keys(body: dict[str, Any], keys: set[str]) -> None:
    if set(body) != keys:
        raise Rejected(400, f"fields {sorted(body)} differ from the expected {sorted(keys)}")


def _browser(info: Any) -> dict[str, Any]:
    """The page's browser/screen record: a flat object of scalars and short lists."""
    if not isinstance(info, dict) or len(info) > 40:
        raise Rejected(400, "browser: expected an object of at most 40 fields")
    for key, value in info.items():
        if isinstance(value, list):
            if len(value) > 4 or not all(isinstance(v, (int, float)) for v in value):
                raise Rejected(400, f"browser.{key}: expected a short list of numbers")
        elif value is not None and not isinstance(value, (str, int, float, bool)):
            raise Rejected(400, f"browser.{key}: expected text, a number or a list of numbers")
    return info


TRIAL_KEYS = {"participant_id", "session", "trial", "key", "rt_s", "onset_s", "cue_onset_s", "duration_s",
              "key_onset_s", "frames", "frame_interval_median_s", "frame_interval_max_s", "dropped_frames",
              *SHOWN_FIELDS}


def _check_shown(body: dict[str, Any], planned: dict[str, Any]) -> None:
    """Refuse a report whose shown trial (tree, garden, sides, phase, block) is not the planned one: the
    row would be recorded under a tree the participant did not see."""
    differ = [f"{name} {body[name]!r} (planned {planned[name]!r})" for name in SHOWN_FIELDS
              if str(body[name]) != str(planned[name])]
    if differ:
        raise Rejected(409, f"trial {body['trial']}: the page showed {', '.join(differ)}; refusing to record it "
                            "under another trial")


# ------------------------------------------------------------------ sessions

@dataclass
class Live:
    """A session a page is running: its plan (with recorder) and how many trials are on disk."""

    run: Session
    done: int
    records: list[dict[str, Any]] = field(default_factory=list)


class WebSessions:
    """The sessions of one server: opened (or resumed) by pages, each trial appended as it comes.

    ``repeat_practice``: plan another practice attempt after one below the criterion (the served page
    plays it); False for results of a static or JATOS page, which played one attempt: stored as played.
    ``fsync``: make each row durable before answering (a live server); an import writes its files at once."""

    def __init__(self, protocol: Protocol, out: str | Path, *, stimulus_set: Any | None = None,
                 repeat_practice: bool = True, fsync: bool = True):
        self.protocol, self.out, self.stimulus_set = protocol, Path(out), stimulus_set
        self.repeat_practice, self.fsync = repeat_practice, fsync
        self.pool: ExemplarPool | None = stimulus_set.exemplars if stimulus_set is not None else None
        self.open: dict[tuple[str, int], Live] = {}

    def _finished(self, participant: str, session: int) -> bool:
        path = session_path(self.out, participant, session)
        return sidecar_path(path).exists() and bool(session_info(path).get("completed"))

    def begin(self, body: Any) -> dict[str, Any]:
        """Open (or resume) a session for a page; return its sequence payload."""
        if not isinstance(body, dict):
            raise Rejected(400, "expected a JSON object")
        _exact_keys(body, {"participant_id", "session", "browser"})
        participant, session = _ids(body)
        browser = _browser(body["browser"])
        try:
            check_session(self.protocol, session)
        except UserError as exc:
            raise Rejected(400, str(exc)) from None
        key = (participant, session)
        if key in self.open:
            live = self.open[key]
            recorder = live.run.recorder
            recorder.info.setdefault("reloads", []).append({"after_trial": live.done, "browser": browser})
            recorder.save()
        else:
            if self._finished(participant, session):  # nothing new is recorded; the page says so, with the code
                code = session_info(session_path(self.out, participant, session)).get("completion_code")
                raise Rejected(409, f"sub-{participant} ses-{session}: this session is already finished",
                               {"finished": True, "participant_id": participant, "session": session,
                                "completion_code": code or completion_code(self.protocol, participant, session)})
            resume = session_path(self.out, participant, session).exists()
            run = plan_session(self.protocol, participant, session, self.out, resume=resume, pool=self.pool,
                               repeat_practice=self.repeat_practice)
            start_recording(run, fsync=self.fsync, mode="browser", browser=browser,
                            stimuli=str(getattr(self.stimulus_set, "path", "")) or
                            f"rendered (tree_seed {self.protocol.tree_seed})",
                            extra_columns=WEB_COLUMNS)
            if not resume:
                run.recorder.column_entries.update({c: {"Description": d} for c, d in WEB_DESCRIPTIONS.items()})
                run.recorder.save()
            live = Live(run, run.recorder.n_done, run.sequence.to_dict("records"))
            self.open[key] = live
            LOG.info("sub-%s ses-%d: %s at trial %d", participant, session, "resumed" if resume else "started",
                     live.done + 1)
        return sequence_payload(live.run, done=live.done)

    def record(self, body: Any) -> dict[str, Any]:
        """Check one trial report, append its row (durable on return); close the session after its last."""
        if not isinstance(body, dict):
            raise Rejected(400, "expected a JSON object")
        _exact_keys(body, TRIAL_KEYS)
        participant, session = _ids(body)
        live = self.open.get((participant, session))
        if live is None:
            raise Rejected(409, f"sub-{participant} ses-{session}: no open session; reload the page")
        trial = _number(body["trial"], "trial", integer=True, high=len(live.records))
        if trial != live.done + 1:
            raise Rejected(409, f"trial {trial}: expected trial {live.done + 1} (already recorded or skipped); "
                                "reload the page")
        planned = live.records[live.done]
        _check_shown(body, planned)
        timing = next(p for p in self.protocol.phases if p.name == planned["phase"]).timing
        keys = self.protocol.keys
        key = body["key"]
        if key not in (None, keys.left, keys.right):
            raise Rejected(400, f"key: {key!r} is not {keys.left!r}, {keys.right!r} or null")
        rt = _number(body["rt_s"], "rt_s", optional=True, high=timing.response_window_s + RT_TOLERANCE_S)
        if (rt is None) != (key is None):
            raise Rejected(400, "key and rt_s: both or neither must be given")
        times = {name: _number(body[name], name, optional=name in ("key_onset_s", "frame_interval_median_s",
                                                                    "frame_interval_max_s"))
                 for name in ("onset_s", "cue_onset_s", "duration_s", "key_onset_s", "frame_interval_median_s",
                              "frame_interval_max_s")}
        frames = _number(body["frames"], "frames", integer=True, high=10**7)
        dropped = _number(body["dropped_frames"], "dropped_frames", integer=True, high=10**7)
        choice = math.nan if key is None else choice_for(key, planned["side_accept"], keys.left)
        row = outcome(planned, choice, math.nan if rt is None else rt, key)
        row.update(onset=times["onset_s"], cue_onset=times["cue_onset_s"], duration=times["duration_s"],
                   dropped_frames=dropped, key_onset=times["key_onset_s"], frames=frames,
                   frame_interval_median_s=times["frame_interval_median_s"],
                   frame_interval_max_s=times["frame_interval_max_s"])
        live.run.recorder.append(row)
        live.done += 1
        practice = self._practice(live) if practice_ends(live.run, live.done - 1) else None
        finished = live.done == len(live.records)
        if finished:
            close_session(live.run, completed=True, **self._result(live.run))
            del self.open[(participant, session)]
            LOG.info("sub-%s ses-%d: finished (%d trials)", participant, session, live.done)
        return {"recorded": trial, "reward_received": row["reward_received"], "finished": finished,
                "practice": practice}

    def _result(self, run: Session) -> dict[str, Any]:
        """What the sidecar records of a finished session besides its trials: score (points, every row),
        bonus (the protocol's rule; None without one) and the completion code the page showed."""
        score = session_score(run.recorder.path)
        bonus = self.protocol.bonus
        return {"score": score, "bonus": bonus.amount(score) if bonus.per_point else None,
                "completion_code": completion_code(self.protocol, run.assignment.participant_id, run.session)}

    def _practice(self, live: Live) -> dict[str, Any]:
        """A practice attempt ended: record it (``settle_practice``) and, when another attempt follows,
        give the page the sequence as it is now (the next attempt inserted, later trials moved back).
        Without ``repeat_practice`` the attempt is recorded as played and nothing is inserted."""
        if not self.repeat_practice:
            info = live.run.recorder.info
            results = practice_results(self.protocol, recorded_trials(live.run.recorder.path))
            info["practice"] = {"criterion": self.protocol.practice.criterion, "trials": self.protocol.practice.trials,
                                "attempts": results, "passed": bool(results and results[-1]["passed"]),
                                "repeats": "none: played on a static or JATOS page (one attempt)"}
            live.run.recorder.save()
            return {"again": False}
        result = settle_practice(live.run)
        out = {"correct": result["correct"], "trials": result["trials"], "again": result["again"]}
        if result["again"]:
            live.records = live.run.sequence.to_dict("records")
            out["payload"] = sequence_payload(live.run, done=live.done)
        return out

    def close(self) -> None:
        """Close the open sessions' files (each stays incomplete, to be resumed by a reload)."""
        for live in self.open.values():
            live.run.recorder.finish(False, stopped="server shut down")
        self.open.clear()


# ------------------------------------------------------------------ the app

async def _json_body(request: Request) -> Any:
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise Rejected(411, "a Content-Length header is required")
    if int(length) > MAX_BODY_BYTES:
        raise Rejected(413, f"body of {length} bytes is over the limit of {MAX_BODY_BYTES}")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise Rejected(413, f"body of {len(raw)} bytes is over the limit of {MAX_BODY_BYTES}")
    try:
        return parse_json(raw)
    except JsonError as exc:
        raise Rejected(400, f"body: {exc}") from None
    except (ValueError, UnicodeDecodeError):
        raise Rejected(400, "body is not valid JSON") from None


def _refuse(request: Request, exc: Rejected) -> JSONResponse:
    client = request.client.host if request.client else "?"
    LOG.warning("rejected %d %s %s from %s: %s", exc.status, request.method, request.url.path, client, exc.reason)
    return JSONResponse({**exc.details, "error": exc.reason}, status_code=exc.status)


def _arrangement_ids(body: Any, keys: set[str]) -> tuple[str, int, str]:
    if not isinstance(body, dict):
        raise Rejected(400, "expected a JSON object")
    _exact_keys(body, keys)
    participant, session = _ids(body)
    phase = body["phase"]
    if not isinstance(phase, str) or not phase.isalnum() or not phase.isascii():
        raise Rejected(400, f"phase: {phase!r} is invalid; use letters and digits (e.g. pre or post)")
    return participant, session, phase


def arrangement_handlers(arrangements: WebArrangements, *, planned: bool = False) -> tuple[Any, Any]:
    """The JSON handlers of ``POST api/arrangement/session`` and ``POST api/arrangement``. ``planned``:
    the session record also gives the seed a static site was built with (``garden import --web``)."""
    def begin(body: Any) -> dict[str, Any]:
        fields = {"participant_id", "session", "phase", "browser"} | ({"seed"} if planned else set())
        ids = _arrangement_ids(body, fields)
        seed = _number(body["seed"], "seed", integer=True, high=2**32 - 1) if planned else None
        return arrangements.begin(*ids, _browser(body["browser"]), seed=seed)

    def add(body: Any) -> dict[str, Any]:
        ids = _arrangement_ids(body, {"participant_id", "session", "phase", "arrangement", "final", "moves",
                                      "duration_s"})
        return arrangements.add(*ids, body)
    return begin, add


def make_app(protocol: Protocol, out: str | Path, site: str | Path, *, stimulus_set: Any | None = None,
             n_arrangements: int = 6) -> Starlette:
    """The app: ``POST api/session`` and ``POST api/trial`` (the task), ``POST api/arrangement/session``
    and ``POST api/arrangement`` (``n_arrangements`` tree arrangements), ``trees/<file>.png`` (from
    the stimulus set, or rendered), and the static site in ``site`` (built with ``server=True``)."""
    sessions = WebSessions(protocol, out, stimulus_set=stimulus_set)
    begin_arranging, add_arrangement = arrangement_handlers(
        WebArrangements(out, n_arrangements=n_arrangements, stimulus_set=stimulus_set))

    def endpoint(handle: Any) -> Any:
        async def run(request: Request) -> Response:
            try:
                return JSONResponse(handle(await _json_body(request)))
            except Rejected as exc:
                return _refuse(request, exc)
            except UserError as exc:  # e.g. a session recorded with another protocol
                return _refuse(request, Rejected(409, str(exc)))
        return run

    rendered = [str(i) for i in range(1, protocol.exemplar_pool + 1)]
    rendered += list(PRACTICE_EXEMPLARS) if protocol.practice.trials else []
    rendered += list(ARENA_EXEMPLARS)  # the arrangement task's trees (arrange.html)

    async def tree(request: Request) -> Response:
        match = TREE_NAME.match(request.path_params["name"])
        pool = sessions.pool or (lambda b, l: rendered)  # rendered: the task's, the practice's, the arena's
        if not match or match.group(3) not in pool(int(match.group(1)), int(match.group(2))):
            return _refuse(request, Rejected(404, f"no tree {request.path_params['name']!r} in this study"))
        data = await run_in_threadpool(tree_png, protocol, stimulus_set, int(match.group(1)), int(match.group(2)),
                                       match.group(3))
        return Response(data, media_type="image/png", headers={"Cache-Control": "max-age=86400"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        sessions.close()

    routes = [Route("/api/session", endpoint(sessions.begin), methods=["POST"]),
              Route("/api/trial", endpoint(sessions.record), methods=["POST"]),
              Route("/api/arrangement/session", endpoint(begin_arranging), methods=["POST"]),
              Route("/api/arrangement", endpoint(add_arrangement), methods=["POST"]),
              Route("/trees/{name}", tree),
              Mount("/", StaticFiles(directory=str(site), html=True))]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sessions = sessions
    return app


def serve(protocol: Protocol, out: str | Path, *, host: str = "127.0.0.1", port: int = 8000,
          stimulus_set: Any | None = None, redirect_url: str = "", n_arrangements: int = 6) -> None:
    """Build the site's shell in a temporary folder and serve it with uvicorn until Ctrl-C or SIGTERM: uvicorn
    closes the open sessions (resumable) and returns, and the folder is removed."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with sigterm_stops(), tempfile.TemporaryDirectory(prefix="garden-site-") as site:
        write_shell(Path(site), protocol, server=True, redirect_url=redirect_url)
        app = make_app(protocol, out, site, stimulus_set=stimulus_set, n_arrangements=n_arrangements)
        LOG.info("serving protocol %s at http://%s:%d/?participant=ID&session=N (arrangements: "
                 "arrange.html?participant=ID&session=N&phase=pre); data in %s", protocol.name, host, port, out)
        uvicorn.run(app, host=host, port=port, log_level="warning")
