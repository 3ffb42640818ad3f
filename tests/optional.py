"""Skipping a test module where an optional dependency is missing, without importing it."""

from __future__ import annotations

import importlib.util

import pytest


def skip_module_without(module: str, extra: str) -> None:
    """Skip the calling test module where ``module`` is not installed (``extra``: the extra that installs it),
    without importing it: collecting the suite then loads no torch (1-2 s of CPU) on the xdist workers that never
    run these tests. The tests import it where they use it."""
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (the {extra} extra)", allow_module_level=True)
