"""Paths of a site's tree images (``trees/B<b>L<l>_<exemplar>.png``), shared by the task and the arrangement."""

from __future__ import annotations

import re

TREE_PATH = re.compile(r"^trees/B(\d+)L(\d+)_([A-Za-z0-9]+)\.png$")
"""``tree_url``'s paths: branchiness, leafiness, exemplar."""


def tree_url(branchiness: int, leafiness: int, exemplar: str) -> str:
    """Path of a tree image in the site (relative to its root)."""
    return f"trees/B{int(branchiness)}L{int(leafiness)}_{exemplar}.png"
