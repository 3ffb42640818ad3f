"""What every way of running a session shares: set-up (or resume), trial outcomes, closing.

Used by the PsychoPy loop (``experiment.present``) and the windowless simulation
(``experiment.simulate``), so both write exactly the same files from the same sequence.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import UserError
from core.provenance import read_json, to_jsonable
from core.task import correct_choice, item_table
from core.trials import format_value, session_path, validate
from experiment.config import Protocol
from experiment.recording import SessionRecorder, recorded_trials, sidecar_path
from experiment.sequences import Assignment, ExemplarPool, assign, session_sequence

IDENTITY = ["trial", "phase", "context", "branchiness", "leafiness", "exemplar"]
"""Columns a resumed session's recorded rows must share with its sequence."""
PARTICIPANT_LEVEL = ["participant_id", "group", "curriculum", "rule_code"]


@dataclass
class Session:
    """One session being run: its protocol, counterbalancing, full sequence and (once recording) recorder."""

    protocol: Protocol
    assignment: Assignment
    session: int
    sequence: pd.DataFrame
    out: Path
    resume: bool = False
    recorder: SessionRecorder | None = None

    @property
    def start(self) -> int:
        """Index (0-based) of the first trial still to run (> 0 when resuming)."""
        return self.recorder.n_done if self.recorder else 0

    @property
    def items(self) -> pd.DataFrame:
        """The 50 task items under this participant's rule (the reference geometry for agents)."""
        return item_table(self.assignment.rule_code, self.protocol.contexts)


def _comparable(protocol: dict[str, Any]) -> Any:
    """A protocol as recorded in JSON, without where it was loaded from."""
    return json.loads(json.dumps(to_jsonable({k: v for k, v in protocol.items() if k != "source"})))


def _resumed_assignment(out: Path, participant_id: str, session: int, given: dict[str, Any],
                        protocol: Protocol) -> Assignment:
    """The assignment recorded in a session's sidecar; UserError if the command line contradicts it,
    if the session was run with another protocol, or if it is already finished."""
    sidecar = sidecar_path(session_path(out, participant_id, session))
    if not sidecar.exists():
        raise UserError(f"{sidecar}: missing, so the session cannot be resumed with the same sequence")
    info = read_json(sidecar, what="session sidecar")
    if not isinstance(info, dict) or not isinstance(info.get("assignment"), dict):
        raise UserError(f"{sidecar}: this session sidecar has no recorded assignment (damaged); the session cannot be resumed")
    if info.get("completed") is True:
        raise UserError(f"{sidecar}: this session finished at {info.get('end_utc')}; nothing to resume "
                        "(use another --session number for a new session)")
    if isinstance(info.get("config"), dict) and _comparable(info["config"]) != _comparable(protocol.to_dict()):
        raise UserError(f"{sidecar}: the session was run with another protocol ({info['config'].get('name')!r}, "
                        "or changed since); resume with the same --protocol file")
    recorded = info["assignment"]
    for key, value in given.items():
        if value is not None and value != recorded[key]:
            raise UserError(f"--resume: {key} {value!r} differs from the recorded {recorded[key]!r}; "
                            f"leave it out to resume with the recorded value")
    try:
        return Assignment(**recorded)
    except TypeError:
        raise UserError(f"{sidecar}: its recorded assignment {recorded} is damaged; the session cannot be resumed") from None


def _check_resumed_rows(session: Session) -> None:
    """The recorded rows must be this sequence's first trials and satisfy the trial-table contract
    (a file changed by hand is not completed as if it were the participant's)."""
    path = session.recorder.path
    recorded = recorded_trials(path)
    missing = [c for c in IDENTITY if c not in recorded.columns]
    if missing:
        raise UserError(f"{path}: the header lacks column(s) {missing}; the file was changed, so it cannot be resumed")
    if len(recorded):
        problems = validate(recorded, str(path))[1]
        if problems:
            raise UserError(f"{problems[0]}; the recorded trials were changed, so the session cannot be resumed "
                            "(restore the file or start another session)")
    done = recorded[IDENTITY].to_numpy(str)
    expected = session.sequence.iloc[: len(done)][IDENTITY].map(format_value).to_numpy(str)
    if len(done) > len(session.sequence) or not np.array_equal(done, expected):
        raise UserError(f"{session.recorder.path}: recorded trials differ from this protocol's sequence; "
                        "resume with the same --protocol and stimuli")


