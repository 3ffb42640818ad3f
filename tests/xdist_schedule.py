"""The suite's pytest-xdist scheduler: ``--dist loadgroup`` with a worker of its own for the browser group.

The browser group (headless Chromium playing real-time trials) mostly waits: about 0.3 of a core over three
minutes. On a worker of its own, beside one worker per core for everything else, it no longer holds a core that
the computing tests could use, and the computing workers never outnumber the cores: its worker runs the browser
group alone and then stops. The display group (PsychoPy windows driven by xdotool) stays on a computing worker:
beside two computing workers its real-time tests lost key presses (docs/testing.md, "How the suite is spread
over cores")."""

from __future__ import annotations

import os

import pytest
from xdist.scheduler import LoadGroupScheduling

DEDICATED_GROUPS = ("browser",)
"""The xdist groups that each get a worker of their own (tests/conftest.py: ``SCREEN_GROUPS``), in the order
the workers are handed out when there are fewer spare workers than groups."""


def worker_count() -> int:
    """``-n auto``: one worker per core the run may use, and one per group in ``DEDICATED_GROUPS``
    (``PYTEST_XDIST_AUTO_NUM_WORKERS`` still overrides it, as in pytest-xdist)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    return len(os.sched_getaffinity(0)) + len(DEDICATED_GROUPS)


def shared_worker_count(workers: int, groups: tuple[str, ...] = DEDICATED_GROUPS) -> int:
    """Of ``workers`` workers, how many share the work that is not a dedicated group: all but one per group in
    ``groups``, and at least one."""
    return max(1, workers - len(groups))


class DedicatedGroupScheduling(LoadGroupScheduling):
    """``loadgroup`` in the work queue's order, except that each of ``groups`` in the run gets a worker that runs
    it alone and then stops, as long as ``shared_worker_count`` workers are left for the rest; workers with
    nothing to do (``-k``, one file) stop at once, so the workers that compute never outnumber the ones
    ``worker_count`` meant for them. A dedicated worker that crashes gives its group back to the others."""

    def __init__(self, config: pytest.Config, log=None, groups: tuple[str, ...] = DEDICATED_GROUPS) -> None:
        super().__init__(config, log)
        self.groups = groups
        self.dedicated: dict = {}  # worker -> its group

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
        shared = shared_worker_count(len(self.nodes), self.groups)
        groups = [group for group in self.groups if group in self.workqueue][:len(self.nodes) - shared]
        self.dedicated = dict(zip(self.nodes, groups))
        others = self.nodes[len(groups):]
        busy = others[:min(shared, len(self.workqueue) - len(groups))]
        for node in others[len(busy):]:
            node.shutdown()
        for node in [*self.dedicated, *busy]:
            self._assign_work_unit(node)
        for node in busy:
            self._reschedule(node)  # a second unit where there is one (as xdist does, pytest-dev/pytest-xdist#277)

    def _assign_work_unit(self, node) -> None:
        group = self.dedicated.get(node)
        if group is not None:
            if group in self.workqueue:
                self._send(node, group, self.workqueue.pop(group))
            node.shutdown()  # after the group it was sent (a worker holds its last test until it knows the next)
            return
        scope = next((s for s in self.workqueue if s not in self.dedicated.values()), None)
        if scope is not None:
            self._send(node, scope, self.workqueue.pop(scope))

    def _reschedule(self, node) -> None:
        if node in self.dedicated or node.shutting_down:
            return
        if not any(scope not in self.dedicated.values() for scope in self.workqueue):
            node.shutdown()
            return
        super()._reschedule(node)

    def remove_node(self, node) -> str | None:
        self.dedicated.pop(node, None)  # a crashed worker's group goes back to the queue for any worker
        return super().remove_node(node)

    def _send(self, node, scope: str, work_unit: dict[str, bool]) -> None:
        """Give ``node`` the tests of ``scope`` that are not done (as ``LoadScopeScheduling._assign_work_unit``)."""
        self.assigned_work.setdefault(node, {})[scope] = work_unit
        collection = self.registered_collections[node]
        node.send_runtest_some([collection.index(nodeid) for nodeid, done in work_unit.items() if not done])
