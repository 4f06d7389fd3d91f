"""Actor plumbing: typed dispatch with supervision, reply targets, the ask bridge, pooled actors.

Actors `tell` each other typed messages (`awe.actors.messages`). Where a caller needs an answer,
the message carries a `reply` (a `concurrent.futures.Future`) that whichever actor finishes the
work resolves — possibly another actor than the one first told (the SnapshotActor answers once a
change is durable). Handlers await a reply through `bridge.Landing`, which resolves it on the
IOLoop via `call_soon_threadsafe` (once for all replies that arrive together), so the IOLoop
never blocks; every ask has a deadline.

`Supervised.dispatch` is the one place a message is handled: a handler that raises answers its
message's reply (an `AweError` as itself, anything else as a 500 naming the request) and the
actor goes on.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

import pykka
from pykka import ActorDeadError
from pykka._envelope import Envelope  # pykka is pinned (pyproject): internal hooks used below

from awe.actors.bridge import Landing
from awe.errors import AweError, Internal, Timeout, Unavailable
from awe.store.base import StoreUnavailable

log = logging.getLogger(__name__)

Reply = concurrent.futures.Future
SHUTTING_DOWN = "server is shutting down"


def new_reply() -> Reply:
    """A fresh reply target for a command that needs an answer."""
    return concurrent.futures.Future()


def resolve(reply: Reply | None, value: Any = None) -> None:
    """Answer a reply target, once; later answers (or one its asker gave up on) are ignored."""
    if reply is not None and not reply.done():
        try:
            reply.set_result(value)
        except concurrent.futures.InvalidStateError:
            pass


def reject(reply: Reply | None, error: BaseException) -> None:
    """Answer a reply target with an error, once (see `resolve`)."""
    if reply is not None and not reply.done():
        try:
            reply.set_exception(error)
        except concurrent.futures.InvalidStateError:
            pass


def tell_quietly(ref: pykka.ActorRef[Any], message: Any) -> bool:
    """Tell an actor from a timer or pool callback; a stopped actor answers with 503."""
    try:
        ref.tell(message)
        return True
    except ActorDeadError:
        reject(getattr(message, "reply", None), Unavailable(SHUTTING_DOWN))
        return False


def gather(replies: list[Reply], then: Callable[[list[Any]], None]) -> None:
    """Call `then(results)` once every reply is done (an error counts as its exception)."""
    if not replies:
        then([])
        return
    lock = threading.Lock()
    left = [len(replies)]

    def one_done(_: Reply) -> None:
        with lock:
            left[0] -= 1
            last = left[0] == 0
        if last:
            then([r.exception() or r.result() for r in replies])

    for reply in replies:
        reply.add_done_callback(one_done)


# ---- dispatch and supervision ----------------------------------------------------------------


def handles(*types: type) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark an actor method as the handler of these message types."""

    def mark(method: Callable[..., None]) -> Callable[..., None]:
        method._handles = types  # type: ignore[attr-defined]
        return method

    return mark


def internal_error(stimulus: str) -> Internal:
    """The 500 a user sees: it names the request, whose traceback is in the log."""
    return Internal(f"internal error (request {stimulus or 'unknown'}); it is in the server log")


