"""What only the MongoDB store promises: indexes, write concern, clean StoreUnavailable errors."""

from __future__ import annotations

from typing import Any

import mongomock
import pytest
from pymongo.errors import AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError

from awe.store import Batch, JobQuery, Report, StoreUnavailable
from awe.store.base import INDEXED_FIELDS
from awe.store.mongo import MongoStore, uri_hosts
from tests.store.conftest import Opener, patch_mongomock
from tests.store.jobs import job

PASSWORD = "pa55:w@rd"
QUOTED = "pa55%3Aw%40rd"


def collection_class(opener: Opener) -> type:
    """The Collection class of the client under test (pymongo's or mongomock's)."""
    return type(opener.client.get_database(opener.database).get_collection("Jobs"))


def failing(error: Exception):  # noqa: ANN201
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    return fail


def test_unreachable_server_raises_store_unavailable_naming_the_host() -> None:
    with pytest.raises(StoreUnavailable, match="127.0.0.1:1") as info:
        MongoStore("mongodb://127.0.0.1:1/", timeout_s=0.3)
    assert "ServerSelectionTimeoutError" in str(info.value)


def test_password_never_appears_in_a_connection_error() -> None:
    uri = f"mongodb://alice:{QUOTED}@127.0.0.1:1/?authSource=admin"
    with pytest.raises(StoreUnavailable) as info:
        MongoStore(uri, timeout_s=0.3)
    text = str(info.value)
    assert "127.0.0.1:1" in text
    assert PASSWORD not in text and QUOTED not in text and "pa55" not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_describe_lists_hosts_and_database_without_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    patch_mongomock(monkeypatch)
    uri = f"mongodb://alice:{QUOTED}@db1:27017,db2:27018/admin?replicaSet=rs0"
    store = MongoStore(uri, database="AWEDB", client=mongomock.MongoClient())
    assert store.describe() == "MongoDB store db1:27017,db2:27018/AWEDB"


@pytest.mark.parametrize(
    "uri, hosts",
    [
        ("mongodb://localhost", "localhost"),
        ("mongodb://u:p@h1:1,h2:2/db?x=y", "h1:1,h2:2"),
        ("mongodb+srv://u:p@cluster.example.org/?tls=true", "cluster.example.org"),
        ("mongodb://u:p@@weird@h:1", "h:1"),
        ("mongodb:///?x=1", "localhost"),
    ],
)
def test_uri_hosts_drop_user_and_password(uri: str, hosts: str) -> None:
    assert uri_hosts(uri) == hosts


def test_store_error_messages_never_carry_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    patch_mongomock(monkeypatch)
    uri = f"mongodb://alice:{QUOTED}@db1:27017/"
    store = MongoStore(uri, client=mongomock.MongoClient())
    error = AutoReconnect(f"lost db1:27017 while authenticating alice:{PASSWORD} / {QUOTED}")
    monkeypatch.setattr(mongomock.Collection, "bulk_write", failing(error))
    with pytest.raises(StoreUnavailable) as info:
        store.save_batch(Batch(jobs=[job("a")]))
    assert "db1:27017" in str(info.value)
    assert PASSWORD not in str(info.value) and QUOTED not in str(info.value)


def test_indexes_exist_after_construction(open_mongo: Opener) -> None:
    open_mongo()
    db = open_mongo.client.get_database(open_mongo.database)
    jobs = db.get_collection("Jobs").index_information()
    keys = {tuple(k for k, _ in spec["key"]): spec for spec in jobs.values()}
    assert keys[("id",)].get("unique") is True
    for field in (*INDEXED_FIELDS, "acl.owner", "acl.read"):
        assert (field,) in keys, field
    reports = db.get_collection("Reports").index_information()
    specs = {tuple(k for k, _ in spec["key"]): spec for spec in reports.values()}
    assert specs[("wuid", "name")].get("unique") is True
    perf = db.get_collection("Perf").index_information()
    assert any(s["key"] == [("id", 1)] and s.get("unique") for s in perf.values())


def test_stored_documents_have_no_mongo_id(open_mongo: Opener) -> None:
    store = open_mongo()
    store.save_batch(Batch(jobs=[job("a")], perf=[{"id": "a"}]))
    assert "_id" not in store.get_job("a")  # type: ignore[operator]
    assert "_id" not in store.get_perf("a")  # type: ignore[operator]
    assert all("_id" not in d for d in store.find_jobs(JobQuery())[0])
    assert all("_id" not in d for d in store.load_unfinished_jobs())


