"""What every way of running a session shares: set-up (or resume), trial outcomes, closing.

Used by the PsychoPy loop (``garden.experiment.present``) and the windowless simulation
(``garden.experiment.simulate``), so both write exactly the same files from the same sequence.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from garden.core.errors import UserError
from garden.core.provenance import read_session_record, to_jsonable
from garden.core.task import correct_choice, item_table
from garden.core.trials import format_value, session_path, validate
from garden.experiment.config import PRACTICE_PHASE, Protocol
from garden.experiment.linking import (
    Link,
    allocation_record,
    first_session,
    linked_allocation,
    linked_assignment,
    protocol_hash,
    recorded_allocation,
)
from garden.experiment.recording import (
    SessionRecorder,
    events_path,
    recorded_trials,
    sidecar_path,
)
from garden.experiment.sequences import (
    Allocation,
    Assignment,
    ExemplarPool,
    allocate_exemplars,
    assign,
    run_plan,
    session_sequence,
)

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
    allocation: Allocation | None = None
    """Exemplars of every phase of the protocol (recorded, so later sessions reuse them)."""
    link: Link | None = None
    """What this session took from the participant's first session."""
    practice_attempts: int = 1
    """Attempts of the session's practice in ``sequence`` (one more after each attempt below the criterion)."""
    run_files: dict[int, int] = field(default_factory=dict)
    """Planned scanner run -> the number of its ``events.tsv`` (another number for the part of a
    run played after a resume: a new acquisition, see ``resume_inside_run``)."""

    @property
    def start(self) -> int:
        """Index (0-based) of the first trial still to run (> 0 when resuming)."""
        return self.recorder.n_done if self.recorder else 0

    @property
    def items(self) -> pd.DataFrame:
        """The 50 task items under this participant's rule (the reference rules for agents)."""
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
    info = read_session_record(sidecar)
    if not isinstance(info.get("assignment"), dict):
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
                 resume: bool = False, pool: ExemplarPool | None = None,
                 allow_mismatch: bool = False, repeat_practice: bool = True) -> Session:
    """Counterbalancing and sequence of a session; writes nothing, but refuses early when the
    session exists and ``resume`` is False. Resuming: the session's own recorded assignment (and
    the practice attempts its rows call for, unless not ``repeat_practice``: the browser plays one
    attempt). A later session of a participant: the first session's assignment and exemplars
    (``garden.experiment.linking``; ``allow_mismatch`` runs despite differences, recorded)."""
    out = Path(out)
    path = session_path(out, participant_id, session)
    if path.exists() and not resume:
        raise UserError(f"{path}: already exists; refusing to overwrite it "
                        "(use --resume to continue this session, or another session number)")
    given = {"rule_code": rule_code, "curriculum": curriculum, "seed": seed}
    link = first_session(out, participant_id, session)
    if resume:
        assignment = _resumed_assignment(out, participant_id, session, given, protocol)
    elif link.session is not None:
        derived = assign(protocol, participant_id, rule_code, curriculum, seed)
        assignment = linked_assignment(link, protocol, given, derived, allow_mismatch=allow_mismatch)
    else:
        assignment = assign(protocol, participant_id, rule_code, curriculum, seed)
    allocation = allocate_exemplars(protocol, assignment.seed, pool)
    attempts = 1
    if not resume:
        allocation = linked_allocation(link, protocol, allocation, allow_mismatch=allow_mismatch)
    else:
        allocation = _resumed_allocation(out, participant_id, session, protocol, allocation)
        attempts = practice_attempts(protocol, recorded_trials(path)) if repeat_practice and path.exists() else 1
    sequence = session_sequence(protocol, assignment, session, allocation=allocation, practice_attempts=attempts)
    return Session(protocol, assignment, session, sequence, out, resume, allocation=allocation, link=link,
                   practice_attempts=attempts)


def practice_results(protocol: Protocol, recorded: pd.DataFrame) -> list[dict[str, Any]]:
    """Each practice attempt in the recorded rows (one block each): its trials so far, right answers
    (a missed response is not right) and whether it met the criterion (once finished)."""
    practice = protocol.practice
    rows = recorded[recorded["phase"].astype(str) == PRACTICE_PHASE]
    results = []
    for attempt, (_, group) in enumerate(rows.groupby(pd.to_numeric(rows["block"]), sort=True), start=1):
        right = int((pd.to_numeric(group["correct"], errors="coerce") == 1).sum())
        results.append({"attempt": attempt, "trials": len(group), "correct": right,
                        "passed": len(group) == practice.trials and right >= practice.criterion})
    return results


