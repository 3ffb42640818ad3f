"""Argument types shared by several ``garden`` commands."""

from __future__ import annotations

import argparse


def float_list(text: str) -> tuple[float, ...]:
    """argparse type: ``0.01,1,3`` -> (0.01, 1.0, 3.0); a one-line argparse error otherwise."""
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers (e.g. 0.01,1,3), got {text!r}")
    return values
