"""Where actors' answers reach the IOLoop: many replies, one wake-up.

A reply is a `concurrent.futures.Future` resolved on whichever actor thread finishes the work
(the SnapshotActor, once a change is durable: often a dozen replies in one group commit).
`asyncio.wrap_future` lands each one with its own `call_soon_threadsafe`, a write to the
loop's wake-up pipe and a pass of the loop per reply. `Landing` queues replies as they are
resolved and wakes the loop once for all that arrive before it runs; the handler's awaitable
is an asyncio future the loop resolves. Deadlines are one timer each, not `wait_for`.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import functools
import threading
import weakref
from typing import Any

Reply = concurrent.futures.Future


class Landing:
    """Lands replies on one asyncio loop (`Landing.current()`); thread-safe `_arrive`."""

    _loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Landing] = (
        weakref.WeakKeyDictionary()
    )
    _loops_lock = threading.Lock()

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._loop_thread = threading.get_ident()  # made on the loop's thread (`current`)
        self._arrived: collections.deque[tuple[asyncio.Future[Any], Reply]] = collections.deque()
        self._lock = threading.Lock()
        self._scheduled = False
        self._late: dict[asyncio.Future[Any], asyncio.TimerHandle] = {}  # polls answered late

    @classmethod
    def current(cls) -> Landing:
        """The landing of the running loop (called on the loop's thread)."""
        loop = asyncio.get_running_loop()
        with cls._loops_lock:
            landing = cls._loops.get(loop)
            if landing is None:
                landing = cls._loops[loop] = cls(loop)
            return landing

    def future(self, reply: Reply) -> asyncio.Future[Any]:
        """An asyncio future (of this loop) that takes the reply's outcome when it has one."""
        landed = self._loop.create_future()
        reply.add_done_callback(functools.partial(self._arrive, landed))
        return landed

    async def wait(self, reply: Reply, timeout_s: float, poll_s: float = 0.0) -> Any:
        """The reply's result; TimeoutError after `timeout_s` (the reply may still come).

        With `poll_s`, the reply is resolved with None at `poll_s` unless something answered it
        first (a long poll that ran out), and the `timeout_s` starts then: one timer for the
        poll, another only if the reply is on its way but late.
        """
        landed = self.future(reply)
        timer = (
            self._loop.call_later(poll_s, self._ran_out, reply, landed, timeout_s)
            if poll_s > 0
            else self._loop.call_later(timeout_s, _time_out, landed)
        )
        try:
            return await landed
        finally:
            timer.cancel()
            if landed in self._late:
                self._late.pop(landed).cancel()

    def _ran_out(self, reply: Reply, landed: asyncio.Future[Any], timeout_s: float) -> None:
        if not reply.done():
            try:
                reply.set_result(None)
                return
            except concurrent.futures.InvalidStateError:
                pass  # answered meanwhile, on another thread
        if not landed.done():  # the answer is on its way (a lease being made durable)
            self._late[landed] = self._loop.call_later(timeout_s, _time_out, landed)

    def _arrive(self, landed: asyncio.Future[Any], reply: Reply) -> None:
        """On the thread that resolved the reply: queue it; wake the loop if nobody did yet."""
        self._arrived.append((landed, reply))
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        try:
            if threading.get_ident() == self._loop_thread:
                self._loop.call_soon(self._land)  # no wake-up needed: the loop runs already
            else:
                self._loop.call_soon_threadsafe(self._land)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    def _land(self) -> None:
        """On the loop: resolve every future whose reply arrived."""
        with self._lock:
            self._scheduled = False
        while self._arrived:
            landed, reply = self._arrived.popleft()
            if landed.done():  # its handler gave up (timed out, cancelled)
                continue
            if reply.cancelled():
                landed.cancel()
                continue
            error = reply.exception()
            if error is not None:
                landed.set_exception(error)
            else:
                landed.set_result(reply.result())


def _time_out(landed: asyncio.Future[Any]) -> None:
    if not landed.done():
        landed.set_exception(TimeoutError())
