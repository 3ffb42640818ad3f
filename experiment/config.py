"""The protocol schema: the frozen dataclasses a protocol TOML file becomes, and their checks.

Why: a lab must be able to change any timing, count, key, colour or size without touching code,
and a typo in a protocol must stop the session before it starts with ONE line that names the
file, the key and the fix (a ``UserError``), never a traceback halfway through a participant.

A protocol is found by name in ``PROTOCOLS`` (every ``experiment/protocols/*.toml``) or given as a
path to a TOML file. Times are in seconds (``_s``), sizes in pixels (``_px``; degrees of visual angle with
``display.units = "deg"``), colours RGB 0..255. The generic TOML -> dataclass engine is
``garden.experiment.typed_toml``; the participant-facing texts are ``garden.experiment.screen_texts``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from garden.core.errors import UserError
from garden.core.trials import PRACTICE_PHASE
from garden.experiment.screen_texts import STRINGS_DIR
from garden.experiment.typed_toml import build, field_meta

PROTOCOL_DIR = Path(__file__).with_name("protocols")
PROTOCOLS: dict[str, Path] = {p.stem: p for p in sorted(PROTOCOL_DIR.glob("*.toml"))}
"""Registry of the protocols shipped with garden, by name."""

ORDERS = ("interleaved", "blocked", "curriculum")
SIDES = ("left", "right")
PARTICIPANT = "participant"
"""Value of ``rule_code``/``curriculum``/``accept_side`` meaning "assign from the participant number"."""

Colour = tuple[int, int, int]
MIN_SIZE = 0.01
"""Smallest stimulus size (pixels or degrees)."""

MAX_EXEMPLAR_POOL = 1000
"""Largest ``exemplar_pool``: rendered main-task trees are exemplars 1..pool, the arrangement
task's are ``ARENA_EXEMPLARS`` above it, so the two never show the same tree."""
ARENA_EXEMPLARS = tuple(str(MAX_EXEMPLAR_POOL + i) for i in range(1, 9))
"""Exemplar labels the arrangement task chooses from when it renders its trees."""
PRACTICE_EXEMPLARS = tuple(str(MAX_EXEMPLAR_POOL + len(ARENA_EXEMPLARS) + i) for i in range(1, 9))
"""Exemplar labels the practice (``[practice]``) chooses from when trees are rendered: above the
arena's, so practice trees are never shown in the arrangement task or the main task."""
MAX_SESSION_TRIALS = 100_000
"""Most trials in one session (all its phases): a protocol asking for more is a typo, not a session."""
MAX_WINDOW_PX = 10_000
KEY_NAMES = frozenset([*"abcdefghijklmnopqrstuvwxyz0123456789", "space", "escape", "return", "enter", "tab",
                       "backspace", "left", "right", "up", "down", "lshift", "rshift", "lctrl", "rctrl",
                       "comma", "period", "slash", "semicolon", "apostrophe", "minus", "equal", "bracketleft",
                       "bracketright", "backslash", "grave", *(f"num_{d}" for d in range(10)),
                       *(f"f{n}" for n in range(1, 13))])
"""Key names a protocol may use (X/pyglet names: letters, digits, space, escape, arrows, f1..f12, ...)."""


@dataclass(frozen=True)
class Timing:
    """Durations of the parts of a trial, in seconds."""

    iti_s: float = field(default=1.0, metadata=field_meta(0.0, doc="inter-trial interval (minimum when jittered)"))
    iti_max_s: float = field(default=0.0,
                             metadata=field_meta(0.0, doc="if > iti_s, ITIs are uniform in [iti_s, iti_max_s]"))
    cue_s: float = field(default=1.0, metadata=field_meta(0.0, doc="context frame with fixation before the tree"))
    response_window_s: float = field(default=1.5, metadata=field_meta(0.05))
    fixed_duration: bool = field(default=False, metadata=field_meta(doc="tree stays for the whole window (scanner)"))
    feedback_delay_s: float = field(default=0.5, metadata=field_meta(0.0, doc="highlighted choice before feedback"))
    feedback_s: float = field(default=1.0, metadata=field_meta(0.0))
    too_slow_s: float = field(default=1.0, metadata=field_meta(0.0))
    lead_in_s: float = field(default=0.0, metadata=field_meta(0.0, doc="scanner: blank time after the trigger"))
    lead_out_s: float = field(default=0.0, metadata=field_meta(0.0, doc="scanner: blank time after the last trial"))
    tr_s: float = field(default=2.0, metadata=field_meta(0.01, doc="scanner repetition time (recorded)"))

    @property
    def jittered(self) -> bool:
        """True when ITIs are drawn from [iti_s, iti_max_s] (scanner schedules)."""
        return self.iti_max_s > self.iti_s


