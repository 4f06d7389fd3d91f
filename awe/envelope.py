"""The AWE envelope as clients read it: `{"status", "data", "error"}`, and the errors it raises.

Shared by the worker, the CLI and the server's own Shock calls (Shock answers the same way).
"""

from __future__ import annotations

import json
from typing import Any


class Unreachable(Exception):
    """No usable answer: connection refused or reset, timeout, or a body that is no envelope."""


class ApiError(Exception):
    """The server answered with an error in the envelope."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    @property
    def retryable(self) -> bool:
        """5xx means the server could not do it now; 4xx means it never will."""
        return self.status >= 500


def decode_envelope(status: int, body: bytes) -> Any:
    """Return `data` of an envelope, or raise ApiError / Unreachable."""
    return read_envelope(status, body).get("data")


def read_envelope(status: int, body: bytes) -> dict[str, Any]:
    """The whole envelope of a successful answer (lists add limit/offset/total_count)."""
    try:
        envelope = json.loads(body)
    except ValueError:
        if status >= 500 or status == 0:
            raise Unreachable(f"HTTP {status}: {body[:200]!r}") from None
        raise ApiError(f"HTTP {status}: not a JSON answer: {body[:200]!r}", status) from None
    if not isinstance(envelope, dict):
        raise ApiError(f"HTTP {status}: unexpected answer {body[:200]!r}", status)
    error = envelope.get("error")
    if error:
        message = ", ".join(str(e) for e in error) if isinstance(error, list) else str(error)
        raise ApiError(message, status)
    if status >= 400:
        raise ApiError(f"HTTP {status} without an error message", status)
    return envelope
