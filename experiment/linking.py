"""Sessions that belong together: a later session of a participant takes its assignment and its
exemplars from the participant's first recorded session.

Why: day 2 must play the same reward rule, curriculum, accept side, seed and exemplar allocation
as day 1. Re-deriving them would silently change them if day 1 ran with ``--rule-code``,
``--curriculum`` or ``--seed``, or if the protocol file changed in between (trees would then
repeat across days). A later session therefore reads the first session's sidecar and refuses, in
one line, any command-line value or protocol (compared by ``protocol_hash``) that differs;
``allow_mismatch`` runs it anyway, with the differences recorded in its sidecar.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from garden.core.errors import UserError
from garden.core.provenance import read_session_record
from garden.core.trials import session_path
from garden.experiment.config import PRACTICE_PHASE, Phase, Protocol, parse_protocol
from garden.experiment.sequences import CELLS, Allocation, Assignment

OVERRIDE_FLAG = "--allow-session-mismatch"


def _canonical(value: Any) -> Any:
    """Settings with tuples as lists and whole floats as integers (600 and 600.0 are one setting)."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def protocol_hash(config: dict[str, Any]) -> str:
    """SHA-256 (hex) of a protocol's settings (``Protocol.to_dict()``, without the file it came from)."""
    settings = _canonical({k: v for k, v in config.items() if k != "source"})
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def _recorded_hash(record: dict[str, Any]) -> str:
    """The hash of a recorded protocol, with the defaults of settings added since it was recorded
    (so that a newer garden does not see an unchanged protocol file as changed)."""
    config = {k: v for k, v in record.get("config", {}).items() if k != "source"}
    try:
        return protocol_hash(parse_protocol(config, "recorded protocol").to_dict())
    except UserError:
        return record.get("protocol_sha256", "")


def _record_key(phase: Phase) -> str:
    """A phase's key in the allocation record: its name (unique within a session), the practice's with its
    session (every session may start with one)."""
    return f"{PRACTICE_PHASE}-ses-{phase.session}" if phase.name == PRACTICE_PHASE else phase.name


def allocation_record(protocol: Protocol, allocation: Allocation) -> dict[str, dict[str, list[str]]]:
    """The exemplar allocation as JSON: ``{phase name: {"B<b>L<l>": [labels]}}`` (``practice-ses-<n>``
    for a practice)."""
    return {_record_key(phase): {f"B{b}L{l}": list(cells[(b, l)]) for b, l in CELLS}
            for phase, cells in zip(protocol.phases, allocation)}


def recorded_allocation(protocol: Protocol, record: dict[str, Any], fresh: Allocation) -> Allocation:
    """The recorded allocation for every phase it holds with as many exemplars, else ``fresh``."""
    out = []
    for phase, cells in zip(protocol.phases, fresh):
        old = record.get(_record_key(phase), {})
        same_size = old and all(len(old.get(f"B{b}L{l}", ())) == phase.exemplars_per_cell for b, l in CELLS)
        out.append({(b, l): list(old[f"B{b}L{l}"]) for b, l in CELLS} if same_size else cells)
    return out


@dataclass
class Link:
    """What a session takes from the participant's first session (empty for a first session)."""

    session: int | None = None
    sidecar: Path | None = None
    record: dict[str, Any] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        """What the sidecar records about the link."""
        if self.session is None:
            return {}
        return {"linked_to_session": self.session, "mismatch_allowed": self.mismatches}


def first_session(out: Path, participant_id: str, session: int) -> Link:
    """The participant's lowest-numbered other session with a sidecar (an empty Link if none)."""
    here = session_path(out, participant_id, session)
    numbers = []
    for folder in here.parent.parent.parent.glob("ses-*"):
        match = re.fullmatch(r"ses-(\d+)", folder.name)
        if match and int(match.group(1)) != session:
            sidecar = session_path(out, participant_id, int(match.group(1))).with_suffix(".json")
            if sidecar.exists():
                numbers.append((int(match.group(1)), sidecar))
    if not numbers:
        return Link()
    number, sidecar = min(numbers)
    return Link(number, sidecar, read_session_record(sidecar))


def linked_assignment(link: Link, protocol: Protocol, given: dict[str, Any], derived: Assignment, *,
                      allow_mismatch: bool) -> Assignment:
    """The first session's assignment, with the command line's ``given`` values where allowed.

    ``derived`` is the assignment this protocol gives the participant today; any difference from
    the recorded one (the protocol's hash, a given value, the derived accept side or first garden)
    is refused with one line, unless ``allow_mismatch`` (then the given values win, the rest is
    the recorded assignment, and ``link.mismatches`` lists every difference).
    """
    recorded = dict(link.record["assignment"])
    recorded.setdefault("first_context", None)
    problems = []
    old_hash = _recorded_hash(link.record)
    if old_hash != protocol_hash(protocol.to_dict()):
        problems.append(f"the protocol differs from session {link.session}'s "
                        f"({link.record.get('config', {}).get('source', '?')})")
    for key, value in given.items():
        if value is not None and value != recorded[key]:
            problems.append(f"{key} {value!r} differs from session {link.session}'s {recorded[key]!r}")
    for key in ("accept_side", "first_context"):
        if recorded[key] is not None and getattr(derived, key) != recorded[key] and not problems:
            problems.append(f"{key} {getattr(derived, key)!r} differs from session {link.session}'s {recorded[key]!r}")
    if problems and not allow_mismatch:
        raise UserError(f"{link.sidecar}: {problems[0]}; use session {link.session}'s protocol and leave out "
                        f"--rule-code/--curriculum/--seed, or pass {OVERRIDE_FLAG} to run it anyway (recorded)")
    link.mismatches = problems
    chosen = {**recorded, **{k: v for k, v in given.items() if v is not None}}
    return Assignment(**chosen)


def linked_allocation(link: Link, protocol: Protocol, fresh: Allocation, *, allow_mismatch: bool) -> Allocation:
    """The first session's exemplar allocation (refused in one line if today's differs, unless
    ``allow_mismatch``); ``fresh`` for a first session or a first session that recorded none."""
    record = link.record.get("exemplars")
    if link.session is None or not record:
        return fresh
    linked = recorded_allocation(protocol, record, fresh)
    if linked != fresh:
        if not allow_mismatch:
            raise UserError(f"{link.sidecar}: the exemplar allocation differs from session {link.session}'s "
                            f"(another stimulus set or protocol?); use the first session's stimuli, or pass "
                            f"{OVERRIDE_FLAG} to keep its allocation where it applies (recorded)")
        link.mismatches.append(f"exemplar allocation differs from session {link.session}'s; its allocation kept "
                               "for the phases it holds")
    return linked