@dataclass(frozen=True)
class Display:
    """Window, stimulus sizes and positions (pixels, or degrees with ``units = "deg"``; centre origin, y up)
    and colours (RGB 0..255)."""

    size_px: tuple[int, int] = (1280, 1024)
    background: Colour = (128, 128, 128)
    screen: int = field(default=0, metadata=field_meta(0, doc="screen index (0: the main one; 1: a second monitor)"))
    monitor: str = field(default="", metadata=field_meta(doc="PsychoPy Monitor Center name (its calibration, gamma)"))
    distance_cm: float = field(default=0.0, metadata=field_meta(0.0, doc="eye to screen (needed for units = 'deg')"))
    width_cm: float = field(default=0.0,
                            metadata=field_meta(0.0, doc="visible screen width (needed for units = 'deg')"))
    units: str = field(default="px", metadata=field_meta(choices=("px", "deg"),
                                                    doc="unit of every *_px size: pixels, or degrees of visual angle"))
    refresh_hz: float = field(default=60.0, metadata=field_meta(1.0, doc="expected refresh rate"))
    check_timing: bool = field(default=True, metadata=field_meta(
        doc="measure refresh rate and vsync at start; refuse to run when they are wrong"))
    allow_timing_problems: bool = field(default=False, metadata=field_meta(
        doc="run although the measured refresh rate or vsync is wrong (recorded)"))
    realtime_priority: bool = field(default=True, metadata=field_meta(
        doc="real-time scheduling while the window is open (needs permission; recorded)"))
    frame_size_px: float = field(default=600, metadata=field_meta(MIN_SIZE))
    frame_width_px: float = field(default=40, metadata=field_meta(MIN_SIZE))
    tree_size_px: float = field(default=443, metadata=field_meta(MIN_SIZE))
    label_x_px: float = field(default=420, metadata=field_meta(0, doc="distance of the labels from the centre"))
    label_y_px: float = field(default=0.0)
    text_height_px: float = field(default=36, metadata=field_meta(MIN_SIZE))
    text_colour: Colour = (255, 255, 255)
    fixation_size_px: float = field(default=30, metadata=field_meta(MIN_SIZE))
    highlight_colour: Colour = (255, 255, 255)
    highlight_width_px: float = field(default=6, metadata=field_meta(MIN_SIZE))
    positive_colour: Colour = (0, 200, 0)
    negative_colour: Colour = (220, 0, 0)
    neutral_colour: Colour = (0, 0, 0)
    context_colours: dict[str, Colour] = field(default_factory=lambda: {"north": (0, 178, 255),
                                                                       "south": (255, 178, 0)})

    @property
    def frame_s(self) -> float:
        """Expected frame period in seconds."""
        return 1.0 / self.refresh_hz

    def px_per_deg(self) -> float:
        """Pixels per degree of visual angle at the screen centre, as PsychoPy's ``deg`` units
        (``deg * distance_cm * tan(1 deg)`` cm on screen, ``size_px[0] / width_cm`` pixels per cm)."""
        return self.distance_cm * math.tan(math.radians(1.0)) * self.size_px[0] / self.width_cm

    def in_pixels(self) -> "Display":
        """This display with every stimulus size in whole pixels (converted from degrees when
        ``units = 'deg'``)."""
        scale = self.px_per_deg() if self.units == "deg" else 1.0
        sizes = {name: int(round(getattr(self, name) * scale)) for name in SIZE_FIELDS}
        return dataclasses.replace(self, units="px", **sizes)

    def timing_problems(self, measured_hz: float | None, vsync: bool) -> list[str]:
        """What is wrong with the measured display timing (empty: nothing, or not checked)."""
        if not self.check_timing:
            return []
        problems = []
        if measured_hz is None:
            problems.append("the refresh rate could not be measured (unstable frame intervals)")
        elif abs(measured_hz - self.refresh_hz) > REFRESH_TOLERANCE * self.refresh_hz:
            problems.append(f"the measured refresh rate {measured_hz:.2f} Hz differs from refresh_hz "
                            f"{self.refresh_hz:g} Hz")
        if not vsync:
            problems.append("flips do not wait for the vertical blank (vsync is off)")
        return problems


