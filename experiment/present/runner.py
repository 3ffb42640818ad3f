"""The loop that plays a session's sequence trial by trial and records each trial as it ends."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from garden.core.errors import UserError
from garden.core.interrupts import sigterm_stops
from garden.core.responders import Responder
from garden.core.trials import session_path
from garden.experiment.config import (
    PRACTICE_PHASE,
    Keys,
    Phase,
    Protocol,
)
from garden.experiment.markers import open_markers
from garden.experiment.present.keys import XdotoolDriver
from garden.experiment.present.screen import Response, Screen
from garden.experiment.present.toolkit import Aborted, psychopy, require_window
from garden.experiment.present.trees import Trees
from garden.experiment.recording import recorded_trials
from garden.experiment.screen_texts import fill
from garden.experiment.session import (
    Session,
    choice_for,
    close_session,
    open_scanner_run,
    outcome,
    plan_session,
    practice_ends,
    run_file,
    scanner_events,
    settle_practice,
    start_recording,
    trigger_events,
)
from PIL import Image


class Runner:
    """Plays a session's remaining trials on a Screen and records them."""

    def __init__(self, run: Session, screen: Screen, trees: Trees, driver: XdotoolDriver | None = None,
                 texts: bool = True):
        """``texts=False`` skips instructions, breaks and the end screen (benchmarks, pilots)."""
        self.run, self.screen, self.trees, self.driver, self.texts = run, screen, trees, driver, texts
        self.phases = {p.name: p for p in run.protocol.session_phases(run.session)}
        self.keys = run.protocol.keys
        self.score = 0.0
        self.origin = 0.0
        self.trigger = 0.0
        self.results: dict[str, Any] = {}
        """What the sidecar records of the session besides its trials (comprehension checks, bonus)."""
        curriculum = run.protocol.curricula.get(run.assignment.curriculum)
        self.announce = bool(curriculum and curriculum.order == "blocked" and curriculum.announce_switch)

    def _notify(self, kind: str, phase: Phase | None = None) -> Callable[..., None] | None:
        """Tell the driver (if any) a text screen of ``kind`` is up, or (done=True) gone."""
        if not self.driver:
            return None
        return lambda done=False: self.driver.screen_done() if done else self.driver.on_screen(kind, phase)

    def text(self, kind: str, text: str) -> None:
        """A text screen the participant ends with the proceed key."""
        if self.texts:
            self.screen.wait_key(self.screen.text_screen(text), [self.screen.keys.proceed], self._notify(kind))

    def wait_trigger(self, phase: Phase) -> float:
        """Wait for the scanner trigger; return its key-down time (flip clock, s)."""
        _, response = self.screen.wait_key(self.screen.text_screen(self.screen.strings["wait_trigger"]),
                                           [phase.keys.trigger], self._notify("trigger", phase))
        return response.t

    def load(self, trial: dict[str, Any]) -> None:
        self.screen.set_tree(self.trees.image(trial["branchiness"], trial["leafiness"], trial["exemplar"]))

    def respond(self, keys: Keys, until: float) -> Response | None:
        """Wait for a left/right key until ``until``; the first one, or None."""
        def poll() -> Response | None:
            presses = self.screen.keys_pressed([keys.left, keys.right])
            if presses:
                self.screen.markers.send("response", self.screen.now() - presses[0].t)
            return presses[0] if presses else None
        return self.screen.hold(until, poll)

    def online_trial(self, i: int, trial: dict[str, Any], phase: Phase, iti_start: float, iti: float
                     ) -> tuple[dict[str, Any], float]:
        """One self-paced trial; returns the recorded row and the flip time of its closing blank."""
        s, t, keys = self.screen, phase.timing, phase.keys
        self.load(trial)
        s.lost_frames = 0
        t_cue = s.show(s.cue(trial["context"]), iti_start + iti, mark="cue")
        t_tree = s.show(s.trial_screen(trial), t_cue + t.cue_s, shot=f"trial-{trial['trial']:04d}-tree",
                        on_flip=s.start_rt_clock, mark="tree")
        if self.driver:
            self.driver.on_tree(i, t.response_window_s)
        response = self.respond(keys, t_tree + t.response_window_s)
        if response is None:
            choice = np.nan
            t_slow = s.show(s.text_screen(self.screen.strings["too_slow"], trial["context"]))
            s.hold(t_slow + t.too_slow_s)
        else:
            choice = choice_for(response.key, trial["side_accept"], keys.left)
            chosen = "left" if response.key == keys.left else "right"
            s.show(s.trial_screen(trial, chosen))
            t_response = t_tree + response.rt
            if t.fixed_duration:
                s.hold(t_tree + t.response_window_s)
            if trial["feedback"]:
                t_fb = s.show(s.trial_screen(trial, chosen, feedback=True), t_response + t.feedback_delay_s,
                              shot=f"trial-{trial['trial']:04d}-feedback", mark="feedback")
                s.hold(t_fb + t.feedback_s)
            else:
                s.hold(t_response + t.feedback_delay_s)
        t_end = s.show(s.blank)
        row = outcome(trial, choice, response.rt if response else np.nan, response.key if response else None)
        row.update(onset=t_tree - self.origin, cue_onset=t_cue - self.origin, duration=t_end - t_tree,
                   dropped_frames=s.lost_frames)
        return row, t_end

    def scanner_trial(self, i: int, trial: dict[str, Any], phase: Phase) -> dict[str, Any]:
        """One scanner trial on the computed schedule (times from the run's trigger)."""
        s, t, t0, keys = self.screen, phase.timing, self.trigger, phase.keys
        planned = float(trial["planned_onset"])
        self.load(trial)
        s.lost_frames = 0
        t_cue = s.show(s.cue(trial["context"]), t0 + planned - t.cue_s, mark="cue")
        t_tree = s.show(s.trial_screen(trial), t0 + planned, shot=f"trial-{trial['trial']:04d}-tree",
                        on_flip=s.start_rt_clock, mark="tree")
        if self.driver:
            self.driver.on_tree(i, t.response_window_s)
        response = self.respond(keys, t0 + planned + t.response_window_s)
        choice = np.nan
        if response is not None:
            choice = choice_for(response.key, trial["side_accept"], keys.left)
            s.show(s.trial_screen(trial, "left" if response.key == keys.left else "right"))
            s.hold(t0 + planned + t.response_window_s)
        t_end = s.show(s.blank, t0 + planned + t.response_window_s)
        row = outcome(trial, choice, response.rt if response else np.nan, response.key if response else None)
        row.update(onset=t_tree - t0, cue_onset=t_cue - t0, duration=t_end - t_tree, dropped_frames=s.lost_frames)
        return row

    def start_scan(self, i: int, phase: Phase) -> None:
        """Open the events file of the run starting at row ``i``, wait for its trigger, log pulses."""
        open_scanner_run(self.run, i)
        self.trigger = self.wait_trigger(phase)
        self.screen.pulse_key, self.screen.pulses = phase.keys.trigger, [self.trigger]
        self.screen.show(self.screen.blank)

    def log_scan(self, trial: dict[str, Any], phase: Phase, row: dict[str, Any] | None) -> None:
        """Write a scanner trial's events and the trigger pulses since the last call, in time order."""
        events = scanner_events(row, row["cue_onset"], phase.timing.cue_s) if row else []
        events += trigger_events([p - self.trigger for p in self.screen.take_pulses()])
        for event in sorted(events, key=lambda e: e["onset"]):
            self.run.recorder.event(run_file(self.run, trial["run"]), event)

    def end_scan(self, trial: dict[str, Any], phase: Phase) -> None:
        """The lead-out right after the run's last tree, then its last pulses; the scanner stops."""
        end = self.trigger + trial["planned_onset"] + phase.timing.response_window_s
        self.screen.hold(end + phase.timing.lead_out_s)
        self.log_scan(trial, phase, None)
        self.screen.pulse_key = None
        if self.driver:
            self.driver.end_run()

    def play(self) -> None:
        """Run every remaining trial, with instructions, breaks and scanner waits; raise Aborted on
        a confirmed quit."""
        strings = self.screen.strings
        records, n_blocks, first_block = self._plan()
        previous: dict[str, Any] | None = None
        self.score = float(pd.to_numeric(recorded_trials(self.run.recorder.path).reward_received,
                                         errors="coerce").sum())
        t_end, iti = self.screen.show(self.screen.blank), 0.0
        self.origin = t_end
        i = self.run.start - 1
        while i + 1 < len(records):
            i += 1
            trial = records[i]
            phase = self.phases[trial["phase"]]
            self.screen.keys = phase.keys
            new_phase = previous is None or previous["phase"] != trial["phase"]
            new_block = previous is not None and previous["block"] != trial["block"]
            if new_phase:
                text = strings.get(f"instructions_{phase.name}", strings["instructions_default"])
                self.text("instructions", text)
            elif new_block and not phase.scanner and phase.name != PRACTICE_PHASE:
                self.text("break", fill(strings["break"], block=trial["block"] - first_block[phase.name],
                                        n_blocks=n_blocks[phase.name], score=f"{self.score:.0f}"))
            if self.announce and not new_phase and phase.order == "curriculum" \
                    and previous["context"] != trial["context"]:
                self.text("switch", strings["switch"])
            if new_phase and phase.comprehension and (i == 0 or records[i - 1]["phase"] != phase.name):
                self.comprehension(phase, trial)
            if phase.scanner and (new_phase or new_block):
                self.start_scan(i, phase)
            if new_phase or new_block:
                t_end, iti = self.screen.show(self.screen.blank), phase.timing.iti_s
            asked = len(self.screen.interruptions)
            if phase.scanner:
                row = self.scanner_trial(i, trial, phase)
            else:
                row, t_end = self.online_trial(i, trial, phase, t_end, iti)
            row["interrupted"] = int(len(self.screen.interruptions) > asked)
            self.run.recorder.append(row)
            if practice_ends(self.run, i):
                records, n_blocks, first_block = self.practice_feedback()
            if phase.scanner:
                self.log_scan(trial, phase, row)
                if i + 1 == len(records) or records[i + 1]["block"] != trial["block"]:
                    self.end_scan(trial, phase)
            self.score += row["reward_received"]
            iti, previous = trial["iti_s"], trial
        self.end_screen()

    def _plan(self) -> tuple[list[dict[str, Any]], dict[str, int], dict[str, int]]:
        """The sequence's rows, and each phase's number of blocks and first block (for break texts)."""
        seq = self.run.sequence
        n_blocks = {name: int(seq[seq.phase == name].block.nunique()) for name in self.phases}
        first_block = {name: int(seq[seq.phase == name].block.min()) for name in self.phases}
        return seq.to_dict("records"), n_blocks, first_block

    def practice_feedback(self) -> tuple[list[dict[str, Any]], dict[str, int], dict[str, int]]:
        """A practice attempt ended: record it, show how many were right and whether another attempt
        follows (planned then, see ``session.settle_practice``); the sequence as it is now."""
        result = settle_practice(self.run)
        if self.driver and result["again"]:
            self.driver.replanned(self.run)
        strings = self.screen.strings
        text = strings["practice_again"] if result["again"] else strings["practice_done"]
        self.text("practice", fill(text, correct=result["correct"], trials=result["trials"]))
        return self._plan()

    def end_screen(self) -> None:
        """The end text with the session score and, with a bonus rule, the bonus (recorded)."""
        bonus = self.run.protocol.bonus
        amount = bonus.amount(self.score)
        self.results["bonus"] = amount if bonus.per_point else None
        if self.texts:
            strings = self.screen.strings
            line = fill(strings["bonus"], amount=f"{bonus.currency}{amount:.2f}") if bonus.per_point else ""
            self.screen.keys = self.keys
            self.screen.wait_key(self.screen.text_screen(fill(strings["end"], score=f"{self.score:.0f}", bonus=line)),
                                 [self.keys.proceed], self._notify("end"), max_wait_s=10.0)

    def comprehension(self, phase: Phase, trial: dict[str, Any]) -> None:
        """Ask 'which key plants the tree?' on the trial screen (labels on random sides, no tree)
        until ``phase.comprehension`` answers in a row are right; a wrong one shows why. Recorded."""
        s, keys = self.screen, phase.keys
        rng = np.random.default_rng([self.run.assignment.seed, len(self.results)])
        streak, asked, wrong = 0, 0, 0
        s.set_tree(Image.new("RGBA", (1, 1)))
        while streak < phase.comprehension:
            side = "left" if rng.random() < 0.5 else "right"
            screen = s.trial_screen({**trial, "side_accept": side})
            question = s.text_screen(s.strings["comprehension"])

            def draw(screen: Callable[[], None] = screen, question: Callable[[], None] = question) -> None:
                screen()
                s.message.pos = (0, -0.35 * s.display.size_px[1])
                question()
            if self.driver:
                self.driver.answer(side, keys)
            _, response = s.wait_key(draw, [keys.left, keys.right])
            s.message.pos = (0, 0)
            asked += 1
            if (response.key == keys.left) == (side == "left"):
                streak += 1
            else:
                streak, wrong = 0, wrong + 1
                s.hold(s.show(s.text_screen(s.strings["comprehension_wrong"])) + 3.0)
        self.results.setdefault("comprehension", {})[phase.name] = {"questions": asked, "wrong": wrong}


