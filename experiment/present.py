"""The task on screen with PsychoPy: the only module of the task that imports psychopy.

PsychoPy is imported inside functions only (it needs a display to import). The loop plays a
session's sequence (``garden.experiment.session``) and records every trial as it ends:

* online trial: ITI (blank) -> context frame with fixation -> tree in the frame with the
  accept/reject labels -> response (or "too slow" at the end of the window) -> the chosen side
  highlighted -> feedback after ``feedback_delay_s`` (value on the accept side in green/red/black,
  "+0" on the reject side) in feedback phases -> blank (the next ITI).
* scanner run: waits for the trigger key; every onset is computed from the trigger and the
  planned schedule (never accumulated from measured durations); every later pulse is logged; the
  tree stays for the whole window (a response only highlights the choice); the lead-out follows
  the last tree; a BIDS ``events.tsv`` per run.
* Instructions at each phase (with an optional comprehension check), after each practice attempt how
  many trees were chosen well (and another attempt below the criterion), a break with the score between
  blocks, the blocked-switch message, an end screen with score and bonus (texts from
  ``experiment/strings/<language>.toml``). Keys are read after every flip: the quit key asks in any
  state; the confirm key ends the session cleanly (data kept, sidecar ``aborted``, continue with
  ``--resume``), the decline key restores the screen; trials it interrupted are flagged.

Timing: every time is a flip timestamp. Each frame is redrawn and flipped. On a display that
waits for the vertical blank (vsync, the lab's screen), a screen change is flipped on the first
frame within half a frame of its target time (half the recent flip interval when flips run slower
than the refresh rate). A display without vsync (Xvfb, some remote desktops) has no refresh to wait
for: frames are paced in software at the frame period, the new screen is rendered ahead
(``glFinish``) and swapped at its target time (less the recent swap time). Which of the two a
window has is measured when it opens (back-to-back flips). RTs come from the ptb keyboard clock,
reset on the tree's flip. Frames lost (flip intervals longer than 1.5 frames) are counted per
trial from the cue's flip to the trial's end.
"""

from __future__ import annotations

