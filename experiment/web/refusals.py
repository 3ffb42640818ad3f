"""A request the browser task's server refuses: an HTTP status and a one-line reason."""

from __future__ import annotations

from typing import Any


class Rejected(Exception):
    """A request refused with an HTTP ``status`` (4xx) and a one-line ``reason``; nothing was written.
    ``details``: what the page needs besides the reason (e.g. the completion code of a finished session)."""

    def __init__(self, status: int, reason: str, details: dict[str, Any] | None = None):
        super().__init__(reason)
        self.status, self.reason, self.details = status, reason, details or {}
