"""garden.core.jobs: the same calls inline and as local submitit jobs (at most N at once), failures raise."""

from __future__ import annotations

import pytest
import submitit

from garden.core.errors import UserError
from garden.core.files import write_file
from garden.core.jobs import run_jobs


def test_local_jobs_do_what_inline_calls_do(tmp_path):
    calls = [(tmp_path / name / f"{k}.txt", f"job {k}\n") for name in ("inline", "local") for k in range(3)]
    run_jobs(write_file, calls[:3], executor="inline")
    run_jobs(write_file, calls[3:], executor="local", folder=tmp_path / "logs", jobs=2)
    for k in range(3):
        assert (tmp_path / "local" / f"{k}.txt").read_bytes() == (tmp_path / "inline" / f"{k}.txt").read_bytes()
    assert list((tmp_path / "logs").glob("*_log.out"))  # submitit ran them as separate jobs


def test_a_failed_job_raises_after_the_others_finish(tmp_path):
    write_file(tmp_path / "taken.txt", "old\n")
    calls = [(tmp_path / "taken.txt", "new\n"), (tmp_path / "free.txt", "new\n")]
    with pytest.raises(submitit.core.utils.FailedJobError, match="already exists"):
        run_jobs(write_file, calls, executor="local", folder=tmp_path / "logs", jobs=1)
    assert (tmp_path / "taken.txt").read_text() == "old\n" and (tmp_path / "free.txt").read_text() == "new\n"


@pytest.mark.parametrize("executor, jobs, message", [("pbs", None, "--executor 'pbs' is invalid"),
                                                      ("inline", 0, "--jobs must be at least 1")])
def test_bad_options(executor, jobs, message):
    with pytest.raises(UserError, match=message):
        run_jobs(print, [("x",)], executor=executor, jobs=jobs)