class Supervised:
    """Dispatch by message type; what a handler raises answers the message, and the actor goes on.

    The model checks before it changes anything, so a handler that raises leaves the actor's
    state as it was before the message.
    """

    _handlers: ClassVar[dict[type, Callable[..., None]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: dict[type, Callable[..., None]] = {}
        for klass in reversed(cls.__mro__):
            for attr in vars(klass).values():
                for kind in getattr(attr, "_handles", ()):
                    table[kind] = attr
        cls._handlers = table

    def on_receive(self, message: Any) -> None:
        self.dispatch(message)

    @classmethod
    def _handler_of(cls, kind: type) -> Callable[..., None] | None:
        """The handler of a message type, or of the nearest base type it derives from."""
        handler = cls._handlers.get(kind)
        if handler is None:
            handler = next((cls._handlers[k] for k in kind.__mro__ if k in cls._handlers), None)
            if handler is not None:
                cls._handlers[kind] = handler
        return handler

    def dispatch(self, message: Any) -> None:
        reply = getattr(message, "reply", None)
        handler = self._handler_of(type(message))
        if handler is None:
            log.error("%s cannot handle %r", self, message)
            reject(reply, internal_error(getattr(message, "stimulus", "")))
            return
        try:
            handler(self, message)
        except AweError as err:
            reject(reply, err)
        except StoreUnavailable as err:
            reject(reply, Unavailable(f"store unavailable: {err}"))
        except Exception:
            stimulus = getattr(message, "stimulus", "")
            log.exception("%s failed on %r (request %s)", self, message, stimulus)
            reject(reply, internal_error(stimulus))


class SingletonActor(Supervised, pykka.ThreadingActor):
    """An actor the server has one of (queue, registry, snapshots): if it dies, the process must.

    `on_death(name, reason)` is called when it stops other than by `stop()` at shutdown; the
    server's supervisor then ends the process so that its own supervisor restarts it.
    """

    name: ClassVar[str] = "actor"

    def __init__(self, on_death: Callable[[str, str], None] | None = None) -> None:
        super().__init__()
        self._on_death = on_death

    def on_receive(self, message: Any) -> None:
        try:
            self.dispatch(message)
        except BaseException as err:  # SystemExit, KeyboardInterrupt…: pykka stops every actor
            self._died(f"{err!r} while handling {message!r}")
            raise

    def on_failure(self, exc_type: Any, exc_value: Any, tb: Any) -> None:
        self._died(repr(exc_value))

    def _died(self, reason: str) -> None:
        log.critical("%s actor died: %s", self.name, reason)
        if self._on_death is not None:
            self._on_death(self.name, reason)

    def _actor_loop_teardown(self) -> None:
        """Messages left when it stops are answered (503), never dropped."""
        while not self.actor_inbox.empty():
            envelope = self.actor_inbox.get()
            reject(getattr(envelope.message, "reply", None), Unavailable(SHUTTING_DOWN))
            if envelope.reply_to is not None:
                error = ActorDeadError(f"{self.actor_ref} stopped before handling the message")
                envelope.reply_to.set_exception(exc_info=(ActorDeadError, error, None))


# ---- asking, for handlers and start-up -----------------------------------------------------------


async def ask(target: pykka.ActorRef[Any], command: Any, timeout_s: float) -> Any:
    """Tell `command` and await its reply, for at most `timeout_s` (then a 504)."""
    try:
        target.tell(command)
    except ActorDeadError as err:
        raise Unavailable(SHUTTING_DOWN) from err
    try:
        return await Landing.current().wait(command.reply, timeout_s)
    except TimeoutError:
        raise Timeout(
            f"no answer within {timeout_s:g} s (request {command.stimulus}); "
            "it may still take effect"
        ) from None


def ask_sync(target: pykka.ActorRef[Any], command: Any, timeout: float = 30.0) -> Any:
    """The blocking form of `ask`, for start-up and tests — never on the IOLoop."""
    target.tell(command)
    return command.reply.result(timeout)


class ActorPool:
    """A fixed set of threads running actors' turns, fed by one `queue.SimpleQueue`.

    `concurrent.futures.ThreadPoolExecutor` made a Future, a work item and a semaphore check
    for every turn handed to it, and woke a worker through a Condition: about a fifth of the
    IOLoop's time at 8 dispatching clients was spent there. A turn needs none of that: it
    reports its own failures, and nobody waits for it.
    """

    def __init__(self, size: int, name: str) -> None:
        self._turns: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}_{n}", daemon=True) for n in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, turn: Callable[[], None]) -> None:
        """Run `turn` on one of the pool's threads, soon; RuntimeError once shut down."""
        if self._closed:
            raise RuntimeError("the actor pool is shut down")
        self._turns.put(turn)

    def shutdown(self) -> None:
        """Run the turns already handed over, then end the threads and wait for them."""
        self._closed = True
        for _ in self._threads:
            self._turns.put(None)
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        while (turn := self._turns.get()) is not None:
            try:
                turn()
            except Exception:
                log.exception("an actor's turn failed")


class _PoolInbox:
    """An actor inbox that schedules its actor on a shared pool when a message arrives.

    Its queue exists only while messages wait (an empty deque is ~600 bytes, and most of
    100,000 job actors wait for nothing).
    """

    __slots__ = ("_actor", "_late", "_queue", "_lock", "_scheduled")

    def __init__(self, actor: PooledActor) -> None:
        self._actor: PooledActor | None = actor
        self._late: Callable[[Envelope[Any]], None] | None = None
        self._queue: collections.deque[Envelope[Any]] | None = None
        self._lock = threading.Lock()
        self._scheduled = False

    def put(self, envelope: Envelope[Any], /) -> None:
        with self._lock:
            actor = self._actor
            if actor is not None:
                if self._queue is None:
                    self._queue = collections.deque()
                self._queue.append(envelope)
                if self._scheduled:
                    return
                self._scheduled = True
        if actor is None:  # stopped and let go of: answered or re-routed at once
            (self._late or refuse_envelope)(envelope)
            return
        actor.pool().submit(actor._drain)

    def detach(self, late: Callable[[Envelope[Any]], None]) -> None:
        """The actor stopped and its inbox ran dry: let go of it, so that it is freed as soon
        as nothing else holds it (actor and inbox held each other: a cycle only the garbage
        collector could free); later messages go to `late`, which must not hold the actor."""
        with self._lock:
            if not self._queue and not self._scheduled:
                self._actor, self._late = None, late

    def get(self) -> Envelope[Any]:
        with self._lock:
            if not self._queue:
                raise IndexError("the inbox is empty")
            return self._queue.popleft()

    def take(self) -> Envelope[Any] | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def release_if_empty(self) -> bool:
        """End the actor's turn unless a message came in meanwhile (then the turn goes on)."""
        with self._lock:
            if self._queue:
                return False
            self._queue = None
            self._scheduled = False
            return True

    def reschedule(self) -> None:
        """Hand the pool another turn; only the turn that is running may call this."""
        actor = self._actor
        if actor is not None:  # it is running: never detached meanwhile
            actor.pool().submit(actor._drain)

    def start(self) -> None:
        """Schedule the first turn (on_start), unless a message already scheduled one."""
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
            actor = self._actor
        if actor is not None:
            actor.pool().submit(actor._drain)

    def empty(self) -> bool:
        with self._lock:
            return not self._queue


_FLAG_LOCK = threading.Lock()
_URNS = itertools.count(1)


class _StoppedFlag:
    """The `threading.Event` an actor's stopped flag is, without the Condition (and its deque)
    every Event carries: a real Event is made only if someone waits."""

    __slots__ = ("_set", "_event")

    def __init__(self) -> None:
        self._set = False
        self._event: threading.Event | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        if self._event is not None:
            self._event.set()

    def clear(self) -> None:
        self._set = False
        if self._event is not None:
            self._event.clear()

    def wait(self, timeout: float | None = None) -> bool:
        if self._set:
            return True
        with _FLAG_LOCK:
            if self._event is None:
                self._event = threading.Event()
        if self._set:  # set before the Event existed
            self._event.set()
        return self._event.wait(timeout)


class PooledActor(pykka.Actor):
    """A pykka actor whose inbox drains on a small shared thread pool, one message at a time.

    DESIGN.md rule 5: a thread per job costs ~22 KiB and GIL contention; ten thousand pooled
    actors start in about a second. Messages of one actor never run concurrently.
    """

    _pool: ActorPool | None = None
    _pool_lock = threading.Lock()
    pool_size = 4
    batch = 64  # messages handled per turn before yielding the pool thread to other actors

    def __init__(self) -> None:
        """What `pykka.Actor.__init__` does (pykka is pinned), less two costs that 100,000 job
        actors feel: a urn from a counter instead of uuid4 (which reads the OS's random
        source: ~30 us, a third of a restart's queue work), and a flag for the stopped
        Event (~1 KB with its Condition)."""
        self.actor_urn = f"urn:awe:{type(self).__name__}:{next(_URNS)}"
        self.actor_inbox = self._create_actor_inbox()
        self.actor_stopped = _StoppedFlag()  # type: ignore[assignment]
        self._actor_ref = pykka.ActorRef(self)

    @classmethod
    def pool(cls) -> ActorPool:
        pool = PooledActor._pool  # set once; read without the lock on every message
        if pool is not None:
            return pool
        with PooledActor._pool_lock:
            if PooledActor._pool is None:
                PooledActor._pool = ActorPool(cls.pool_size, "job-actors")
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
                    if self.actor_stopped.is_set():
                        inbox.detach(self.late_refusal())
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
        except BaseException as err:  # noqa: BLE001 - a SystemExit inside an actor stops only it
            log.error("%r in %s: stopping it", err, self)
            self.on_crash(f"{err!r} while handling {envelope.message!r}", envelope.message)
            self._stop()

    def on_crash(self, reason: str, message: Any) -> None:
        """Hook: a message raised a BaseException; the actor stops right after this."""
        reject(getattr(message, "reply", None), internal_error(getattr(message, "stimulus", "")))

    def _refuse(self, envelope: Envelope[Any]) -> None:
        if envelope.reply_to is not None:
            error = ActorDeadError(f"{self} stopped before handling the message")
            envelope.reply_to.set_exception(exc_info=(ActorDeadError, error, None))
        else:
            self.on_refused(envelope.message)

    def on_refused(self, message: Any) -> None:
        """Hook: a message arrived after the actor stopped. It must be answered or re-routed."""
        reject(getattr(message, "reply", None), Unavailable(SHUTTING_DOWN))

    def late_refusal(self) -> Callable[[Envelope[Any]], None]:
        """What answers messages that arrive once the actor is gone; it must not hold the actor
        (hook: a JobActor re-routes its job's commands to the queue)."""
        return refuse_envelope

    @classmethod
    def shutdown_pool(cls) -> None:
        with PooledActor._pool_lock:
            if PooledActor._pool is not None:
                PooledActor._pool.shutdown()
                PooledActor._pool = None


def stop_all(refs: list[pykka.ActorRef[Any]], timeout_s: float) -> int:
    """Ask every actor to stop at once, then wait for them all (within `timeout_s` in all):
    one at a time, each stop waited for a thread hand-off and back, 5-10 s for 100,000 job
    actors. Returns how many had not stopped by then."""
    stops = [ref.stop(block=False) for ref in refs]
    deadline = time.monotonic() + timeout_s
    late = 0
    for stop in stops:
        try:
            stop.get(timeout=max(0.0, deadline - time.monotonic()))
        except pykka.Timeout:
            late += 1
    if late:
        log.warning("%d actor(s) had not stopped within %.0f s", late, timeout_s)
    return late


def refuse_envelope(
    envelope: Envelope[Any], message_refused: Callable[[Any], None] | None = None
) -> None:
    """Answer a message no actor will handle: 503 to its reply, ActorDeadError to an ask."""
    if envelope.reply_to is not None:
        error = ActorDeadError("the actor stopped before handling the message")
        envelope.reply_to.set_exception(exc_info=(ActorDeadError, error, None))
    elif message_refused is not None:
        message_refused(envelope.message)
    else:
        reject(getattr(envelope.message, "reply", None), Unavailable(SHUTTING_DOWN))
