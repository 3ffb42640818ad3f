"""Presentation timing: per-frame draw cost at 1280x1024 and scanner onset-schedule error.

* Draw cost: the busiest screen of the task (frame, the 443 px tree of the run with the largest
  opaque area, both labels, highlight and feedback values) drawn 300 times at 1280x1024, timed from the first draw call to ``glFinish``
  (the GPU work done), beside an empty frame measured the same way; flip (buffer swap) time is
  reported apart. Target: under 4 ms, leaving headroom at 120 Hz (8.3 ms a frame).
* Onset error: a 100-trial scanner run played by ``garden.experiment.present.Runner`` with SHORT timings
  (cue 0.05 s, tree 0.15 s, ITIs 0.1-0.2 s, lead-in 0.2 s: a 40 s run instead of ~10 min) and
  trees rendered before the run; error = flip timestamp of each tree onset minus its computed
  schedule. "No accumulation" = the slope of the error against time since the trigger.

Needs an X display: without ``DISPLAY`` it re-runs itself under ``xvfb-run`` (Mesa llvmpipe, no
vsync: frames are paced in software at the nominal 60 Hz).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

XVFB = ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24"]
PROTOCOL = """
name = "bench"
rule_code = 1
curriculum = "interleaved"
[display]
size_px = [1280, 1024]
check_timing = false
refresh_hz = 60.0
[[phases]]
name = "scan"
trials = 100
scanner = true
feedback = false
timing = { cue_s = 0.05, response_window_s = 0.15, fixed_duration = true, iti_s = 0.1, iti_max_s = 0.2, lead_in_s = 0.2, lead_out_s = 0.1 }
"""


def _draw_cost(screen, trial: dict, frames: int = 300) -> dict[str, float]:
    from pyglet import gl

    def timed(draw) -> tuple[np.ndarray, np.ndarray]:
        draw_s, flip_s = [], []
        for _ in range(frames):
            t0 = time.perf_counter()
            draw()
            gl.glFinish()
            t1 = time.perf_counter()
            screen.win.flip()
            draw_s.append(t1 - t0)
            flip_s.append(time.perf_counter() - t1)
        return np.array(draw_s) * 1e3, np.array(flip_s) * 1e3

    busy = screen.trial_screen(trial, "left", feedback=True)
    timed(busy)  # warm-up: textures and glyphs
    empty_draw, empty_flip = timed(screen.blank)
    draw, flip = timed(busy)
    return {"draw_ms_median": float(np.median(draw)), "draw_ms_p95": float(np.quantile(draw, 0.95)),
            "empty_draw_ms_median": float(np.median(empty_draw)), "flip_ms_median": float(np.median(flip)),
            "empty_flip_ms_median": float(np.median(empty_flip)),
            "draw_under_4ms": bool(np.median(draw) < 4.0)}


def _onset_error(protocol_path: str) -> dict[str, float]:
    from garden.experiment.config import load_protocol
    from garden.experiment.present import Runner, Screen, Trees, opaque_box
    from garden.experiment.session import plan_session, start_recording
    from garden.stimuli.trees import render_tree

    protocol = load_protocol(protocol_path)
    out = tempfile.mkdtemp()
    run = plan_session(protocol, "B001", 1, out)
    start_recording(run, fsync=True, mode="benchmark")
    screen = Screen(protocol)
    images = {(r.branchiness, r.leafiness, r.exemplar): render_tree(r.branchiness, r.leafiness, int(r.exemplar), 443)
              for r in run.sequence.itertuples()}
    def drawn_area(key) -> int:  # the tree's opaque bounding box: what set_tree draws
        x0, y0, x1, y1 = opaque_box(images[key])
        return (x1 - x0) * (y1 - y0)
    biggest = max(images, key=drawn_area)
    trial = run.sequence[run.sequence.exemplar.eq(biggest[2]) & run.sequence.branchiness.eq(biggest[0])
                         & run.sequence.leafiness.eq(biggest[1])].iloc[0].to_dict()
    screen.set_tree(images[biggest])
    cost = {**_draw_cost(screen, trial), "tree_drawn_px": drawn_area(biggest)}

    class Prerendered(Trees):
        def image(self, branchiness, leafiness, exemplar):
            return images[(branchiness, leafiness, exemplar)]

    class Triggered(Runner):
        def wait_trigger(self, phase) -> float:  # the trigger arrives now
            return self.screen.show(self.screen.blank)

    Triggered(run, screen, Prerendered(protocol), texts=False).play()
    screen.close()
    run.recorder.finish(True)
    from garden.core.trials import read_trials

    table = read_trials(run.recorder.path)
    error = (table.onset - table.planned_onset).to_numpy()
    slope = np.polyfit(table.planned_onset, error, 1)[0]
    return {**cost, "load_average_1min": os.getloadavg()[0], "trials": int(len(table)), "run_s": float(table.planned_onset.max()),
            "frame_ms_nominal": 1e3 * screen.frame_s, "vsync": screen.vsync, "realtime_priority": screen.realtime,
            "onset_error_ms_mean": float(1e3 * error.mean()), "onset_error_ms_max_abs": float(1e3 * np.abs(error).max()),
            "onset_error_ms_sd": float(1e3 * error.std()),
            "within_one_frame": float(np.mean(np.abs(error) <= screen.frame_s)),
            "drift_ms_per_100s": float(1e3 * slope * 100), "recent_flip_interval_ms": float(1e3 * screen.interval),
            "dropped_frames_per_trial": float(table.dropped_frames.mean())}


def measure() -> dict[str, float]:
    """The measurements (needs DISPLAY)."""
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as fh:
        fh.write(PROTOCOL)
    try:
        return _onset_error(fh.name)
    finally:
        os.unlink(fh.name)


def main() -> dict[str, float]:
    """Run ``measure`` here if there is a display, else in a child under xvfb-run."""
    if os.environ.get("DISPLAY"):
        return measure()
    code = "import json; from benchmarks.bench_experiment import measure; print('RESULT' + json.dumps(measure()))"
    result = subprocess.run([*XVFB, sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT")]
    if not lines:
        raise RuntimeError(f"benchmark failed under xvfb-run: {result.stderr[-2000:]}")
    return json.loads(lines[-1][len("RESULT"):])
