"""Running independent jobs here or through submitit: the one route network sweeps and the
per-participant neural steps share.

``run_jobs(function, calls, executor=...)`` calls ``function(*args)`` for every ``args`` of
``calls``: ``"inline"`` in this process, in turn; ``"local"`` as submitit jobs on this machine
(``submitit.LocalExecutor``: one subprocess per job, at most ``jobs`` at once); ``"slurm"`` as a
SLURM job array (``submitit.AutoExecutor``, at most ``jobs`` array tasks running at once). Each job
must write its own outputs and mark them complete last, so that results never depend on the order
jobs finish in and a rerun skips what is done. The return values are discarded; a failed job
raises here (submitit's ``FailedJobError`` carries the job's traceback and log folder).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from garden.core.errors import UserError

EXECUTORS = ("inline", "local", "slurm")
POLL_S = 0.2
"""How often (seconds) a local run checks whether a job finished and the next may start."""


def check_executor(executor: str) -> None:
    """UserError for an unknown executor, or for SLURM where there is none (no ``sbatch``)."""
    if executor not in EXECUTORS:
        raise UserError(f"--executor {executor!r} is invalid: use one of {list(EXECUTORS)}")
    if executor == "slurm" and shutil.which("sbatch") is None:
        raise UserError("--executor slurm: no SLURM here (sbatch not found); use --executor inline or local, "
                        "or run on the cluster's login node")


def make_executor(executor: str, folder: Path, slurm: dict[str, Any] | None = None):
    """A submitit executor ("local" or "slurm") logging into ``folder``; ``slurm`` holds
    ``update_parameters`` options (``timeout_min``, ``slurm_partition``, ``cpus_per_task``...)."""
    import submitit  # deferred: start-up

    options = {"timeout_min": 240, **(slurm or {})}
    if executor == "local":
        ex = submitit.LocalExecutor(folder=folder)
        ex.update_parameters(timeout_min=options["timeout_min"])
        return ex
    ex = submitit.AutoExecutor(folder=folder, cluster="slurm")
    ex.update_parameters(**{"cpus_per_task": 2, **options})
    return ex


def run_jobs(function: Callable[..., Any], calls: Sequence[tuple], *, executor: str = "inline",
             folder: str | Path | None = None, jobs: int | None = None,
             slurm: dict[str, Any] | None = None) -> None:
    """Call ``function(*args)`` for every ``args`` in ``calls`` (module docstring); ``folder``
    holds submitit's logs (needed unless inline); ``jobs`` caps how many run at once (None: all)."""
    check_executor(executor)
    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {jobs}")
    if executor == "inline":
        for args in calls:
            function(*args)
        return
    if not calls:
        return
    if folder is None:
        raise ValueError("run_jobs: a submitit executor needs a log folder")
    ex = make_executor(executor, Path(folder), slurm)
    if executor == "slurm":
        if jobs is not None:
            ex.update_parameters(slurm_array_parallelism=jobs)
        for job in ex.map_array(function, *zip(*calls)):
            job.result()  # raises if the job failed
        return
    _local_window(ex, function, list(calls), jobs or len(calls))


def _local_window(ex, function: Callable[..., Any], calls: list[tuple], jobs: int) -> None:
    """Run ``calls`` as local jobs, at most ``jobs`` at once; wait for all, then raise the first failure."""
    pending, running, finished = list(calls), [], []
    while pending or running:
        while pending and len(running) < jobs:
            running.append(ex.submit(function, *pending.pop(0)))
        done = [job for job in running if job.done()]
        if not done:
            time.sleep(POLL_S)
            continue
        running = [job for job in running if job not in done]
        finished += done
    for job in finished:
        job.result()  # raises if the job failed