def practice_attempts(protocol: Protocol, recorded: pd.DataFrame) -> int:
    """Practice attempts the session plans once ``recorded`` rows are done: one, and another after
    each finished attempt below the criterion, up to ``practice.attempts``."""
    results = practice_results(protocol, recorded)
    attempts = max(1, len(results))
    last = results[-1] if results else None
    if last and last["trials"] == protocol.practice.trials and not last["passed"]:
        attempts = min(attempts + 1, protocol.practice.attempts)
    return attempts


def settle_practice(run: Session) -> dict[str, Any]:
    """After a practice attempt ends: record the attempts in the sidecar (``practice``) and, when
    the attempt missed the criterion and repeats are left, plan another one (the sequence's later
    trials move back; ``n_trials`` follows). Returns the attempt's result with ``again``."""
    recorded = recorded_trials(run.recorder.path)
    attempts = practice_attempts(run.protocol, recorded)
    if attempts != run.practice_attempts:
        run.sequence = session_sequence(run.protocol, run.assignment, run.session, allocation=run.allocation,
                                        practice_attempts=attempts)
        run.practice_attempts = attempts
        run.recorder.info["n_trials"] = len(run.sequence)
    results = practice_results(run.protocol, recorded)
    run.recorder.info["practice"] = {"criterion": run.protocol.practice.criterion,
                                     "trials": run.protocol.practice.trials, "attempts": results,
                                     "passed": bool(results and results[-1]["passed"])}
    run.recorder.save()
    last = results[-1]
    return {**last, "again": len(results) < attempts}


def practice_ends(run: Session, index: int) -> bool:
    """True when sequence row ``index`` is the last trial of a practice attempt."""
    seq = run.sequence  # called after every trial: the phase first (most trials are not practice), by iat
    if seq["phase"].iat[index] != PRACTICE_PHASE:
        return False
    return index + 1 == len(seq) or seq["block"].iat[index + 1] != seq["block"].iat[index]


def _resumed_allocation(out: Path, participant_id: str, session: int, protocol: Protocol,
                        fresh: Allocation) -> Allocation:
    """The allocation recorded by the session being resumed (``fresh`` if it recorded none)."""
    record = read_session_record(session_path(out, participant_id, session)).get("exemplars")
    return recorded_allocation(protocol, record, fresh) if record else fresh


def start_recording(run: Session, *, fsync: bool = True, extra_columns: tuple[str, ...] = (), **info: Any) -> None:
    """Open the session's recorder (checking a resumed table against the sequence) and write the
    sidecar. ``fsync``: see ``recording.AppendTable``; ``extra_columns`` come after the usual ones
    (see ``SessionRecorder``); ``info`` goes into the sidecar."""
    run.recorder = SessionRecorder(run.out, run.assignment.participant_id, run.session,
                                   list(run.sequence.columns), resume=run.resume, fsync=fsync,
                                   extra_columns=extra_columns)
    if run.resume:
        _check_resumed_rows(run)
    link = run.link.info() if run.link and not run.resume else {}
    run.recorder.start(run.protocol.to_dict(), run.assignment.seed, assignment=asdict(run.assignment),
                       n_trials=len(run.sequence), protocol_sha256=protocol_hash(run.protocol.to_dict()),
                       exemplars=allocation_record(run.protocol, run.allocation), **link, **info)
    if run.resume:
        resume_inside_run(run)


