"""PooledActor: many actors on a few threads, each handling one message at a time, in order."""

from __future__ import annotations

import threading

import pykka
import pytest

from awe.actors.base import PooledActor, ask_sync, resolve


class Recorder(PooledActor):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []
        self.inside = 0
        self.overlap = False
        self.started_on = ""

    def on_start(self) -> None:
        self.started_on = threading.current_thread().name

    def record(self, value: int, reply=None) -> None:
        self.inside += 1
        self.overlap |= self.inside > 1
        self.seen.append(value)
        self.inside -= 1
        resolve(reply, value)

    def report(self, reply=None) -> None:
        resolve(reply, (list(self.seen), self.overlap, self.started_on))


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
    proxies = [ref.proxy() for ref in refs]
    for value in range(200):
        for proxy in proxies:
            proxy.record.defer(value)
    for proxy in proxies:
        seen, overlap, started_on = ask_sync(proxy.report)
        assert seen == list(range(200))
        assert not overlap
        assert started_on.startswith("job-actors")


def test_thousands_of_actors_share_a_few_threads(actors) -> None:
    before = threading.active_count()
    refs = [Recorder.start() for _ in range(2000)]
    actors.extend(refs)
    assert ask_sync(refs[-1].proxy().record, 7) == 7
    assert threading.active_count() - before <= PooledActor.pool_size


def test_a_stopped_actor_refuses_new_messages(actors) -> None:
    ref = Recorder.start()
    ref.stop()
    with pytest.raises(pykka.ActorDeadError):
        ref.proxy().record.defer(1)
