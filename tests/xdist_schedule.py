"""The suite's pytest-xdist scheduler: ``--dist loadgroup`` with one more worker than cores, kept for the groups
that mostly wait.

The browser group (headless Chromium playing real-time trials) and the SLURM group (jobs on the test cluster,
polled) spend most of their wall time waiting: about a third and a half of a core. On a worker of their own, run
one after the other beside one worker per core for everything else, they no longer hold a core that the
computing tests could use, and the computing workers never outnumber the cores: the extra worker runs those
groups alone and then stops. The display group (PsychoPy windows driven by xdotool) stays on a computing worker:
with a worker of its own as well (four workers on two cores) the suite was not reliably faster, and took more CPU
seconds in the same hour (docs/testing.md, "A worker of its own for the display group")."""

from __future__ import annotations

import os

import pytest
from xdist.scheduler import LoadGroupScheduling

WAITING_GROUPS = ("browser", "slurm")
"""The xdist groups the extra worker runs, in this order (tests/conftest.py: ``SCREEN_GROUPS``;
tests/test_slurm.py)."""


def worker_count() -> int:
    """``-n auto``: one worker per core the run may use, and one for ``WAITING_GROUPS``
    (``PYTEST_XDIST_AUTO_NUM_WORKERS`` still overrides it, as in pytest-xdist)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    return len(os.sched_getaffinity(0)) + 1


class WaitingGroupScheduling(LoadGroupScheduling):
    """``loadgroup`` in the work queue's order, except that with two workers or more the first one gets the
    run's ``groups`` (in their order) and nothing else, and stops when they are done; the others share the rest.
    Workers with nothing to do (``-k``, one file) stop at once, so the workers that compute never outnumber the
    ones ``worker_count`` meant for them. If that worker crashes, its groups go back to the others."""

    def __init__(self, config: pytest.Config, log=None, groups: tuple[str, ...] = WAITING_GROUPS) -> None:
        super().__init__(config, log)
        self.groups = groups
        self.waiting_node = None

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
        others = self.nodes
        if len(self.nodes) > 1 and any(group in self.workqueue for group in self.groups):
            self.waiting_node, *others = self.nodes
            self._assign_work_unit(self.waiting_node)
        busy = others[:min(max(1, len(self.nodes) - 1), len(self.workqueue))]
        for node in others[len(busy):]:
            node.shutdown()
        for node in busy:
            self._assign_work_unit(node)
        for node in busy:
            self._reschedule(node)  # a second unit where there is one (as xdist does, pytest-dev/pytest-xdist#277)

    def _assign_work_unit(self, node) -> None:
        if node is self.waiting_node:
            for group in self.groups:
                if group in self.workqueue:
                    self._send(node, group, self.workqueue.pop(group))
            node.shutdown()  # after the groups it was sent (a worker holds its last test until it knows the next)
            return
        if self.workqueue:  # the waiting worker took its groups out of the queue whole
            scope = next(iter(self.workqueue))
            self._send(node, scope, self.workqueue.pop(scope))

    def _reschedule(self, node) -> None:
        if node is self.waiting_node or node.shutting_down:
            return
        if not self.workqueue:
            node.shutdown()
            return
        super()._reschedule(node)

    def remove_node(self, node) -> str | None:
        if node is self.waiting_node:  # done, or crashed: then xdist queues its groups again, for any worker
            self.waiting_node = None
        return super().remove_node(node)

    def _send(self, node, scope: str, work_unit: dict[str, bool]) -> None:
        """Give ``node`` the tests of ``scope`` that are not done (as ``LoadScopeScheduling._assign_work_unit``)."""
        self.assigned_work.setdefault(node, {})[scope] = work_unit
        collection = self.registered_collections[node]
        node.send_runtest_some([collection.index(nodeid) for nodeid, done in work_unit.items() if not done])
