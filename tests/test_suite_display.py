"""Only display tests see the run's X display (tests/conftest.py, ``pytest_runtest_setup``): a window that any
other test opened there could take the clicks and key presses of a display test on the other worker."""

import os

import pytest
from conftest import X_DISPLAY

pytestmark = pytest.mark.skipif(X_DISPLAY is None, reason="the run has no X display (run under xvfb-run)")


def test_a_test_outside_the_display_group_sees_no_x_display():
    assert "DISPLAY" not in os.environ  # nor do its subprocesses: they inherit os.environ


@pytest.mark.display
def test_a_display_test_sees_the_runs_x_display():
    assert os.environ.get("DISPLAY") == X_DISPLAY
