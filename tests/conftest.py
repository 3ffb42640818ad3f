"""Shared test fixtures (where ../shared is: tests that need it skip when it is absent) and the
scheduling of the suite over pytest-xdist workers (``--dist loadgroup``, see ``pytest_collection_modifyitems``)."""

from __future__ import annotations

import collections
import json
import os
import subprocess
from pathlib import Path

import pytest
from cpu_log import CpuLog
from xdist_schedule import WaitingGroupScheduling, worker_count

THREAD_SETTINGS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Set to 1 in every xdist worker (where unset), so BLAS, OpenMP and torch compute on one thread there and in
the worker's subprocesses: the workers already fill the cores, and a second BLAS thread per worker only waited
for one (about 5 % more CPU seconds on the shared 2-core machine). A test that asks for threads (``--threads``,
``threadpool_limits``) still gets them."""
if os.environ.get("PYTEST_XDIST_WORKER"):  # before numpy or torch load: they read these once
    for _name in THREAD_SETTINGS:
        os.environ.setdefault(_name, "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GARDEN_SHARED", REPO.parent / "shared"))
FLESCH2018 = SHARED / "data" / "flesch2018"
REFERENCE_TREES = SHARED / "reference" / "trees"
BIDS_VALIDATOR = REPO / "tools" / "bids-validator" / "node_modules" / ".bin" / "bids-validator"


@pytest.fixture
def flesch2018() -> Path:
    """Folder of the published Flesch et al. (2018) data; skips the test when absent."""
    if not (FLESCH2018 / "exp1a_trials.csv.gz").exists():
        pytest.skip(f"published data not found at {FLESCH2018}")
    return FLESCH2018


@pytest.fixture
def reference_trees() -> Path:
    """Folder of the 25 published tree PNGs; skips the test when absent."""
    if not (REFERENCE_TREES / "B1L1_1.png").exists():
        pytest.skip(f"published trees not found at {REFERENCE_TREES}")
    return REFERENCE_TREES


@pytest.fixture
def one_torch_thread():
    """Run a torch test on one thread (deterministic kernels, no oversubscription), then restore."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def bids_errors():
    """Runs the official BIDS validator (npm bids-validator 1.15.0, installed by ``make test``) on a
    folder; returns its errors as 'CODE: files' lines (empty: valid). Skips when not installed."""
    if not BIDS_VALIDATOR.exists():
        pytest.skip(f"BIDS validator not installed at {BIDS_VALIDATOR} (make test installs it)")

    def errors(folder: Path) -> list[str]:
        out = subprocess.run([str(BIDS_VALIDATOR), str(folder), "--json"], capture_output=True, text=True,
                             timeout=120)
        report = json.loads(out.stdout)
        return [f"{e['key']}: {[f['file']['relativePath'] for f in e['files'][:3] if f.get('file')]}"
                for e in report["issues"]["errors"]]
    return errors


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # xdist's hook: unknown under -p no:xdist
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker per core, and one for the groups that mostly wait (tests/xdist_schedule.py)."""
    return worker_count()


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # xdist's hook: unknown under -p no:xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log) -> WaitingGroupScheduling | None:
    """``--dist loadgroup`` with the groups that mostly wait on a worker of their own (tests/xdist_schedule.py)."""
    return WaitingGroupScheduling(config, log) if config.getvalue("dist") == "loadgroup" else None


SCREEN_GROUPS = ("display", "browser")
"""The xdist groups of the tests that use the X display (PsychoPy windows driven by xdotool: marker
``display``) and of those that drive headless Chromium (``browser``): one worker runs a group's tests one
after another, so no two of them compete for the X display, the keyboard focus or the frame and key-press
timing they measure. The two groups may run beside each other: headless Chromium draws off-screen and takes
its key presses from playwright, not from the X display."""


GROUPED_MODULE_MAX_TESTS = 50
"""Modules with more tests than this (the fuzz cases) are spread over the workers even when they share a
module fixture: the fixture is then built once per worker, cheap next to the tests themselves."""


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (its hook has no order of its own)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put display and browser tests in their groups (``SCREEN_GROUPS``), and the tests of a module that share
    a module-scope fixture (a simulated session, a trained sweep) in one group per module, so that fixture is
    built once (on one worker) rather than once per worker; whole such modules join the display or browser
    group when one of their tests is in it, unless the module is marked ``built_once`` (its fixture is shared
    by the workers through ``built_once``): then only its screen tests join that group, and run last there,
    when the other worker has built the fixture. A module that names its own group (``xdist_group``) keeps it
    alone. Without ``-n`` the groups and the order change nothing."""
    sizes = collections.Counter(item.path for item in items)
    shared = {item.path for item in items  # a built_once module's fixture is built once per run, on any worker
              if _shares_module_fixture(item) and sizes[item.path] <= GROUPED_MODULE_MAX_TESTS
              and item.get_closest_marker("built_once") is None}
    screen_modules: dict[Path, str] = {}  # a module with display and browser tests goes with the display
    for item in items:
        if _screen_group(item) and item.path in shared:
            kinds = {screen_modules.get(item.path), _screen_group(item)}
            screen_modules[item.path] = "display" if "display" in kinds else "browser"
    groups: dict[str, str | None] = {}
    for item in items:
        module = item.path.stem if item.path in shared else None
        own = item.get_closest_marker("xdist_group")  # a module that names its group (test_slurm.py) keeps it
        groups[item.nodeid] = group = ((own.args or [own.kwargs.get("name")])[0] if own else None) or \
            screen_modules.get(item.path) or _screen_group(item) or module
        if group and own is None:
            item.add_marker(pytest.mark.xdist_group(group))
    if os.environ.get("PYTEST_XDIST_WORKER"):  # a serial run keeps each module's tests together
        slow = {groups[item.nodeid] or item.nodeid for item in items if item.get_closest_marker("slow")}
        first: dict[Path, str] = {}  # per built_once module, its first test that is not a screen test
        for item in items:
            if item.get_closest_marker("built_once") is not None and not _screen_group(item):
                first.setdefault(item.path, item.nodeid)
        builders, size = set(first.values()), collections.Counter(groups.values())
        items.sort(key=lambda item: (_start_order(item, groups[item.nodeid], slow, builders),
                                     -size[groups[item.nodeid]]))


