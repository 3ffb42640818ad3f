"""Running independent jobs here or through submitit: the one route network sweeps and the
per-participant neural steps share.

``run_jobs(function, calls, executor=...)`` calls ``function(*args)`` for every ``args`` of
``calls``: ``"inline"`` in this process, in turn; ``"local"`` as submitit jobs on this machine
(``submitit.LocalExecutor``: one subprocess per job, at most ``jobs`` at once); ``"slurm"`` as a
SLURM job array (``submitit.AutoExecutor``, at most ``jobs`` array tasks running at once). Each job
must write its own outputs and mark them complete last, so that results never depend on the order
jobs finish in and a rerun skips what is done. The return values are discarded.

Failures: every job is awaited (a failed one never leaves the others running behind the user's
back; an interrupted wait cancels the SLURM array; a SLURM run returns once the queue lists none of
its tasks, at most ``DRAIN_S`` later); then each failed or cancelled job is reported
on one line (the task, why, its log file, the rerun command) and a ``UserError`` sums them up.
submitit's logs go to one folder (``OUT.jobs`` beside the output ``OUT``), removed when every job
succeeded unless ``keep_logs``.

SLURM needs a controller that answers and job accounting (``sacct``: submitit follows jobs
through it; without it a job that ended without a result would be waited on for ever):
``check_executor`` refuses otherwise, before any output is written.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from garden.core.errors import UserError
from garden.core.provenance import write_json

EXECUTORS = ("inline", "local", "slurm")
POLL_S = 0.2
"""How often (seconds) a local run checks whether a job finished and the next may start."""
SLURM_POLL_S = 1.0
"""How often (seconds) the SLURM array's states are read (one ``sacct`` call for all its tasks)."""
PROBE_S = 10
"""How long (seconds) ``scontrol ping`` and ``sacct`` may take to answer before SLURM is refused."""
RESULT_WAIT_S = 15
"""How long (seconds) a job that SLURM says COMPLETED may take to show its result file (shared disks lag)."""
DRAIN_S = 60
"""How long (seconds) tasks whose outcome is known may stay in SLURM's queue (a task that wrote its result is
still exiting; an ended one runs its node's epilog) before garden returns all the same."""
GONE_POLLS = 5
"""Polls a task may be missing from both the queue and the accounting before it counts as gone."""
ENDED = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL",
         "DEADLINE")
"""SLURM job states after which a job runs no more (REQUEUED and PENDING come back)."""

_ANSWERED: set[str] = set()
"""SLURM_CONF values ("" for the default) whose cluster passed ``check_slurm`` in this process."""


@dataclass(frozen=True)
class Resources:
    """What each SLURM job asks for: ``cpus`` per task, memory in GB, a time limit in minutes, and
    optionally a partition; ``keep_logs`` keeps submitit's logs of jobs that all succeeded."""

    cpus: int = 1
    mem_gb: int = 1
    time_min: int = 240
    partition: str | None = None
    keep_logs: bool = False

    def submitit(self) -> dict[str, Any]:
        """The submitit ``update_parameters`` of these resources; ``--no-requeue``: a task whose node
        failed is reported (its rerun resumes) rather than requeued behind the user's back."""
        options = {"cpus_per_task": self.cpus, "mem_gb": self.mem_gb, "timeout_min": self.time_min,
                   "slurm_additional_parameters": {"no_requeue": True}}
        return {**options, "slurm_partition": self.partition} if self.partition else options


def check_executor(executor: str) -> None:
    """UserError for an unknown executor, or for SLURM where it cannot run jobs (``check_slurm``)."""
    if executor not in EXECUTORS:
        raise UserError(f"--executor {executor!r} is invalid: use one of {list(EXECUTORS)}")
    if executor == "slurm":
        check_slurm()


