"""Progress bars write nothing to a log: tqdm only on a terminal (garden.core.progress)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import termios


def test_a_command_writes_no_bar_to_a_log(tmp_path):
    """``garden run --simulate`` draws a bar per session on a terminal; into a pipe it writes clean lines."""
    done = subprocess.run([sys.executable, "-m", "garden", "run", "--participant", "P1", "--session", "1",
                           "--protocol", "flesch2018", "--simulate", "factorized", "--out", str(tmp_path / "p")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    log = done.stdout + done.stderr
    assert "\r" not in log and "\x1b[" not in log and "it/s" not in log
    assert "sub-P1 ses-1" not in done.stderr


def test_the_bar_is_drawn_on_a_terminal():
    """The same helper on a pseudo-terminal still draws (to stderr, with its description)."""
    leader, follower = pty.openpty()
    termios.tcsetwinsize(follower, (24, 100))  # a new pseudo-terminal is 0 columns wide: tqdm would draw nothing
    code = ("from garden.core.progress import progress_bar\n"
            "for _ in progress_bar(range(3), desc='counting'): pass\n")
    done = subprocess.run([sys.executable, "-c", code], stderr=follower, stdout=subprocess.DEVNULL, timeout=60)
    os.close(follower)
    drawn = ""
    while True:  # until the child's end of the terminal is closed (EIO on Linux)
        try:
            chunk = os.read(leader, 10_000)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk.decode()
    os.close(leader)
    assert done.returncode == 0
    assert "counting" in drawn and "3/3" in drawn
