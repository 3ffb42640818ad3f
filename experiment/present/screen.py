"""The screen: drawing each state of a trial and flipping on time."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from garden.core.errors import UserError
from garden.experiment.config import (
    SIZE_FIELDS,
    Display,
    Protocol,
)
from garden.experiment.markers import NoMarkers
from garden.experiment.present.toolkit import HOG_CPU_S, PACE_MARGIN_S, Aborted, opaque_box, psychopy
from garden.experiment.screen_texts import load_strings


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
        self._held: list[Any] = []
        """Presses ``_presses`` returned while their key was down, until their release is read."""
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

    def _has_vsync(self, flips: int = 16) -> bool:
        """Whether flips wait for the vertical blank: back-to-back flips then never come faster than about a
        frame; without vsync they return as soon as the buffers are swapped. Judged by the fastest of the second
        half of the flips (the first may fill a driver's queue of frames): a busy computer slows many flips, so the
        median of slow swaps passed for vsync under load, but it rarely slows every one. Records swap times."""
        times = []
        for _ in range(flips):
            t0 = self.now()
            times.append(self.win.flip())
            self.swaps.append(times[-1] - t0)
        return bool(np.min(np.diff(times)[flips // 2:]) > 0.5 * self.frame_s)

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

    def _presses(self) -> list[Any]:
        """Every key press read since the last call, each once, in time order, released or not.

        PsychoPy 2026.2's ``getKeys(waitRelease=False)`` skips a press whose key came up before the call (a
        trigger box's pulse of a few ms between two frames: most of them), and a press it returned while the
        key was down comes back from ``getKeys(waitRelease=True)`` when the key comes up: so both are read, and
        the presses taken while down are kept (``_held``) until their release is read."""
        down = self.kb.getKeys(waitRelease=False)
        self._held.extend(down)
        released = self.kb.getKeys(waitRelease=True)
        new = [p for p in released if not any(p is held for held in self._held)]
        self._held = [held for held in self._held if not any(held is p for p in released)]
        return sorted(down + new, key=lambda p: float(p.tDown))

    def _drain(self) -> None:
        """Read every key press since the last read (after each flip, so in every state of a trial):
        trigger pulses of a running scan go to ``pulses``, the quit key asks the quit question (at
        the next flip), the others wait in ``pending`` (those before the RT clock's last reset are
        dropped: read after it, their RT is negative)."""
        for press in self._presses():
            if self.pulse_key is not None and press.name == self.pulse_key:
                self.pulses.append(float(press.tDown))
                self.markers.send("trigger", self.now() - float(press.tDown))
            elif press.name == self.keys.quit:
                self._quit_asked = True
            elif float(press.rt) >= 0:
                self.pending.append(press)

    def start_rt_clock(self) -> None:
        """Called on a stimulus flip: drop earlier presses (keeping pulses and a quit) and zero the RT clock
        (no ``clearEvents``: a pulse that came in between would be lost)."""
        self._drain()
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
                for press in self._presses():
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