def check_slurm() -> None:
    """UserError unless ``sbatch`` is here, a controller answers ``scontrol ping`` and ``sacct``
    reads job accounting, each within ``PROBE_S`` seconds (asked once per process and SLURM_CONF)."""
    cluster = os.environ.get("SLURM_CONF", "")
    if cluster in _ANSWERED:
        return
    if shutil.which("sbatch") is None:
        raise UserError("--executor slurm: no SLURM here (sbatch not found); use --executor inline or local, "
                        "or run on the cluster's login node")
    ok, answer = _probe(["scontrol", "ping"])
    if not ok or " is UP" not in answer:
        raise UserError(f"--executor slurm: no SLURM controller answers (`scontrol ping`: {answer or 'no answer'}); "
                        "check SLURM_CONF and the cluster, or use --executor local")
    ok, answer = _probe(["sacct", "--noheader", "--allocations", "--format=JobID", "--starttime=now"])
    if not ok:
        raise UserError(f"--executor slurm: this cluster keeps no job accounting (`sacct`: {answer or 'no answer'}); "
                        "garden follows jobs through sacct: ask for slurmdbd accounting, or use --executor local")
    _ANSWERED.add(cluster)


def _probe(command: list[str]) -> tuple[bool, str]:
    """(whether ``command`` exited 0 within ``PROBE_S``, its output on one line)."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_S, check=False)
    except subprocess.TimeoutExpired:
        return False, f"no answer in {PROBE_S} s"
    except OSError as exc:
        return False, str(exc)
    text = " ".join((done.stdout + " " + done.stderr).split())
    return done.returncode == 0, text[:300]


def rerun_command() -> str:
    """The command line to run again to finish what failed (``garden ...`` when run as ``garden``)."""
    if Path(sys.argv[0]).name == "garden":
        return shlex.join(["garden", *sys.argv[1:]])
    return "the same command"


def run_jobs(function: Callable[..., Any], calls: Sequence[tuple], *, executor: str = "inline",
             folder: str | Path | None = None, jobs: int | None = None,
             resources: Resources | None = None, record: str | Path | None = None) -> None:
    """Call ``function(*args)`` for every ``args`` in ``calls`` (module docstring); ``folder``
    holds submitit's logs (needed unless inline); ``jobs`` caps how many run at once (None: all);
    ``resources`` are what each job asks of SLURM (and its time limit locally); ``record`` is a
    JSON file written for a SLURM run: the resources, the array's job id and each task's state."""
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
    folder, resources = Path(folder), resources or Resources()
    if executor == "slurm":
        done = _slurm_array(function, list(calls), folder, jobs, resources)
        if record is not None:
            write_json(record, {"executor": "slurm", "resources": asdict(resources), "parallel_tasks": jobs,
                                "tasks": done}, overwrite=True)
    else:
        done = _local_window(function, list(calls), folder, jobs or len(calls), resources)
    failed = [task for task in done if task["failure"]]
    for task in failed:
        log = task["log"] if Path(task["log"]).is_file() else "none (it never started)"
        print(f"garden: {task['failure']}; log: {log}; rerun: {rerun_command()}", file=sys.stderr)
    if failed:
        raise UserError(f"{len(failed)} of {len(calls)} {executor} jobs did not finish (one line each above; logs in "
                        f"{folder}); the finished ones are kept: run the same command again to do the rest")
    if not resources.keep_logs:
        shutil.rmtree(folder, ignore_errors=True)


def _local_window(function: Callable[..., Any], calls: list[tuple], folder: Path, jobs: int,
                  resources: Resources) -> list[dict[str, Any]]:
    """Run ``calls`` as local jobs, at most ``jobs`` at once; wait for all; each task's outcome."""
    import submitit  # deferred: start-up

    ex = submitit.LocalExecutor(folder=folder)
    ex.update_parameters(timeout_min=resources.time_min)
    pending, running, finished = list(enumerate(calls)), [], []
    while pending or running:
        while pending and len(running) < jobs:
            k, args = pending.pop(0)
            running.append((k, ex.submit(function, *args)))
        done = [(k, job) for k, job in running if job.done()]
        if not done:
            time.sleep(POLL_S)
            continue
        running = [item for item in running if item not in done]
        finished += done
    return [_outcome(job, k, len(calls), job.state) for k, job in sorted(finished, key=lambda item: item[0])]