def _new_folders(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    return missing


def run_window_session(protocol: Protocol, participant_id: str, session: int, out: str | Path, *,
                       rule_code: int | None = None, curriculum: str | None = None, seed: int | None = None,
                       resume: bool = False, stimulus_set: Any | None = None, fullscreen: bool = False,
                       agent: Responder | None = None, screenshots: Path | None = None,
                       allow_mismatch: bool = False, allow_timing_problems: bool = False) -> tuple[Path, bool]:
    """Run a session in a PsychoPy window (keys from a person, or from ``agent`` through xdotool).

    Returns (trial table path, completed). Esc + confirm ends early with completed False; a crash
    is recorded in the sidecar (``error``: type, message, traceback) and raised again. PsychoPy's
    log of the session goes to ``..._psychopy.log`` beside the table (appended on resume).
    ``allow_mismatch``: see ``garden.experiment.linking``; ``allow_timing_problems``: see ``Screen``.
    """
    require_window(", or use --simulate without --window")
    pool = stimulus_set.exemplars if stimulus_set is not None else None
    run = plan_session(protocol, participant_id, session, out, rule_code=rule_code, curriculum=curriculum,
                       seed=seed, resume=resume, pool=pool, allow_mismatch=allow_mismatch)
    driver = XdotoolDriver(agent, run) if agent else None
    table = session_path(out, participant_id, session)
    log_path = table.with_name(table.name.removesuffix("_beh.tsv") + "_psychopy.log")
    new_folders, new_log = _new_folders(log_path.parent), not log_path.exists()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pp = psychopy()
    log = pp.logging.LogFile(str(log_path), level=pp.logging.EXP, filemode="a")
    markers = open_markers(protocol.markers, source_id=f"garden-sub-{participant_id}-ses-{session}")
    try:
        screen = Screen(protocol, fullscreen, screenshots, allow_timing_problems=allow_timing_problems,
                        markers=markers)
    except BaseException:  # a refusal (e.g. timing) writes nothing: the log and its new folders go
        markers.close()
        pp.logging.root.removeTarget(log)
        if new_log:
            log_path.unlink(missing_ok=True)
            for folder in new_folders:
                with contextlib.suppress(OSError):
                    folder.rmdir()
        raise
    completed, aborted, error, stopped = False, False, None, None
    runner = Runner(run, screen, Trees(protocol, stimulus_set), driver)
    try:
        start_recording(run, mode="window", agent=agent.describe() if agent else None,
                        stimuli=str(getattr(stimulus_set, "path", "")) or f"rendered (tree_seed {protocol.tree_seed})",
                        screen=screen.info(fullscreen), psychopy_log=log_path.name, markers=protocol.markers.output)
        with sigterm_stops():
            runner.play()
        completed = True
    except Aborted:
        aborted = True
    except KeyboardInterrupt as exc:  # Ctrl-C in the terminal, or SIGTERM (Terminated)
        stopped = str(exc) or "SIGINT (Ctrl-C)"
        raise
    except Exception as exc:
        error = {"type": type(exc).__name__, "message": str(exc), "traceback": traceback.format_exc()}
        raise
    finally:
        screen.close()
        markers.close()
        pp.logging.flush()
        pp.logging.root.removeTarget(log)
        if run.recorder is not None:
            close_session(run, completed, aborted=aborted, score=runner.score, **({"error": error} if error else {}),
                          **({"stopped": stopped} if stopped else {}), **runner.results)
    return run.recorder.path, completed


def ask_ids(participant_id: str | None, session: int | None) -> tuple[str, int]:
    """A PsychoPy dialog for the ids not given on the command line; UserError when cancelled."""
    require_window(", or give --participant and --session")
    gui = psychopy().gui
    fields = {"participant": participant_id or "", "session": session or 1}
    dialog = gui.DlgFromDict(fields, title="garden: new session", sortKeys=False)
    if not dialog.OK:
        raise UserError("session cancelled in the dialog (nothing was recorded)")
    try:
        return str(fields["participant"]).strip(), int(fields["session"])
    except ValueError:
        raise UserError(f"session {fields['session']!r} is not a number") from None
