"""The task on screen with PsychoPy: the only package of the task that imports psychopy.

``toolkit`` (PsychoPy on demand, the display check), ``trees`` (tree textures), ``keys`` (simulated
key presses), ``screen`` (drawing and flipping), ``runner`` (the loop and ``run_window_session``).

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

from garden.experiment.present.keys import XdotoolDriver
from garden.experiment.present.runner import Runner, ask_ids, run_window_session
from garden.experiment.present.screen import Response, Screen
from garden.experiment.present.toolkit import Aborted, opaque_box, psychopy, require_window
from garden.experiment.present.trees import Trees

__all__ = ["Aborted", "Response", "Runner", "Screen", "Trees", "XdotoolDriver", "ask_ids", "opaque_box", "psychopy",
           "require_window", "run_window_session"]
