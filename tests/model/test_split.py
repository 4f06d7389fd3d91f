"""Splitting a task into workunits (spec 5.2, D18)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from awe.model.job import Task, WorkState
from awe.model.split import (
    MIB,
    make_workunits,
    split_input,
    unit_ranges,
    workunit_count,
)


def make_task(totalwork: int = 1, maxworksize: int = 0, inputs: list[dict[str, Any]] | None = None
              ) -> Task:  # fmt: skip
    return Task(id="j_0", cmd={"name": "x"}, totalwork=totalwork, maxworksize=maxworksize,
                inputs=inputs or [])  # fmt: skip


def test_totalwork_is_the_count() -> None:
    assert workunit_count(make_task(1)) == 1
    assert workunit_count(make_task(4)) == 4


def test_totalwork_below_one_counts_as_one() -> None:
    assert workunit_count(make_task(0)) == 1


def test_maxworksize_raises_the_count_by_the_input_size() -> None:
    task = make_task(2, maxworksize=1, inputs=[{"filename": "a", "size": 3 * MIB + 1}])
    assert workunit_count(task) == 4  # ceil(3 MiB + 1 byte / 1 MiB)


def test_maxworksize_never_lowers_totalwork() -> None:
    task = make_task(8, maxworksize=2, inputs=[{"filename": "a", "size": 3 * MIB}])
    assert workunit_count(task) == 8


def test_maxworksize_with_an_exact_multiple() -> None:
    task = make_task(1, maxworksize=2, inputs=[{"filename": "a", "size": 6 * MIB}])
    assert workunit_count(task) == 3


@pytest.mark.parametrize(
    "inputs",
    [
        [],
        [{"filename": "a"}],
        [{"filename": "a", "size": 0}],
        [{"filename": "a", "size": 9 * MIB}, {"filename": "b", "size": 9 * MIB}],
    ],
)
def test_maxworksize_needs_one_input_of_known_size(inputs: list[dict[str, Any]]) -> None:
    assert workunit_count(make_task(2, maxworksize=1, inputs=inputs)) == 2


def test_nofile_inputs_do_not_count_for_maxworksize() -> None:
    inputs = [{"filename": "a", "size": 5 * MIB}, {"filename": "flag", "nofile": True, "size": 1}]
    assert workunit_count(make_task(1, maxworksize=1, inputs=inputs)) == 5


def test_one_workunit_is_rank_zero_alone() -> None:
    units = make_workunits(make_task(1))
    assert [u.rank for u in units] == [0]
    assert units[0].state == WorkState.QUEUED


def test_several_workunits_are_ranks_one_to_n() -> None:
    units = make_workunits(make_task(3))
    assert [u.rank for u in units] == [1, 2, 3]
    assert all(u.state == WorkState.QUEUED and u.failed == 0 and u.client == "" for u in units)


def test_the_one_data_input_of_a_split_task_is_split() -> None:
    task = make_task(3, inputs=[{"filename": "reads"}, {"filename": "flag", "nofile": True}])
    task.workunits = make_workunits(task)
    assert split_input(task) == "reads"


def test_an_unsplit_task_splits_nothing() -> None:
    task = make_task(1, inputs=[{"filename": "reads"}])
    task.workunits = make_workunits(task)
    assert split_input(task) is None


def test_two_data_inputs_are_both_given_whole() -> None:
    task = make_task(3, inputs=[{"filename": "a"}, {"filename": "b"}])
    task.workunits = make_workunits(task)
    assert split_input(task) is None


def test_unit_ranges_spec_example() -> None:
    assert unit_ranges(10, 4) == ["1-3", "4-6", "7-8", "9-10"]


def test_unit_ranges_of_single_units_have_no_dash() -> None:
    assert unit_ranges(3, 3) == ["1", "2", "3"]
    assert unit_ranges(1, 1) == ["1"]
    assert unit_ranges(5, 1) == ["1-5"]


def _expand(text: str) -> list[int]:
    start, _, end = text.partition("-")
    return list(range(int(start), int(end or start) + 1))


@given(st.integers(min_value=1, max_value=500).flatmap(
    lambda units: st.tuples(st.just(units), st.integers(min_value=1, max_value=units))
))  # fmt: skip
def test_unit_ranges_cover_every_unit_exactly_once(case: tuple[int, int]) -> None:
    total, count = case
    ranges = unit_ranges(total, count)
    assert len(ranges) == count
    covered = [unit for text in ranges for unit in _expand(text)]
    assert covered == list(range(1, total + 1))
    sizes = [len(_expand(text)) for text in ranges]
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)  # the larger shares come first


def test_maxworksize_never_splits_past_the_cap() -> None:
    task = make_task(2, maxworksize=1, inputs=[{"filename": "a", "size": 10**6 * MIB}])
    assert workunit_count(task) == 10**6
    assert workunit_count(task, cap=500) == 500
    assert len(make_workunits(task, cap=500)) == 500
    assert workunit_count(make_task(700), cap=500) == 700  # totalwork itself is checked at submit
