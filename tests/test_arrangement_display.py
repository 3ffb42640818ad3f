"""End to end under X: a scripted mouse (xdotool) drags trees; the files say where they went.

Run under ``xvfb-run -a -s '-screen 0 1280x1024x24'``; skips without a display or xdotool.
The window opens at screen (0, 0), 800 x 800 pixels, arena radius 0.45 * 800 = 360 pixels; a
point (x, y) in arena-radius units is on screen at (400 + 360 x, 400 - 360 y). The mouse waits
until the screen shows what it acts on (read back from X), never for a fixed time, and some clicks and
drags are quicker than a frame: the task must see them however slow its frames are.
"""

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import ImageGrab
from scipy import ndimage

from garden.experiment.arrangement import task as arrangement
from garden.experiment.arrangement import data as ad
pytestmark = [pytest.mark.display, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[1]
SIZE, RADIUS = 800, 0.45 * 800
SEED = 7
CONFIG = arrangement.ArrangementConfig("X1", 1, "pre", seed=SEED, window_size_px=(SIZE, SIZE))
HALF = CONFIG.tree_size_arena / 2  # half a tree box (arena units)
PIXEL = 1.5 / RADIUS  # allowed error: 1.5 pixels, in arena units


def screen(xy):
    """Integer X screen coordinates of a point in arena units."""
    return f"{round(SIZE / 2 + xy[0] * RADIUS)}", f"{round(SIZE / 2 - xy[1] * RADIUS)}"


def xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=20)


def click(xy_px, hold_s: float = 0.15) -> None:
    """Press and release at ``xy_px`` (screen pixels), holding the button ``hold_s`` (0: at once)."""
    xdotool("mousemove", *map(str, xy_px), "sleep", "0.15", "mousedown", "1", "sleep", str(hold_s), "mouseup", "1",
            "sleep", "0.3")


def drag(start, target, step_s: float = 0.15) -> None:
    """Press at ``start``, move half way, then to ``target``, release (arena units); ``step_s``
    between steps (0: the whole drag at once, within one frame)."""
    middle = (np.asarray(start) + np.asarray(target)) / 2
    xdotool("mousemove", *screen(start), "sleep", str(step_s), "mousedown", "1", "sleep", str(step_s),
            "mousemove", *screen(middle), "sleep", str(step_s), "mousemove", *screen(target), "sleep", str(step_s),
            "mouseup", "1", "sleep", "0.15")


def window_pixels() -> np.ndarray:
    """The task window's pixels as read back from the X server (rows, columns, RGB 0-255)."""
    return np.asarray(ImageGrab.grab(xdisplay=os.environ["DISPLAY"]).convert("RGB"))[:SIZE, :SIZE].astype(int)


def instructions_shown(pixels: np.ndarray) -> bool:
    """White text on the screen (the start screen's message)."""
    return int((pixels > 230).all(axis=2).sum()) > 200


def arena_shown(pixels: np.ndarray) -> bool:
    """The "done" button's green fill drawn (only the arena screen has it)."""
    fill = np.round((np.array([-0.1, 0.4, -0.1]) + 1) / 2 * 255)
    return bool((np.abs(pixels[SIZE - 55:SIZE - 25, SIZE - 135:SIZE - 112] - fill) <= 3).all())


