"""``garden`` run inside the test process (``garden.cli.main``), its result shaped like ``subprocess.run``'s.

For tests about what a command does, not about it being a separate process: a ``python -m garden``
subprocess costs 1-3 s of interpreter and library start-up. The end-to-end tests that need a process
(a PsychoPy window, a server that is killed, another hash seed, the start-up time) still spawn one.
"""

from __future__ import annotations

import contextlib
import io
import subprocess

from garden.cli import main


def run_garden(*args: str) -> subprocess.CompletedProcess:
    """``garden ARGS`` in this process: exit status, stdout and stderr as a subprocess would give them."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(args))
    return subprocess.CompletedProcess(["garden", *args], status, out.getvalue(), err.getvalue())
