"""Store contract, continued: full deletion, distinct values and expired jobs (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest

from awe.store import Batch, JobQuery, Report, Store
from tests.store.jobs import ZERO, job, t


def unit(job_id: str, rank: int) -> dict[str, Any]:
    return {"wuid": f"{job_id}_0_{rank}", "job_id": job_id, "taskid": f"{job_id}_0",
            "rank": rank, "state": "done"}  # fmt: skip


def full_job(job_id: str, **overrides: Any) -> Batch:
    """A job with a workunit, two reports and a perf record."""
    return Batch(
        jobs=[job(job_id, tasks=[{"taskid": f"{job_id}_0"}], **overrides)],
        workunits=[unit(job_id, 0)],
        reports=[Report(job_id, f"{job_id}_0_0", n, b"x") for n in ("stdout", "perf")],
        perf=[{"id": job_id, "queued": 1}],
    )


def test_delete_job_removes_the_document_workunits_reports_and_perf(open_store) -> None:  # noqa: ANN001
    store = open_store()
    store.save_batch(full_job("a"))
    store.save_batch(full_job("b"))
    assert store.delete_job("a") is True
    for reader in (store, open_store()):  # durable: a reopened store agrees
        assert reader.get_job("a") is None
        assert reader.get_report("a_0_0", "stdout") is None
        assert reader.job_reports("a", "perf") == {}
        assert reader.get_perf("a") is None
        assert [d["id"] for d in reader.find_jobs(JobQuery(limit=0))[0]] == ["b"]
        assert reader.get_job("b")["tasks"][0]["workunits"][0]["rank"] == 0  # type: ignore[index]
        assert reader.get_report("b_0_0", "stdout") == b"x"
    assert store.delete_job("a") is False  # already gone: nothing to do, no error


def test_distinct_lists_each_scalar_value_once_sorted(store: Store) -> None:
    store.save_batch(
        Batch(
            jobs=[
                job("a", info={"pipeline": "mgrast-prod", "priority": 3}),
                job("b", info={"pipeline": "inbox", "priority": 1}),
                job("c", info={"pipeline": "mgrast-prod", "priority": 3}),
                job("d", info={"pipeline": None, "priority": 2}),
                job("e", info={"pipeline": ["not", "scalar"]}),
                job("f", info={"pipeline": {"nested": 1}}),
            ]
        )
    )
    assert store.distinct("info.pipeline", JobQuery()) == ["inbox", "mgrast-prod"]
    assert store.distinct("info.priority", JobQuery()) == [1, 2, 3]
    assert store.distinct("info.missing", JobQuery()) == []


def test_distinct_honours_the_query_and_the_acl(store: Store) -> None:
    store.save_batch(
        Batch(
            jobs=[
                job("a", info={"pipeline": "p1", "project": "x"}),
                job("b", info={"pipeline": "p2", "project": "y"}),
                job("c", info={"pipeline": "p3", "project": "x"},
                    acl={"owner": "bob", "read": ["bob"]}),
            ]
        )
    )  # fmt: skip
    x_only = JobQuery(filters={"info.project": ["x"]})
    assert store.distinct("info.pipeline", x_only) == ["p1", "p3"]
    assert store.distinct("info.pipeline", JobQuery(readable_by="alice")) == ["p1", "p2"]


@pytest.mark.parametrize("name", ["info.$where", "a b", ""])
def test_distinct_refuses_a_bad_field_name(store: Store, name: str) -> None:
    with pytest.raises(ValueError, match="invalid field name"):
        store.distinct(name, JobQuery())


def test_expired_jobs_are_finished_jobs_whose_expiration_passed(store: Store) -> None:
    store.save_batch(
        Batch(
            jobs=[
                job("done-old", state="completed", expiration=t(2)),
                job("deleted-old", state="deleted", expiration=t(3)),
                job("done-later", state="completed", expiration=t(9)),
                job("done-never", state="completed", expiration=ZERO),
                job("done-unset", state="completed"),
                job("running-old", state="in-progress", expiration=t(2)),
                job("suspended-old", state="suspend", expiration=t(2)),
            ]
        )
    )
    assert store.expired_job_ids(t(5)) == ["deleted-old", "done-old"]
    assert store.expired_job_ids(t(3)) == ["done-old"]  # the expiration itself is not past yet