def wait_until_shown(shown, what: str, timeout_s: float = 60) -> None:
    """Wait until the screen satisfies ``shown`` (a test of its pixels)."""
    deadline = time.monotonic() + timeout_s
    while not shown(window_pixels()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not shown within {timeout_s} s")
        time.sleep(0.1)


def leave_instructions() -> None:
    """Wait for the start screen, click it with a click quicker than a frame, wait for the arena."""
    wait_until_shown(instructions_shown, "the start screen")
    click((SIZE // 2, SIZE // 2), hold_s=0)
    wait_until_shown(arena_shown, "the arena")


def drawn_point(tree: int) -> np.ndarray:
    """Offset (arena units) from a tree's centre to a point well inside its drawn pixels."""
    _, images = arrangement.tree_images(CONFIG, SEED, arrangement.render_size_px(CONFIG))
    alpha = np.asarray(images[tree].getchannel("A"))
    solid = ndimage.binary_erosion(alpha > 0, iterations=2)  # a pixel of rounding cannot miss it
    rows, cols = np.nonzero(solid)
    centre = (np.array(solid.shape) - 1) / 2
    k = np.argmin(np.hypot(rows - centre[0], cols - centre[1]))
    return np.array([(cols[k] + 0.5) / solid.shape[1] - 0.5, 0.5 - (rows[k] + 0.5) / solid.shape[0]]) * 2 * HALF


def wait_for_window(process: subprocess.Popen, title: str, timeout_s: float = 40) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"task exited early: {process.stderr.read()}")
        if subprocess.run(["xdotool", "search", "--name", title], capture_output=True).returncode == 0:
            return
        time.sleep(0.3)
    pytest.fail("the task window did not appear")


@contextmanager
def arranging(participant: str, out: Path, *options: str) -> Iterator[subprocess.Popen]:
    """`garden arrange` of ``participant`` (session 1, phase pre, one arrangement, ``SEED``, ``SIZE`` x ``SIZE``)
    into ``out`` with ``options``, from when its window is shown; killed if still running when the block ends."""
    command = [sys.executable, "-m", "garden", "arrange", "--participant", participant, "--session", "1",
               "--phase", "pre", "--arrangements", "1", "--out", str(out), "--seed", str(SEED),
               "--window-size", str(SIZE), str(SIZE), *options]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_window(process, arrangement.WINDOW_TITLE)
        yield process
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs an X display (run under xvfb-run)")
@pytest.mark.skipif(shutil.which("xdotool") is None, reason="needs xdotool")
def test_dragged_trees_are_saved_where_the_mouse_left_them(tmp_path):
    with arranging("X1", tmp_path, "--allow-unmoved") as process:
        start = ad.start_layouts(SEED, 1)[0]
        leave_instructions()
        targets = {0: [0.0, 0.0], 6: [-0.3, 0.3], 12: [0.35, -0.2], 24: [-1.05, -1.05]}  # B5L5: to a window corner, outside the arena
        for tree, target in targets.items():
            drag(start[tree], target, step_s=0 if tree == 6 else 0.15)  # tree 6: within one frame
        drag(start[18], [0.0, 0.0])  # B4L4 dropped on top of B1L1 ...
        grip = drawn_point(18)
        drag(grip, np.array([0.2, 0.5]) + grip)  # ... so pressing where it is drawn picks up B4L4, not B1L1
        targets[18] = [0.2, 0.5]
        click((SIZE - 80, SIZE - 40))  # the "done" button
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "finished 1 arrangement" in out

    files = ad.arrangement_files(tmp_path, "X1", 1, "pre")
    table = ad.read_arrangements(files.trees)
    np.testing.assert_allclose(ad.positions(table, "start")[0], start, atol=1e-12)
    final = ad.positions(table)[0]
    expected = start.copy()
    for tree, target in targets.items():
        expected[tree] = ad.clamp_to_disc(np.asarray(target), 1 - HALF)
    off = {ad.LABELS[tree]: final[tree].round(3).tolist() for tree in np.flatnonzero(
        np.abs(final - expected).max(axis=1) > PIXEL)}  # a tree left at its start: its drag never reached the task
    np.testing.assert_allclose(final, expected, atol=PIXEL, err_msg=f"off target: {off}")  # within 1.5 pixels
    assert np.linalg.norm(final[24]) == pytest.approx(1 - HALF)  # held at the arena's edge
    moves = table.moves.to_numpy()
    assert moves[18] == 2 and moves[[0, 6, 12, 24]].tolist() == [1, 1, 1, 1] and moves.sum() == 6
    assert table.arrangement_moves.iloc[0] == 6
    assert table.arrangement_duration.iloc[0] > 1.0

    rdm = ad.read_rdm(files.rdm_tsv)
    np.testing.assert_allclose(rdm, ad.arrangement_rdm(final), atol=1e-12)
    np.testing.assert_allclose(rdm, ad.arrangement_rdm(expected), atol=0.01)


def key(name: str) -> None:
    xdotool("keydown", name, "sleep", "0.1", "keyup", name, "sleep", "0.4")


@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs an X display (run under xvfb-run)")
@pytest.mark.skipif(shutil.which("xdotool") is None, reason="needs xdotool")
def test_done_needs_every_tree_moved_and_escape_asks_first(tmp_path):
    with arranging("X2", tmp_path) as process:
        start = ad.start_layouts(SEED, 1)[0]
        leave_instructions()
        drag(start[0], [0.0, 0.0])
        click((SIZE - 80, SIZE - 40))  # "done" with 24 trees not moved: refused
        key("Escape")
        key("f")  # not an answer: the question stays
        key("n")  # declined: back to arranging
        time.sleep(0.5)
        assert process.poll() is None, "the task ended although it should go on"
        key("Escape")
        key("y")
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "aborted after 0 arrangement(s)" in out
    assert not ad.arrangement_files(tmp_path, "X2", 1, "pre").existing()
