"""Simulated key presses through xdotool, for tests and the on-the-day check."""

from __future__ import annotations

import subprocess
import threading
import time

from garden.core.responders import Responder, responder_rng
from garden.experiment.config import (
    Keys,
    Phase,
)
from garden.experiment.present.toolkit import X_KEYS
from garden.experiment.session import (
    Session,
    key_for,
)

KEY_HOLD_S = 0.08
"""How long a simulated press holds the key down (a quick human press)."""

TRIGGER_HOLD_S = 0.003
"""How long a simulated scanner pulse holds the trigger key down: a trigger box's key press lasts a few ms,
less than a frame, so it is mostly pressed and released between two reads of the keyboard."""


def _xdotool(key: str, hold_s: float = KEY_HOLD_S) -> None:
    """Press ``key`` (PsychoPy name) for ``hold_s`` seconds and release it, through the X server, like a
    keyboard would."""
    name = X_KEYS.get(key, key)  # --delay 0: xdotool's default adds 12 ms to each of keydown and keyup
    subprocess.run(["xdotool", "keydown", "--delay", "0", name, "sleep", str(hold_s), "keyup", "--delay", "0", name],
                   check=False)


class XdotoolDriver:
    """Presses real keys (``xdotool key``) for a simulated participant: the agent's choice after its
    RT on every tree (with the keys of the tree's phase); ``proceed`` on text screens, repeated every
    ``repeat_s`` until the screen is gone (it also covers a first press that an X keyboard just
    opened may miss); and, like a scanner, the trigger every TR from the trigger screen to the end of
    the run (``end_run``). Every press is logged in ``presses``."""

    def __init__(self, agent: Responder, run: Session, text_delay_s: float = 0.3, repeat_s: float = 0.7):
        self.keys, self.text_delay_s, self.repeat_s = run.protocol.keys, text_delay_s, repeat_s
        self.phases = {p.name: p for p in run.protocol.session_phases(run.session)}
        self.agent = agent
        self.replanned(run)
        self.presses: list[tuple[str, str, int | None]] = []
        self._screen = 0
        """Number of the text screen now up (0: none); a repeat loop stops when it changes."""
        self._screens = 0
        self._scanning = False

    def replanned(self, run: Session) -> None:
        """The agent's responses to the session's sequence (again after a practice attempt is added:
        the same ones for the trials before it, as ``garden.experiment.simulate``)."""
        self.seq = run.sequence
        self.choices, self.rts = self.agent.respond(self.seq, responder_rng(self.agent, run.assignment.seed),
                                                    run.items)

    def press(self, key: str, delay_s: float, what: str, trial: int | None = None) -> None:
        """Press ``key`` (PsychoPy name) after ``delay_s`` seconds, without blocking."""
        def go() -> None:
            self.presses.append((what, key, trial))
            _xdotool(key)
        timer = threading.Timer(delay_s, go)
        timer.daemon = True
        timer.start()

    def on_screen(self, kind: str, phase: Phase | None = None) -> None:
        """A text screen is up: instructions/break/end -> proceed; trigger -> the scanner starts
        pulsing (``phase``'s trigger key every ``phase.timing.tr_s``)."""
        if kind == "trigger" and phase is not None:
            self._scan(phase.keys.trigger, phase.timing.tr_s)
            return
        if kind not in ("instructions", "break", "end", "switch", "practice"):
            return
        self._screens += 1
        self._screen = mine = self._screens

        def repeat() -> None:
            time.sleep(self.text_delay_s)
            while self._screen == mine:
                self.presses.append((kind, self.keys.proceed, None))
                _xdotool(self.keys.proceed)
                time.sleep(self.repeat_s)
        threading.Thread(target=repeat, daemon=True).start()

    def _scan(self, key: str, tr_s: float) -> None:
        self._scanning = True

        def pulses() -> None:
            time.sleep(self.text_delay_s)
            next_t = time.monotonic()
            while self._scanning:
                self.presses.append(("trigger", key, None))
                _xdotool(key, TRIGGER_HOLD_S)
                next_t += tr_s
                time.sleep(max(0.0, next_t - time.monotonic()))
        threading.Thread(target=pulses, daemon=True).start()

    def answer(self, side_accept: str, keys: Keys) -> None:
        """A comprehension question is up: press the key on the accept side (a participant who understood)."""
        self.press(keys.left if side_accept == "left" else keys.right, 0.5, "comprehension")

    def end_run(self) -> None:
        """The scanner run is over: stop the trigger pulses."""
        self._scanning = False

    def screen_done(self) -> None:
        """The text screen is gone: stop pressing."""
        self._screen = 0

    def on_tree(self, index: int, window_s: float) -> None:
        """The tree of sequence row ``index`` just appeared: press the agent's key after its RT."""
        if self.rts[index] <= window_s:
            row = self.seq.iloc[index]
            keys = self.phases[row["phase"]].keys
            key = key_for(self.choices[index], row["side_accept"], keys.left, keys.right)
            self.press(key, float(self.rts[index]), "tree", int(row["trial"]))
