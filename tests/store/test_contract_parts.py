"""The Store contract for jobs written in part (JobActor snapshots), on every back-end.

A snapshot writes a job's fields and only the tasks that changed; reading the job back gives
the same document as if it had been written whole.
"""

from __future__ import annotations

import json
from typing import Any

from awe.store import Batch, JobQuery, Store
from awe.store.base import JobPart
from awe.store.rules import split_job
from tests.store.jobs import job, t


def tasks(n: int, state: str = "queued") -> list[dict[str, Any]]:
    return [{"taskid": f"a_{i}", "state": state, "cmd": {"name": f"c{i}"}} for i in range(n)]


def part(doc: dict[str, Any], changed: dict[int, dict[str, Any]]) -> JobPart:
    """`doc`'s fields with the tasks of `changed` (index -> task document)."""
    header = {k: v for k, v in doc.items() if k != "tasks"}
    texts = {n: json.dumps(task) for n, task in changed.items()}
    return JobPart(doc["id"], doc["jid"], json.dumps(header), texts)


def test_a_part_changes_the_fields_and_only_the_tasks_it_names(store: Store) -> None:
    doc = job("a", tasks=tasks(4))
    store.save_batch(Batch(parts=[split_job(doc)]))
    later = {**doc, "state": "in-progress", "updatetime": t(2)}
    changed = {**doc["tasks"][2], "state": "completed"}
    store.save_batch(Batch(parts=[part(later, {2: changed})]))
    expected = {**later, "tasks": [*doc["tasks"][:2], changed, doc["tasks"][3]]}
    assert store.get_job("a") == expected
    assert store.find_jobs(JobQuery(limit=0))[0] == [expected]
    assert store.load_unfinished_jobs() == [expected]


def test_parts_of_one_job_in_a_batch_apply_in_order(store: Store) -> None:
    doc = job("a", tasks=tasks(3))
    first = part({**doc, "state": "in-progress"}, {0: {**doc["tasks"][0], "state": "x"}})
    second = part({**doc, "state": "completed"}, {0: {**doc["tasks"][0], "state": "y"},
                                                   1: {**doc["tasks"][1], "state": "z"}})  # fmt: skip
    store.save_batch(Batch(parts=[split_job(doc), first, second]))
    got = store.get_job("a")
    assert got is not None and got["state"] == "completed"
    assert [task["state"] for task in got["tasks"]] == ["y", "z", "queued"]


def test_a_whole_job_written_again_drops_the_tasks_it_no_longer_has(store: Store) -> None:
    store.save_batch(Batch(parts=[split_job(job("a", tasks=tasks(5)))]))
    store.save_batch(Batch(jobs=[job("a", tasks=tasks(2, "completed"))]))
    assert store.get_job("a") == job("a", tasks=tasks(2, "completed"))


def test_task_lists_empty_or_missing_come_back_as_they_were(store: Store) -> None:
    without = {k: v for k, v in job("none").items() if k != "tasks"}
    store.save_batch(Batch(jobs=[without, job("empty", tasks=[])]))
    assert store.get_job("none") == without
    assert store.get_job("empty") == job("empty", tasks=[])


def test_a_listing_page_gives_every_job_its_own_tasks_in_order(store: Store) -> None:
    docs = [job(f"j{i}", tasks=tasks(i + 1), updatetime=t(1, i)) for i in range(5)]
    store.save_batch(Batch(parts=[split_job(doc) for doc in docs]))
    page, total = store.find_jobs(JobQuery(order="id", descending=False, offset=1, limit=3))
    assert (page, total) == (docs[1:4], 5)


def test_a_job_deleted_takes_its_tasks_with_it(store: Store) -> None:
    store.save_batch(Batch(parts=[split_job(job("a", tasks=tasks(3)))]))
    assert store.delete_job("a")
    store.save_batch(Batch(jobs=[job("a", tasks=[])]))
    assert store.get_job("a") == job("a", tasks=[])


def test_the_jid_of_a_part_raises_the_high_water_mark(store: Store) -> None:
    store.save_batch(Batch(parts=[split_job(job("a", jid="10042", tasks=tasks(1)))]))
    assert store.max_jid() == 10042