def _slurm_array(function: Callable[..., Any], calls: list[tuple], folder: Path, jobs: int | None,
                 resources: Resources) -> list[dict[str, Any]]:
    """Submit ``calls`` as one SLURM array and await every task; each task's outcome. An
    interrupted wait (Ctrl-C, an error here) cancels the array before passing the interruption on."""
    import submitit  # deferred: start-up

    ex = submitit.AutoExecutor(folder=folder, cluster="slurm")
    ex.update_parameters(**resources.submitit())
    if jobs is not None:
        ex.update_parameters(slurm_array_parallelism=jobs)
    try:
        array = ex.map_array(function, *zip(*calls))
    except (submitit.core.utils.FailedJobError, submitit.core.utils.FailedSubmissionError,
            subprocess.CalledProcessError) as exc:
        raise UserError(f"--executor slurm: sbatch refused the jobs ({' '.join(str(exc).split())[:300]}); "
                        f"nothing ran (submitit files in {folder})") from None
    try:
        states = _await_array(array)
        _drain(array[0].job_id.split("_")[0])
    except BaseException:
        subprocess.run(["scancel", array[0].job_id.split("_")[0]], check=False, timeout=PROBE_S)
        raise
    return [_outcome(job, k, len(calls), states[job.job_id]) for k, job in enumerate(array)]


def _await_array(array: list) -> dict[str, str]:
    """Each task's final SLURM state (job id -> state), polling ``sacct`` and ``squeue`` every ``SLURM_POLL_S``.
    A task neither queued nor ended in ``sacct`` for ``GONE_POLLS`` polls is ``LEFT_QUEUE``: SLURM keeps no
    accounting record of an array task cancelled before it started."""
    watcher, states, absent = array[0].watcher, {}, dict.fromkeys((job.job_id for job in array), 0)
    while len(states) < len(array):
        time.sleep(SLURM_POLL_S)
        watcher.update()
        queued = _queued(array[0].job_id.split("_")[0])
        for job in array:
            if job.job_id in states:
                continue
            state = watcher.get_state(job.job_id, mode="cache").split()[0].upper()
            absent[job.job_id] = absent[job.job_id] + 1 if queued is not None and job.job_id not in queued else 0
            if state in ENDED or job.paths.result_pickle.exists():
                states[job.job_id] = state
            elif absent[job.job_id] >= GONE_POLLS:
                states[job.job_id] = "LEFT_QUEUE"
    return states


def _drain(array_id: str) -> None:
    """Return once SLURM lists none of the array's tasks (or squeue does not answer), at most ``DRAIN_S``
    seconds later: the command ends with nothing of its own left in the queue (``squeue`` asked every
    ``SLURM_POLL_S``, as while waiting: a shared controller is not polled harder)."""
    end = time.monotonic() + DRAIN_S
    while _queued(array_id) and time.monotonic() < end:
        time.sleep(SLURM_POLL_S)


def _queued(array_id: str) -> set[str] | None:
    """The array's tasks SLURM still queues or runs (None when ``squeue`` does not answer)."""
    ok, answer = _probe(["squeue", "--noheader", "--array", f"--jobs={array_id}", "--format=%i"])
    if not ok:
        return set() if "Invalid job id" in answer else None  # the whole array has left the queue
    return set(answer.split())


def _outcome(job, k: int, n: int, state: str) -> dict[str, Any]:
    """Task ``k`` of ``n``: its job id, final state, log file and a one-line failure (None if it succeeded)."""
    import submitit  # deferred: start-up

    start = time.monotonic()
    while state == "COMPLETED" and not job.paths.result_pickle.exists() and time.monotonic() - start < RESULT_WAIT_S:
        time.sleep(POLL_S)
    name = f"job {job.job_id} (task {k + 1} of {n})"
    failure = None
    if not job.paths.result_pickle.exists():
        failure = f"{name} {'left the queue' if state == 'LEFT_QUEUE' else f'ended {state}'} without a result"
    else:
        outcome, trace = submitit.core.utils.pickle_load(job.paths.result_pickle)
        state = "COMPLETED" if outcome == "success" else "FAILED"  # the job's own word (sacct may lag)
        if outcome != "success":
            failure = f"{name} failed: {_exception_text(str(trace))}"
    return {"task": k, "job_id": str(job.job_id), "state": state, "log": str(job.paths.stderr), "failure": failure}


def _exception_text(trace: str) -> str:
    """The last exception of a Python traceback, its type and message on one line."""
    lines = trace.rstrip().splitlines()
    start = max((i for i, line in enumerate(lines) if line.startswith("Traceback")), default=-1) + 1
    first = next((i for i in range(start, len(lines)) if lines[i].strip() and not lines[i].startswith(" ")), len(lines))
    return " ".join(line.strip() for line in lines[first:] if line.strip()) or "no traceback"
