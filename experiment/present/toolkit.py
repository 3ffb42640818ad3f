"""PsychoPy loaded on demand, the display check, and the loop's timing constants."""

from __future__ import annotations

import functools
import os
import sys
from types import SimpleNamespace
from typing import Any

from garden.core.errors import UserError

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
    import pyglet  # deferred: display (heavy, only when a window opens)

    pyglet.options["debug_gl"] = False
    os.environ.setdefault("LP_NUM_THREADS", str(max(SOFTWARE_RENDER_THREADS, os.cpu_count() or 1)))
    from psychopy import (  # deferred: display (heavy, only when a window opens)
        core,
        event,
        gui,
        logging,
        monitors,
        visual,
    )
    from psychopy.hardware.keyboard import Keyboard  # deferred: display (part of the same PsychoPy load)
    from pyglet import gl  # deferred: display (part of the same PsychoPy load)

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


