"""A request the browser task's server refuses: an HTTP status and a one-line reason."""

from __future__ import annotations


class Rejected(Exception):
    """A request refused with an HTTP ``status`` (4xx) and a one-line ``reason``; nothing was written."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason
