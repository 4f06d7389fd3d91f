"""Errors that reach a user: each carries the HTTP status and AWE's message text (D14)."""

from __future__ import annotations


class AweError(Exception):
    """An error with AWE's message, answered as `{"status": s, "error": [message]}`."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NotFound(AweError):
    status = 404


class Unauthorized(AweError):
    status = 401


class TooLarge(AweError):
    status = 413


class NotImplementedOp(AweError):
    status = 501

    def __init__(self, message: str = "Not Implemented") -> None:
        super().__init__(message)


class Unavailable(AweError):
    status = 503