SIZE_FIELDS = ("frame_size_px", "frame_width_px", "tree_size_px", "label_x_px", "label_y_px", "text_height_px",
               "fixation_size_px", "highlight_width_px")
"""Display fields that are stimulus sizes (degrees when ``units = 'deg'``)."""
REFRESH_TOLERANCE = 0.02
"""Largest relative difference of the measured refresh rate from ``refresh_hz`` (59.94 Hz passes as 60)."""
MARKER_OUTPUTS = ("none", "lsl", "serial")
MARKER_EVENTS = ("cue", "tree", "feedback", "response", "trigger")


@dataclass(frozen=True)
class MarkerSettings:
    """Event markers for other recordings (``garden.experiment.markers``): where they go and their codes."""

    output: str = field(default="none", metadata=field_meta(choices=MARKER_OUTPUTS,
                                                       doc="none, lsl (Lab Streaming Layer) or serial"))
    stream_name: str = field(default="garden-markers", metadata=field_meta(doc="LSL stream name"))
    serial_port: str = field(default="", metadata=field_meta(doc="serial device, e.g. /dev/ttyUSB0 (output = serial)"))
    baud_rate: int = field(default=115200, metadata=field_meta(1))
    codes: dict[str, int] = field(default_factory=lambda: {"cue": 1, "tree": 2, "feedback": 3, "response": 4,
                                                           "trigger": 5})


@dataclass(frozen=True)
class Bonus:
    """Performance bonus shown on the end screen: ``clip(score * per_point, minimum, maximum)``."""

    per_point: float = field(default=0.0, metadata=field_meta(0.0, doc="bonus per point of the session score"))
    minimum: float = field(default=0.0, metadata=field_meta(0.0))
    maximum: float = field(default=0.0, metadata=field_meta(0.0, doc="0: no maximum"))
    currency: str = field(default="", metadata=field_meta(doc="shown before the amount, e.g. '£'"))

    def amount(self, score: float) -> float:
        """The bonus for a session score (points), rounded to cents."""
        value = max(self.minimum, score * self.per_point)
        return round(min(value, self.maximum) if self.maximum else value, 2)


@dataclass(frozen=True)
class Keys:
    """Response keys (X key names: 'f', 'j', 'left', 'right', 'space', '5', ...) and side mapping.

    ``[keys]`` sets them for the whole protocol; a phase's ``keys = { ... }`` overrides single
    keys for that phase (e.g. a scanner button box: ``keys = { left = "1", right = "2" }``)."""

    left: str = "f"
    right: str = "j"
    proceed: str = "space"
    quit: str = "escape"
    confirm: str = field(default="y", metadata=field_meta(doc="ends the session when the quit question is up"))
    decline: str = field(default="n", metadata=field_meta(doc="closes the quit question; the session goes on"))
    trigger: str = "5"
    sides: str = field(default="random", metadata=field_meta(choices=("random", "fixed"),
                                                        doc="accept side random every trial or fixed"))
    accept_side: str = field(default=PARTICIPANT, metadata=field_meta(choices=(*SIDES, PARTICIPANT),
                                                                 doc="when fixed; 'participant': from the number"))


@dataclass(frozen=True)
class Curriculum:
    """How a phase with ``order = "curriculum"`` is ordered for one group of participants."""

    order: str = field(default="interleaved", metadata=field_meta(choices=("interleaved", "blocked")))
    block_length: int = field(default=0, metadata=field_meta(0, doc="blocked: trials per garden before switching"))
    announce_switch: bool = field(default=False, metadata=field_meta(
        doc="blocked: tell the participant when the garden changes"))


