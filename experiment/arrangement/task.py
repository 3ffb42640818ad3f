"""The tree-arrangement ("arena") task on screen: PsychoPy drawing and mouse input only.

All 25 trees (one exemplar per cell, chosen with the session seed and recorded) start at random
slots on a ring inside a grey circular arena. The participant drags them with the mouse so that
distance reflects dissimilarity and clicks "done"; this repeats ``n_arrangements`` times
(default 6) with a new start layout each time. Dragging, hit-testing (topmost tree), keeping trees
inside the circle and counting moves live in ``garden.experiment.arrangement.data.Arena``; files are
written by ``ArrangementWriter`` (flushed after every arrangement, never overwritten).

"Done" is refused until every tree has been moved once (``require_all_moved``). Escape asks
whether to quit; Y aborts: the arrangements finished so far are kept and their RDM is written (files are
created with the first finished arrangement, so an abort before it leaves nothing behind).
PsychoPy is loaded through ``garden.experiment.present.psychopy`` when the window opens, so this module
imports without a display.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from garden.core.errors import UserError
from garden.experiment.arrangement import data as ad
from garden.experiment.config import ARENA_EXEMPLARS
from garden.experiment.screen_texts import read_strings
from garden.experiment.present import psychopy, require_window
from garden.stimuli.sets import load_set
from garden.stimuli.trees import render_tree

DEFAULT_STRINGS = Path(__file__).parents[1] / "strings" / "arrangement_en.toml"
STRING_KEYS = ("instructions", "start", "progress", "done", "end", "move_all", "confirm_quit")
RENDER_EXEMPLARS = ARENA_EXEMPLARS
"""Rendered arena trees: exemplars no main-task protocol renders (see ``garden.experiment.config``)."""
BACKGROUND = (-0.5, -0.5, -0.5)
ARENA_COLOUR = (0.1, 0.1, 0.1)
WINDOW_TITLE = "garden arrange"


@dataclass(frozen=True)
class ArrangementConfig:
    """Settings of one arrangement session. Sizes in pixels unless the name says otherwise."""

    participant_id: str
    session: int
    phase: str
    n_arrangements: int = 6
    out: Path = Path("participants")
    stimuli: Path | None = None
    seed: int | None = None
    fullscreen: bool = False
    window_size_px: tuple[int, int] = (900, 900)
    arena_radius_px: float | None = None
    """Arena radius; default 45 % of the shorter window side (room for the "done" button)."""
    tree_size_arena: float = 0.22
    """Side of the square box each tree image is fitted into (arena-radius units)."""
    ring_radius_arena: float = 0.8
    render_seed: int = 0
    strings: Path = DEFAULT_STRINGS
    end_s: float = 1.5
    """How long the closing text stays on screen (s)."""
    require_all_moved: bool = True
    """"Done" finishes an arrangement only once every tree has been moved at least once."""


@dataclass(frozen=True)
class ArrangementResult:
    """What a session produced."""

    files: ad.ArrangementFiles
    n_completed: int
    aborted: bool
    seed: int
    exemplars: list[str] = field(default_factory=list)


def load_strings(path: str | os.PathLike = DEFAULT_STRINGS) -> dict[str, str]:
    """The arrangement screens' texts from a TOML file; UserError naming a missing or non-text key."""
    data = read_strings(path, STRING_KEYS, template=DEFAULT_STRINGS)
    for key in STRING_KEYS:  # every text is filled with these values on screen: check them before the window opens
        try:
            data[key].format(total=1, done="", index=1, n=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise UserError(f"{path}: text {key!r} has an unknown or broken {{placeholder}} ({exc}); "
                            "use only {total}, {done}, {index} and {n}, and {{ }} for literal braces") from None
    return {key: data[key] for key in STRING_KEYS}


def validate(config: ArrangementConfig) -> None:
    """Raise UserError for settings that cannot work, before any window opens or file is made."""
    ad.arrangement_files(config.out, config.participant_id, config.session, config.phase)
    if config.n_arrangements < 1:
        raise UserError(f"--arrangements {config.n_arrangements}: use 1 or more")
    if not 0 < config.tree_size_arena < 1:
        raise UserError(f"tree size {config.tree_size_arena}: use a number between 0 and 1 (arena radius units)")
    if config.ring_radius_arena + config.tree_size_arena / 2 > 1:
        raise UserError("the start ring plus half a tree must fit inside the arena: "
                        "lower the ring radius or the tree size")
    if config.seed is not None and int(config.seed) < 0:
        raise UserError(f"--seed {config.seed}: use a non-negative integer")
    if min(config.window_size_px) < 200:
        raise UserError(f"window size {config.window_size_px}: use at least 200 x 200 pixels")


def tree_images(config: ArrangementConfig, seed: int, size_px: int) -> tuple[list[str], list[Any]]:
    """(exemplar labels, images) in condition order: files of the set, or trees rendered now."""
    if config.stimuli is not None:
        stimulus_set = load_set(config.stimuli)
        options = {(int(b), int(l)): stimulus_set.exemplars(int(b), int(l)) for b, l in ad.CELLS}
        exemplars = ad.choose_exemplars(options, seed)
        images = [str(stimulus_set.file(int(b), int(l), e)) for (b, l), e in zip(ad.CELLS, exemplars)]
        return exemplars, images
    options = {(int(b), int(l)): RENDER_EXEMPLARS for b, l in ad.CELLS}
    exemplars = ad.choose_exemplars(options, seed)
    images = [render_tree(int(b), int(l), int(e), size_px, seed=config.render_seed)
              for (b, l), e in zip(ad.CELLS, exemplars)]
    return exemplars, images


def render_size_px(config: ArrangementConfig) -> int:
    """Side (pixels) at which trees are rendered when no stimulus set is given: the tree box."""
    radius_px = config.arena_radius_px or 0.45 * min(config.window_size_px)
    return max(32, int(round(config.tree_size_arena * radius_px)))


def _as_rgba(image: Any) -> Any:
    """A PIL RGBA image from a file path or a PIL image."""
    if isinstance(image, (str, os.PathLike)):
        with Image.open(image) as opened:
            return opened.convert("RGBA")
    return image.convert("RGBA")


def _fit_size(image: Any, box_px: float) -> np.ndarray:
    """(width, height) in pixels that fit a PIL ``image`` in a square box, keeping its aspect ratio."""
    width, height = image.size
    return np.array([width, height], float) * box_px / max(width, height)


class _Screen:
    """The window and everything drawn on it (psychopy lives here)."""

    def __init__(self, config: ArrangementConfig, images: list[Any], strings: dict[str, str]):
        event, visual = psychopy().event, psychopy().visual
        self.event = event
        self.win = visual.Window(size=config.window_size_px, pos=None if config.fullscreen else (0, 0),
                                 fullscr=config.fullscreen, units="pix", color=BACKGROUND, allowGUI=False,
                                 checkTiming=False, title=WINDOW_TITLE)
        width, height = self.win.size
        self.radius_px = float(config.arena_radius_px or 0.45 * min(width, height))
        box_px = config.tree_size_arena * self.radius_px
        images = [_as_rgba(image) for image in images]
        self.sizes_px = np.array([_fit_size(image, box_px) for image in images])
        self.masks = [ad.grab_mask(np.asarray(image.getchannel("A"))) for image in images]
        self.trees = [visual.ImageStim(self.win, image=image, size=size, interpolate=True)
                      for image, size in zip(images, self.sizes_px)]
        self.arena = visual.Circle(self.win, radius=self.radius_px, edges=256, fillColor=ARENA_COLOUR,
                                   lineColor=None)
        self.button = visual.Rect(self.win, width=120, height=44, pos=(width / 2 - 80, -height / 2 + 40),
                                  fillColor=(-0.1, 0.4, -0.1), lineColor=(1, 1, 1))
        self.button_text = visual.TextStim(self.win, strings["done"], pos=self.button.pos, height=22,
                                           color=(1, 1, 1))
        self.progress = visual.TextStim(self.win, "", pos=(-width / 2 + 20, height / 2 - 20), height=18,
                                        anchorHoriz="left", anchorVert="top", alignText="left", color=(1, 1, 1))
        self.message = visual.TextStim(self.win, "", height=24, wrapWidth=0.8 * width, color=(1, 1, 1))
        self.mouse = event.Mouse(visible=True, win=self.win)
        self.strings = strings
        self._changes: list[tuple[bool, np.ndarray]] = []
        self._record_button_changes()

    def _record_button_changes(self) -> None:
        """Keep every left-button press and release the window receives, with where it happened, so
        that a click or drag shorter than a frame (a slow machine, a quick hand) is never lost.
        PsychoPy's mouse keeps only the state at the last event; pyglet windows only (other
        backends are polled once a frame)."""
        if self.win.winType != "pyglet":
            return
        scale = 2.0 if self.win.useRetina else float(self.win.getContentScaleFactor())
        half = np.asarray(self.win.size, float) / 2

        def record(down: bool) -> Any:
            def handler(x: int, y: int, button: int, modifiers: int) -> None:
                if button & 1:  # pyglet's left button; x, y from the window's bottom left
                    self._changes.append((down, np.array([x, y], float) * scale - half))
            return handler
        self.win.winHandle.push_handlers(on_mouse_press=record(True), on_mouse_release=record(False))

    def pointer(self) -> tuple[bool, np.ndarray]:
        """(left button down, pointer position in pixels from the window centre) now."""
        pressed = bool(self.mouse.getPressed()[0])
        return pressed, np.asarray(self.mouse.getPos(), float)

    def pointer_states(self) -> list[tuple[bool, np.ndarray]]:
        """The left button's states since the last call, oldest first: one per press and release
        the window received, then the state now (each as ``pointer`` gives it)."""
        now = self.pointer()  # dispatches the window's pending events into the record
        states, self._changes = self._changes, []
        return [*states, now]

    def clear_events(self) -> None:
        """Forget pending keys and button changes (PsychoPy's and the record's)."""
        self.event.clearEvents()
        self._changes.clear()

    def escape(self) -> bool:
        """True if Escape was pressed since the last check and the quit question was confirmed."""
        return bool(self.event.getKeys(keyList=["escape"])) and self.confirm_quit()

    def confirm_quit(self) -> bool:
        """Ask whether to quit: True on Y, False on N (the task goes on); other keys are ignored."""
        self.message.text = self.strings["confirm_quit"]
        self.clear_events()
        while True:
            self.message.draw()
            self.win.flip()
            keys = self.event.getKeys(keyList=["y", "n"])
            if keys:
                self.clear_events()
                return keys[0] == "y"

    def wait_to_start(self, text: str) -> bool:
        """Show ``text`` until a click (press then release) or space; False if Escape was pressed
        and the quit question confirmed."""
        self.message.text = text
        was_pressed, clicked = self.pointer()[0], False
        self.clear_events()
        while True:
            self.message.draw()
            self.win.flip()
            keys = self.event.getKeys(keyList=["space", "escape"])
            if "escape" in keys and self.confirm_quit():
                return False
            if "escape" in keys:
                self.message.text = text
            if "space" in keys:
                return True
            for pressed, _ in self.pointer_states():
                clicked |= pressed and not was_pressed
                if clicked and not pressed:
                    return True
                was_pressed = pressed

    def draw(self, arena: ad.Arena, progress: str) -> None:
        """Draw the arena, the trees bottom to top, the button and the progress line; flip."""
        self.arena.draw()
        for tree in arena.order:
            self.trees[tree].pos = arena.positions[tree] * self.radius_px
            self.trees[tree].draw()
        self.button.draw()
        self.button_text.draw()
        self.progress.text = progress
        self.progress.draw()
        self.win.flip()

    def show(self, text: str, seconds: float) -> None:
        """Show ``text`` for ``seconds`` (timed by the clock, not by frames)."""
        self.message.text = text
        clock = psychopy().core.Clock()
        while clock.getTime() < seconds:
            self.message.draw()
            self.win.flip()


def arrange_once(screen: _Screen, start: np.ndarray, progress: str, *, require_all_moved: bool = True
                 ) -> tuple[ad.Arena, float] | None:
    """Run one arrangement from ``start`` until "done" (arena, duration in s) or a confirmed
    Escape (None). With ``require_all_moved``, "done" is refused (a line says why) while a tree
    has not been moved."""
    arena = ad.Arena(start, screen.sizes_px / 2 / screen.radius_px, masks=screen.masks)
    was_pressed = screen.pointer()[0]
    screen.clear_events()
    clock = psychopy().core.Clock()
    line = progress
    while True:
        screen.draw(arena, line)
        if screen.escape():
            return None
        for pressed, xy_px in screen.pointer_states():
            xy = xy_px / screen.radius_px
            if pressed and not was_pressed:
                if screen.button.contains(xy_px):
                    if not require_all_moved or arena.unmoved() == 0:
                        return arena, clock.getTime()
                    line = f"{progress}\n" + screen.strings["move_all"].format(n=arena.unmoved(),
                                                                                done=screen.strings["done"])
                else:
                    arena.press(xy)
            elif pressed:
                arena.drag(xy)
            elif was_pressed:
                arena.drag(xy)
                arena.release()
            was_pressed = pressed


def _arrange_all(screen: _Screen, layouts: np.ndarray, strings: dict[str, str], texts: dict[str, Any],
                 open_writer: Any, require_all_moved: bool) -> tuple[ad.ArrangementWriter | None, bool]:
    """Start screen + arrangement for each layout; (writer or None, aborted by Escape)."""
    writer = None
    for index, start in enumerate(layouts, start=1):
        intro = strings["instructions"].format(**texts, index=index) + "\n\n" if index == 1 else ""
        if not screen.wait_to_start(intro + strings["start"].format(**texts, index=index)):
            return writer, True
        outcome = arrange_once(screen, start, strings["progress"].format(**texts, index=index),
                               require_all_moved=require_all_moved)
        if outcome is None:
            return writer, True
        writer = writer or open_writer()  # files appear with the first finished arrangement
        writer.add(start, outcome[0].positions, outcome[0].moves, outcome[1])
    return writer, False


def run_arrangement(config: ArrangementConfig) -> ArrangementResult:
    """Run a whole arrangement session and save it; returns where the files are."""
    validate(config)
    strings = load_strings(config.strings)
    files = ad.arrangement_files(config.out, config.participant_id, config.session, config.phase)
    if files.existing():
        raise FileExistsError(f"{files.existing()[0]}: already exists; refusing to overwrite it "
                              "(use another --session, --phase or --out)")
    seed = int(config.seed) if config.seed is not None else secrets.randbits(32)
    layouts = ad.start_layouts(seed, config.n_arrangements, config.ring_radius_arena)
    exemplars, images = tree_images(config, seed, render_size_px(config))  # checks --stimuli, display or not
    require_window()
    texts = {"total": config.n_arrangements, "done": strings["done"]}
    screen = _Screen(config, images, strings)
    settings = {**asdict(config), "seed": seed, "arena_radius_px": screen.radius_px,
                "window_size_px": list(screen.win.size), "tree_sizes_px": screen.sizes_px.tolist()}

    def open_writer() -> ad.ArrangementWriter:
        return ad.ArrangementWriter(files, participant_id=config.participant_id, session=config.session,
                                    phase=config.phase, exemplars=exemplars, config=settings, seed=seed)
    try:
        writer, aborted = _arrange_all(screen, layouts, strings, texts, open_writer, config.require_all_moved)
        if writer is not None:
            writer.finish()
        if not aborted:
            screen.show(strings["end"].format(**texts, index=config.n_arrangements), config.end_s)
    finally:
        screen.win.close()
    return ArrangementResult(files, len(writer.finals) if writer else 0, aborted, seed, exemplars)
