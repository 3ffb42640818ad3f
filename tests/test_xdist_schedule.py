"""The suite's xdist scheduler (tests/xdist_schedule.py) hands out a made-up collection to stand-in workers (as
pytest-xdist's own scheduler tests do): the browser and the SLURM groups go whole, in that order, to a worker of
their own, which stops after them; the others never get their tests; every test is handed out exactly once; spare
workers stop at once."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from xdist_schedule import WAITING_GROUPS, WaitingGroupScheduling, worker_count

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


def test_the_waiting_groups_run_in_order_alone_on_a_worker_that_then_stops():
    scheduler, nodes = start([*SINGLE[:2], *SLURM, *BROWSER, *SINGLE[2:3], *DISPLAY, *GROUPED, *SINGLE[3:]], workers=3)
    assert [node.shutting_down for node in nodes] == [True, False, False]
    ran = run(scheduler, nodes)
    assert [scheduler.collection[index] for index in nodes[0].sent] == BROWSER + SLURM
    rest = ran["gw1"] + ran["gw2"]
    assert sorted(rest) == sorted(DISPLAY + GROUPED + SINGLE) and len(set(rest)) == len(rest)
    for group in (DISPLAY, GROUPED):  # a group stays on one worker
        assert set(group) <= set(ran["gw1"]) or set(group) <= set(ran["gw2"])
    assert all(node.shutting_down for node in nodes)


def test_with_two_workers_one_takes_the_waiting_groups_and_one_the_rest():
    scheduler, nodes = start([*BROWSER, *DISPLAY, *SINGLE], workers=2)
    ran = run(scheduler, nodes)
    assert ran["gw0"] == BROWSER and sorted(ran["gw1"]) == sorted(DISPLAY + SINGLE)
    scheduler, nodes = start([*BROWSER, *SLURM, *SINGLE], workers=1)
    assert sorted(run(scheduler, nodes)["gw0"]) == sorted(BROWSER + SLURM + SINGLE)


@pytest.mark.parametrize(("collection", "busy"), [(SINGLE, 2), (BROWSER, 1), (SLURM + SINGLE[:1], 2),
                                                  (DISPLAY, 1), ([], 0)])
def test_spare_workers_stop_at_once_so_computing_workers_never_outnumber_the_cores(collection, busy):
    scheduler, nodes = start(collection, workers=3)
    assert sum(not node.shutting_down or bool(node.sent) for node in nodes) == busy
    ran = run(scheduler, nodes)
    assert sorted(sum(ran.values(), [])) == sorted(collection)
    assert len([name for name, tests in ran.items() if set(tests) - set(BROWSER + SLURM)]) <= 2


def test_a_crashed_waiting_worker_gives_its_groups_back_to_the_others():
    scheduler, nodes = start([*BROWSER, *SLURM, *DISPLAY, *SINGLE], workers=3)
    ran = run(scheduler, nodes, crash=nodes[0])
    assert ran["gw0"] == BROWSER[:1]
    assert sorted(ran["gw1"] + ran["gw2"]) == sorted(BROWSER[1:] + SLURM + DISPLAY + SINGLE)


def test_auto_is_a_worker_per_core_and_one_for_the_waiting_groups(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    assert worker_count() == 3
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "2")
    assert worker_count() == 2


@pytest.mark.parametrize(("file", "group"), [("test_slurm.py", "slurm"), ("test_web_browser.py", "browser")])
def test_the_suite_puts_the_waiting_tests_in_the_groups_the_scheduler_names(request, file, group):
    """The SLURM module keeps the group it names (conftest adds no module group beside it, which xdist would join
    into ``slurm_test_slurm``), and the browser tests are in ``browser``: the groups of ``WAITING_GROUPS``."""
    items = [item for item in request.session.items if item.path.name == file]
    if not items:
        pytest.skip(f"{file} is not in this run")
    assert group in WAITING_GROUPS
    assert {tuple(mark.args for mark in item.iter_markers("xdist_group")) for item in items} == {((group,),)}
