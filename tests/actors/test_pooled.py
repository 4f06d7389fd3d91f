"""PooledActor: many actors on a few threads, each handling one message at a time, in order."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pykka
import pytest

from awe.actors.base import (
    PooledActor,
    Supervised,
    ask_sync,
    handles,
    new_reply,
    resolve,
    stop_all,
)
from awe.actors.messages import Command


@dataclass(frozen=True, kw_only=True)
class Record(Command):
    value: int


@dataclass(frozen=True, kw_only=True)
class Show(Command):
    pass


class Recorder(Supervised, PooledActor):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []
        self.inside = 0
        self.overlap = False
        self.started_on = ""

    def on_start(self) -> None:
        self.started_on = threading.current_thread().name

    @handles(Record)
    def record(self, msg: Record) -> None:
        self.inside += 1
        self.overlap |= self.inside > 1
        self.seen.append(msg.value)
        self.inside -= 1
        resolve(msg.reply, msg.value)

    @handles(Show)
    def show(self, msg: Show) -> None:
        resolve(msg.reply, (list(self.seen), self.overlap, self.started_on))


@pytest.fixture
def actors():
    refs: list = []
    yield refs
    for ref in refs:
        if ref.is_alive():
            ref.stop()


def test_messages_of_one_actor_arrive_in_order_and_never_overlap(actors) -> None:
    refs = [Recorder.start() for _ in range(50)]
    actors.extend(refs)
    for value in range(200):
        for ref in refs:
            ref.tell(Record(value=value))
    for ref in refs:
        seen, overlap, started_on = ask_sync(ref, Show(reply=new_reply()))
        assert seen == list(range(200))
        assert not overlap
        assert started_on.startswith("job-actors")


def test_thousands_of_actors_share_a_few_threads(actors) -> None:
    before = threading.active_count()
    refs = [Recorder.start() for _ in range(2000)]
    actors.extend(refs)
    assert ask_sync(refs[-1], Record(value=7, reply=new_reply())) == 7
    assert threading.active_count() - before <= PooledActor.pool_size


def test_a_stopped_actor_refuses_new_messages(actors) -> None:
    ref = Recorder.start()
    ref.stop()
    with pytest.raises(pykka.ActorDeadError):
        ref.tell(Record(value=1))


@dataclass(frozen=True, kw_only=True)
class Hold(Command):
    until: threading.Event


class Holder(Supervised, PooledActor):
    @handles(Hold)
    def hold(self, msg: Hold) -> None:
        msg.until.wait(5)


def test_stop_all_stops_every_actor_and_counts_those_still_busy_at_the_deadline() -> None:
    refs = [Recorder.start() for _ in range(200)]
    assert stop_all(refs, timeout_s=10.0) == 0
    assert not any(ref.is_alive() for ref in refs)

    release = threading.Event()
    busy = Holder.start()
    busy.tell(Hold(until=release))
    try:
        assert stop_all([busy, Recorder.start()], timeout_s=0.2) == 1  # the busy one only
    finally:
        release.set()
    busy.stop()


def test_actor_pool_runs_every_turn_survives_a_failing_one_and_refuses_after_shutdown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from awe.actors.base import ActorPool

    pool = ActorPool(2, "test-pool")
    ran: list[int] = []
    lock = threading.Lock()

    def turn(n: int) -> None:
        with lock:
            ran.append(n)

    def failing() -> None:
        raise ValueError("a turn that fails")

    pool.submit(failing)
    for n in range(500):
        pool.submit(lambda n=n: turn(n))
    pool.shutdown()  # runs what was handed over first
    assert sorted(ran) == list(range(500))
    assert "an actor's turn failed" in caplog.text
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(lambda: turn(-1))
