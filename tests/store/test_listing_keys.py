"""The embedded store's listing keys: which indexes a listing uses, and the upgrade that builds
them. Plans, not timings: a listing that reads every job document shows as a SCAN."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from awe.store import Batch, JobQuery
from awe.store.base import INDEXED_FIELDS
from awe.store.embedded import EmbeddedStore
from awe.store.listing import COLUMNS, Listing
from awe.store.rules import ALL_READERS, MANY_READERS, NO_READERS, key_value, visibility
from tests.store.jobs import job, t


@pytest.fixture
def store(tmp_path: Path):  # noqa: ANN201
    store = EmbeddedStore(tmp_path / "awe.sqlite3")
    yield store
    store.close()


def plans(store: EmbeddedStore, query: JobQuery) -> tuple[str, str]:
    """EXPLAIN QUERY PLAN of the count and of the page of `query`, as text."""
    listing = Listing(query)
    conn = store._conn()  # noqa: SLF001 - the plan is what this test is about
    out = []
    for for_page in (False, True):
        where, params = listing.where(for_page)
        sql = f"SELECT k.id FROM {listing.tables()}{where}"
        sql = sql + listing.order_by() + " LIMIT 25" if for_page else sql
        if not for_page and listing.counted() is not None:
            sql, params = listing.counted()  # type: ignore[misc]
        rows = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        out.append(" | ".join(row[3] for row in rows))
    return out[0], out[1]


def test_every_indexed_field_is_a_column_of_the_listing_keys() -> None:
    assert set(INDEXED_FIELDS) <= set(COLUMNS)


@pytest.mark.parametrize("user", [None, "public", "alice"])
@pytest.mark.parametrize("states", [None, ["suspend"], ["queued", "in-progress"]])
def test_the_default_listing_reads_its_total_and_its_page_in_order(
    store: EmbeddedStore, user: str | None, states: list[str] | None
) -> None:
    filters = {"state": states} if states else {}
    count, page = plans(store, JobQuery(filters=filters, readable_by=user))
    assert "job_counts" in count and "SCAN job_keys" not in count and "jobs" not in count
    ordered_by = "job_keys_state" if states and len(states) == 1 else "job_keys_updatetime"
    assert f"INDEX {ordered_by}" in page
    assert "TEMP B-TREE FOR ORDER BY" not in page  # at most ties are sorted ("RIGHT PART")


@pytest.mark.parametrize("field", ["state", "info.project", "info.user", "info.pipeline"])
def test_a_filter_on_one_value_reads_its_own_index_in_order(
    store: EmbeddedStore, field: str
) -> None:
    count, page = plans(store, JobQuery(filters={field: ["x"]}, readable_by="public"))
    column = COLUMNS[field]
    assert "COVERING INDEX job_keys_" in count and "jobs" not in count
    assert f"INDEX job_keys_{column}" in page and "TEMP B-TREE FOR ORDER BY" not in page


def test_a_filter_on_several_values_is_read_in_updatetime_order_not_sorted(
    store: EmbeddedStore,
) -> None:
    query = JobQuery(filters={"info.project": ["a", "b"]}, readable_by="public")
    count, page = plans(store, query)
    assert "COVERING INDEX job_keys_" in count and "jobs" not in count
    assert "job_keys_updatetime" in page and "TEMP B-TREE FOR ORDER BY" not in page


def test_a_field_without_a_column_still_filters_through_the_document(
    store: EmbeddedStore,
) -> None:
    store.save_batch(Batch(jobs=[job("a", info={"name": "x"}), job("b", info={"name": "y"})]))
    docs, total = store.find_jobs(JobQuery(filters={"info.name": ["y"]}))
    assert [d["id"] for d in docs] == ["b"] and total == 1


def test_keys_are_written_with_the_job_and_go_with_it(store: EmbeddedStore) -> None:
    store.save_batch(Batch(jobs=[job("a", state="queued")]))
    store.save_batch(Batch(jobs=[job("a", state="completed", updatetime=t(5))]))
    conn = store._conn()  # noqa: SLF001
    assert conn.execute("SELECT state, updatetime FROM job_keys").fetchall() == [
        ("completed", t(5))
    ]
    store.delete_job("a")
    assert conn.execute("SELECT count(*) FROM job_keys").fetchone()[0] == 0


def test_a_store_written_by_an_earlier_version_gets_its_keys_at_open(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:  # what the version before job_keys left behind
        conn.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
        conn.execute("CREATE INDEX jobs_state ON jobs (json_extract(doc, '$.state'))")
        for name, state in (("a", "queued"), ("b", "completed")):
            conn.execute(
                "INSERT INTO jobs VALUES (?, ?)", (name, json.dumps(job(name, state=state)))
            )
    store = EmbeddedStore(path)
    try:
        docs, total = store.find_jobs(
            JobQuery(filters={"state": ["completed"]}, readable_by="alice")
        )
        assert [d["id"] for d in docs] == ["b"] and total == 1
        names = store._conn().execute("SELECT name FROM sqlite_master").fetchall()  # noqa: SLF001
        assert ("jobs_state",) not in names  # the old index is gone: writes parse no JSON
    finally:
        store.close()


@pytest.mark.parametrize(
    "acl, expected",
    [
        ({"owner": "alice", "read": ["alice"]}, ("user:alice", None)),
        ({"owner": "alice", "read": ["public"]}, (ALL_READERS, None)),
        ({"owner": "alice", "read": "public"}, (ALL_READERS, None)),
        ({"owner": "alice", "read": ["bob", 3, None]}, (MANY_READERS, ["alice", "bob"])),
        ({"owner": 7, "read": []}, (NO_READERS, None)),
        ({"owner": "all", "read": []}, ("user:all", None)),  # a user called "all" is not everyone
        ("not an object", (NO_READERS, None)),
    ],
)
def test_visibility_folds_owner_and_readers(acl: object, expected: tuple) -> None:
    assert visibility({"id": "x", "acl": acl}) == expected


@pytest.mark.parametrize(
    "value, key",
    [("q", "q"), (3, 3), (2.5, 2.5), (True, 1), (None, None), ([1], None), ({"a": 1}, None),
     (2**70, float(2**70))],
)  # fmt: skip
def test_key_values_are_the_scalars_json_extract_would_give(value: object, key: object) -> None:
    assert key_value({"info": {"project": value}}, "info.project") == key


def test_a_key_under_a_field_that_is_not_an_object_is_missing() -> None:
    assert key_value({"info": ["project"]}, "info.project") is None


_ACLS = [
    {"owner": "alice", "read": ["alice"]},
    {"owner": "bob", "read": ["public"]},
    {"owner": "bob", "read": ["alice", "bob"]},
    {"owner": "bob", "read": []},
]
_STATES = ["queued", "suspend", "completed", 3, None]
_writes = st.lists(
    st.tuples(st.sampled_from("abcde"), st.sampled_from(_STATES), st.sampled_from(range(4)),
              st.booleans()),  # (job, state, acl, deleted instead)
    max_size=25,
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(writes=_writes)
def test_totals_stay_exact_through_saves_state_changes_and_deletes(
    tmp_path_factory: pytest.TempPathFactory, writes: list[tuple[str, object, int, bool]]
) -> None:
    store = EmbeddedStore(tmp_path_factory.mktemp("counts") / "awe.sqlite3")
    try:
        for job_id, state, acl, deleted in writes:
            if deleted:
                store.delete_job(job_id)
            else:
                doc = job(job_id, acl=_ACLS[acl])
                if state is None:
                    del doc["state"]
                else:
                    doc["state"] = state
                store.save_batch(Batch(jobs=[doc]))
        for user in (None, "alice", "bob", "carol"):
            for states in (None, ["queued"], ["queued", "suspend"], ["3"]):
                query = JobQuery(filters={"state": states} if states else {}, readable_by=user)
                docs, total = store.find_jobs(JobQuery(**{**query.__dict__, "limit": 0}))
                assert total == len(docs), (user, states)
                # the same listing with a filter that job_counts cannot answer counts the rows
                query.filters["info.name"] = [f"job {c}" for c in "abcde"]
                assert store.find_jobs(query)[1] == total, (user, states)
    finally:
        store.close()