def plan_session(protocol: Protocol, participant_id: str, session: int, out: str | Path, *,
                 rule_code: int | None = None, curriculum: str | None = None, seed: int | None = None,
                 resume: bool = False, pool: ExemplarPool | None = None) -> Session:
    """Counterbalancing and sequence of a session (from the sidecar when resuming); writes nothing,
    but refuses early when the session exists and ``resume`` is False."""
    out = Path(out)
    path = session_path(out, participant_id, session)
    if path.exists() and not resume:
        raise UserError(f"{path}: already exists; refusing to overwrite it "
                        "(use --resume to continue this session, or another session number)")
    if resume:
        assignment = _resumed_assignment(out, participant_id, session,
                                         {"rule_code": rule_code, "curriculum": curriculum, "seed": seed}, protocol)
    else:
        assignment = assign(protocol, participant_id, rule_code, curriculum, seed)
    return Session(protocol, assignment, session, session_sequence(protocol, assignment, session, pool), out, resume)


def start_recording(run: Session, *, fsync: bool = True, **info: Any) -> None:
    """Open the session's recorder (checking a resumed table against the sequence) and write the
    sidecar. ``fsync``: see ``recording.AppendTable``; ``info`` goes into the sidecar."""
    run.recorder = SessionRecorder(run.out, run.assignment.participant_id, run.session,
                                   list(run.sequence.columns), resume=run.resume, fsync=fsync)
    if run.resume:
        _check_resumed_rows(run)
    run.recorder.start(run.protocol.to_dict(), run.assignment.seed, assignment=asdict(run.assignment),
                       n_trials=len(run.sequence), **info)


def outcome(trial: pd.Series | dict, choice: float, rt: float, key: str | None) -> dict[str, Any]:
    """The recorded row of a finished trial: the planned trial plus choice, RT, key, correctness
    (empty for value-0 trees and missed responses) and points earned (0 when rejecting or missing)."""
    value = float(trial["reward_value"])
    missed = choice is None or (isinstance(choice, float) and math.isnan(choice))
    right = correct_choice(value)
    return {**dict(trial), "choice": np.nan if missed else float(choice), "rt": np.nan if missed else float(rt),
            "response_key": key or "", "timed_out": int(missed),
            "correct": np.nan if missed or np.isnan(right) else float(right == choice),
            "reward_received": value if not missed and choice == 1 else 0.0}


def close_session(run: Session, completed: bool, **info: Any) -> Path:
    """Record the end in the sidecar, add the participant to participants.tsv; return the table path."""
    run.recorder.finish(completed, **info)
    row = run.sequence.iloc[0]
    run.recorder.update_participants({c: row[c] for c in PARTICIPANT_LEVEL})
    return run.recorder.path


def key_for(choice: float, side_accept: str, left: str, right: str) -> str:
    """The key that makes ``choice`` (1 accept, 0 reject) when accept is on ``side_accept``."""
    accept_left = side_accept == "left"
    return left if (choice == 1) == accept_left else right


def choice_for(key: str, side_accept: str, left: str) -> float:
    """The choice (1 accept, 0 reject) a key press means when accept is on ``side_accept``."""
    return float((key == left) == (side_accept == "left"))


def scanner_events(row: dict[str, Any], cue_onset: float, cue_duration: float) -> list[dict[str, Any]]:
    """BIDS events of one scanner trial (onsets from the run's trigger, s): its cue and its tree."""
    shared = {c: row[c] for c in ("trial", "context", "branchiness", "leafiness", "exemplar", "reward_value")}
    response = {"response_time": row["rt"], "choice": row["choice"], "response_key": row["response_key"]}
    return [{**shared, "onset": cue_onset, "duration": cue_duration, "trial_type": "cue",
             "planned_onset": row["planned_onset"] - cue_duration},
            {**shared, **response, "onset": row["onset"], "duration": row["duration"], "trial_type": "tree",
             "planned_onset": row["planned_onset"]}]
