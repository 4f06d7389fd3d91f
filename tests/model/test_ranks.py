"""Ranks never handed out are a range, not objects: runs of ranks, and a split task's workunits
as its `split` plus the ranks that were handed out (D18 ranks 1..N unchanged)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from awe.model import lifecycle as lc
from awe.model import operations as ops
from awe.model.job import Job, Task, WorkState, Workunit
from awe.model.lifecycle import Effects, Settings
from awe.model.offers import ready_entries
from awe.model.ranks import count, rank_range, runs_of, without
from awe.model.times import ZERO_TIME
from tests.model.offers import offered
from tests.model.scripts import parse, script, task, tid, wid

SETTINGS = Settings()
T1, T2, T3 = "2024-05-01T10:01:00Z", "2024-05-01T10:02:00Z", "2024-05-01T10:03:00Z"


# ---- runs of ranks ------------------------------------------------------------------------------


def test_rank_ranges_follow_d18() -> None:
    assert list(rank_range(0)) == [] and list(rank_range(1)) == [0]
    assert list(rank_range(4)) == [1, 2, 3, 4]


def test_runs_of_joins_consecutive_ranks() -> None:
    assert runs_of([5, 1, 2, 3, 7, 8, 2]) == [(1, 3), (5, 5), (7, 8)]
    assert runs_of([]) == []


def test_without_leaves_ranks_out_of_a_span() -> None:
    assert without(range(1, 11), [3, 4, 10, 99]) == [(1, 2), (5, 9)]
    assert without(range(1, 4), []) == [(1, 3)]
    assert without(range(0), [1]) == []


@given(st.integers(0, 30), st.sets(st.integers(-2, 35)))
@settings(max_examples=200)
def test_without_is_the_span_minus_the_ranks_as_runs(size: int, left_out: set[int]) -> None:
    span = range(1, size + 1)
    runs = without(span, left_out)
    assert runs == runs_of(set(span) - left_out)
    assert count(runs) == len(set(span) - left_out)


# ---- a split task ------------------------------------------------------------------------------


def big(totalwork: int = 100_000) -> tuple[Job, Effects]:
    job = parse(script(task("0", totalwork=totalwork)))
    return job, lc.admit(job, T1, Settings(max_split=totalwork))


def test_a_task_of_100000_workunits_has_no_workunit_object_and_one_offer() -> None:
    job, effects = big()
    only = job.tasks[0]
    assert (only.split, only.units, only.remainwork) == (100_000, {}, 100_000)
    (entry,) = ready_entries(job, effects)
    assert (entry.task_id, entry.runs) == (tid("0"), ((1, 100_000),))


def test_a_checkout_makes_that_one_workunit_an_object() -> None:
    job, _ = big()
    assert lc.checkout(job, wid("0", 7), "c1", T2)
    only = job.tasks[0]
    assert list(only.units) == [7] and only.units[7].state == WorkState.CHECKOUT
    assert only.ranks_in(WorkState.QUEUED) == [(1, 6), (8, 100_000)]
    assert only.unit(8) == Workunit(rank=8)  # a rank never handed out, as a fresh object
    assert only.unit(100_001) is None and only.unit(0) is None


def test_suspend_and_resume_move_the_unstarted_ranks_together_one_change_each() -> None:
    job, _ = big(5)
    assert lc.checkout(job, wid("0", 2), "c1", T2)
    effects = Effects()
    lc.suspend(job, "held", T3, effects)
    only = job.tasks[0]
    assert only.unstarted == WorkState.SUSPEND and list(only.units) == [2]
    changes = [(c.subject, c.old, c.new) for c in effects.changes if c.kind == "workunit"]
    assert changes == [(wid("0", r), "queued" if r != 2 else "checkout", "suspend")
                       for r in range(1, 6)]  # fmt: skip
    assert [u.state for u in only.all_units()] == [WorkState.SUSPEND] * 5
    resumed = ops.resume(job, T3, SETTINGS)
    assert only.unstarted == WorkState.QUEUED
    assert offered(job, resumed) == [wid("0", r) for r in range(1, 6)]


def test_the_store_form_keeps_only_started_workunits_and_reads_back_the_same() -> None:
    job, _ = big(4)
    lc.checkout(job, wid("0", 3), "c1", T2)
    doc = job.to_doc(workunits=False)
    rows = [unit.to_doc() for unit in job.tasks[0].started()]
    assert rows == [job.tasks[0].units[3].to_doc()]
    doc["tasks"][0]["workunits"] = rows  # as the store merges its rows back
    again = Job.from_doc(doc)
    assert again.tasks[0].to_doc() == job.tasks[0].to_doc()
    assert list(again.tasks[0].units) == [3]


def test_a_document_written_before_ranges_reads_its_split_from_its_rows() -> None:
    rows = [Workunit(rank=r).to_doc() for r in (1, 2, 3)]
    rows[1].update(state="done", client="c1", checkout_time=T2, computetime=4)
    old = {"taskid": "j_0", "cmd": {}, "state": "in-progress", "workunits": rows}
    read = Task.from_doc(old)
    assert read.split == 3 and list(read.units) == [2]  # the never-started rows are a range
    assert [u.state for u in read.all_units()] == [WorkState.QUEUED, WorkState.DONE,
                                                   WorkState.QUEUED]  # fmt: skip


def test_the_users_form_lists_every_workunit_in_rank_order() -> None:
    job, _ = big(3)
    lc.checkout(job, wid("0", 2), "c1", T2)
    units = job.to_doc()["tasks"][0]["workunits"]
    assert [(u["rank"], u["state"], u["client"]) for u in units] == [
        (1, "queued", ""), (2, "checkout", "c1"), (3, "queued", "")
    ]  # fmt: skip
    assert units[0]["checkout_time"] == ZERO_TIME


def test_recompute_forgets_the_workunits_and_splits_again() -> None:
    job, effects = big(3)
    for rank in (1, 2, 3):
        assert lc.checkout(job, wid("0", rank), "c1", T2)
        lc.report(job, wid("0", rank), "c1", "done", computetime=1, notes="", now=T3,
                  settings=SETTINGS)  # fmt: skip
    effects = ops.recompute(job, "0", T3, SETTINGS)
    only = job.tasks[0]
    assert (only.split, list(only.units), only.remainwork) == (3, [], 3)
    assert offered(job, effects) == [wid("0", r) for r in (1, 2, 3)]
