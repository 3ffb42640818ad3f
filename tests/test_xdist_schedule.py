"""The suite's xdist scheduler (tests/xdist_schedule.py) hands out a made-up collection to stand-in workers (as
pytest-xdist's own scheduler tests do): the browser and the SLURM groups go whole, in that order, to a worker of
their own, the display group to another, and each stops after them; the others never get their tests; every test
is handed out exactly once; spare workers stop at once."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from xdist_schedule import WAITING_WORKERS, WaitingGroupScheduling, worker_count

BROWSER = [f"tests/test_web.py::test_{k}@browser" for k in range(3)]
SLURM = [f"tests/test_slurm.py::test_{k}@slurm" for k in range(2)]
DISPLAY = [f"tests/test_present.py::test_{k}@display" for k in range(4)]
GROUPED = [f"tests/test_fit.py::test_{k}@test_fit" for k in range(5)]
SINGLE = [f"tests/test_files.py::test_{k}" for k in range(6)]


class Worker:
    """What the scheduler uses of xdist's ``WorkerController``: the tests it is sent, and whether it was told
    to stop."""

    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.sent: list[int] = []
        self.done: set[int] = set()
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        assert not self.shutting_down, f"{self.gateway.id} was sent tests after it was told to stop"
        self.sent.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True


def start(collection: list[str], workers: int) -> tuple[WaitingGroupScheduling, list[Worker]]:
    """A scheduler for ``workers`` workers that all collected ``collection``, after its first hand-out."""
    config = SimpleNamespace(getvalue=lambda name: [f"{workers}*popen"] if name == "tx" else None,
                             option=SimpleNamespace(loadscopereorder=False))
    scheduler = WaitingGroupScheduling(config)
    nodes = [Worker(f"gw{k}") for k in range(workers)]
    for node in nodes:
        scheduler.add_node(node)
    for node in nodes:
        scheduler.add_node_collection(node, collection)
    scheduler.schedule()
    return scheduler, nodes


def run(scheduler: WaitingGroupScheduling, nodes: list[Worker], crash: Worker | None = None) -> dict[str, list[str]]:
    """Each worker runs what it was sent, one test at a time in turn, as xdist reports them (``crash`` dies after its
    first test, and is removed as xdist removes a crashed worker); the test ids each worker ran."""
    collection = scheduler.collection
    alive = list(nodes)
    while any(set(node.sent) - node.done for node in alive):
        for node in list(alive):
            pending = [index for index in node.sent if index not in node.done]
            if not pending:
                continue
            if node is crash and node.done:
                alive.remove(node)
                scheduler.remove_node(node)
                continue
            node.done.add(pending[0])
            scheduler.mark_test_complete(node, pending[0])
    assert scheduler.tests_finished
    return {node.gateway.id: [collection[index] for index in sorted(node.done)] for node in nodes}


def test_the_waiting_groups_run_in_order_alone_on_workers_that_then_stop():
    scheduler, nodes = start([*SINGLE[:2], *SLURM, *BROWSER, *SINGLE[2:3], *DISPLAY, *GROUPED, *SINGLE[3:]], workers=4)
    assert [node.shutting_down for node in nodes] == [True, True, False, False]
    ran = run(scheduler, nodes)
    assert [scheduler.collection[index] for index in nodes[0].sent] == BROWSER + SLURM
    assert [scheduler.collection[index] for index in nodes[1].sent] == DISPLAY
    rest = ran["gw2"] + ran["gw3"]
    assert sorted(rest) == sorted(GROUPED + SINGLE) and len(set(rest)) == len(rest)
    assert set(GROUPED) <= set(ran["gw2"]) or set(GROUPED) <= set(ran["gw3"])  # a group stays on one worker
    assert all(node.shutting_down for node in nodes)


def test_with_fewer_workers_the_first_sets_of_groups_get_one_and_a_worker_is_left_for_the_rest():
    scheduler, nodes = start([*BROWSER, *DISPLAY, *SINGLE], workers=2)
    ran = run(scheduler, nodes)
    assert ran["gw0"] == BROWSER and sorted(ran["gw1"]) == sorted(DISPLAY + SINGLE)
    scheduler, nodes = start([*BROWSER, *DISPLAY, *GROUPED, *SINGLE], workers=3)
    ran = run(scheduler, nodes)
    assert ran["gw0"] == BROWSER and ran["gw1"] == DISPLAY and sorted(ran["gw2"]) == sorted(GROUPED + SINGLE)
    scheduler, nodes = start([*BROWSER, *SLURM, *SINGLE], workers=1)
    assert sorted(run(scheduler, nodes)["gw0"]) == sorted(BROWSER + SLURM + SINGLE)


def test_without_the_browser_and_slurm_groups_the_display_group_takes_the_first_worker():
    scheduler, nodes = start([*DISPLAY, *GROUPED, *SINGLE], workers=4)
    ran = run(scheduler, nodes)
    assert ran["gw0"] == DISPLAY and sorted(ran["gw1"] + ran["gw2"]) == sorted(GROUPED + SINGLE)
    assert ran["gw3"] == [] and nodes[3].sent == []  # two computing workers, as on two cores


@pytest.mark.parametrize(("collection", "busy"), [(SINGLE, 2), (BROWSER, 1), (SLURM + SINGLE[:1], 2),
                                                  (DISPLAY, 1), (BROWSER + DISPLAY + SINGLE, 4), ([], 0)])
def test_spare_workers_stop_at_once_so_computing_workers_never_outnumber_the_cores(collection, busy):
    scheduler, nodes = start(collection, workers=4)
    assert sum(not node.shutting_down or bool(node.sent) for node in nodes) == busy
    ran = run(scheduler, nodes)
    assert sorted(sum(ran.values(), [])) == sorted(collection)
    waiting = BROWSER + SLURM + DISPLAY
    assert len([name for name, tests in ran.items() if set(tests) - set(waiting)]) <= 2


@pytest.mark.parametrize("crashed", [0, 1])
def test_a_crashed_waiting_worker_gives_its_groups_back_to_the_computing_ones(crashed):
    scheduler, nodes = start([*BROWSER, *SLURM, *DISPLAY, *SINGLE], workers=4)
    ran = run(scheduler, nodes, crash=nodes[crashed])
    given_back = BROWSER[1:] + SLURM if crashed == 0 else DISPLAY[1:]
    assert ran[f"gw{crashed}"] == (BROWSER if crashed == 0 else DISPLAY)[:1]
    assert ran[f"gw{1 - crashed}"] == (DISPLAY if crashed == 0 else BROWSER + SLURM)  # the other keeps its own
    assert sorted(ran["gw2"] + ran["gw3"]) == sorted(given_back + SINGLE)


def test_auto_is_a_worker_per_core_and_one_per_set_of_waiting_groups(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    assert worker_count() == 4
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "2")
    assert worker_count() == 2


@pytest.mark.parametrize(("file", "group"), [("test_slurm.py", "slurm"), ("test_web_browser.py", "browser"),
                                           ("test_experiment_present.py", "display")])
def test_the_suite_puts_the_waiting_tests_in_the_groups_the_scheduler_names(request, file, group):
    """The SLURM module keeps the group it names (conftest adds no module group beside it, which xdist would join
    into ``slurm_test_slurm``), the browser tests are in ``browser`` and the window tests in ``display``: groups of
    ``WAITING_WORKERS``."""
    items = [item for item in request.session.items if item.path.name == file]
    if not items:
        pytest.skip(f"{file} is not in this run")
    assert any(group in groups for groups in WAITING_WORKERS)
    assert {tuple(mark.args for mark in item.iter_markers("xdist_group")) for item in items} == {((group,),)}
