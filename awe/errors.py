"""Errors that reach a user: each carries the HTTP status and AWE's message text (D14)."""

from __future__ import annotations

# Error strings AWE workers react to, to the letter (spec 5.3, 6.2, 14): the server sends them,
# awe's worker reads them.
CLIENT_NOT_FOUND = "Client not found"
CLIENT_SUSPENDED = "Client suspended"
CLIENT_DELETED = "Client deleted"
NO_WORK = "No eligible workunit found"
QUEUE_SUSPENDED = "Server queue is suspended"
QUEUE_EMPTY = "Server queue is empty"  # reserved by AWE; never sent


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


class Internal(AweError):
    """A fault inside the server; the message names the request so the log can be found."""

    status = 500


class Timeout(AweError):
    """No answer within the server's deadline (`api.ask_timeout_s`)."""

    status = 504
