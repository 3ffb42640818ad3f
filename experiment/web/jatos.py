"""JATOS: the static site as a study archive to import, and the results it returns as trial tables.

Why: JATOS is the open-source server labs use to host online studies at scale (with Prolific or
MTurk links). A JATOS study archive (``.jzip``) is a zip of the study's description
(``<name>.jas``: JSON, serial version 3, with one component per page) and its assets folder.
Inside JATOS the page appends one JSON line per trial to the component's result data as it
happens; JATOS returns them as a results archive (``.jrzip``: ``study_result_<i>/comp-result_<j>/
data.txt``) or as plain text. A site on any other static host downloads the same lines as a
``.jsonl`` file. ``import_results`` replays those lines through ``WebSessions``, the server's own
recorder, so the tables are what ``garden web serve`` (and ``garden run``) write, with one difference:
a practice attempt is stored as played (the static page plays one; no attempt is inserted). Every
trial line names the tree, garden, sides, phase and block the page showed; a line that differs from
the planned row is refused (the import writes nothing), so no row is stored under another tree.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import uuid
import zipfile
from collections import Counter
from pathlib import Path
from typing import IO, Any

from garden.core.budget import check_memory
from garden.core.errors import UserError
from garden.core.files import write_with
from garden.core.provenance import JsonError, parse_json
from garden.experiment.config import Protocol
from garden.experiment.web.refusals import Rejected
from garden.experiment.web.arranging import WebArrangements
from garden.experiment.web.server import WebSessions, arrangement_handlers
from garden.experiment.web.site import build_site

JAS_VERSION = "3"
"""Serial version of JATOS's study description (JATOS 3.x)."""
JATOS_SCRIPT = '<script defer src="jatos.js"></script>'
"""jatos.js is served by JATOS beside each component's page; it is not part of the archive."""


def _study_uuid(protocol: Protocol, participants: list[str]) -> str:
    """A stable study UUID: the same protocol and participants give the same study (re-import updates it)."""
    digest = hashlib.sha256(json.dumps([protocol.to_dict(), participants], sort_keys=True, default=str).encode())
    return str(uuid.UUID(bytes=digest.digest()[:16], version=4))


def study_description(protocol: Protocol, dir_name: str, study_uuid: str, redirect_url: str = "") -> dict[str, Any]:
    """The ``.jas`` document: the study and its one component (``index.html``)."""
    component = {"uuid": str(uuid.uuid5(uuid.UUID(study_uuid), "index.html")), "title": "Garden task",
                 "htmlFilePath": "index.html", "reloadable": True, "active": True,
                 "comments": "Trials are appended to the result data as they happen (one JSON line each).",
                 "jsonData": None}
    return {"version": JAS_VERSION, "data": {
        "uuid": study_uuid, "title": f"Garden task ({protocol.name})", "description": protocol.description,
        "active": True, "groupStudy": False, "linearStudy": True, "dirName": dir_name,
        "comments": "Made by `garden web jatos`; links need ?participant=ID&session=N (or PROLIFIC_PID).",
        "jsonData": None, "endRedirectUrl": redirect_url or None, "componentList": [component],
        "batchList": [{"uuid": str(uuid.uuid5(uuid.UUID(study_uuid), "batch")), "title": "Default",
                       "active": True, "maxActiveMembers": None, "maxTotalMembers": None, "maxTotalWorkers": None,
                       "allowedWorkerTypes": ["PersonalSingle", "PersonalMultiple", "GeneralSingle",
                                              "GeneralMultiple", "Jatos"],
                       "comments": None, "jsonData": None}]}}


def export_study(protocol: Protocol, out: str | Path, *, participants: list[str], sessions: list[int] | None = None,
                 stimulus_set: Any | None = None, redirect_url: str = "", n_arrangements: int = 0) -> Path:
    """Write a JATOS study archive (``.jzip``) of the static site for ``participants``; never overwrites."""
    out = Path(out)
    if out.suffix != ".jzip":
        raise UserError(f"{out}: a JATOS study archive must end in .jzip")
    if out.exists():
        raise UserError(f"{out}: already exists; refusing to overwrite it (choose a new --out file)")
    dir_name = f"garden_{protocol.name}"
    with tempfile.TemporaryDirectory(prefix="garden-jatos-") as tmp:
        site = build_site(protocol, Path(tmp) / dir_name, participants=participants, sessions=sessions,
                          stimulus_set=stimulus_set, redirect_url=redirect_url, n_arrangements=n_arrangements)
        page = site / "index.html"
        page.write_text(page.read_text(encoding="utf-8").replace("<script defer", JATOS_SCRIPT + "\n  <script defer", 1),
                        encoding="utf-8")
        study = _study_uuid(protocol, participants)
        jas = json.dumps(study_description(protocol, dir_name, study, redirect_url), indent=1)

        def archive(fh: IO[bytes]) -> None:
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zipped:
                zipped.writestr(f"{dir_name}.jas", jas)
                for file in sorted(p for p in site.rglob("*") if p.is_file()):
                    zipped.write(file, f"{dir_name}/{file.relative_to(site).as_posix()}")

        write_with(out, archive)
    return out


# ------------------------------------------------------------------ results

TEXT_COPIES = 3
"""Copies of a results file held while it is read (bytes, text, lines)."""


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{name}: not UTF-8 text (byte {exc.start}); export the results from JATOS again") from None


def result_lines(path: str | Path) -> list[tuple[str, int, str]]:
    """(file, line number, text) of every result line in a JATOS results archive (``.jrzip``/``.zip``),
    a JATOS plain-text export or a downloaded ``.jsonl`` file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [m for m in sorted(archive.infolist(), key=lambda m: m.filename)
                       if m.filename.endswith("/data.txt") or m.filename.endswith(".jsonl")]
            check_memory(TEXT_COPIES * sum(m.file_size for m in members),
                         f"{path}: reading its result files (decompressed)")
            texts = [(f"{path}:{m.filename}", _text(archive.read(m), f"{path}:{m.filename}")) for m in members]
        if not texts:
            raise UserError(f"{path}: a zip without study_result_*/comp-result_*/data.txt files; export the "
                            "results from JATOS as a 'JATOS Results Archive'")
    else:
        check_memory(TEXT_COPIES * path.stat().st_size, f"{path}: reading it")
        texts = [(str(path), _text(path.read_bytes(), str(path)))]
    return [(name, i, line) for name, text in texts for i, line in enumerate(io.StringIO(text), start=1)
            if line.strip()]


def _repeated(sessions: WebSessions, answers: dict[tuple, Any], record: dict[str, Any], where: str) -> bool:
    """True if ``record`` repeats a trial its open session has recorded with the same answer (a page
    reloaded without its storage); UserError if the answer differs (storing either would change a row)."""
    ids = (record.get("participant_id"), record.get("session"))
    live, trial = sessions.open.get(ids), record.get("trial")
    if live is None or not isinstance(trial, int) or not 1 <= trial <= live.done:
        return False
    if answers.get((*ids, trial)) != (record.get("key"), record.get("rt_s")):
        raise UserError(f"{where}: trial {trial} of sub-{ids[0]} ses-{ids[1]} was answered again differently "
                        f"(recorded {answers.get((*ids, trial))}, now {(record.get('key'), record.get('rt_s'))}); "
                        "refusing to import a session whose rows are ambiguous")
    return True


class _Arranging:
    """The arrangement lines of an import (``arrange.html`` on a static site): replayed by the server's
    handlers with the seed the site was built with; every line of an import has the same count."""

    def __init__(self, out: str | Path, stimulus_set: Any | None):
        self.out, self.stimulus_set, self.n, self.handlers = out, stimulus_set, None, None

    def line(self, kind: str, record: dict[str, Any]) -> None:
        if kind == "arrangement_session":
            n = record.pop("n_arrangements", None)
            if self.n is None and isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 1000:
                self.n = n
                self.handlers = arrangement_handlers(WebArrangements(self.out, n_arrangements=n,
                                                                     stimulus_set=self.stimulus_set), planned=True)
            if n != self.n:
                raise Rejected(400, f"n_arrangements: {n!r}; expected {self.n!r} as in the earlier lines")
            self.handlers[0](record)
        elif self.handlers is None:
            raise Rejected(409, "an arrangement before its session line")
        else:
            self.handlers[1](record)


def _replay(protocol: Protocol, lines: list[tuple[str, int, str]], out: str | Path,
            stimulus_set: Any | None) -> dict[str, int]:
    """Feed result lines to a ``WebSessions`` (and the arrangement handlers) writing under ``out``;
    counts of sessions, trials, reloads (a session line again), skipped lines (a trial repeated with the
    same answer) and arrangements."""
    sessions = WebSessions(protocol, out, stimulus_set=stimulus_set, repeat_practice=False, fsync=False)
    arranging = _Arranging(out, stimulus_set)
    counts: Counter[str] = Counter()
    answers: dict[tuple, Any] = {}
    try:
        for name, number, line in lines:
            try:
                record = parse_json(line)
                kind = record.pop("kind", None) if isinstance(record, dict) else None
            except JsonError as exc:
                raise UserError(f"{name}:{number}: {exc}; not a JSON line of the garden task") from None
            except ValueError:
                raise UserError(f"{name}:{number}: not a JSON line of the garden task") from None
            try:
                if kind in ("arrangement_session", "arrangement"):
                    arranging.line(kind, record)
                    counts["arrangements"] += kind == "arrangement"
                elif kind == "session":
                    again = (record.get("participant_id"), record.get("session")) in sessions.open
                    sessions.begin(record)
                    counts["reloads" if again else "sessions"] += 1
                elif kind == "trial":
                    sessions.record(record)
                    answers[(record["participant_id"], record["session"], record["trial"])] = (record["key"],
                                                                                                record["rt_s"])
                    counts["trials"] += 1
                else:
                    raise UserError(f"{name}:{number}: not a garden record (no kind 'session', 'trial' or "
                                    "'arrangement')")
            except Rejected as exc:
                if kind == "trial" and _repeated(sessions, answers, record, f"{name}:{number}"):
                    counts["skipped"] += 1
                    continue
                raise UserError(f"{name}:{number}: {exc.reason}") from None
    finally:
        sessions.close()
    return dict(counts)


def import_results(protocol: Protocol, source: str | Path, out: str | Path, *,
                   stimulus_set: Any | None = None) -> dict[str, int]:
    """Write the sessions in ``source`` (see ``result_lines``) under ``out`` as ``garden web serve`` would;
    returns counts of sessions, trials and skipped lines (a trial repeated after a reload).

    Checked before anything is written: every line is replayed into a scratch folder first, and no
    session may exist under ``out`` already (a refused import writes nothing)."""
    lines = result_lines(source)
    with tempfile.TemporaryDirectory(prefix="garden-import-") as scratch:
        counts = _replay(protocol, lines, scratch, stimulus_set)
        for table in sorted(Path(scratch).glob("sub-*/ses-*/beh/*_beh.tsv")):
            target = Path(out) / table.relative_to(scratch)
            if target.exists():
                raise UserError(f"{target}: already exists; refusing to overwrite it (import into another --out)")
    _replay(protocol, lines, out, stimulus_set)
    return counts
