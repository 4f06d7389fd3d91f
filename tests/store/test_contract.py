"""The Store contract: the same assertions hold for every back-end (see conftest.open_store)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from awe.store import Batch, JobQuery, Report, Store
from tests.store.jobs import ZERO, job, t


def save_jobs(store: Store, *docs: dict[str, Any]) -> None:
    store.save_batch(Batch(jobs=list(docs)))


def ids(store: Store, query: JobQuery) -> list[str]:
    return [doc["id"] for doc in store.find_jobs(query)[0]]


def matching(store: Store, **query: Any) -> list[str]:
    """Ids matching a query, in id order (for tests about which jobs match, not their order)."""
    return ids(store, JobQuery(order="id", descending=False, limit=0, **query))


# --- documents ----------------------------------------------------------------------------


def test_saved_job_comes_back_equal(store: Store) -> None:
    doc = job(
        "a",
        tasks=[{"taskid": "0", "totalwork": 3, "workstatus": ["done", None], "skip": False}],
        remaintasks=1,
        registered=True,
        notes=None,
        resumed=0,
        info={"userattr": {"nested": {"deep": [1, 2.5, "x", True, None, {"k": "v"}]}}},
        title="naïve — ünïcode ✓",
    )
    save_jobs(store, doc)
    assert store.get_job("a") == doc
    assert store.get_job("missing") is None


def test_saving_a_job_again_replaces_the_whole_document(store: Store) -> None:
    save_jobs(store, job("a", state="queued", extra="old"))
    save_jobs(store, job("a", state="completed"))
    got = store.get_job("a")
    assert got is not None and got["state"] == "completed" and "extra" not in got
    assert store.find_jobs(JobQuery(limit=0))[1] == 1


def test_later_version_of_a_job_in_one_batch_wins(store: Store) -> None:
    save_jobs(store, job("a", state="queued"), job("a", state="in-progress"))
    assert store.get_job("a")["state"] == "in-progress"  # type: ignore[index]


def test_empty_batch_writes_nothing(store: Store) -> None:
    store.save_batch(Batch())
    assert store.find_jobs(JobQuery(limit=0)) == ([], 0)
    assert store.max_jid() == 10000


# --- filters ------------------------------------------------------------------------------


@pytest.fixture
def projects(store: Store) -> Store:
    save_jobs(
        store,
        job("a", state="queued", info={"project": "p1", "userattr": {"sample": "s1"}}),
        job("b", state="completed", info={"project": "p1", "userattr": {"sample": "s2"}}),
        job("c", state="completed", info={"project": "p2", "userattr": {"sample": "s1"}}),
        job("d", state="suspend", info={"project": "p3", "userattr": {}}),
    )
    return store


def test_filter_on_one_value(projects: Store) -> None:
    assert matching(projects, filters={"state": ["completed"]}) == ["b", "c"]


def test_filter_on_several_values_matches_any(projects: Store) -> None:
    assert matching(projects, filters={"state": ["queued", "suspend"]}) == ["a", "d"]


def test_filters_on_several_fields_must_all_hold(projects: Store) -> None:
    query = {"state": ["completed"], "info.project": ["p1"]}
    assert matching(projects, filters=query) == ["b"]


def test_filter_on_nested_dotted_field(projects: Store) -> None:
    assert matching(projects, filters={"info.userattr.sample": ["s1"]}) == ["a", "c"]


def test_filter_with_no_values_matches_nothing(projects: Store) -> None:
    assert matching(projects, filters={"state": []}) == []


def test_filter_matches_strings_exactly(projects: Store) -> None:
    assert matching(projects, filters={"state": ["Completed", "complete", " completed"]}) == []
    assert matching(projects, filters={"info.project": ["p"]}) == []


def test_numeric_and_boolean_fields_never_match_a_string(store: Store) -> None:
    save_jobs(
        store,
        job("n", jid=10005, info={"priority": 1, "flag": True, "ratio": 0.5, "none": None}),
        job("s", jid="10005", info={"priority": "1", "flag": "true", "ratio": "0.5"}),
    )
    assert matching(store, filters={"jid": ["10005"]}) == ["s"]
    assert matching(store, filters={"info.priority": ["1"]}) == ["s"]
    assert matching(store, filters={"info.flag": ["true", "True", "1"]}) == ["s"]
    assert matching(store, filters={"info.ratio": ["0.5"]}) == ["s"]
    assert matching(store, filters={"info.none": ["null", "None", ""]}) == []


def test_filter_never_matches_inside_arrays_or_objects(store: Store) -> None:
    save_jobs(
        store,
        job("arr", info={"tags": ["x", "y"]}, tasks=[{"state": "completed"}]),
        job("obj", info={"tags": {"x": "x"}}),
        job("str", info={"tags": "x"}),
    )
    assert matching(store, filters={"info.tags": ["x"]}) == ["str"]
    assert matching(store, filters={"tasks.state": ["completed"]}) == []
    assert matching(store, filters={"tasks.0.state": ["completed"]}) == []


def test_ids_restrict_the_listing(projects: Store) -> None:
    assert matching(projects, ids=["a", "c", "nope"]) == ["a", "c"]
    assert matching(projects, ids=[]) == []


def test_exclude_ids_remove_jobs(projects: Store) -> None:
    assert matching(projects, exclude_ids=["a", "nope"]) == ["b", "c", "d"]
    assert matching(projects, exclude_ids=[]) == ["a", "b", "c", "d"]
    assert matching(projects, ids=["a", "b"], exclude_ids=["b"]) == ["a"]


def test_date_range_is_half_open_on_submittime_or_completedtime(store: Store) -> None:
    save_jobs(
        store,
        job("at-start", info={"submittime": t(10), "completedtime": ZERO}),
        job("inside", info={"submittime": t(12, 5), "completedtime": t(25)}),
        job("done-inside", info={"submittime": t(1), "completedtime": t(15)}),
        job("at-end", info={"submittime": t(20), "completedtime": ZERO}),
        job("before", info={"submittime": t(1), "completedtime": t(2)}),
        job("after", info={"submittime": t(21), "completedtime": t(22)}),
        job("no-times", info={"submittime": None, "completedtime": None}),
    )
    both = matching(store, date_start=t(10), date_end=t(20))
    assert both == ["at-start", "done-inside", "inside"]
    since = matching(store, date_start=t(20))
    assert since == ["after", "at-end", "inside"]
    until = matching(store, date_end=t(2))
    # an unset (zero) completedtime is not a time: unfinished jobs did not complete before t(2)
    assert until == ["before", "done-inside"]


def test_readable_by_keeps_jobs_the_user_may_read(store: Store) -> None:
    save_jobs(
        store,
        job("own", acl={"owner": "bob", "read": []}),
        job("shared", acl={"owner": "alice", "read": ["alice", "bob"]}),
        job("public", acl={"owner": "alice", "read": ["public"]}),
        job("private", acl={"owner": "alice", "read": ["alice"]}),
        job("no-acl", acl=None),
    )
    assert matching(store, readable_by="bob") == ["own", "public", "shared"]
    assert matching(store, readable_by="public") == ["public"]
    assert matching(store) == ["no-acl", "own", "private", "public", "shared"]


@pytest.mark.parametrize(
    "name", ["", "a b", "state;drop", "a..b", ".a", "a.", "$where", "a'", "a-b", "info.$x"]
)
def test_invalid_field_name_is_refused(store: Store, name: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"invalid field name: {name}")):
        store.find_jobs(JobQuery(filters={name: ["x"]}))
    with pytest.raises(ValueError, match=re.escape(f"invalid field name: {name}")):
        store.find_jobs(JobQuery(order=name))


# --- order and paging ---------------------------------------------------------------------


@pytest.fixture
def timeline(store: Store) -> Store:
    """Jobs whose updatetimes tie in pairs, saved in a scrambled order."""
    save_jobs(
        store,
        job("e", updatetime=t(3), info={"project": "b"}),
        job("b", updatetime=t(1), info={"project": "c"}),
        job("d", updatetime=t(2), info={"project": "a"}),
        job("a", updatetime=t(1), info={"project": "a"}),
        job("c", updatetime=t(2), info={"project": "b"}),
    )
    return store


def test_order_ascending_breaks_ties_by_id(timeline: Store) -> None:
    got = ids(timeline, JobQuery(order="updatetime", descending=False, limit=0))
    assert got == ["a", "b", "c", "d", "e"]


def test_order_descending_still_breaks_ties_by_ascending_id(timeline: Store) -> None:
    got = ids(timeline, JobQuery(order="updatetime", descending=True, limit=0))
    assert got == ["e", "c", "d", "a", "b"]


def test_order_on_nested_field(timeline: Store) -> None:
    got = ids(timeline, JobQuery(order="info.project", descending=False, limit=0))
    assert got == ["a", "d", "c", "e", "b"]


def test_default_query_orders_by_updatetime_newest_first(timeline: Store) -> None:
    assert ids(timeline, JobQuery()) == ["e", "c", "d", "a", "b"]


def test_offset_and_limit_page_and_total_counts_all_matches(timeline: Store) -> None:
    query = JobQuery(order="id", descending=False, offset=1, limit=2)
    docs, total = timeline.find_jobs(query)
    assert [d["id"] for d in docs] == ["b", "c"] and total == 5
    docs, total = timeline.find_jobs(JobQuery(order="id", descending=False, offset=4, limit=2))
    assert [d["id"] for d in docs] == ["e"] and total == 5
    assert timeline.find_jobs(JobQuery(offset=9, limit=2)) == ([], 5)


def test_total_counts_filtered_matches_before_paging(timeline: Store) -> None:
    query = JobQuery(filters={"info.project": ["a", "b"]}, order="id", descending=False, limit=1)
    docs, total = timeline.find_jobs(query)
    assert [d["id"] for d in docs] == ["a"] and total == 4


@pytest.mark.parametrize("limit", [0, -1])
def test_limit_zero_or_less_means_all(timeline: Store, limit: int) -> None:
    docs, total = timeline.find_jobs(JobQuery(order="id", descending=False, offset=1, limit=limit))
    assert [d["id"] for d in docs] == ["b", "c", "d", "e"] and total == 5


def test_many_jobs_page_through_without_gaps_or_repeats(store: Store) -> None:
    save_jobs(store, *(job(f"j{i:03d}", updatetime=t(1 + i % 3)) for i in range(60)))
    seen: list[str] = []
    for offset in range(0, 60, 7):
        seen += ids(store, JobQuery(order="updatetime", offset=offset, limit=7))
    assert sorted(seen) == sorted(f"j{i:03d}" for i in range(60))
    assert len(seen) == 60


# --- recovery, jid, reports, perf ---------------------------------------------------------


def test_load_unfinished_jobs_oldest_submission_first(store: Store) -> None:
    states = ["completed", "suspend", "deleted", "init", "in-progress", "queued"]
    days = [1, 5, 2, 9, 3, 7]
    save_jobs(
        store,
        *(job(s, state=s, info={"submittime": t(d)}) for s, d in zip(states, days, strict=True)),
    )
    got = [doc["id"] for doc in store.load_unfinished_jobs()]
    assert got == ["in-progress", "suspend", "queued", "init"]
    assert store.load_unfinished_jobs()[0] == store.get_job("in-progress")
    assert store.unfinished_job_ids() == ["in-progress", "suspend", "queued", "init"]


def test_unfinished_ids_tie_on_submission_by_id(store: Store) -> None:
    save_jobs(store, *(job(n, state="queued", info={"submittime": t(1)}) for n in "cab"))
    assert store.unfinished_job_ids() == ["a", "b", "c"]


def test_get_jobs_reads_many_jobs_whole_and_skips_missing_ones(store: Store) -> None:
    save_jobs(store, job("a"), job("b"), job("c"))
    store.save_batch(
        Batch(
            workunits=[{"wuid": "b_0_1", "job_id": "b", "taskid": "b_0", "rank": 1}],
            history=[{"job_id": "a", "seq": 0, "row": [1, "x"]}],
        )
    )
    got = store.get_jobs(["b", "missing", "a"])
    assert got == [store.get_job("b"), store.get_job("a")]
    assert store.get_jobs([]) == []
    assert "history" not in store.get_jobs(["a"], history=False)[0]  # recovery needs none
    assert store.job_history("a") == [[1, "x"]] and store.job_history("b") == []


def test_max_jid_is_10000_before_any_job(store: Store) -> None:
    assert store.max_jid() == 10000


def test_max_jid_follows_numbers_across_digit_growth(store: Store) -> None:
    save_jobs(store, job("a", jid="99999"), job("b", jid="100000"), job("c", jid="20000"))
    assert store.max_jid() == 100000
    save_jobs(store, job("d", jid="99998"))
    assert store.max_jid() == 100000
    save_jobs(store, job("e", jid="1000000"))
    assert store.max_jid() == 1000000


def test_max_jid_never_goes_down_when_a_job_is_saved_again(store: Store) -> None:
    save_jobs(store, job("a", jid="10002"))
    save_jobs(store, job("a", jid="10001"))
    assert store.max_jid() == 10002


def test_reports_replace_per_wuid_and_name(store: Store) -> None:
    binary = bytes(range(256))
    store.save_batch(
        Batch(
            reports=[
                Report(job_id="a", wuid="a_0_1", name="stdout", content=b"first"),
                Report(job_id="a", wuid="a_0_1", name="stderr", content=binary),
                Report(job_id="a", wuid="a_0_2", name="stdout", content=b""),
            ]
        )
    )
    store.save_batch(Batch(reports=[Report("a", "a_0_1", "stdout", b"second")]))
    assert store.get_report("a_0_1", "stdout") == b"second"
    assert store.get_report("a_0_1", "stderr") == binary
    assert store.get_report("a_0_2", "stdout") == b""
    assert store.get_report("a_0_2", "stderr") is None
    assert store.get_report("nope", "stdout") is None


def test_perf_round_trip_and_replace(store: Store) -> None:
    perf = {
        "id": "a",
        "queued": 1700000000,
        "start": 1700000001,
        "end": 0,
        "resp": 0,
        "task_stats": {"a_0": {"queued": 1, "size_infile": [1, 2]}},
        "work_stats": {"a_0_1": {"runtime": 2.5, "client_id": "c1", "max_mem_usage": -1}},
    }
    store.save_batch(Batch(perf=[perf]))
    assert store.get_perf("a") == perf
    store.save_batch(Batch(perf=[{**perf, "end": 5}]))
    assert store.get_perf("a") == {**perf, "end": 5}
    assert store.get_perf("nope") is None


def test_one_batch_writes_jobs_reports_and_perf(store: Store) -> None:
    doc = job("a", jid="10042", state="completed")
    store.save_batch(
        Batch(
            jobs=[doc],
            reports=[Report("a", "a_0_1", "worknotes", b"notes")],
            perf=[{"id": "a", "queued": 1}],
        )
    )
    assert store.get_job("a") == doc
    assert store.get_report("a_0_1", "worknotes") == b"notes"
    assert store.get_perf("a") == {"id": "a", "queued": 1}
    assert store.max_jid() == 10042


def test_reopened_store_sees_everything(open_store) -> None:  # noqa: ANN001
    first = open_store()
    jobs = [job("a", jid="10001", state="queued"), job("b", jid="100000", state="completed")]
    first.save_batch(
        Batch(
            jobs=jobs,
            reports=[Report("a", "a_0_1", "stdout", b"out")],
            perf=[{"id": "b", "end": 9}],
        )
    )
    first.close()
    second = open_store()
    assert [second.get_job("a"), second.get_job("b")] == jobs
    assert second.get_report("a_0_1", "stdout") == b"out"
    assert second.get_perf("b") == {"id": "b", "end": 9}
    assert second.max_jid() == 100000
    assert [d["id"] for d in second.load_unfinished_jobs()] == ["a"]
    assert second.find_jobs(JobQuery(limit=0))[1] == 2


def test_describe_names_the_back_end(store: Store) -> None:
    text = store.describe()
    assert text.startswith(("embedded SQLite store at /", "MongoDB store "))


# --- workunits ------------------------------------------------------------------------------


def unit(job_id: str, task: str, rank: int, state: str = "queued", **more: Any) -> dict[str, Any]:
    wuid = f"{job_id}_{task}_{rank}"
    return {"wuid": wuid, "job_id": job_id, "taskid": f"{job_id}_{task}", "rank": rank,
            "state": state, "failed": 0, "client": "", **more}  # fmt: skip


def with_tasks(job_id: str, state: str = "in-progress") -> dict[str, Any]:
    return job(job_id, state=state, tasks=[{"taskid": f"{job_id}_0"}, {"taskid": f"{job_id}_1"}])


def test_workunits_come_back_in_their_tasks_by_rank(store: Store) -> None:
    store.save_batch(
        Batch(jobs=[with_tasks("a")], workunits=[unit("a", "0", r) for r in (3, 1, 2)])
    )
    tasks = store.get_job("a")["tasks"]
    assert [u["rank"] for u in tasks[0]["workunits"]] == [1, 2, 3]
    assert tasks[0]["workunits"][0] == {"rank": 1, "state": "queued", "failed": 0, "client": ""}
    assert "workunits" not in tasks[1]


def test_a_workunit_row_is_replaced_and_removed_on_its_own(store: Store) -> None:
    store.save_batch(
        Batch(jobs=[with_tasks("a")], workunits=[unit("a", "0", 1), unit("a", "0", 2)])
    )
    store.save_batch(Batch(workunits=[unit("a", "0", 2, "done", computetime=5)]))
    units = store.get_job("a")["tasks"][0]["workunits"]
    assert [(u["rank"], u["state"]) for u in units] == [(1, "queued"), (2, "done")]
    assert units[1]["computetime"] == 5
    store.save_batch(Batch(removed_workunits=["a_0_1"], workunits=[unit("a", "1", 0)]))
    tasks = store.get_job("a")["tasks"]
    assert [u["rank"] for u in tasks[0]["workunits"]] == [2]
    assert [u["rank"] for u in tasks[1]["workunits"]] == [0]


def test_recovery_loads_workunits_and_listings_leave_them_out(store: Store) -> None:
    store.save_batch(
        Batch(
            jobs=[with_tasks("a"), with_tasks("b", state="completed")],
            workunits=[unit("a", "0", 0, "checkout", client="c1"), unit("b", "0", 0, "done")],
        )
    )
    (recovered,) = store.load_unfinished_jobs()
    assert recovered["tasks"][0]["workunits"][0]["client"] == "c1"
    listed = store.find_jobs(JobQuery(limit=0))[0]
    assert all("workunits" not in task for doc in listed for task in doc["tasks"])


def event(job_id: str, seq: int, new: str = "queued") -> dict[str, Any]:
    return {"job_id": job_id, "seq": seq, "row": [seq + 40, "t", "job", "", "init", new, "r", ""]}


def test_history_rows_come_back_in_order_trimmed_and_go_with_their_job(store: Store) -> None:
    store.save_batch(Batch(jobs=[with_tasks("a")], history=[event("a", 1), event("a", 0)]))
    assert [row[0] for row in store.get_job("a")["history"]] == [40, 41]
    store.save_batch(Batch(history=[event("a", 2), event("a", 1, "suspend")],
                           history_from={"a": 1}))  # fmt: skip
    (recovered,) = store.load_unfinished_jobs()
    assert [(row[0], row[5]) for row in recovered["history"]] == [(41, "suspend"), (42, "queued")]
    assert "history" not in store.find_jobs(JobQuery(limit=0))[0][0]
    assert store.delete_job("a")
    store.save_batch(Batch(jobs=[with_tasks("a")]))  # the same id again starts with none
    assert "history" not in store.get_job("a")


def test_a_bad_workunit_row_writes_nothing(store: Store) -> None:
    with pytest.raises(ValueError, match="taskid"):
        store.save_batch(
            Batch(jobs=[with_tasks("a")], workunits=[{"wuid": "a_0_0", "job_id": "a"}])
        )
    assert store.get_job("a") is None


def test_job_reports_returns_one_kind_of_report_of_one_job(store: Store) -> None:
    store.save_batch(
        Batch(
            reports=[
                Report("a", "a_0_1", "perf", b'{"runtime": 1}'),
                Report("a", "a_0_2", "perf", b'{"runtime": 2}'),
                Report("a", "a_0_1", "stdout", b"out"),
                Report("b", "b_0_0", "perf", b"{}"),
            ]
        )
    )
    assert store.job_reports("a", "perf") == {
        "a_0_1": b'{"runtime": 1}',
        "a_0_2": b'{"runtime": 2}',
    }
    assert store.job_reports("c", "perf") == {}
