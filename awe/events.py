"""Events: every state change of a job, task, workunit or client, with the stimulus behind it.

Actors make `Event`s as their transitions happen (Dask's `stimulus_id`: a request id, a sweep,
a report) and publish them on the server's one `EventBus`. The bus numbers them, keeps the last
`capacity` so that a stream can resume from `Last-Event-ID`, and hands each to its listeners
(the `/events` stream, metrics counters). A listener runs on the publisher's thread: it must
only hand the event on (e.g. `IOLoop.add_callback`), never block or raise.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

from awe.model.times import now

log = logging.getLogger(__name__)

KINDS = ("job", "task", "workunit", "client")

Listener = Callable[["Event"], None]


@dataclass(frozen=True)
class Event:
    """One state change. `old` is "" when the thing did not exist before."""

    kind: str  # job | task | workunit | client
    subject: str  # the job id, task id, wuid or client id
    old: str
    new: str
    stimulus: str  # what caused it: "req-<id>", "sweep", "recover", "report-<wuid>" ...
    job_id: str = ""  # the job it belongs to ("" for a client)
    owner: str = ""  # the job's owner, so a stream shows each caller what it may read
    detail: str = ""  # a reason a user can read ("manually suspended", "client lost")
    time: str = ""  # RFC 3339 UTC; stamped by `make` when not given
    id: int = 0  # set by the bus: strictly increasing, the SSE `id:`

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Event:
        return cls(**{k: doc[k] for k in cls.__dataclass_fields__ if k in doc})


def make(kind: str, subject: str, old: str, new: str, stimulus: str, **more: Any) -> Event:
    """An event stamped with the current time (the bus gives it its id)."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind: {kind}")
    return Event(kind, subject, str(old), str(new), stimulus, time=more.pop("time", now()), **more)


class EventBus:
    """Numbers events, keeps the last `capacity`, and hands each to every listener."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._recent: collections.deque[Event] = collections.deque(maxlen=max(1, capacity))
        self._listeners: list[Listener] = []
        self._last_id = 0

    @property
    def last_id(self) -> int:
        return self._last_id

    def publish(self, events: Iterable[Event]) -> list[Event]:
        """Number and keep `events` in order, then tell the listeners; returns them numbered."""
        with self._lock:
            numbered = []
            for event in events:
                self._last_id += 1
                numbered.append(replace(event, id=self._last_id))
            self._recent.extend(numbered)
            listeners = list(self._listeners)
        for event in numbered:
            for listener in listeners:
                try:
                    listener(event)
                except Exception:  # a broken listener must not break the publisher (an actor)
                    log.exception("event listener %r failed", listener)
        return numbered

    def since(self, last_id: int) -> list[Event] | None:
        """Events after `last_id`; None when some of them are no longer kept (a gap)."""
        with self._lock:
            if last_id >= self._last_id:
                return []
            oldest = self._recent[0].id if self._recent else self._last_id + 1
            if last_id + 1 < oldest:
                return None
            return [e for e in self._recent if e.id > last_id]

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add a listener; returns the function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe
