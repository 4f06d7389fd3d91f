"""The paced garbage collector: frozen objects are kept out of young collections, and a full
collection still frees a cycle that became garbage after it was frozen."""

from __future__ import annotations

import gc
import weakref

import pytest

from awe.collector import FrozenGenerations


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def collector() -> FrozenGenerations:
    made = FrozenGenerations(growth=1.0, floor=0, min_interval_s=0.0)
    yield made
    gc.unfreeze()


def cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_a_frozen_cycle_waits_for_the_full_collection(collector: FrozenGenerations) -> None:
    collector.start()
    ref = cycle()  # garbage at once, but only the cycle collector can free it
    collector.tick()  # frozen now: a young collection no longer looks at it
    gc.collect()
    assert ref() is not None
    assert collector.collect_all() >= 2
    assert ref() is None


def test_tick_runs_a_full_collection_once_frozen_objects_doubled(
    collector: FrozenGenerations,
) -> None:
    collector.start()
    base = gc.get_freeze_count()
    kept = [Node() for _ in range(base + 1000)]  # more than doubles what is frozen
    ref = cycle()
    collector.tick()
    assert ref() is None  # the tick saw the growth and collected everything
    assert gc.get_freeze_count() >= len(kept)


def test_tick_waits_for_the_minimum_interval() -> None:
    paced = FrozenGenerations(growth=0.0, floor=0, min_interval_s=3600.0)
    try:
        paced.start()
        ref = cycle()
        paced.tick()
        assert ref() is not None  # frozen, and no full collection before the interval
    finally:
        gc.unfreeze()
        gc.collect()