def _start_order(item: pytest.Item, group: str | None, slow: set[str], builders: set[str]) -> int:
    """Under xdist, the order in which the work is handed out (``pytest_configure`` turns xdist's own order,
    biggest group first, off): the browser group first (it mostly waits for Chromium's real-time trials), the
    first test of each ``built_once`` module (it builds the fixture while the browser group runs; that
    module's Chromium tests go last in the browser group, and its other tests are single tests handed out
    later, to either worker), the display group, the other groups with a slow test, the other groups (each
    kind biggest first), the slow single tests, the rest; so no long test starts last and becomes the tail.
    A worker runs a group's tests one after another, so a module fixture is still built once per group."""
    if _screen_group(item) and item.get_closest_marker("built_once") is not None:
        return 9
    if group in SCREEN_GROUPS:
        return {"browser": 0, "display": 2}[group]
    if item.nodeid in builders:
        return 1
    return (3 if group else 5) + ((group or item.nodeid) not in slow)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--cpu-log", metavar="FILE", help="append each test's CPU seconds (children included) to FILE "
                     "as JSON lines; scripts/suite_cpu.py sums them per file")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "built_once: the module's expensive fixture comes from tests/built_once.py "
                            "(one build per run, shared by the xdist workers)")
    config.pluginmanager.register(GroupSuffix(), "garden-xdist-group-suffix")
    if getattr(config.option, "dist", "no") == "loadgroup":
        config.option.loadscopereorder = False  # hand the work out in the order of _start_order
    if config.getoption("--cpu-log"):
        config.pluginmanager.register(CpuLog(Path(config.getoption("--cpu-log")).resolve()), "garden-cpu-log")


class GroupSuffix:
    """Work-around for pytest-xdist 3.8 on pytest >= 9.2 (pytest-dev/pytest-xdist#1386): xdist tells the
    controller a test's group by appending ``@group`` to ``item._nodeid``, which pytest 9.2 no longer reads
    (node ids are structured), so ``--dist loadgroup`` silently ignored every group. After xdist's own hook,
    append the suffix where it is missing; a no-op where xdist managed (older pytest) and without xdist."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if not getattr(config.option, "loadgroup", False):
            return
        from _pytest.nodeid import NodeId  # pytest >= 9.2 only, where the work-around is needed

        for item in items:
            names = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                            for mark in item.iter_markers("xdist_group")})
            suffix = "@" + "_".join(names)
            if names and not item.nodeid.endswith(suffix):
                item._id = NodeId.parse(item.nodeid + suffix)


X_DISPLAY = os.environ.get("DISPLAY")
"""The X display the run was started with (``xvfb-run``). Only display tests see it (``pytest_runtest_setup``)."""


@pytest.hookimpl(tryfirst=True)  # before the item's fixtures, module-scope ones included, are set up
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Show the X display to display tests only: the workers share it, and a window opened there by any other
    test (or by its subprocess) could take the clicks and key presses a display test sends. A test outside the
    display group that needs a display then fails with the product's "no X display" line, and must be marked
    ``display``. (Skip conditions and module-level checks read ``DISPLAY`` at import, before this.)"""
    if _screen_group(item) == "display" and X_DISPLAY is not None:
        os.environ["DISPLAY"] = X_DISPLAY
    else:
        os.environ.pop("DISPLAY", None)


def _screen_group(item: pytest.Item) -> str | None:
    """``display`` or ``browser`` (``SCREEN_GROUPS``) for a test with that marker (a test with both needs the
    display), else None."""
    return next((name for name in SCREEN_GROUPS if item.get_closest_marker(name) is not None), None)


def _shares_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    return info is not None and any(
        definition.scope in ("module", "class", "package") for definitions in info.name2fixturedefs.values()
        for definition in definitions)


SMALL_PROTOCOL = """
name = "small"
rule_code = "participant"
curriculum = "interleaved"
[curricula.interleaved]
order = "interleaved"
[[phases]]
name = "training"
trials = 100
exemplars_per_cell = 2
[[phases]]
name = "test"
trials = 50
feedback = false
"""
"""A 150-trial protocol (100 training, 50 test trials): fast to simulate with fsync on every trial."""


@pytest.fixture
def small_protocol(tmp_path) -> str:
    """``SMALL_PROTOCOL`` as a file in ``tmp_path``: its path."""
    path = tmp_path / "small.toml"
    path.write_text(SMALL_PROTOCOL)
    return str(path)
