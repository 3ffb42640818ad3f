"""The suite's pytest-xdist scheduler: ``--dist loadgroup`` with one worker per core for the computing tests and
one more for each set of groups that mostly wait.

The browser group (headless Chromium playing real-time trials), the SLURM group (jobs on the test cluster, polled)
and the display group (PsychoPy windows driven by xdotool, in real time) spend most of their wall time waiting.
On workers of their own (the browser and SLURM groups one after the other on one, the display group on another),
they no longer hold a core that the computing tests could use, and the computing workers never outnumber the
cores: a waiting worker runs its groups alone and then stops. The display group ran on a computing worker until
its tests' lost key presses were traced to the keyboard read (a press released between two frames was missed,
since fixed), and a browser test stopped bounding the test's own key-press latency (docs/testing.md, "How the suite
is spread over cores")."""

from __future__ import annotations

import os

import pytest
from xdist.scheduler import LoadGroupScheduling

WAITING_WORKERS = (("browser", "slurm"), ("display",))
"""The xdist groups each extra worker runs, in this order (tests/conftest.py: ``SCREEN_GROUPS``;
tests/test_slurm.py)."""


def worker_count() -> int:
    """``-n auto``: one worker per core the run may use, and one for each set of ``WAITING_WORKERS``
    (``PYTEST_XDIST_AUTO_NUM_WORKERS`` still overrides it, as in pytest-xdist)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    return len(os.sched_getaffinity(0)) + len(WAITING_WORKERS)


class WaitingGroupScheduling(LoadGroupScheduling):
    """``loadgroup`` in the work queue's order, except that each set of ``waiting`` groups the run holds goes, in
    its order and with nothing else, to a worker of its own (the first workers, as long as one is left for the
    rest), which stops when they are done; the other workers share the rest. Workers with nothing to do (``-k``,
    one file) stop at once, so the workers that compute never outnumber the ones ``worker_count`` meant for them
    (the workers less one per set). If a waiting worker crashes, its groups go back to the computing ones."""

    def __init__(self, config: pytest.Config, log=None,
                 waiting: tuple[tuple[str, ...], ...] = WAITING_WORKERS) -> None:
        super().__init__(config, log)
        self.waiting = waiting
        self.waiting_nodes: dict = {}
        """Each waiting worker -> the groups it runs."""

    def schedule(self) -> None:
        if self.collection is not None:  # a worker was added (a crashed one replaced): xdist's way
            super().schedule()
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = list(next(iter(self.registered_collections.values())))
        for nodeid in self.collection:  # the queue in collection order (tests/conftest.py: _start_order)
            self.workqueue.setdefault(self._split_scope(nodeid), {})[nodeid] = False
        others = list(self.nodes)
        for groups in self.waiting:
            if len(others) > 1 and any(group in self.workqueue for group in groups):
                node = others.pop(0)
                self.waiting_nodes[node] = groups
                self._assign_work_unit(node)
        busy = others[:min(max(1, len(self.nodes) - len(self.waiting)), len(self.workqueue))]
        for node in others[len(busy):]:
            node.shutdown()
        for node in busy:
            self._assign_work_unit(node)
        for node in busy:
            self._reschedule(node)  # a second unit where there is one (as xdist does, pytest-dev/pytest-xdist#277)

    def _assign_work_unit(self, node) -> None:
        if node in self.waiting_nodes:
            for group in self.waiting_nodes[node]:
                if group in self.workqueue:
                    self._send(node, group, self.workqueue.pop(group))
            node.shutdown()  # after the groups it was sent (a worker holds its last test until it knows the next)
            return
        if self.workqueue:  # a waiting worker took its groups out of the queue whole
            scope = next(iter(self.workqueue))
            self._send(node, scope, self.workqueue.pop(scope))

    def _reschedule(self, node) -> None:
        if node in self.waiting_nodes or node.shutting_down:
            return
        if not self.workqueue:
            node.shutdown()
            return
        super()._reschedule(node)

    def remove_node(self, node) -> str | None:
        self.waiting_nodes.pop(node, None)  # done, or crashed: then xdist queues its groups again, for the others
        return super().remove_node(node)

    def _send(self, node, scope: str, work_unit: dict[str, bool]) -> None:
        """Give ``node`` the tests of ``scope`` that are not done (as ``LoadScopeScheduling._assign_work_unit``)."""
        self.assigned_work.setdefault(node, {})[scope] = work_unit
        collection = self.registered_collections[node]
        node.send_runtest_some([collection.index(nodeid) for nodeid, done in work_unit.items() if not done])