def resume_inside_run(run: Session) -> None:
    """When a resumed session starts inside a scanner run (or at the start of a run whose events
    file was begun, e.g. quit during the lead-in), its remaining trials are a new acquisition: they
    go to a new run file (the next free number) and are re-planned from its own trigger (planned
    onsets shifted so the first remaining trial starts ``lead_in_s`` after it); the part recorded
    before keeps its file. Recorded in the sidecar."""
    seq, i = run.sequence, run.start
    if i >= len(seq) or pd.isna(seq.run.iloc[i]):
        return
    planned_run = int(seq.run.iloc[i])
    func = run.recorder.path.parent.parent / "func"
    inside = i > 0 and seq.block.iloc[i - 1] == seq.block.iloc[i]
    if not inside and not events_path(run.recorder.path, planned_run).exists():
        return  # a run that had not started: it keeps its number
    phase = next(p for p in run.protocol.session_phases(run.session) if p.name == seq.phase.iloc[i])
    used = [int(m.group(1)) for p in func.glob("*_events.tsv") if (m := re.search(r"_run-(\d+)_events", p.name))]
    new = max(used + [int(r) for r in seq.run.dropna()] + list(run.run_files.values())) + 1
    rows = (seq.run == planned_run).to_numpy() & (np.arange(len(seq)) >= i)
    shift = float(seq.planned_onset.iloc[i]) - phase.timing.cue_s - phase.timing.lead_in_s
    seq.loc[rows, "planned_onset"] = seq.planned_onset[rows] - shift
    run.run_files[planned_run] = new
    run.recorder.info["resumed"][-1].update(planned_run=planned_run, run_file=new, replanned_by_s=shift)
    run.recorder.save()


def run_file(run: Session, planned_run: int) -> int:
    """The ``events.tsv`` number of a planned scanner run (itself unless resumed inside it)."""
    return run.run_files.get(int(planned_run), int(planned_run))


def open_scanner_run(run: Session, index: int) -> int:
    """Open the events file of the scanner run that sequence row ``index`` starts (with its planned
    duration and volumes in the sidecar); return its number."""
    seq = run.sequence
    planned_run = int(seq.run.iloc[index])
    phase = next(p for p in run.protocol.session_phases(run.session) if p.name == seq.phase.iloc[index])
    rows = (seq.run == planned_run).to_numpy() & (seq.phase == phase.name).to_numpy() & (np.arange(len(seq)) >= index)
    number = run_file(run, planned_run)
    run.recorder.open_run(number, planned_run=planned_run, first_trial=int(seq.trial.iloc[index]),
                          n_trials=int(rows.sum()), lead_in_s=phase.timing.lead_in_s,
                          lead_out_s=phase.timing.lead_out_s, **run_plan(phase, seq.planned_onset[rows].to_numpy()))
    return number


def outcome(trial: pd.Series | dict, choice: float, rt: float, key: str | None) -> dict[str, Any]:
    """The recorded row of a finished trial: the planned trial plus choice, RT, key, correctness
    (empty for value-0 trees and missed responses) and points earned (0 when rejecting or missing)."""
    value = float(trial["reward_value"])
    missed = choice is None or (isinstance(choice, float) and math.isnan(choice))
    right = correct_choice(value)
    return {**dict(trial), "choice": np.nan if missed else float(choice), "rt": np.nan if missed else float(rt),
            "response_key": key or "", "timed_out": int(missed), "interrupted": 0,
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


def trigger_events(pulses: list[float]) -> list[dict[str, Any]]:
    """BIDS events of scanner trigger pulses (onsets from the run's first trigger, s)."""
    return [{"onset": t, "duration": 0.0, "trial_type": "trigger"} for t in pulses]


def scanner_events(row: dict[str, Any], cue_onset: float, cue_duration: float) -> list[dict[str, Any]]:
    """BIDS events of one scanner trial (onsets from the run's trigger, s): its cue, its tree and,
    if the participant answered, the response (onset = tree onset + RT, duration 0)."""
    shared = {c: row[c] for c in ("trial", "context", "branchiness", "leafiness", "exemplar", "reward_value",
                                  "side_accept")}
    response = {"response_time": row["rt"], "choice": row["choice"], "response_key": row["response_key"],
                "correct": row["correct"]}
    events = [{**shared, "onset": cue_onset, "duration": cue_duration, "trial_type": "cue",
               "planned_onset": row["planned_onset"] - cue_duration},
              {**shared, **response, "onset": row["onset"], "duration": row["duration"], "trial_type": "tree",
               "planned_onset": row["planned_onset"]}]
    if not math.isnan(row["rt"]):
        events.append({**shared, **response, "onset": row["onset"] + row["rt"], "duration": 0.0,
                       "trial_type": "response", "planned_onset": np.nan})
    return events