import functools
import math
import os
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from garden.core.errors import UserError
from garden.core.responders import Responder, responder_rng
from garden.core.trials import session_path
from garden.experiment.config import (
    PRACTICE_PHASE,
    SIZE_FIELDS,
    Display,
    Keys,
    Phase,
    Protocol,
    fill,
    load_strings,
)
from garden.experiment.markers import NoMarkers, open_markers
from garden.experiment.recording import recorded_trials
from garden.experiment.session import (
    Session,
    choice_for,
    close_session,
    key_for,
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
from garden.stimuli.trees import render_tree

PACE_MARGIN_S = 0.002
"""With vsync, the loop wakes this long before the next vertical blank is due, then flips (s)."""
HOG_CPU_S = 0.002
"""Waits poll the clock (instead of sleeping) for their last this many seconds, for precision."""
X_KEYS = {"left": "Left", "right": "Right", "up": "Up", "down": "Down", "escape": "Escape", "return": "Return"}
"""PsychoPy key names that xdotool spells differently."""


SOFTWARE_RENDER_THREADS = 4
"""At least this many rendering threads for Mesa's software renderer (llvmpipe, e.g. under Xvfb);
ignored by GPU drivers. On 2 cores, 4 threads drew the busiest screen ~20 % faster than 2."""


@functools.cache
def psychopy() -> SimpleNamespace:
    """PsychoPy's modules, loaded once when the first window opens (they need a display to import).

    Before the first OpenGL import and context:
    * pyglet's ``debug_gl`` off: PsychoPy means to turn it off (``psychopy/visual/image.py``) but
      loses to import order; left on, a ``glGetError`` follows every GL call, which doubled the
      Python cost of drawing a frame.
    * llvmpipe threads (``LP_NUM_THREADS``, unless set): see ``SOFTWARE_RENDER_THREADS``.
    """
    require_display()
    import pyglet  # heavy, needs a display: only when a window opens

    pyglet.options["debug_gl"] = False
    os.environ.setdefault("LP_NUM_THREADS", str(max(SOFTWARE_RENDER_THREADS, os.cpu_count() or 1)))
    from psychopy import (  # heavy, needs a display: only when a window opens
        core,
        event,
        gui,
        logging,
        monitors,
        visual,
    )
    from psychopy.hardware.keyboard import Keyboard  # part of the same PsychoPy load
    from pyglet import gl  # part of the same PsychoPy load

    return SimpleNamespace(core=core, event=event, gui=gui, logging=logging, monitors=monitors, visual=visual,
                           Keyboard=Keyboard, gl=gl)


def opaque_box(image: Any) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the opaque pixels of an RGBA PIL image (pixels); all of a
    fully transparent one's first pixel, so that something is drawn."""
    return image.getchannel("A").getbbox() or (0, 0, 1, 1)


def require_display(hint: str = "") -> None:
    """UserError instead of a PsychoPy import crash when there is no X display (Linux); ``hint``
    ends the message (e.g. another way to run the command)."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        raise UserError("no X display (DISPLAY is unset): run on the lab computer's screen or under "
                        f"xvfb-run{hint}")


class Aborted(Exception):
    """The experimenter pressed Esc and confirmed: end the session, keep the data."""


# ------------------------------------------------------------------ trees


class Trees:
    """Tree images by (branchiness, leafiness, exemplar): files of a stimulus set, or rendered."""

    def __init__(self, protocol: Protocol, stimulus_set: Any | None = None):
        self.set, self.seed = stimulus_set, protocol.tree_seed
        self.size_px = int(protocol.display.in_pixels().tree_size_px)

    def image(self, branchiness: int, leafiness: int, exemplar: str) -> Any:
        """The tree as a PIL image (RGBA)."""
        if self.set is not None:
            with Image.open(self.set.file(branchiness, leafiness, exemplar)) as image:
                return image.convert("RGBA")

        return render_tree(int(branchiness), int(leafiness), int(exemplar), self.size_px, seed=self.seed)


# ------------------------------------------------------------------ simulated key presses


KEY_HOLD_S = 0.08
"""How long a simulated press holds the key down (a quick human press)."""


def _xdotool(key: str) -> None:
    """Press and release ``key`` (PsychoPy name) through the X server, like a keyboard would."""
    name = X_KEYS.get(key, key)
    subprocess.run(["xdotool", "keydown", name, "sleep", str(KEY_HOLD_S), "keyup", name], check=False)


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
                _xdotool(key)
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


# ------------------------------------------------------------------ the screen


@dataclass
class Response:
    """A key press: its key, its time from the last RT-clock reset and its time on the flip clock (s)."""

    key: str
    rt: float
    t: float


class Screen:
    """The window, the stimuli of the task, and frame-paced, timestamped flips."""

    def __init__(self, protocol: Protocol, fullscreen: bool = False, screenshots: Path | None = None, *,
                 allow_timing_problems: bool = False, markers: Any | None = None):
        """Open the window on ``display.screen`` with the PsychoPy monitor of the protocol, measure
        its timing and refuse (UserError, window closed) when it is wrong, unless allowed in the
        protocol or by ``allow_timing_problems`` (the problems are kept in ``timing_problems``)."""
        pp = psychopy()
        visual, gl = pp.visual, pp.gl
        d: Display = protocol.display.in_pixels()
        self.display, self.keys, self.strings = d, protocol.keys, load_strings(protocol.language)
        self.markers = markers or NoMarkers()
        self.monitor = self._monitor(pp, protocol.display)
        self.win = visual.Window(size=d.size_px, fullscr=fullscreen, screen=d.screen, monitor=self.monitor,
                                 units="pix", color=d.background, colorSpace="rgb255", checkTiming=False,
                                 allowGUI=not fullscreen)
        self.win.mouseVisible = False
        self.kb = pp.Keyboard(backend="ptb")
        self.realtime = self._rush(d.realtime_priority)
        self.screenshots = screenshots
        if screenshots:
            screenshots.mkdir(parents=True, exist_ok=True)
        self.frame_s, self.measured_hz = self._frame_period()
        self._gl = gl
        self.swaps: deque[float] = deque(maxlen=15)
        self.vsync = self._has_vsync()
        self.timing_problems = d.timing_problems(self.measured_hz, self.vsync)
        if self.timing_problems and not (d.allow_timing_problems or allow_timing_problems):
            self.win.close()
            raise UserError(f"display: {self.timing_problems[0]}; fix the display (vsync on, the monitor's "
                            "refresh rate as display.refresh_hz), or run anyway with --allow-timing-problems "
                            "(recorded in the sidecar)")
        self.last_flip = self.win.flip()
        self.intervals: deque[float] = deque([self.frame_s], maxlen=15)
        self.current: Callable[[], None] = lambda: None
        self.lost_frames = 0
        self.pending: list[Any] = []
        """Key presses read since the RT clock was last reset, not yet taken by ``keys_pressed``."""
        self.pulse_key: str | None = None
        """While a scanner run is on: its trigger key, whose presses go to ``pulses``."""
        self.pulses: list[float] = []
        """Flip-clock times (s) of the trigger pulses not yet taken by ``take_pulses``."""
        self.interruptions: list[tuple[float, float]] = []
        """(start, end) flip-clock times of every quit question."""
        self._quit_asked = False
        self._asking = False
        self._build(visual)

    @staticmethod
    def _monitor(pp: SimpleNamespace, display: Display) -> Any:
        """The PsychoPy monitor: the named one of Monitor Center (its calibration and gamma) or a
        new one, with the protocol's distance and width where given, and the window size."""
        monitor = pp.monitors.Monitor(display.monitor or "garden")
        if display.distance_cm:
            monitor.setDistance(display.distance_cm)
        if display.width_cm:
            monitor.setWidth(display.width_cm)
        monitor.setSizePix(list(display.size_px))
        return monitor

    def info(self, fullscreen: bool) -> dict[str, Any]:
        """What the sidecar records about the screen."""
        return {"size_px": [int(v) for v in self.win.size], "fullscreen": fullscreen, "screen": self.display.screen,
                "monitor": self.monitor.name, "distance_cm": self.monitor.getDistance(),
                "width_cm": self.monitor.getWidth(), "frame_s": self.frame_s,
                "refresh_hz_measured": self.measured_hz, "refresh_hz_nominal": self.display.refresh_hz,
                "vsync": self.vsync, "timing_problems": self.timing_problems, "realtime_priority": self.realtime,
                "sizes_px": {name: getattr(self.display, name) for name in SIZE_FIELDS}}

    def _frame_period(self) -> tuple[float, float | None]:
        """Measured frame period when ``check_timing`` and PsychoPy finds a stable rate, else nominal."""
        measured = self.win.getActualFrameRate(nIdentical=10, nMaxFrames=120) if self.display.check_timing else None
        return (1.0 / measured if measured else self.display.frame_s), measured

    @staticmethod
    def _rush(wanted: bool) -> bool:
        """Real-time (round-robin) scheduling for the window's thread when ``wanted``, so a busy
        computer delays no flip (psychopy's ``core.rush``; Linux needs root or a group with
        rtprio rights). Returns whether it was granted."""
        return bool(wanted and psychopy().core.rush(True))

    def _has_vsync(self, flips: int = 8) -> bool:
        """Whether flips wait for the vertical blank: back-to-back flips then take about a frame
        each; without vsync they return as soon as the buffers are swapped. Records swap times."""
        times = []
        for _ in range(flips):
            t0 = self.now()
            times.append(self.win.flip())
            self.swaps.append(times[-1] - t0)
        return bool(np.median(np.diff(times)) > 0.5 * self.frame_s)

    def _build(self, visual: Any) -> None:
        d, rgb = self.display, {"colorSpace": "rgb255", "units": "pix"}
        self.frames = {c: self._frame_ring(visual, col) for c, col in d.context_colours.items()}
        self.fixation = visual.TextStim(self.win, text="+", height=d.fixation_size_px, color=d.text_colour, **rgb)
        self.tree = visual.ImageStim(self.win, size=(d.tree_size_px, d.tree_size_px), units="pix")
        text = {"height": d.text_height_px, "color": d.text_colour, **rgb}
        self.labels = {side: visual.TextStim(self.win, pos=(x * d.label_x_px, d.label_y_px), **text)
                       for side, x in (("left", -1), ("right", 1))}
        self.values = {side: visual.TextStim(self.win, pos=(x * d.label_x_px, d.label_y_px - 2 * d.text_height_px),
                                             **text) for side, x in (("left", -1), ("right", 1))}
        self.highlight = visual.Rect(self.win, width=5 * d.text_height_px, height=2 * d.text_height_px,
                                     lineColor=d.highlight_colour, lineWidth=d.highlight_width_px,
                                     fillColor=None, **rgb)
        self.message = visual.TextStim(self.win, wrapWidth=0.8 * d.size_px[0], **text)
        self.question = visual.TextStim(self.win, text=self.strings["confirm_quit"], wrapWidth=0.8 * d.size_px[0],
                                        **text)

    def _frame_ring(self, visual: Any, colour: tuple[int, int, int]) -> Any:
        """The context frame: a square ring (``frame_size_px`` outside, ``frame_width_px`` wide) as
        one polygon, the outer square joined to the inner one by a zero-width cut. One shape
        fills only the ring's pixels in one draw: half the cost of four bands, a quarter of a
        filled square under a background-coloured one (with software rendering)."""
        outer = self.display.frame_size_px / 2
        inner = outer - self.display.frame_width_px
        ring = [(-outer, -outer), (outer, -outer), (outer, outer), (-outer, outer), (-outer, -outer),
                (-inner, -inner), (-inner, inner), (inner, inner), (inner, -inner), (-inner, -inner)]
        return visual.ShapeStim(self.win, vertices=ring, fillColor=colour, lineWidth=0, colorSpace="rgb255",
                                units="pix")

    # -- drawing ---------------------------------------------------------------------------

    def draw_frame(self, context: str) -> None:
        self.frames[context].draw()

    def cue(self, context: str) -> Callable[[], None]:
        def draw() -> None:
            self.draw_frame(context)
            self.fixation.draw()
        return draw

    def trial_screen(self, trial: dict[str, Any], chosen: str | None = None, feedback: bool = False
                     ) -> Callable[[], None]:
        """Frame + tree + labels; ``chosen`` side highlighted; ``feedback`` shows the points.

        Texts are set here, once per screen: setting a TextStim's text re-lays it out (slow).
        """
        accept = trial["side_accept"]
        reject = "right" if accept == "left" else "left"
        value, d = float(trial["reward_value"]), self.display
        self._set(self.labels[accept], self.strings["accept"])
        self._set(self.labels[reject], self.strings["reject"])
        if chosen:
            self.highlight.pos = self.labels[chosen].pos
        if feedback:
            colour = d.positive_colour if value > 0 else d.negative_colour if value < 0 else d.neutral_colour
            self._set(self.values[accept], f"{value:+.0f}", colour)
            self._set(self.values[reject], "+0", d.neutral_colour)

        def draw() -> None:
            self.draw_frame(trial["context"])
            self.tree.draw()
            for label in self.labels.values():
                label.draw()
            if chosen:
                self.highlight.draw()
            if feedback:
                for text in self.values.values():
                    text.draw()
        return draw

    def set_tree(self, image: Any) -> None:
        """Show ``image`` (PIL, RGBA) as the tree, scaled to ``tree_size_px`` and centred in the frame.

        Only the bounding box of its opaque pixels is drawn, placed where it lies in the full image
        (about 3x fewer pixels to fill, which is what software rendering pays for), with its edges on
        whole screen pixels, so that at 1:1 scale every image pixel is one screen pixel."""
        box = opaque_box(image)
        scale = np.array([self.display.tree_size_px / image.width, self.display.tree_size_px / image.height])
        lo, hi = np.array(box[:2]), np.array(box[2:])
        size = (hi - lo) * scale
        corner = np.floor((lo - np.array(image.size) / 2) * scale)  # top-left, x right and y down (pixels)
        self.tree.image = image.crop(box)
        self.tree.size = size
        self.tree.pos = (corner + size / 2) * (1, -1)  # image rows run down, pixels y up

    @staticmethod
    def _set(stim: Any, text: str, colour: tuple[int, int, int] | None = None) -> None:
        if stim.text != text:
            stim.text = text
        if colour is not None:
            stim.color = colour

    def text_screen(self, text: str, context: str | None = None) -> Callable[[], None]:
        self._set(self.message, text)

        def draw() -> None:
            if context:
                self.draw_frame(context)
            self.message.draw()
        return draw

    @staticmethod
    def blank() -> None:
        """Nothing but the background."""

    # -- timing ----------------------------------------------------------------------------

    def _flip(self, draw: Callable[[], None], shot: str | None = None, at: float | None = None) -> float:
        """Draw and flip; return the flip timestamp. With vsync the flip lands on the next
        vertical blank; without, at ``at`` (when given and at least half a frame after the last
        flip) or one frame period after the last flip."""
        draw()
        if shot and self.screenshots:  # reading the back buffer delays this flip by a few ms
            image = self.win.getMovieFrame(buffer="back")
            self.win.movieFrames.clear()
            threading.Thread(target=image.save, args=(self.screenshots / f"{shot}.png",)).start()
        if self.vsync:
            self._wait_until(self.last_flip + self.frame_s - PACE_MARGIN_S)
        else:
            self._gl.glFinish()  # render now: the flip is then only the buffer swap
            due = self.last_flip + self.frame_s if at is None else max(at, self.last_flip + 0.5 * self.frame_s)
            self._wait_until(due - float(np.median(self.swaps)))
        t0 = self.now()
        t = self.win.flip()
        if not self.vsync:
            self.swaps.append(t - t0)
        self.lost_frames += max(0, round((t - self.last_flip) / self.frame_s) - 1)
        self.intervals.append(t - self.last_flip)
        self.last_flip = t
        if not self._asking:
            self._drain()
            if self._quit_asked:
                self.confirm_quit()
        return t

    def _wait_until(self, t: float) -> None:
        """Return at time ``t`` (flip clock, s): sleep, then poll the clock for the last ``HOG_CPU_S``."""
        if t > self.now():
            psychopy().core.wait(t - self.now(), hogCPUperiod=HOG_CPU_S)

    @property
    def interval(self) -> float:
        """Expected time to the next flip: the frame period, or the recent median flip interval
        when flips are slower (an overloaded or unsynchronised display)."""
        return max(self.frame_s, float(np.median(self.intervals)))

    @staticmethod
    def now() -> float:
        """The time on the clock of the flip timestamps (s)."""
        return psychopy().logging.defaultClock.getTime()

    def show(self, draw: Callable[[], None], target: float | None = None, shot: str | None = None,
             on_flip: Callable[[], None] | None = None, mark: str | None = None) -> float:
        """Put ``draw``'s screen up at ``target`` (the next frame if None), repeating the current
        screen until then: with vsync on the first frame within half a frame of it, without vsync
        at it; return the flip timestamp. ``mark``: event marker sent from that flip."""
        if target is not None:
            while self.last_flip + 1.5 * self.interval < target:
                self._flip(self.current)
        if on_flip:
            self.win.callOnFlip(on_flip)
        if mark:
            self.win.callOnFlip(self.markers.send, mark)
        self.current = draw
        return self._flip(draw, shot, at=target)

    def hold(self, until: float, poll: Callable[[], Any] | None = None) -> Any:
        """Keep the current screen up until the last frame before ``until`` (within half a frame),
        calling ``poll`` after every flip; return the first truthy ``poll`` result, else None."""
        while self.last_flip + 1.5 * self.interval < until:
            self._flip(self.current)
            found = poll() if poll else None
            if found:
                return found
        return None

    # -- keys ------------------------------------------------------------------------------

    def _drain(self) -> None:
        """Read every key press since the last read (after each flip, so in every state of a trial):
        trigger pulses of a running scan go to ``pulses``, the quit key asks the quit question (at
        the next flip), the others wait in ``pending``."""
        for press in self.kb.getKeys(waitRelease=False):
            if self.pulse_key is not None and press.name == self.pulse_key:
                self.pulses.append(float(press.tDown))
                self.markers.send("trigger", self.now() - float(press.tDown))
            elif press.name == self.keys.quit:
                self._quit_asked = True
            else:
                self.pending.append(press)

    def start_rt_clock(self) -> None:
        """Called on a stimulus flip: drop earlier presses (keeping pulses and a quit) and zero the RT clock."""
        self._drain()
        self.kb.clearEvents()
        self.pending.clear()
        self.kb.clock.reset()

    def keys_pressed(self, names: list[str]) -> list[Response]:
        """Presses among ``names`` since the RT clock was reset and not yet taken, in time order."""
        self._drain()
        found = [p for p in self.pending if p.name in names]
        self.pending = [p for p in self.pending if p.name not in names]
        return [Response(p.name, float(p.rt), float(p.tDown)) for p in found]

    def take_pulses(self) -> list[float]:
        """The trigger pulses (flip-clock times, s) since the last call."""
        self._drain()
        pulses, self.pulses = self.pulses, []
        return pulses

    def confirm_quit(self) -> None:
        """Ask whether to quit: the confirm key raises Aborted, the decline key puts the previous
        screen back (saved as ``after-quit-question-N.png`` with ``screenshots``); every other key
        is ignored (trigger pulses are still logged). The time the question was up is added to
        ``interruptions``."""
        previous, start = self.current, self.now()
        self._quit_asked, self._asking = False, True
        try:
            self.show(self.question.draw)
            while True:
                self._flip(self.current)
                for press in self.kb.getKeys(waitRelease=False):
                    if self.pulse_key is not None and press.name == self.pulse_key:
                        self.pulses.append(float(press.tDown))
                    elif press.name == self.keys.confirm:
                        raise Aborted()
                    elif press.name == self.keys.decline:
                        self.current = previous
                        self._flip(previous, shot=f"after-quit-question-{len(self.interruptions) + 1}")
                        return
        finally:
            self._asking = False
            self.pending.clear()
            self.interruptions.append((start, self.now()))

    def wait_key(self, draw: Callable[[], None], names: list[str], on_screen: Callable[..., None] | None = None,
                 max_wait_s: float = math.inf) -> tuple[float, Response | None]:
        """Show ``draw`` until one of ``names`` is pressed; return (flip time, response or None)."""
        t = self.show(draw, on_flip=self.start_rt_clock)
        if on_screen:
            on_screen()

        def poll() -> Response | None:
            presses = self.keys_pressed(names)
            return presses[0] if presses else None
        try:
            return t, self.hold(t + max_wait_s, poll)
        finally:
            if on_screen:
                on_screen(done=True)

    def close(self) -> None:
        if self.realtime:
            psychopy().core.rush(False)
        self.win.close()


# ------------------------------------------------------------------ the loop


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
        t_cue = s.show(s.cue(trial["context"]), iti_start + iti, mark="cue")
        s.lost_frames = 0
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
        t_cue = s.show(s.cue(trial["context"]), t0 + planned - t.cue_s, mark="cue")
        s.lost_frames = 0
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
    require_display(", or use --simulate without --window")
    pool = stimulus_set.exemplars if stimulus_set is not None else None
    run = plan_session(protocol, participant_id, session, out, rule_code=rule_code, curriculum=curriculum,
                       seed=seed, resume=resume, pool=pool, allow_mismatch=allow_mismatch)
    driver = XdotoolDriver(agent, run) if agent else None
    table = session_path(out, participant_id, session)
    log_path = table.with_name(table.name.removesuffix("_beh.tsv") + "_psychopy.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pp = psychopy()
    log = pp.logging.LogFile(str(log_path), level=pp.logging.EXP, filemode="a")
    markers = open_markers(protocol.markers, source_id=f"garden-sub-{participant_id}-ses-{session}")
    try:
        screen = Screen(protocol, fullscreen, screenshots, allow_timing_problems=allow_timing_problems,
                        markers=markers)
    except BaseException:
        markers.close()
        raise
    completed, aborted, error = False, False, None
    runner = Runner(run, screen, Trees(protocol, stimulus_set), driver)
    try:
        start_recording(run, mode="window", agent=agent.describe() if agent else None,
                        stimuli=str(getattr(stimulus_set, "path", "")) or f"rendered (tree_seed {protocol.tree_seed})",
                        screen=screen.info(fullscreen), psychopy_log=log_path.name, markers=protocol.markers.output)
        runner.play()
        completed = True
    except Aborted:
        aborted = True
    except Exception as exc:
        error = {"type": type(exc).__name__, "message": str(exc), "traceback": traceback.format_exc()}
        raise
    finally:
        screen.close()
        markers.close()
        pp.logging.flush()
        pp.logging.root.removeTarget(log)
        if run.recorder is not None:
            close_session(run, completed, aborted=aborted, score=runner.score,
                          **({"error": error} if error else {}), **runner.results)
    return run.recorder.path, completed


def ask_ids(participant_id: str | None, session: int | None) -> tuple[str, int]:
    """A PsychoPy dialog for the ids not given on the command line; UserError when cancelled."""
    require_display(", or give --participant and --session")
    gui = psychopy().gui
    fields = {"participant": participant_id or "", "session": session or 1}
    dialog = gui.DlgFromDict(fields, title="garden: new session", sortKeys=False)
    if not dialog.OK:
        raise UserError("session cancelled in the dialog (nothing was recorded)")
    try:
        return str(fields["participant"]).strip(), int(fields["session"])
    except ValueError:
        raise UserError(f"session {fields['session']!r} is not a number") from None
