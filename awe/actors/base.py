"""Actor plumbing: reply targets, the ask bridge for handlers, and pooled actors.

Actors `tell` each other. Where a caller needs an answer, the message carries a `Reply` (a
`concurrent.futures.Future`) that whichever actor finishes the work resolves — possibly a
different actor than the one first told (e.g. the SnapshotActor answers once a change is
durable). Handlers await a Reply through `asyncio.wrap_future`, which resolves it on the IOLoop
via `call_soon_threadsafe`, so the IOLoop never blocks.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

import pykka
from pykka import ActorDeadError
from pykka._envelope import Envelope  # pykka is pinned (pyproject): internal hooks used below

log = logging.getLogger(__name__)

Reply = concurrent.futures.Future


def new_reply() -> Reply:
    return concurrent.futures.Future()


def resolve(reply: Reply | None, value: Any = None) -> None:
    """Answer a reply target, once; later answers are ignored."""
    if reply is not None and not reply.done():
        try:
            reply.set_result(value)
        except concurrent.futures.InvalidStateError:
            pass


def reject(reply: Reply | None, error: BaseException) -> None:
    if reply is not None and not reply.done():
        try:
            reply.set_exception(error)
        except concurrent.futures.InvalidStateError:
            pass


def tell_quietly(method: Callable[..., Any], *args: Any) -> None:
    """Tell an actor from a timer or pool callback; a stopped actor has nothing left to do."""
    try:
        method.defer(*args)  # type: ignore[attr-defined]
    except ActorDeadError:
        pass


async def ask(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Tell an actor method (a pykka proxy method) with a fresh reply target and await it."""
    reply = new_reply()
    try:
        method.defer(*args, reply=reply, **kwargs)  # type: ignore[attr-defined]
    except ActorDeadError as err:
        from awe.errors import Unavailable

        raise Unavailable("server is shutting down") from err
    return await asyncio.wrap_future(reply)


def ask_sync(method: Callable[..., Any], *args: Any, timeout: float = 30.0, **kwargs: Any) -> Any:
    """The blocking form of `ask`, for start-up and tests — never on the IOLoop."""
    reply = new_reply()
    method.defer(*args, reply=reply, **kwargs)  # type: ignore[attr-defined]
    return reply.result(timeout)


class _PoolInbox:
    """An actor inbox that schedules its actor on a shared pool when a message arrives."""

    def __init__(self, actor: PooledActor) -> None:
        self._actor = actor
        self._queue: collections.deque[Envelope[Any]] = collections.deque()
        self._lock = threading.Lock()
        self._scheduled = False

    def put(self, envelope: Envelope[Any], /) -> None:
        with self._lock:
            self._queue.append(envelope)
            if self._scheduled:
                return
            self._scheduled = True
        self._actor.pool().submit(self._actor._drain)

    def get(self) -> Envelope[Any]:
        with self._lock:
            return self._queue.popleft()

    def take(self) -> Envelope[Any] | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def release_if_empty(self) -> bool:
        """End the actor's turn unless a message came in meanwhile (then the turn goes on)."""
        with self._lock:
            if self._queue:
                return False
            self._scheduled = False
            return True

    def reschedule(self) -> None:
        """Hand the pool another turn; only the turn that is running may call this."""
        self._actor.pool().submit(self._actor._drain)

    def start(self) -> None:
        """Schedule the first turn (on_start), unless a message already scheduled one."""
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        self._actor.pool().submit(self._actor._drain)

    def empty(self) -> bool:
        with self._lock:
            return not self._queue


class PooledActor(pykka.Actor):
    """A pykka actor whose inbox drains on a small shared thread pool, one message at a time.

    DESIGN.md rule 5: a thread per job costs ~22 KiB and GIL contention; ten thousand pooled
    actors start in about a second. Messages of one actor never run concurrently.
    """

    _pool: concurrent.futures.ThreadPoolExecutor | None = None
    _pool_lock = threading.Lock()
    pool_size = 4
    batch = 64  # messages handled per turn before yielding the pool thread to other actors

    @classmethod
    def pool(cls) -> concurrent.futures.ThreadPoolExecutor:
        with PooledActor._pool_lock:
            if PooledActor._pool is None:
                PooledActor._pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=cls.pool_size, thread_name_prefix="job-actors"
                )
            return PooledActor._pool

    def _create_actor_inbox(self) -> _PoolInbox:  # type: ignore[override]
        return _PoolInbox(self)

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return pykka.ThreadingFuture()

    def _start_actor_loop(self) -> None:
        self.actor_inbox.start()  # type: ignore[attr-defined]

    def _drain(self) -> None:
        inbox: _PoolInbox = self.actor_inbox  # type: ignore[assignment]
        if not getattr(self, "_started", False):
            self._started = True
            self._actor_loop_setup()
        handled = 0
        while handled < self.batch:
            envelope = inbox.take()
            if envelope is None:
                self._end_turn()  # still this actor's turn: nothing else runs it meanwhile
                if inbox.release_if_empty():
                    return
                continue
            handled += 1
            if self.actor_stopped.is_set():
                self._refuse(envelope)
                continue
            self._handle(envelope)
        self._end_turn()
        inbox.reschedule()

    def _end_turn(self) -> None:
        if self.actor_stopped.is_set():
            return
        try:
            self.on_turn_end()
        except Exception:
            log.exception("on_turn_end failed in %s", self)

    def on_turn_end(self) -> None:
        """Hook: the inbox ran empty, or a turn of `batch` messages ended. Coalesce work here."""

    def _handle(self, envelope: Envelope[Any]) -> None:
        try:
            response = self._handle_receive(envelope.message)
            if envelope.reply_to is not None:
                envelope.reply_to.set(response)
        except Exception:
            if envelope.reply_to is not None:
                envelope.reply_to.set_exception()
            else:
                log.exception("unhandled error in %s", self)
        except BaseException:  # noqa: BLE001 - a SystemExit inside an actor stops only it
            log.error("%r in %s: stopping it", sys.exc_info()[1], self)
            self._stop()

    def _refuse(self, envelope: Envelope[Any]) -> None:
        if envelope.reply_to is not None:
            error = ActorDeadError(f"{self} stopped before handling the message")
            envelope.reply_to.set_exception(exc_info=(ActorDeadError, error, None))

    @classmethod
    def shutdown_pool(cls) -> None:
        with PooledActor._pool_lock:
            if PooledActor._pool is not None:
                PooledActor._pool.shutdown(wait=True)
                PooledActor._pool = None
