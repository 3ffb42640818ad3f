"""JATOS: the static site as a study archive to import, and the results it returns as trial tables.

Why: JATOS is the open-source server labs use to host online studies at scale (with Prolific or
MTurk links). A JATOS study archive (``.jzip``) is a zip of the study's description
(``<name>.jas``: JSON, serial version 3, with one component per page) and its assets folder.
Inside JATOS the page appends one JSON line per trial to the component's result data as it
happens; JATOS returns them as a results archive (``.jrzip``: ``study_result_<i>/comp-result_<j>/
data.txt``) or as plain text. A site on any other static host downloads the same lines as a
``.jsonl`` file. ``import_results`` replays those lines through ``WebSessions``, the server's own
recorder, so the tables are what ``garden web serve`` (and ``garden run``) write.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
import uuid
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from garden.core.budget import check_memory
from garden.core.errors import UserError
from garden.core.provenance import JsonError, parse_json
from garden.experiment.config import Protocol
from garden.experiment.web.refusals import Rejected
from garden.experiment.web.server import WebSessions
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
                 "htmlFilePath": "index.html", "reloadable": False, "active": True,
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
                 stimulus_set: Any | None = None, redirect_url: str = "") -> Path:
    """Write a JATOS study archive (``.jzip``) of the static site for ``participants``; never overwrites."""
    out = Path(out)
    if out.suffix != ".jzip":
        raise UserError(f"{out}: a JATOS study archive must end in .jzip")
    if out.exists():
        raise UserError(f"{out}: already exists; refusing to overwrite it (choose a new --out file)")
    dir_name = f"garden_{protocol.name}"
    with tempfile.TemporaryDirectory(prefix="garden-jatos-") as tmp:
        site = build_site(protocol, Path(tmp) / dir_name, participants=participants, sessions=sessions,
                          stimulus_set=stimulus_set, redirect_url=redirect_url)
        page = site / "index.html"
        page.write_text(page.read_text(encoding="utf-8").replace("<script defer", JATOS_SCRIPT + "\n  <script defer", 1),
                        encoding="utf-8")
        study = _study_uuid(protocol, participants)
        jas = json.dumps(study_description(protocol, dir_name, study, redirect_url), indent=1)
        partial = out.with_name(out.name + ".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{dir_name}.jas", jas)
            for file in sorted(p for p in site.rglob("*") if p.is_file()):
                archive.write(file, f"{dir_name}/{file.relative_to(site).as_posix()}")
        shutil.move(partial, out)
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


def _already_recorded(sessions: WebSessions, record: dict[str, Any]) -> bool:
    """True if ``record`` repeats a trial its open session has recorded (a page reloaded in JATOS)."""
    live = sessions.open.get((record.get("participant_id"), record.get("session")))
    trial = record.get("trial")
    return live is not None and isinstance(trial, int) and 1 <= trial <= live.done


def _replay(protocol: Protocol, lines: list[tuple[str, int, str]], out: str | Path,
            stimulus_set: Any | None) -> dict[str, int]:
    """Feed result lines to a ``WebSessions`` writing under ``out``; counts of sessions, trials, skipped."""
    sessions = WebSessions(protocol, out, stimulus_set=stimulus_set)
    counts: Counter[str] = Counter()
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
                if kind == "session":
                    sessions.begin(record)
                    counts["sessions"] += 1
                elif kind == "trial":
                    sessions.record(record)
                    counts["trials"] += 1
                else:
                    raise UserError(f"{name}:{number}: not a garden record (no kind 'session' or 'trial')")
            except Rejected as exc:
                if kind == "trial" and _already_recorded(sessions, record):
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