@dataclass(frozen=True)
class Phase:
    """One phase of a session: its trials, exemplars, order, feedback and timing."""

    name: str
    trials: int = field(metadata=field_meta(1))
    exemplars_per_cell: int = field(default=1, metadata=field_meta(1))
    session: int = field(default=1, metadata=field_meta(1))
    order: str = field(default="interleaved", metadata=field_meta(choices=ORDERS))
    block_length: int = field(default=0, metadata=field_meta(0, doc="order = blocked: trials per garden"))
    feedback: bool = True
    block_trials: int = field(default=0, metadata=field_meta(0, doc="a break every this many trials (0: none)"))
    scanner: bool = field(default=False, metadata=field_meta(doc="wait for a trigger per run; computed onsets"))
    runs: int = field(default=1, metadata=field_meta(1))
    max_trials: int = field(default=0,
                            metadata=field_meta(0, doc="run only the first N trials (pilots, tests; 0: all)"))
    comprehension: int = field(default=0, metadata=field_meta(
        0, doc="before the trials: this many correct answers in a row to 'which key plants the tree?'"))
    timing: Timing = field(default_factory=Timing)
    keys: Keys = field(default_factory=Keys)


@dataclass(frozen=True)
class Practice:
    """A short practice before a session's first phase (``[practice]``): ``trials`` trees of clearly
    good or bad cells, half in each garden, with feedback, repeated until ``criterion`` of them are
    right (at most ``max_repeats`` more times). Its trees are practice exemplars (``PRACTICE_EXEMPLARS``,
    or a stimulus set's own, allocated first); keys and timing are the protocol's (``[keys]``,
    ``[timing]``: the keyboard, not a scan phase's button box) unless set here."""

    trials: int = field(default=0, metadata=field_meta(0, doc="trials per attempt, even (0: no practice)"))
    feedback: bool = True
    criterion: int = field(default=0,
                           metadata=field_meta(0, doc="right answers of an attempt to pass (0: one attempt)"))
    max_repeats: int = field(default=0, metadata=field_meta(0, doc="further attempts while below the criterion"))
    sessions: tuple[int, ...] = field(default=(1,), metadata=field_meta(doc="sessions that start with the practice"))
    timing: Timing = field(default_factory=Timing)
    keys: Keys = field(default_factory=Keys)

    @property
    def attempts(self) -> int:
        """Most attempts (1 + ``max_repeats``; 1 without a criterion)."""
        return 1 + self.max_repeats if self.criterion else 1

    def phase(self, session: int) -> Phase:
        """The practice of one session as a phase (label ``PRACTICE_PHASE``; one block per attempt)."""
        return Phase(name=PRACTICE_PHASE, trials=self.trials, session=session, feedback=self.feedback,
                     timing=self.timing, keys=self.keys)


