"""What `GET /events` sends to whom: rights, filters, the SSE wire format, a bounded buffer.

Pure logic, no I/O: the handler in `awe/http/events.py` feeds it events from the bus and
writes what it returns.
"""

from __future__ import annotations

import collections
import json

from awe.events import Event
from awe.model.access import Caller
from awe.model.rights import Policy, allowed


def may_see(event: Event, caller: Caller, policy: Policy) -> bool:
    """A job's events go to whoever may read the job, a client's to whoever may list clients.

    The rights are those of `GET /job/{id}` and `GET /client/{id}` (awe.model.rights). A job's
    ACL is `{owner, read: [owner]}`, so its owner decides; an event without an owner is like a
    job without an ACL.
    """
    if event.kind == "client":
        return allowed("client.show", policy, caller)
    acl = {"owner": event.owner, "read": [event.owner]} if event.owner else {}
    return allowed("job.show", policy, caller, acl=acl)


def wanted(event: Event, job: str) -> bool:
    """`?job=<id>`: only that job's events (its tasks and workunits included)."""
    if not job:
        return True
    return event.job_id == job or (event.kind == "job" and event.subject == job)


def message(event: Event) -> str:
    """One event as an SSE message: its id (for Last-Event-ID) and its JSON."""
    return f"id: {event.id}\ndata: {json.dumps(event.to_json(), separators=(',', ':'))}\n\n"


def reload_message(last_id: int, reason: str) -> str:
    """Tells the client that events were lost: re-read everything, then go on from `last_id`."""
    data = json.dumps({"reason": reason, "last_id": last_id})
    return f"id: {last_id}\nevent: reload\ndata: {data}\n\n"


def comment(text: str) -> str:
    """An SSE comment: ignored by clients, keeps proxies from closing a quiet stream."""
    return f": {text}\n\n"


def parse_last_id(value: str | None) -> int | None:
    """`Last-Event-ID` (header or `?last_event_id=`): a non-negative integer, or None if absent."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"Last-Event-ID must be a non-negative integer, got {value!r}")
    return int(text)


class StreamBuffer:
    """Events waiting for one reader; past `limit` it overflows and stays overflowed."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._events: collections.deque[Event] = collections.deque()
        self.overflowed = False
        self.last_id = 0  # the newest event taken in: older ones (replayed already) are skipped

    def push(self, event: Event) -> bool:
        """Take an event in; False once the reader is too far behind (drop the stream)."""
        if self.overflowed:
            return False
        if event.id and event.id <= self.last_id:
            return True
        if len(self._events) >= self.limit:
            self.overflowed = True
            self._events.clear()
            return False
        self._events.append(event)
        self.last_id = max(self.last_id, event.id)
        return True

    def drain(self) -> list[Event]:
        """Everything waiting, oldest first."""
        events = list(self._events)
        self._events.clear()
        return events

    def __len__(self) -> int:
        return len(self._events)
