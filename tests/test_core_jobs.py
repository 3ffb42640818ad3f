"""garden.core.jobs: the same calls inline and as local submitit jobs (at most N at once), failures raise."""

from __future__ import annotations

from pathlib import Path

import pytest

from garden.core.errors import UserError
from garden.core.files import write_file
from garden.core.jobs import Resources, check_executor, run_jobs


def test_local_jobs_do_what_inline_calls_do(tmp_path):
    calls = [(tmp_path / name / f"{k}.txt", f"job {k}\n") for name in ("inline", "local") for k in range(3)]
    run_jobs(write_file, calls[:3], executor="inline")
    run_jobs(write_file, calls[3:], executor="local", folder=tmp_path / "logs", jobs=2)
    for k in range(3):
        assert (tmp_path / "local" / f"{k}.txt").read_bytes() == (tmp_path / "inline" / f"{k}.txt").read_bytes()
    assert not (tmp_path / "logs").exists()  # submitit's logs of jobs that all succeeded are removed


def test_a_failed_job_is_one_line_after_the_others_finish(tmp_path, capsys):
    write_file(tmp_path / "taken.txt", "old\n")
    calls = [(tmp_path / "taken.txt", "new\n"), (tmp_path / "free.txt", "new\n")]
    with pytest.raises(UserError, match="1 of 2 local jobs did not finish"):
        run_jobs(write_file, calls, executor="local", folder=tmp_path / "logs", jobs=1)
    assert (tmp_path / "taken.txt").read_text() == "old\n" and (tmp_path / "free.txt").read_text() == "new\n"
    [line] = capsys.readouterr().err.splitlines()
    assert "(task 1 of 2) failed: FileExistsError" in line and "already exists" in line and "rerun:" in line
    log = Path(line.split("; log: ")[1].split(";")[0])
    assert log.parent == tmp_path / "logs" and "FileExistsError" in log.read_text()  # failed runs keep their logs


def test_logs_are_removed_on_success_unless_kept(tmp_path):
    calls = [(tmp_path / f"{k}.txt", "x\n") for k in range(2)]
    run_jobs(write_file, calls[:1], executor="local", folder=tmp_path / "gone")
    run_jobs(write_file, calls[1:], executor="local", folder=tmp_path / "kept", resources=Resources(keep_logs=True))
    assert not (tmp_path / "gone").exists() and list((tmp_path / "kept").glob("*_log.err"))


def test_resources_become_submitit_parameters():
    assert Resources(cpus=3, mem_gb=5, time_min=7, partition="short").submitit() == {
        "cpus_per_task": 3, "mem_gb": 5, "timeout_min": 7, "slurm_partition": "short",
        "slurm_additional_parameters": {"no_requeue": True}}
    assert "slurm_partition" not in Resources().submitit()


def test_slurm_without_sbatch_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no sbatch, whatever this machine has
    with pytest.raises(UserError, match="sbatch not found"):
        check_executor("slurm")
