"""Splitting a task into workunits (spec 5.2, decision D18)."""

from __future__ import annotations

import math

from awe.model.job import Task, Workunit

MIB = 1024 * 1024


def workunit_count(task: Task, cap: int | None = None) -> int:
    """`totalwork`, raised by `maxworksize` (MB per workunit) when the input size is known.

    `cap` (limits.totalwork_per_task) bounds what `maxworksize` may raise the count to: a huge
    input then gets fewer, larger workunits instead of a split no server can hold.
    """
    count = max(1, task.totalwork)
    if task.maxworksize > 0:
        sizes = [i.get("size", 0) for i in task.inputs if not i.get("nofile")]
        if len(sizes) == 1 and isinstance(sizes[0], int) and sizes[0] > 0:
            wanted = math.ceil(sizes[0] / (task.maxworksize * MIB))
            count = max(count, wanted if cap is None else min(wanted, cap))
    return count


def make_workunits(task: Task, cap: int | None = None) -> list[Workunit]:
    """Rank 0 alone for an unsplit task, else ranks 1..N (D18: N workunits whatever the input)."""
    count = workunit_count(task, cap)
    ranks = [0] if count == 1 else list(range(1, count + 1))
    return [Workunit(rank=rank) for rank in ranks]


def split_input(task: Task) -> str | None:
    """The filename each rank gets only its share of: the task's one data input, if it has one."""
    data_inputs = [i for i in task.inputs if not i.get("nofile")]
    if len(task.workunits) > 1 and len(data_inputs) == 1:
        return data_inputs[0]["filename"]
    return None


def unit_ranges(total_units: int, count: int) -> list[str]:
    """AWE's chunk ranges per rank: `q+1` units for the first `rem` ranks, `q` after (1-based)."""
    quotient, remainder = divmod(total_units, count)
    ranges, start = [], 1
    for rank in range(count):
        size = quotient + (1 if rank < remainder else 0)
        end = start + size - 1
        ranges.append(f"{start}" if start == end else f"{start}-{end}")
        start = end + 1
    return ranges
