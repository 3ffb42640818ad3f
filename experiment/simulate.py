"""Windowless simulated sessions: the same sequence, recorder and files as a real session.

Why: the demo, parameter/model recovery and power analyses need many sessions fast, and the
kill/resume tests need a session that writes trial by trial exactly as the PsychoPy loop does.
Timing is idealised: onsets follow the protocol's durations (scanner trials sit exactly on their
computed schedule), each trial lasts until the agent's RT (or the response window), and an RT
longer than the window is a missed response ("too slow").
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from garden.core.files import replacing
from garden.core.progress import progress_bar
from garden.core.responders import Responder, responder_rng
from garden.core.trials import session_path
from garden.experiment.config import Protocol
from garden.experiment.sequences import ExemplarPool
from garden.experiment import session as steps  # the steps of a session, as the window's runner takes them


def simulate_session(protocol: Protocol, participant_id: str, session: int, agent: Responder, out: str | Path, *,
                     rule_code: int | None = None, curriculum: str | None = None, seed: int | None = None,
                     resume: bool = False, pool: ExemplarPool | None = None, pace_s: float = 0.0,
                     durable: bool = False, progress: bool = False, allow_mismatch: bool = False,
                     overwrite: bool = False) -> Path:
    """Run one session with a simulated participant, writing the trial table, sidecar,
    scanner events and participants.tsv under ``out``; return the trial table's path.

    ``allow_mismatch``: see ``garden.experiment.linking``. ``pace_s`` waits that long after each trial (to
    run at a watchable/killable speed). Scanner pulses are simulated at every TR of a run. Every trial is flushed as it ends; ``durable`` also fsyncs it (as a real session does; ~8 ms a trial).
    ``overwrite``: replace an existing session folder (default: refused); the old one is set aside and
    restored if the new session fails, removed once it is complete (``garden.core.files.replacing``).
    """
    folder = session_path(out, participant_id, session).parent.parent
    with replacing(folder) if overwrite and not resume else nullcontext():
        run = steps.plan_session(protocol, participant_id, session, out, rule_code=rule_code, curriculum=curriculum,
                                 seed=seed, resume=resume, pool=pool, allow_mismatch=allow_mismatch)
        seq = run.sequence
        # all responses are drawn up front (again when a practice attempt is added: the same draws for
        # the trials before it), so a resumed session gets the same ones
        choices, rts = agent.respond(seq, responder_rng(agent, run.assignment.seed), run.items)
        steps.start_recording(run, fsync=durable, mode="simulated", agent=agent.describe())
        phases = {p.name: p for p in protocol.session_phases(session)}
        records = seq.to_dict("records")
        clock, pulses, pending = 0.0, iter(()), None
        bar = progress_bar(total=len(seq) - run.start, desc=f"sub-{participant_id} ses-{session}", enabled=progress)
        i = run.start - 1
        while i + 1 < len(seq):
            i += 1
            bar.update()
            trial = records[i]
            timing = phases[trial["phase"]].timing
            scanner = phases[trial["phase"]].scanner
            if scanner and (i == run.start or records[i - 1]["block"] != trial["block"]):
                number = steps.open_scanner_run(run, i)
                plan = run.recorder.info["scanner_runs"][str(number)]
                pulses = iter(np.arange(plan["planned_volumes"]) * timing.tr_s)  # a pulse every TR from the trigger
                pending = next(pulses, None)
            missed = rts[i] > timing.response_window_s
            choice = np.nan if missed else choices[i]
            keys = phases[trial["phase"]].keys
            key = None if missed else steps.key_for(choice, trial["side_accept"], keys.left, keys.right)
            row = steps.outcome(trial, choice, rts[i], key)
            if scanner:
                row.update(onset=trial["planned_onset"], cue_onset=trial["planned_onset"] - timing.cue_s,
                           duration=timing.response_window_s, dropped_frames=0)
            else:
                cue_onset = clock + timing.iti_s
                shown = timing.response_window_s if missed or timing.fixed_duration else rts[i]
                row.update(cue_onset=cue_onset, onset=cue_onset + timing.cue_s, duration=shown, dropped_frames=0)
                after = timing.too_slow_s if missed else timing.feedback_delay_s + timing.feedback_s * trial["feedback"]
                clock = row["onset"] + shown + after
            run.recorder.append(row)
            if steps.practice_ends(run, i) and steps.settle_practice(run)["again"]:
                seq, records = run.sequence, run.sequence.to_dict("records")
                choices, rts = agent.respond(seq, responder_rng(agent, run.assignment.seed), run.items)
                bar.total = len(seq) - run.start
            if scanner:
                last = i + 1 == len(seq) or records[i + 1]["block"] != trial["block"]
                end = np.inf if last else row["onset"] + timing.response_window_s + trial["iti_s"]
                events = steps.scanner_events(row, row["cue_onset"], timing.cue_s)
                while pending is not None and pending < end:
                    events.append(steps.trigger_events([float(pending)])[0])
                    pending = next(pulses, None)
                for event in sorted(events, key=lambda e: e["onset"]):
                    run.recorder.event(steps.run_file(run, trial["run"]), event)
            if pace_s:
                time.sleep(pace_s)
        bar.close()
        return steps.close_session(run, completed=True)