def test_writes_use_the_configured_write_concern(monkeypatch: pytest.MonkeyPatch) -> None:
    patch_mongomock(monkeypatch)
    client = mongomock.MongoClient()
    store = MongoStore("mongodb://h/", w="majority", j=True, client=client)
    for coll in (store._jobs, store._reports, store._perf, store._counters):
        assert coll.write_concern.document == {"w": "majority", "j": True}


def test_impossible_write_concern_is_refused() -> None:
    with pytest.raises(ValueError, match="write concern"):
        MongoStore("mongodb://h/", w=0, j=True, client=mongomock.MongoClient())


@pytest.mark.parametrize("method", ["bulk_write", "update_one"])
@pytest.mark.parametrize(
    "error", [AutoReconnect("connection reset"), ServerSelectionTimeoutError("no primary")]
)
def test_pymongo_error_during_save_batch_surfaces_as_store_unavailable(
    open_mongo: Opener, monkeypatch: pytest.MonkeyPatch, method: str, error: Exception
) -> None:
    store = open_mongo()
    monkeypatch.setattr(collection_class(open_mongo), method, failing(error))
    batch = Batch(jobs=[job("a", jid="10050")], reports=[Report("a", "a_0_1", "stdout", b"x")])
    with pytest.raises(StoreUnavailable, match=type(error).__name__) as info:
        store.save_batch(batch)
    assert "save a batch" in str(info.value) and str(error) in str(info.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get_job("a"),
        lambda s: s.find_jobs(JobQuery()),
        lambda s: s.load_unfinished_jobs(),
        lambda s: s.max_jid(),
        lambda s: s.get_report("w", "stdout"),
        lambda s: s.get_perf("a"),
    ],
)
def test_pymongo_error_during_a_read_surfaces_as_store_unavailable(
    open_mongo: Opener, monkeypatch: pytest.MonkeyPatch, call: Any
) -> None:
    store = open_mongo()
    cls = collection_class(open_mongo)
    for method in ("find", "find_one", "count_documents"):
        monkeypatch.setattr(cls, method, failing(NetworkTimeout("timed out")))
    with pytest.raises(StoreUnavailable, match="NetworkTimeout: timed out"):
        call(store)


def test_index_creation_failure_surfaces_as_store_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    patch_mongomock(monkeypatch)
    monkeypatch.setattr(mongomock.Collection, "create_index", failing(AutoReconnect("gone")))
    with pytest.raises(StoreUnavailable, match="create indexes: AutoReconnect: gone"):
        MongoStore("mongodb://h/", client=mongomock.MongoClient())


def test_listing_indexes_exist_for_each_filter_in_updatetime_order(open_mongo: Opener) -> None:
    open_mongo()
    jobs = open_mongo.client.get_database(open_mongo.database).get_collection("Jobs")
    keys = {tuple(k for k, _ in spec["key"]) for spec in jobs.index_information().values()}
    assert ("updatetime", "id") in keys and ("_awe.visibility", "state") in keys
    for field in ("state", "info.user", "info.project", "info.pipeline"):
        assert (field, "updatetime", "id") in keys, field


def test_jobs_stored_before_readers_were_kept_get_them_at_open(open_mongo: Opener) -> None:
    jobs = open_mongo.client.get_database(open_mongo.database).get_collection("Jobs")
    jobs.insert_one(job("old", acl={"owner": "bob", "read": ["bob"]}))  # an earlier version's
    store = open_mongo()
    assert [d["id"] for d in store.find_jobs(JobQuery(readable_by="bob"))[0]] == ["old"]
    assert store.find_jobs(JobQuery(readable_by="alice")) == ([], 0)
    assert "_awe" not in store.get_job("old")  # type: ignore[operator]


def test_what_awe_adds_to_a_stored_job_is_neither_shown_nor_queried(open_mongo: Opener) -> None:
    store = open_mongo()
    store.save_batch(Batch(jobs=[job("a", acl={"owner": "bob", "read": ["public"]})]))
    docs, total = store.find_jobs(JobQuery(readable_by="carol"))
    assert total == 1 and "_awe" not in docs[0]
    assert store.find_jobs(JobQuery(filters={"_awe.visibility": ["all"]})) == ([], 0)
