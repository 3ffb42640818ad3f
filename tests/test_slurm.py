"""``--executor slurm`` on a real single-node SLURM cluster with accounting (scripts/slurm-cluster.sh, started
once for the module as root, packages installed from Debian when missing): the same files as inline, failed and
cancelled tasks as one line each, reruns that finish only what is missing, refusals that write nothing.

The commands run as the ``garden`` console script in subprocesses, as a user on a login node runs them; the
cluster is reached only through SLURM_CONF, set for these tests alone (no other test can submit a job)."""

from __future__ import annotations

import gzip
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from neural_helpers import mask_path, simulated_bold

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("slurm")]  # one worker, one cluster (-n --dist loadgroup)
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "slurm-cluster.sh"
GARDEN = Path(sys.executable).with_name("garden")
VOLATILE = ("created_utc", "command")
"""Sidecar fields that differ between an inline and a SLURM run of the same work (clock, command line)."""
RECORD = "code/slurm-jobs.json"
"""What a SLURM run adds to a neural derivatives folder: its resources and each task's state."""
TRAIN = ("train", "--scales", "0.5,2", "--ctx-scales", "1,1", "--seeds", "2", "--steps", "30", "--hidden", "10",
         "--shards", "2", "--threads", "1")
LIGHT = ("--method", "crossnobis", "--radius", "1.5", "--models", "grid,orthogonal")