@dataclass(frozen=True)
class Protocol:
    """A whole protocol: counterbalancing, stimuli, keys, display and the phases of every session."""

    name: str
    phases: tuple[Phase, ...]
    description: str = ""
    contexts: tuple[str, str] = ("north", "south")
    rule_code: int | str = field(default=PARTICIPANT, metadata=field_meta(doc="1..8 or 'participant'"))
    curriculum: str = field(default=PARTICIPANT, metadata=field_meta(doc="a name in [curricula] or 'participant'"))
    curricula: dict[str, Curriculum] = field(default_factory=lambda: {"interleaved": Curriculum()})
    seed: int = field(default=0, metadata=field_meta(0))
    exemplar_pool: int = field(default=50, metadata=field_meta(1, doc="exemplars per cell when trees are rendered"))
    tree_seed: int = field(default=0, metadata=field_meta(0, doc="generator seed when trees are rendered"))
    language: str = "en"
    display: Display = field(default_factory=Display)
    keys: Keys = field(default_factory=Keys)
    timing: Timing = field(default_factory=Timing)
    markers: MarkerSettings = field(default_factory=MarkerSettings)
    bonus: Bonus = field(default_factory=Bonus)
    practice: Practice = field(default_factory=Practice)
    source: str = field(default="", metadata=field_meta(doc="(set by the loader) file it came from"))

    def session_phases(self, session: int) -> list[Phase]:
        """The phases of one session, in order; UserError if the session has none."""
        phases = [p for p in self.phases if p.session == session]
        if not phases:
            sessions = sorted({p.session for p in self.phases})
            raise UserError(f"protocol {self.name!r} has no phases in session {session}; "
                            f"its sessions are {sessions} (use --session with one of them)")
        return phases

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the whole protocol (for sidecars) as its file gives it: the practice in
        ``practice`` only (not among the phases), and left out when there is none (so protocols
        recorded before it existed compare equal)."""
        record = dataclasses.asdict(self)
        record["phases"] = [p for p in record["phases"] if p["name"] != PRACTICE_PHASE]
        if not self.practice.trials:
            record.pop("practice")
        return record


# ------------------------------------------------------------------ validation

def _check_protocol(protocol: Protocol, where: str) -> None:
    """Cross-field checks: counts that must divide, names that must exist."""
    if not PROTOCOL_NAME.fullmatch(protocol.name):
        raise UserError(f"{where} name: {protocol.name[:60]!r} is not a protocol name; use letters, digits, '_' and "
                        "'-' (it names files and the site's folder), e.g. 'flesch2022'")
    if protocol.curriculum != PARTICIPANT and protocol.curriculum not in protocol.curricula:
        raise UserError(f"{where} curriculum: {protocol.curriculum!r} is not in [curricula] "
                        f"{sorted(protocol.curricula)}; use one of them or 'participant'")
    if isinstance(protocol.rule_code, str) and protocol.rule_code != PARTICIPANT or \
            isinstance(protocol.rule_code, int) and protocol.rule_code not in range(1, 9):
        raise UserError(f"{where} rule_code: {protocol.rule_code!r} is invalid; use 1..8 or 'participant'")
    if protocol.exemplar_pool > MAX_EXEMPLAR_POOL:
        raise UserError(f"{where} exemplar_pool: {protocol.exemplar_pool} is too large; use at most "
                        f"{MAX_EXEMPLAR_POOL} (higher exemplars are kept for the arrangement task)")
    if len(set(protocol.contexts)) != 2:
        raise UserError(f"{where} contexts: {list(protocol.contexts)} must be two different labels")
    missing = [c for c in protocol.contexts if c not in protocol.display.context_colours]
    if missing:
        raise UserError(f"{where} display.context_colours: no colour for context(s) {missing}; "
                        f"add e.g. `{missing[0]} = [0, 178, 255]`")
    _check_keys(protocol.keys, f"{where} keys")
    d = protocol.display
    if d.units == "deg" and not (d.distance_cm > 0 and d.width_cm > 0):
        raise UserError(f"{where} display: units = 'deg' needs distance_cm and width_cm (> 0) of the screen; "
                        "measure them and add them to [display]")
    codes = protocol.markers.codes
    bad = [e for e in MARKER_EVENTS if not 1 <= codes.get(e, 0) <= 255]
    if protocol.markers.output == "serial" and bad:
        raise UserError(f"{where} markers.codes: event(s) {bad} need a code 1..255, e.g. {{ tree = 2 }}")
    _check_display(protocol.display, f"{where} display")
    if not (STRINGS_DIR / f"{protocol.language}.toml").is_file() or "_" in protocol.language:
        available = sorted(p.stem for p in STRINGS_DIR.glob("*.toml") if "_" not in p.stem)
        raise UserError(f"{where} language: {protocol.language!r} has no strings file; use one of {available} "
                        f"(or add {STRINGS_DIR}/<language>.toml)")
    for i, phase in enumerate(protocol.phases):
        _check_keys(phase.keys, f"{where} phases[{i}].keys")
        if phase.name != PRACTICE_PHASE:
            _check_phase(phase, f"{where} phases[{i}]", protocol)
    names = [(p.session, p.name) for p in protocol.phases]
    twice = sorted({n for s, n in names if names.count((s, n)) > 1})
    if twice:
        raise UserError(f"{where} phases: name(s) {twice} used by two phases of one session; give every phase "
                        "its own name (the trial table's phase column tells them apart)")
    for session in sorted({p.session for p in protocol.phases}):
        total = sum(p.trials for p in protocol.phases if p.session == session)
        if total > MAX_SESSION_TRIALS:
            raise UserError(f"{where} phases: session {session} has {total} trials; at most {MAX_SESSION_TRIALS} "
                            "in one session (check the phases' trials)")


MAX_PRACTICE_TRIALS = 50
"""Most trials of one practice attempt."""


def _check_practice(raw_phases: list[Any], practice: Practice, where: str) -> None:
    """The ``[practice]`` table is consistent and no ``[[phases]]`` entry takes its label."""
    named = [i for i, p in enumerate(raw_phases) if isinstance(p, dict) and p.get("name") == PRACTICE_PHASE]
    if named:
        raise UserError(f"{where} phases[{named[0]}].name: {PRACTICE_PHASE!r} is the label of the [practice] "
                        "table's trials; rename the phase, or use [practice] trials = 8")
    if not practice.trials:
        return
    if practice.trials % 2 or practice.trials > MAX_PRACTICE_TRIALS:
        raise UserError(f"{where} practice.trials: {practice.trials} is invalid; use an even number up to "
                        f"{MAX_PRACTICE_TRIALS} (half the trees in each garden), e.g. 8")
    if practice.criterion > practice.trials:
        raise UserError(f"{where} practice.criterion: {practice.criterion} is more than its {practice.trials} "
                        "trials; use at most practice.trials (0: no criterion)")
    if practice.max_repeats and not practice.criterion:
        raise UserError(f"{where} practice.max_repeats: repeats need a criterion; set practice.criterion "
                        f"(e.g. {max(1, 3 * practice.trials // 4)}) or max_repeats = 0")


def _with_practice(protocol: Protocol, where: str) -> Protocol:
    """The protocol with its practice as the first phase of each of ``practice.sessions``."""
    practice = protocol.practice
    if not practice.trials:
        return protocol
    sessions = {p.session for p in protocol.phases}
    missing = sorted(set(practice.sessions) - sessions)
    if missing or not practice.sessions:
        raise UserError(f"{where} practice.sessions: {list(practice.sessions)} must name sessions of the "
                        f"protocol's phases {sorted(sessions)}, e.g. sessions = [1]")
    phases: list[Phase] = []
    for phase in protocol.phases:
        if phase.session in practice.sessions and not any(p.session == phase.session for p in phases):
            phases.append(practice.phase(phase.session))
        phases.append(phase)
    return dataclasses.replace(protocol, phases=tuple(phases))


def _check_keys(keys: Keys, where: str) -> None:
    unknown = [f"{name} = {getattr(keys, name)!r}" for name in
               ("left", "right", "proceed", "quit", "confirm", "decline", "trigger") if getattr(keys, name) not in KEY_NAMES]
    if unknown:
        raise UserError(f"{where}: unknown key name(s) {unknown}; use letters, digits or names such as "
                        "space, escape, return, left, right, f1")
    names = {"left": keys.left, "right": keys.right, "quit": keys.quit, "trigger": keys.trigger}
    if len(set(names.values())) != len(names):
        raise UserError(f"{where}: left, right, quit and trigger keys must differ (got {names})")
    if len({keys.quit, keys.confirm, keys.decline, keys.trigger}) != 4:
        raise UserError(f"{where}: quit, confirm, decline and trigger keys must differ "
                        f"(got {keys.quit!r}, {keys.confirm!r}, {keys.decline!r}, {keys.trigger!r})")

def _check_display(display: Display, where: str) -> None:
    """Window sizes positive and bounded, colours RGB 0..255."""
    if not all(1 <= v <= MAX_WINDOW_PX for v in display.size_px):
        raise UserError(f"{where}.size_px: {list(display.size_px)} is invalid; use two sizes 1..{MAX_WINDOW_PX} px")
    colours = {f.name: getattr(display, f.name) for f in dataclasses.fields(display) if f.name.endswith(("colour", "background"))}
    colours.update({f"context_colours.{k}": v for k, v in display.context_colours.items()})
    for name, colour in colours.items():
        if not all(0 <= c <= 255 for c in colour):
            raise UserError(f"{where}.{name}: {list(colour)} is invalid; use RGB values 0..255")

PROTOCOL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
"""A protocol (and phase) name: it becomes part of file and folder names, so no separators or dots."""


def _check_phase(phase: Phase, where: str, protocol: Protocol) -> None:
    cells = 2 * 25
    if not PROTOCOL_NAME.fullmatch(phase.name):
        raise UserError(f"{where}.name: {phase.name[:60]!r} is not a phase name; use letters, digits, '_' and '-'")
    if phase.trials % cells:
        raise UserError(f"{where}.trials: {phase.trials} is not a multiple of 50 (2 gardens x 25 trees); "
                        f"use e.g. {cells * max(1, round(phase.trials / cells))}")
    repeats = phase.trials // cells
    if repeats % phase.exemplars_per_cell:
        raise UserError(f"{where}.exemplars_per_cell: {phase.exemplars_per_cell} does not divide the "
                        f"{repeats} showings of each tree per garden; use a divisor of {repeats}")
    if repeats % phase.runs:
        raise UserError(f"{where}.runs: {phase.runs} runs cannot each hold every tree equally often "
                        f"({repeats} showings per garden); use a divisor of {repeats}")
    shown = min(phase.max_trials, phase.trials) if phase.max_trials else phase.trials
    if phase.block_trials and shown % phase.block_trials:
        raise UserError(f"{where}.block_trials: {phase.block_trials} does not split the {shown} trials into equal "
                        f"blocks; use a divisor of {shown} (or 0: no breaks)")
    if phase.order == "blocked" and phase.block_length < 1:
        raise UserError(f"{where}.block_length: order = 'blocked' needs block_length >= 1 (trials per garden)")
    if phase.order == "curriculum":
        for name, cur in protocol.curricula.items():
            if cur.order == "blocked" and cur.block_length < 1:
                raise UserError(f"{where}: curricula.{name}.block_length must be >= 1 for a blocked curriculum")
    if phase.scanner and not phase.timing.jittered and phase.timing.iti_s <= 0:
        raise UserError(f"{where}.timing: a scanner phase needs iti_s > 0 or a jitter (iti_max_s > iti_s)")
    if phase.timing.iti_max_s and phase.timing.iti_max_s < phase.timing.iti_s:
        raise UserError(f"{where}.timing.iti_max_s: {phase.timing.iti_max_s} < iti_s {phase.timing.iti_s}; "
                        "set iti_max_s >= iti_s (or 0 for a fixed ITI)")


def parse_protocol(raw: dict[str, Any], source: str) -> Protocol:
    """Validate a parsed TOML document into a Protocol (phase timing = [timing] + phase overrides)."""
    where = f"{source}:"
    base_timing, base_keys, phases = raw.get("timing", {}), raw.get("keys", {}), raw.get("phases")
    if not isinstance(base_timing, dict):
        raise UserError(f"{where} timing: expected a [timing] table")
    if not isinstance(base_keys, dict):
        raise UserError(f"{where} keys: expected a [keys] table")
    if not isinstance(phases, list) or not phases:
        raise UserError(f"{where} phases: missing; add at least one [[phases]] table")
    merged = []
    for i, phase in enumerate(phases):
        timing = phase.get("timing", {}) if isinstance(phase, dict) else None
        if not isinstance(timing, dict):
            raise UserError(f"{where} phases[{i}].timing: expected a table, e.g. timing = {{ cue_s = 1.0 }}")
        keys = phase.get("keys", {})
        if not isinstance(keys, dict):
            raise UserError(f"{where} phases[{i}].keys: expected a table, e.g. keys = {{ left = \"1\", right = \"2\" }}")
        merged.append({**phase, "timing": {**base_timing, **timing}, "keys": {**base_keys, **keys}})
    practice = raw.get("practice", {})
    if not isinstance(practice, dict) or not isinstance(practice.get("timing", {}), dict) \
            or not isinstance(practice.get("keys", {}), dict):
        raise UserError(f"{where} practice: expected a [practice] table, e.g. trials = 8 (timing and keys as tables)")
    practice = {**practice, "timing": {**base_timing, **practice.get("timing", {})},
                "keys": {**base_keys, **practice.get("keys", {})}}
    protocol = dataclasses.replace(build(Protocol, {**raw, "phases": merged, "practice": practice}, where),
                                   source=source)
    _check_practice(phases, protocol.practice, where)
    protocol = _with_practice(protocol, where)
    _check_protocol(protocol, where)
    return protocol


def load_protocol(name_or_path: str | Path) -> Protocol:
    """A protocol by registry name (``flesch2022``) or from a TOML file path."""
    text = str(name_or_path)
    path = PROTOCOLS.get(text) or Path(text)
    if not path.is_file():
        raise UserError(f"protocol {text!r} not found: use one of {sorted(PROTOCOLS)} or a path to a .toml file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc}); fix the syntax at that line") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; save the protocol as UTF-8") from None
    return parse_protocol(raw, str(path))


# ------------------------------------------------------------------ strings
