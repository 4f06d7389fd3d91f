"""Supervised actors: a handler that raises answers and goes on; a dead singleton is fatal once;
a message left behind a stop is answered, never dropped."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from awe.actors.base import PooledActor, SingletonActor, Supervised, handles, new_reply, resolve
from awe.actors.messages import Command
from awe.actors.supervision import Supervisor
from awe.errors import AweError, Internal, Unavailable


@dataclass(frozen=True, kw_only=True)
class Boom(Command):
    error: BaseException


@dataclass(frozen=True, kw_only=True)
class Count(Command):
    pass


@dataclass(frozen=True, kw_only=True)
class Hold(Command):
    gate: threading.Event


class Counter:
    """Handlers shared by a singleton and a pooled test actor."""

    count = 0

    @handles(Boom)
    def boom(self, msg: Boom) -> None:
        self.count += 1
        raise msg.error

    @handles(Count)
    def counted(self, msg: Count) -> None:
        resolve(msg.reply, self.count)

    @handles(Hold)
    def hold(self, msg: Hold) -> None:
        msg.gate.wait(10)


class Single(Counter, SingletonActor):
    name = "single"


class Pooled(Counter, Supervised, PooledActor):
    pass


@pytest.fixture
def deaths():
    seen: list[tuple[str, str]] = []
    yield seen


def test_a_handler_that_raises_answers_its_reply_and_the_actor_goes_on(deaths) -> None:
    ref = Single.start(on_death=lambda name, why: deaths.append((name, why)))
    try:
        refused, failed = new_reply(), new_reply()
        ref.tell(Boom(error=AweError("no such thing", 404), reply=refused))
        ref.tell(Boom(error=ZeroDivisionError("bug"), reply=failed, stimulus="req-abc"))
        with pytest.raises(AweError, match="no such thing"):
            refused.result(5)
        with pytest.raises(Internal, match=r"internal error \(request req-abc\)"):
            failed.result(5)
        count = new_reply()
        ref.tell(Count(reply=count))
        assert count.result(5) == 2
        assert ref.is_alive() and deaths == []
    finally:
        ref.stop()


def test_a_singleton_that_dies_is_fatal_once_and_says_why(deaths) -> None:
    fatal = threading.Event()
    reasons: list[str] = []

    def record(reason: str) -> None:
        reasons.append(reason)
        fatal.set()

    supervisor = Supervisor(record, interval_s=0.02)
    ref = Single.start(on_death=supervisor.died)
    supervisor.watch("single", ref)
    supervisor.start()
    try:
        ref.tell(Boom(error=SystemExit("planted"), stimulus="req-1"))
        assert fatal.wait(5)
        assert len(reasons) == 1
        assert "the single actor died (SystemExit('planted') while handling Boom(" in reasons[0]
    finally:
        supervisor.stop()
    assert len(reasons) == 1


def test_a_stop_on_purpose_is_no_death() -> None:
    reasons: list[str] = []
    supervisor = Supervisor(reasons.append, interval_s=0.02)
    ref = Single.start(on_death=supervisor.died)
    supervisor.watch("single", ref)
    supervisor.start()
    supervisor.stop()
    ref.stop()
    supervisor._check()  # what the watchdog would do next
    assert reasons == []


@pytest.mark.parametrize("actor_class", [Single, Pooled])
def test_a_message_left_behind_a_stop_is_answered(actor_class) -> None:
    ref = actor_class.start()
    gate = threading.Event()
    ref.tell(Hold(gate=gate))  # keeps the actor busy: the stop and the message queue up
    ref.stop(block=False)
    late = new_reply()
    ref.tell(Count(reply=late))
    gate.set()
    with pytest.raises(Unavailable, match="shutting down"):
        late.result(5)
