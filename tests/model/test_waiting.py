"""Waiting checkouts: oldest first among those that can take the work, without walking all."""

from __future__ import annotations

from dataclasses import dataclass

from awe.model.matching import ClientView
from awe.model.waiting import Waiters


@dataclass
class Poll:
    """A waiting checkout as the queue keeps one: its client, and whether it still waits."""

    client: ClientView
    waiting: bool = True


def view(cid: str, group: str = "default", apps: tuple[str, ...] = ("*",), skip=()) -> ClientView:
    return ClientView(cid, group, frozenset(apps), frozenset(skip))


def waiters_of(*polls: Poll, available: int | None = None) -> Waiters[Poll]:
    waiters: Waiters[Poll] = Waiters(lambda p: p.waiting)
    for token, poll in enumerate(polls, start=1):
        waiters.add(token, poll.client, available, poll)
    return waiters


def taker(work: list[str]):  # noqa: ANN201 - a `take` that hands out `work` to any group "big"
    asked: list[str] = []

    def take(poll: Poll) -> str | None:
        asked.append(poll.client.id)
        if work and poll.client.group == "big":
            return work.pop(0)
        return None

    return take, asked


def test_work_goes_to_the_oldest_checkouts_that_can_take_it() -> None:
    polls = [Poll(view("a")), Poll(view("b", "big")), Poll(view("c")), Poll(view("d", "big"))]
    waiters = waiters_of(*polls)
    take, _ = taker(["w1"])
    assert [(p.client.id, w) for p, w in waiters.serve(take)] == [("b", "w1")]
    assert len(waiters) == 3
    take, _ = taker(["w2", "w3"])
    assert [(p.client.id, w) for p, w in waiters.serve(take)] == [("d", "w2")]
    assert len(waiters) == 2


def test_one_refusal_of_a_kind_stands_for_the_whole_kind() -> None:
    waiters = waiters_of(*(Poll(view(f"idle{i}")) for i in range(1000)), Poll(view("x", "big")))
    take, asked = taker(["w"])
    assert [p.client.id for p, _ in waiters.serve(take)] == ["x"]
    assert asked == ["idle0", "x"]  # not a thousand questions


def test_a_skip_list_or_a_size_limit_makes_a_kind_of_its_own() -> None:
    skipping = Poll(view("s", "big", skip=["w"]))
    plain = Poll(view("p", "big"))
    waiters = waiters_of(skipping, plain)
    asked: list[str] = []

    def take(poll: Poll) -> str | None:
        asked.append(poll.client.id)
        return None if poll.client.skip_work else "w"

    assert [p.client.id for p, _ in waiters.serve(take)] == ["p"]
    assert asked == ["s", "p"]
    limited = waiters_of(Poll(view("a", "big")), Poll(view("b", "big")), available=10)
    fits = {"a": None, "b": "w"}  # a's disk is too small for w, b's is not
    assert [p.client.id for p, _ in limited.serve(lambda p: fits[p.client.id])] == ["b"]


def test_checkouts_given_up_are_skipped_and_purged() -> None:
    gone = [Poll(view(f"g{i}", "big"), waiting=False) for i in range(3)]
    waiters = waiters_of(*gone, Poll(view("live", "big")))
    take, asked = taker(["w"])
    assert [p.client.id for p, _ in waiters.serve(take)] == ["live"]
    assert asked == ["live"] and len(waiters) == 0
    many: Waiters[Poll] = Waiters(lambda p: p.waiting)
    for token in range(1, 1001):
        many.add(token, view(f"c{token}"), None, Poll(view(f"c{token}"), waiting=False))
    assert len(many) < 200  # purged as they are added, not kept forever
    assert many.live() == 0


def test_a_clients_checkouts_are_removed_together() -> None:
    waiters = waiters_of(Poll(view("a")), Poll(view("b")), Poll(view("a")))
    assert [p.client.id for p in waiters.remove_client("a")] == ["a", "a"]
    assert [p.client.id for p in waiters.take_all()] == ["b"]
    assert len(waiters) == 0 and waiters.remove(2) is None