@pytest.fixture(scope="module", autouse=True)
def booting_cluster():
    """A cluster for this module, started first (scripts/slurm-cluster.sh up, as root, packages installed from
    Debian when missing) and booting in the background (its daemons take 10-15 s) while the first test builds its
    data; ``slurm_conf`` waits for it. None where none can start here (``slurm_conf`` skips with the reason)."""
    if os.geteuid() != 0:
        yield None, "the test cluster's daemons run as root (scripts/slurm-cluster.sh); not root here"
        return
    if shutil.which("slurmctld") is None and shutil.which("apt-get") is None:
        yield None, "no SLURM packages and no apt-get to install them"
        return
    state = Path(tempfile.mkdtemp(prefix="garden-slurm-"))
    up = subprocess.Popen(["bash", str(SCRIPT), "up", str(state)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    try:
        yield (state, up), None
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
        subprocess.run(["bash", str(SCRIPT), "down", str(state)], capture_output=True, timeout=120)
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="module")
def slurm_conf(booting_cluster):
    """SLURM_CONF of the module's cluster, once it is up (skips, with the reason, where none can start)."""
    cluster, reason = booting_cluster
    if cluster is None:
        pytest.skip(reason)
    state, up = cluster
    start = time.monotonic()
    _, err = up.communicate(timeout=900)
    if up.returncode != 0:
        pytest.skip(f"no SLURM cluster could start: {(err.strip().splitlines() or ['?'])[-1]}")
    print(f"\nSLURM test cluster up, {time.monotonic() - start:.1f} s waited for ({state})")
    return state / "etc" / "slurm.conf"


@pytest.fixture
def slurm(slurm_conf, monkeypatch):
    """This test's environment points at the session's cluster."""
    monkeypatch.setenv("SLURM_CONF", str(slurm_conf))
    return slurm_conf


def garden(*args: str, wait: bool = True):
    """Run the ``garden`` console script (completed, or the running process when not ``wait``)."""
    command = [str(GARDEN), *map(str, args)]
    if not wait:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def _finished(running: subprocess.Popen) -> bool:
    """Whether a ``garden(..., wait=False)`` run ended well. The tests start their inline run so, beside the SLURM
    run it is compared with: the SLURM run mostly waits (job start-up, polls), the inline one computes meanwhile."""
    _, err = running.communicate(timeout=600)
    assert running.returncode == 0, err
    return True


def query(*args: str) -> str:
    """The output of a SLURM client command."""
    return subprocess.run(list(args), capture_output=True, text=True, check=True, timeout=30).stdout


def _files(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, bytes | dict]:
    """Every file of a folder: bytes, or for JSON the parsed record without its volatile fields."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = str(path.relative_to(folder))
        if name in skip:
            continue
        data = path.read_bytes()
        out[name] = {k: v for k, v in json.loads(data).items() if k not in VOLATILE} if path.suffix == ".json" else data
    return out


def _two(files: dict) -> dict:
    """The files of participants 01 and 02 (and the dataset's own)."""
    return {k: v for k, v in files.items() if not k.startswith(("sub-03", "sub-04"))}


def _one(files: dict) -> dict:
    """The files of participant 01 (and the dataset's own)."""
    return {k: v for k, v in files.items() if not k.startswith(("sub-02", "sub-03", "sub-04"))}


def _error_lines(done) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.strip()]


def _running_task(task: int, timeout_s: float = 120) -> str:
    """The id of the array whose task ``task`` is running now."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        for line in query("squeue", "--noheader", "--array", "--states=RUNNING", "--format=%i").split():
            array, _, index = line.partition("_")
            if index == str(task):
                return array
        time.sleep(0.1)
    raise AssertionError(f"no array task {task} ran within {timeout_s} s")


def _queue() -> list[str]:
    """The jobs SLURM lists now ("id state"), completing ones (CG: their node still runs the epilog) included."""
    return query("squeue", "--noheader", "--format=%i %t").splitlines()


@pytest.fixture(scope="module")
def bold(tmp_path_factory):
    return simulated_bold(tmp_path_factory.mktemp("slurm"), [0.0, 0.1, 0.2, 0.3])  # 4 participants


@pytest.fixture(scope="module")
def inline_glm_started(bold, tmp_path_factory) -> tuple[Path, subprocess.Popen]:
    """The inline GLM of the 4 participants, started: its folder and its running process."""
    out = tmp_path_factory.mktemp("inline") / "glm"
    return out, garden("neural", "glm", bold, "--mask", mask_path(bold), "--noise-model", "ols", "--out", out,
                       wait=False)


@pytest.fixture(scope="module")
def inline_glm(inline_glm_started) -> Path:
    """The inline GLM's folder, once it is written."""
    out, running = inline_glm_started
    assert _finished(running)
    return out


def test_glm_through_slurm_writes_the_inline_files(bold, inline_glm_started, slurm, tmp_path, request):
    """Two participants as a 2-task array: the inline files. The fixtures in this order: the data are simulated, then
    the inline GLM computes while the cluster boots and the SLURM run goes on."""
    out = tmp_path / "glm"
    done = garden("neural", "glm", bold, "--mask", mask_path(bold), "--noise-model", "ols", "--out", out,
                  "--participants", "01,02", "--executor", "slurm", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    inline_glm = request.getfixturevalue("inline_glm")
    files = _files(out, skip=(RECORD,))
    assert len([f for f in files if f.endswith(".nii.gz")]) == 2 * 6 * 2  # 2 participants x 6 runs x 2 images
    assert files == _two(_files(inline_glm))  # images byte for byte, sidecars field for field
    record = json.loads((out / RECORD).read_text())
    # memory: 1 GiB of Python + 4 copies of a session's 0.3 MB of BOLD, rounded up to whole GB
    assert record["resources"] == {"cpus": 1, "mem_gb": 2, "time_min": 240, "partition": None, "keep_logs": False}
    assert [t["state"] for t in record["tasks"]] == ["COMPLETED"] * 2 and record["parallel_tasks"] == 2
    assert not (tmp_path / "glm.jobs").exists() and not (tmp_path / "glm.partial").exists()
    assert _queue() == []


def test_train_through_slurm_equals_inline(slurm, tmp_path):
    inline = garden(*TRAIN, "--out", tmp_path / "inline", wait=False)
    done = garden(*TRAIN, "--out", tmp_path / "slurm", "--executor", "slurm", "--slurm-mem-gb", "2",
                  "--slurm-time-min", "10")
    assert _finished(inline) and done.returncode == 0, done.stderr
    assert (tmp_path / "slurm" / "summary.tsv").read_bytes() == (tmp_path / "inline" / "summary.tsv").read_bytes()
    with np.load(tmp_path / "inline" / "results.npz") as a, np.load(tmp_path / "slurm" / "results.npz") as b:
        assert a.files == b.files and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a.files)
    record = json.loads((tmp_path / "slurm" / "slurm-jobs.json").read_text())
    assert record["resources"] == {"cpus": 1, "mem_gb": 2, "time_min": 10, "partition": None, "keep_logs": False}
    assert len(record["tasks"]) == 2  # one job per shard
    assert not (tmp_path / "slurm.jobs").exists() and not (tmp_path / "slurm" / "submitit").exists()


def test_network_fits_through_slurm_equal_inline(slurm, tmp_path):
    """`garden networks fit --executor slurm`: the per-person network fits as SLURM jobs give the inline tables."""
    from garden.analysis.networks.recovery import simulate_people
    from garden.core.trials import write_table

    trials, _ = simulate_people("flesch2018", ["interleaved"], 1, seed=3, scales=(0.01, 3.0), ctx_scales=(0.5, 1.5))
    path = write_table(trials, tmp_path / "people.tsv")
    small = ("--scales", "0.01,3", "--ctx-scales", "0.5,1.5", "--seeds", "2", "--lrs", "0.05,0.1")
    inline = garden("networks", "fit", path, "--out", tmp_path / "inline", *small, wait=False)
    done = garden("networks", "fit", path, "--out", tmp_path / "slurm", *small, "--executor", "slurm")
    assert _finished(inline) and done.returncode == 0, done.stderr
    for name in ("people.tsv", "scales.tsv", "group_bms.tsv"):
        assert (tmp_path / "slurm" / name).read_bytes() == (tmp_path / "inline" / name).read_bytes(), name


def test_searchlight_array_with_a_cancelled_and_a_failing_task_resumes(slurm, bold, inline_glm, tmp_path):
    """The acceptance case: 4 tasks, one cancelled (scancel while it runs), one raising (a damaged GLM image):
    two one-line reports naming task, log and rerun; the rerun runs only those two; the maps equal inline byte
    for byte."""
    glm = shutil.copytree(inline_glm, tmp_path / "glm")
    damaged = next(glm.glob("sub-02/ses-2/func/*_run-1_*stat-effect_statmap.nii.gz"))
    intact = damaged.read_bytes()
    packed = gzip.compress(gzip.decompress(intact))
    # header and gzip trailer (CRC, length) intact, the compressed data cut in the middle: passes the checks made
    # before submitting (sizes, grids) and fails in the task that reads it
    damaged.write_bytes(packed[:len(packed) // 2] + packed[-8:])
    command = ("neural", "searchlight", glm, "--mask", mask_path(bold), "--out", tmp_path / "light", *LIGHT,
               "--executor", "slurm", "--jobs", "2")
    running = garden(*command, wait=False)
    array = _running_task(0)
    query("scancel", f"{array}_0")  # sub-01's task, while it runs
    _, err = running.communicate(timeout=600)
    lines = [line for line in err.splitlines() if line.strip()]
    assert running.returncode == 2 and len(lines) == 3, err
    cancelled, failed, summary = lines
    assert cancelled.startswith(f"garden: job {array}_0 (task 1 of 4) ended CANCELLED without a result; log: ")
    assert failed.startswith(f"garden: job {array}_1 (task 2 of 4) failed: garden.core.errors.UserError: ")
    assert f"{damaged}: cut short or damaged" in failed  # the damaged image, named
    for line in (cancelled, failed):
        log = Path(line.split("; log: ")[1].split("; rerun: ")[0])
        assert log.parent == tmp_path / "light.jobs" and log.is_file()
        assert line.endswith("; rerun: " + shlex.join(["garden", *map(str, command)]))
    assert "2 of 4 slurm jobs did not finish" in summary
    assert _queue() == []  # nothing left running behind the user's back
    kept = {p: p.stat().st_mtime_ns for p in (tmp_path / "light.partial").rglob("*.nii.gz")}
    assert len(kept) == 2 * 2  # sub-03 and sub-04: 2 models each

    damaged.write_bytes(intact)
    inline = garden("neural", "searchlight", glm, "--mask", mask_path(bold), "--out", tmp_path / "inline",
                    *LIGHT, wait=False)
    rerun = garden(*command)
    assert rerun.returncode == 0, rerun.stderr
    out = tmp_path / "light"
    assert {p: (out / p.relative_to(tmp_path / "light.partial")).stat().st_mtime_ns for p in kept} == kept
    record = json.loads((out / RECORD).read_text())
    assert [t["task"] for t in record["tasks"]] == [0, 1]  # only the missing two ran
    assert _finished(inline)
    files = _files(out, skip=(RECORD,))
    assert len([f for f in files if f.endswith("_statmap.nii.gz")]) == 4 * 2
    assert files == _files(tmp_path / "inline")
    assert not (tmp_path / "light.jobs").exists()


def _conf_with(conf: Path, folder: Path, **settings: str) -> Path:
    """A copy of ``conf`` with ``settings`` replaced."""
    lines = [line for line in conf.read_text().splitlines() if line.split("=")[0] not in settings]
    copy = folder / "slurm.conf"
    copy.write_text("\n".join([*lines, *(f"{k}={v}" for k, v in settings.items())]) + "\n")
    return copy


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("settings, needle", [
    ({"SlurmctldPort": "closed"}, "no SLURM controller answers"),
    ({"AccountingStorageType": "accounting_storage/none"}, "keeps no job accounting")])
def test_an_unusable_cluster_is_one_line_and_writes_nothing(slurm, tmp_path, monkeypatch, settings, needle):
    settings = {k: str(_closed_port()) if v == "closed" else v for k, v in settings.items()}
    monkeypatch.setenv("SLURM_CONF", str(_conf_with(slurm, tmp_path, **settings)))
    done = garden(*TRAIN, "--out", tmp_path / "out", "--executor", "slurm")
    assert done.returncode == 2 and len(_error_lines(done)) == 1 and needle in done.stderr, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slurm.conf"]  # no OUT, no OUT.jobs


def test_a_node_set_down_mid_job_is_reported_and_the_rerun_finishes(slurm, bold, inline_glm, tmp_path):
    node = query("sinfo", "--noheader", "--format=%n").split()[0]
    command = ("neural", "glm", bold, "--mask", mask_path(bold), "--noise-model", "ols", "--out", tmp_path / "glm",
               "--participants", "01", "--executor", "slurm")
    running = garden(*command, wait=False)
    end = time.monotonic() + 120
    while "R" not in query("squeue", "--noheader", "--format=%t").split() and time.monotonic() < end:
        time.sleep(0.2)
    query("scontrol", "update", f"nodename={node}", "state=down", "reason=garden-test")
    _, err = running.communicate(timeout=600)
    subprocess.run(["scontrol", "update", f"nodename={node}", "state=resume"], capture_output=True, timeout=30)
    end = time.monotonic() + 60
    while query("sinfo", "--noheader", "--format=%t").strip() != "idle" and time.monotonic() < end:
        time.sleep(0.5)
    lines = [line for line in err.splitlines() if line.strip()]
    assert running.returncode == 2, err
    assert len(lines) == 2 and "(task 1 of 1) ended NODE_FAIL without a result; log: " in lines[0], err
    assert _queue() == []  # not requeued behind the user's back
    rerun = garden(*command)
    assert rerun.returncode == 0, rerun.stderr
    assert _files(tmp_path / "glm", skip=(RECORD,)) == _one(_files(inline_glm))
