"""``garden web build|serve``: the task in a browser (jsPsych), as a static site or served and recorded."""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlsplit

from garden.experiment.config import Protocol, load_protocol
from garden.experiment.web.site import IGNORED_ONLINE, IGNORED_STATIC, build_site, ignored_online
from garden.arguments import bounded_int, existing_folder, host_address, participant_id
from garden.stimuli.sets import StimulusSet, load_set


def _unique(items: list, text: str, what: str) -> list:
    """``items`` unless one is given twice (ArgumentTypeError naming it)."""
    twice = sorted({str(i) for i in items if items.count(i) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"{text!r}: {what} {', '.join(twice)} given twice; name each once")
    return items


def _ids(text: str) -> list[str]:
    """argparse type of ``--participants``: comma-separated participant ids, each checked, none empty or twice."""
    parts = [t.strip() for t in text.split(",")]
    if not any(parts):
        raise argparse.ArgumentTypeError(f"{text!r}: give participant ids, e.g. P001,P002")
    if not all(parts):
        raise argparse.ArgumentTypeError(f"{text!r}: an empty participant id (two commas, or one at an end); "
                                         "give ids like P001,P002")
    return _unique([participant_id(t) for t in parts], text, "participant id")


def _sessions(text: str) -> list[int]:
    """argparse type of ``--sessions``: comma-separated session numbers, none twice (empty: every browser session)."""
    one = bounded_int(1, "session")
    return _unique([one(s) for s in text.split(",") if s.strip()], text, "session")


def redirect_url(text: str) -> str:
    """argparse type of ``--redirect-url``: an absolute http(s) address (a completion link), or empty.
    ``{participant}`` and ``{completion_code}`` in it are filled in by the page."""
    if not text:
        return text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError(f"{text[:80]!r}: not an http:// or https:// address; give a completion "
                                         "link such as https://app.prolific.com/submissions/complete?cc=CODE")
    return text


def _add_site_arguments(p: argparse.ArgumentParser, out_help: str, redirect_help: str) -> None:
    """The options ``build`` and ``jatos`` share."""
    p.add_argument("--protocol", default="flesch2022", help="protocol name or .toml path")
    p.add_argument("--out", type=Path, required=True, help=out_help)
    p.add_argument("--participants", type=_ids, required=True, metavar="ID,...",
                   help="participant ids, e.g. P001,P002")
    p.add_argument("--sessions", type=_sessions, default=[], metavar="N,...",
                   help="sessions (default: every browser session)")
    p.add_argument("--stimuli", type=existing_folder, metavar="DIR", help="stimulus set folder (default: render trees)")
    p.add_argument("--redirect-url", type=redirect_url, default="", metavar="URL", help=redirect_help)
    p.add_argument("--arrangements", type=bounded_int(0, "arrangements"), default=0, metavar="N",
                   help="tree arrangements per participant, session and phase pre/post (arrange.html?...&phase=pre;"
                        " default 0: none)")


def _inputs(args: argparse.Namespace) -> tuple[Protocol, StimulusSet | None]:
    """The protocol and (optional) stimulus set of a web command, checked before any work."""
    return load_protocol(args.protocol), load_set(args.stimuli) if args.stimuli else None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``web`` with its ``build`` and ``serve`` sub-commands."""
    parser = subparsers.add_parser("web", help="the task in a web browser (jsPsych): static site or server",
                                   description="The same protocols, trees and trial sequences as `garden run`, "
                                               "in a browser. Scanner sessions are refused (run them with "
                                               f"`garden run`); ignored online: {', '.join(IGNORED_ONLINE)}; "
                                               f"on a static site also {', '.join(IGNORED_STATIC)} (one "
                                               "practice attempt; `serve` repeats it below the criterion).")
    commands = parser.add_subparsers(dest="web_command", metavar="SUBCOMMAND", required=True)

    p = commands.add_parser("build", help="build a static site for the given participants",
                            description="A folder to put on any static host: open index.html?participant=ID"
                                        "&session=N. Sequences are planned here, per participant; never overwrites.")
    _add_site_arguments(p, "new site folder", "open this address when a session ends (e.g. a Prolific completion link)")
    p.set_defaults(func=build_command)

    p = commands.add_parser("jatos", help="export the static site as a JATOS study archive (.jzip)",
                            description="A study archive to import into JATOS (Studies > Import). Trials are "
                                        "appended to the result data as they happen; read the exported results "
                                        "with `garden import --web RESULTS --protocol P`.")
    _add_site_arguments(p, "new .jzip file", "JATOS end redirect (e.g. a Prolific link)")
    p.set_defaults(func=jatos_command)

    p = commands.add_parser("serve", help="serve the task and record every trial as it happens",
                            description="Pages at http://HOST:PORT/?participant=ID&session=N; every trial is "
                                        "appended and fsynced to OUT/sub-ID/ses-N/beh/ as with `garden run`; a "
                                        "reloaded page resumes after the last recorded trial.")
    p.add_argument("--protocol", default="flesch2022", help="protocol name or .toml path")
    p.add_argument("--out", type=Path, default=Path("participants"), help="data folder (default: participants)")
    p.add_argument("--stimuli", type=existing_folder, metavar="DIR", help="stimulus set folder (default: render trees)")
    p.add_argument("--host", type=host_address, default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=bounded_int(1, high=65535), default=8000, help="port 1..65535 (default 8000)")
    p.add_argument("--redirect-url", type=redirect_url, default="", metavar="URL",
                   help="open this http(s) address when a session ends")
    p.add_argument("--arrangements", type=bounded_int(1, "arrangements"), default=6, metavar="N",
                   help="arrangements per tree-arrangement session (arrange.html; default 6)")
    p.set_defaults(func=serve_command)


def build_command(args: argparse.Namespace) -> int:
    protocol, stimulus_set = _inputs(args)
    site = build_site(protocol, args.out, participants=args.participants, sessions=args.sessions,
                      stimulus_set=stimulus_set, redirect_url=args.redirect_url, n_arrangements=args.arrangements)
    print(f"wrote {site} (open index.html?participant=ID&session=N); {ignored_online(protocol, server=False)}")
    return 0


def jatos_command(args: argparse.Namespace) -> int:
    from garden.experiment.web.jatos import export_study  # deferred: optional (the [web] extra: the recorder)

    protocol, stimulus_set = _inputs(args)
    archive = export_study(protocol, args.out, participants=args.participants, sessions=args.sessions,
                           stimulus_set=stimulus_set, redirect_url=args.redirect_url, n_arrangements=args.arrangements)
    print(f"wrote {archive} (import it in JATOS: Studies > Import study; it was not tested against a JATOS server); "
          f"{ignored_online(protocol, server=False)}")
    return 0


def serve_command(args: argparse.Namespace) -> int:
    from garden.experiment.web.server import serve  # deferred: optional (the [web] extra: Starlette, uvicorn)

    protocol, stimulus_set = _inputs(args)
    print(f"serving protocol {protocol.name}; {ignored_online(protocol, server=True)}", flush=True)
    serve(protocol, args.out, host=args.host, port=args.port, stimulus_set=stimulus_set,
          redirect_url=args.redirect_url, n_arrangements=args.arrangements)
    return 0
