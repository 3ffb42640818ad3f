"""PsychoPy loaded on demand, the check of what a window needs (the lab extra, an X display), and the loop's
timing constants."""

from __future__ import annotations

import functools
import importlib.util
import os
import socket
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
    require_window()
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


def require_window(hint: str = "") -> None:
    """Check what a PsychoPy window needs before any work: the lab extra installed (else the ModuleNotFoundError
    that the command line turns into the extra's one line), then, on Linux, an X display: UserError instead of a
    PsychoPy import crash when DISPLAY is unset or no X server answers where it points (an ended ssh -X or VNC
    session); ``hint`` ends that message (e.g. another way to run the command)."""
    for module in ("psychopy", "pyglet"):
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)
    if not sys.platform.startswith("linux"):
        return
    display = os.environ.get("DISPLAY")
    if not display:
        raise UserError("no X display (DISPLAY is unset): run on the lab computer's screen or under "
                        f"xvfb-run{hint}")
    if not x_server_answers(display):
        raise UserError(f"no X server answers at DISPLAY={display} (has its session ended?): run on the lab "
                        f"computer's screen or under xvfb-run{hint}")


def x_server_answers(display: str, timeout_s: float = 5.0) -> bool:
    """Whether an X server accepts connections at ``display`` (":99", "unix:0", "localhost:10.0"), tried as
    Xlib would (the local socket, in Linux's abstract namespace or under /tmp/.X11-unix; TCP port 6000 + the
    display number on a host), without loading an X library; True for a form this does not parse."""
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit() or host.startswith("/"):  # e.g. macOS launchd sockets: leave them to Xlib
        return True
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        return any(_connects(socket.AF_UNIX, address, timeout_s) for address in ("\0" + path, path))
    return _connects(socket.AF_INET6 if ":" in host else socket.AF_INET, (host.strip("[]"), 6000 + int(number)),
                     timeout_s)


def _connects(family: int, address: Any, timeout_s: float) -> bool:
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(timeout_s)
            probe.connect(address)
        return True
    except OSError:
        return False


class Aborted(Exception):
    """The experimenter pressed Esc and confirmed: end the session, keep the data."""


