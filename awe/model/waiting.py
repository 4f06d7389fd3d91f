"""Checkouts waiting for work (long polls, D7), oldest first, grouped by what they can take.

When work is offered, the queue hands it to the oldest waiting checkout that can take it.
Walking every waiting checkout on every offer costs the number of waiting workers each time
(10,000 in a big fleet); waiters are kept instead in *kinds*: checkouts of clients of the same
group and apps that ask nothing more (no skip list, no size limit) take exactly the same work,
so when the oldest of a kind can take nothing, none of that kind can. An offer then costs the
number of kinds plus the number served. A checkout with a skip list or a size limit is a kind
of its own.

A checkout its handler gave up on (its long poll ran out) stays until it reaches the front of
its kind or the next purge, which runs once as many have been added as were waiting.
"""

from __future__ import annotations

import collections
import heapq
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

from awe.model.matching import ClientView

T = TypeVar("T")  # what waits (the queue's Pick)
E = TypeVar("E")  # what it gets (a ready entry)


class Waiters(Generic[T]):
    """Waiting checkouts by token (a number that grows with arrival). One owner: the queue."""

    def __init__(self, alive: Callable[[T], bool]) -> None:
        self._alive = alive  # False once its handler gave up or it was answered
        self._kinds: dict[Hashable, collections.OrderedDict[int, T]] = {}
        self._where: dict[int, tuple[Hashable, str]] = {}  # token -> (kind, client id)
        self._added_since_purge = 0

    def __len__(self) -> int:
        return len(self._where)

    def live(self) -> int:
        """How many still wait (gave-up ones not yet purged are not counted)."""
        return sum(1 for item in self.items() if self._alive(item))

    def items(self) -> Iterator[T]:
        for waiting in self._kinds.values():
            yield from waiting.values()

    def add(self, token: int, client: ClientView, available: int | None, item: T) -> None:
        plain = not client.skip_work and (available is None or available < 0)
        kind: Hashable = (client.group, client.apps) if plain else ("one", token)
        self._kinds.setdefault(kind, collections.OrderedDict())[token] = item
        self._where[token] = (kind, client.id)
        self._added_since_purge += 1
        if self._added_since_purge > max(64, len(self._where) // 2):
            self.purge()

    def remove(self, token: int) -> T | None:
        found = self._where.pop(token, None)
        if found is None:
            return None
        kind = found[0]
        waiting = self._kinds[kind]
        item = waiting.pop(token)
        if not waiting:
            del self._kinds[kind]
        return item

    def remove_client(self, client_id: str) -> list[T]:
        """Every checkout of one client (it was lost, suspended or deleted)."""
        tokens = [token for token, (_, owner) in self._where.items() if owner == client_id]
        return [item for item in map(self.remove, tokens) if item is not None]

    def take_all(self) -> list[T]:
        items = list(self.items())
        self._kinds.clear()
        self._where.clear()
        return items

    def purge(self) -> None:
        """Forget checkouts whose handlers gave up."""
        self._added_since_purge = 0
        for waiting in list(self._kinds.values()):
            for token, item in list(waiting.items()):
                if not self._alive(item):
                    self.remove(token)

    def serve(self, take: Callable[[T], E | None]) -> list[tuple[T, E]]:
        """Hand out work, oldest checkout first, while some kind's oldest can take something.

        `take(item)` returns what the item gets (and removes it from the ready work), or None.
        """
        served: list[tuple[T, E]] = []
        heads = [(token, kind) for kind in self._kinds if (token := self._head(kind)) is not None]
        heapq.heapify(heads)
        while heads:
            token, kind = heapq.heappop(heads)
            item = self._kinds[kind][token]
            got = take(item)
            if got is None:
                continue  # nothing for this kind now: the others of the kind can take nothing
            self.remove(token)
            served.append((item, got))
            if (after := self._head(kind)) is not None:
                heapq.heappush(heads, (after, kind))
        return served

    def _head(self, kind: Hashable) -> int | None:
        """The oldest checkout of a kind still waiting; gave-up ones in front are dropped."""
        waiting = self._kinds.get(kind)
        while waiting:
            token, item = next(iter(waiting.items()))
            if self._alive(item):
                return token
            self.remove(token)
            waiting = self._kinds.get(kind)
        return None
