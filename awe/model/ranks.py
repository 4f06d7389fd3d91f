"""Ranks of a split task as runs `(first, last)` of consecutive ranks, so that a task of 100,000
workunits that none has started is one pair of numbers, not 100,000 objects (D18: ranks 1..N,
rank 0 alone when N is 1)."""

from __future__ import annotations

from collections.abc import Iterable

Run = tuple[int, int]  # first and last rank, both included


def rank_range(split: int) -> range:
    """The ranks of a task split into `split` workunits: 0 alone, or 1..N (none before a split)."""
    if split <= 0:
        return range(0)
    return range(0, 1) if split == 1 else range(1, split + 1)


def runs_of(ranks: Iterable[int]) -> list[Run]:
    """Sorted, distinct ranks as runs of consecutive ones."""
    out: list[Run] = []
    for rank in sorted(set(ranks)):
        if out and out[-1][1] == rank - 1:
            out[-1] = (out[-1][0], rank)
        else:
            out.append((rank, rank))
    return out


def without(span: range, left_out: Iterable[int]) -> list[Run]:
    """The ranks of `span` (a step-1 range) except `left_out`, as runs: linear in what is left
    out, not in the span."""
    out: list[Run] = []
    start = span.start
    for rank in sorted(r for r in set(left_out) if r in span):
        if rank > start:
            out.append((start, rank - 1))
        start = rank + 1
    if start < span.stop:
        out.append((start, span.stop - 1))
    return out


def count(runs: Iterable[Run]) -> int:
    """How many ranks the runs hold."""
    return sum(last - first + 1 for first, last in runs)
