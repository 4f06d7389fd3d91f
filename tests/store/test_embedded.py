"""What only the embedded SQLite store promises: one transaction per batch, threads, pragmas."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from awe.store import Batch, JobQuery, Report, StoreUnavailable
from awe.store.embedded import EmbeddedStore
from tests.store.jobs import job


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "deep" / "er" / "awe.sqlite3"


@pytest.fixture
def store(path: Path):  # noqa: ANN201
    store = EmbeddedStore(path)
    yield store
    store.close()


def test_parent_directories_are_created_and_file_is_in_wal_mode(store: EmbeddedStore, path: Path):
    assert path.is_file()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_describe_gives_the_absolute_path(store: EmbeddedStore, path: Path) -> None:
    assert store.describe() == f"embedded SQLite store at {path.absolute()}"


@pytest.mark.parametrize("mode, level", [("full", 2), ("normal", 1), ("NORMAL", 1)])
def test_synchronous_pragma_follows_the_argument(path: Path, mode: str, level: int) -> None:
    store = EmbeddedStore(path, synchronous=mode)
    try:
        assert store._conn().execute("PRAGMA synchronous").fetchone()[0] == level
    finally:
        store.close()


@pytest.mark.parametrize("mode", ["off", "extra", ""])
def test_bad_synchronous_value_is_refused(path: Path, mode: str) -> None:
    with pytest.raises(ValueError, match=repr(mode)):
        EmbeddedStore(path, synchronous=mode)


def test_batch_with_a_document_that_cannot_be_encoded_writes_nothing(store: EmbeddedStore) -> None:
    batch = Batch(
        jobs=[job("good", jid="20000"), job("bad", info={"odd": {1, 2}})],
        reports=[Report("good", "good_0_1", "stdout", b"x")],
        perf=[{"id": "good"}],
    )
    with pytest.raises(ValueError, match="job bad cannot be stored as JSON"):
        store.save_batch(batch)
    assert store.get_job("good") is None
    assert store.get_report("good_0_1", "stdout") is None
    assert store.get_perf("good") is None
    assert store.max_jid() == 10000


def test_not_a_number_is_refused_rather_than_stored(store: EmbeddedStore) -> None:
    with pytest.raises(ValueError, match="cannot be stored as JSON"):
        store.save_batch(Batch(jobs=[job("nan", info={"x": float("nan")})]))
    assert store.find_jobs(JobQuery(limit=0)) == ([], 0)


def test_failure_inside_the_transaction_rolls_the_whole_batch_back(
    store: EmbeddedStore, path: Path
) -> None:
    before = job("before", jid="10001")
    store.save_batch(Batch(jobs=[before]))
    with sqlite3.connect(path) as conn:  # the report insert, after the jobs, fails
        conn.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON reports WHEN NEW.name = 'boom'"
            " BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
    batch = Batch(
        jobs=[job("before", state="completed", jid="10001"), job("new", jid="10002")],
        reports=[Report("new", "new_0_1", "boom", b"x")],
    )
    with pytest.raises(StoreUnavailable, match="disk trouble"):
        store.save_batch(batch)
    assert store.get_job("before") == before
    assert store.get_job("new") is None
    assert store.max_jid() == 10001
    # no transaction was left open: the next batch goes through
    store.save_batch(Batch(jobs=[job("next", jid="10003")]))
    assert store.get_job("next") is not None and store.max_jid() == 10003


def test_readers_in_other_threads_see_whole_batches_while_one_thread_writes(
    store: EmbeddedStore,
) -> None:
    names = [f"j{i}" for i in range(5)]
    rounds = 40
    done = threading.Event()
    errors: list[BaseException] = []
    reads = [0] * 4

    def write() -> None:
        try:
            for gen in range(rounds):
                docs = [job(n, jid=str(10001 + gen), info={"gen": gen}) for n in names]
                docs.append(job(f"new{gen:03d}", info={"gen": gen}))  # the total grows
                store.save_batch(Batch(jobs=docs))
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)
        finally:
            done.set()

    def read(slot: int) -> None:
        try:
            while True:
                finished = done.is_set()
                docs, total = store.find_jobs(JobQuery(order="id", limit=0))
                assert total == len(docs), "count and page read different snapshots"
                gens = {d["info"]["gen"] for d in docs if d["id"] in names}
                assert len(gens) <= 1, "a half-written batch"
                if docs:
                    gen = docs[0]["info"]["gen"]
                    assert len(docs) == len(names) + gen + 1
                    assert store.max_jid() >= 10001 + gen
                reads[slot] += 1
                if finished:
                    return
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    readers = [threading.Thread(target=read, args=(i,)) for i in range(len(reads))]
    writer = threading.Thread(target=write)
    for thread in [*readers, writer]:
        thread.start()
    for thread in [writer, *readers]:
        thread.join(timeout=60)
        assert not thread.is_alive()
    assert errors == []
    assert all(n > 0 for n in reads)
    docs = [store.get_job(n) for n in names]
    assert {d["info"]["gen"] for d in docs} == {rounds - 1}  # type: ignore[index]
    assert store.find_jobs(JobQuery(limit=0))[1] == len(names) + rounds


def test_closed_store_raises_store_unavailable(store: EmbeddedStore) -> None:
    store.close()
    with pytest.raises(StoreUnavailable, match="closed"):
        store.get_job("a")
    with pytest.raises(StoreUnavailable, match="closed"):
        store.save_batch(Batch(jobs=[job("a")]))


def test_unusable_path_raises_store_unavailable(tmp_path: Path) -> None:
    (tmp_path / "dir.sqlite3").mkdir()
    with pytest.raises(StoreUnavailable, match="dir.sqlite3"):
        EmbeddedStore(tmp_path / "dir.sqlite3")


def test_a_file_that_is_not_a_database_raises_store_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not a database file at all" * 100)
    with pytest.raises(StoreUnavailable, match="junk.sqlite3"):
        EmbeddedStore(path)


def test_a_transaction_left_open_is_rolled_back_not_served_stale(tmp_path) -> None:
    from awe.store import Batch

    store = EmbeddedStore(tmp_path / "s.sqlite3")
    other = EmbeddedStore(tmp_path / "s.sqlite3")
    try:
        store.save_batch(Batch(jobs=[{"id": "a", "state": "queued"}]))
        store._conn().execute("BEGIN")  # noqa: SLF001 - a COMMIT that never happened
        store._conn().execute("SELECT count(*) FROM jobs").fetchone()  # noqa: SLF001
        other.save_batch(Batch(jobs=[{"id": "a", "state": "completed"}]))
        assert store.get_job("a")["state"] == "completed"  # not the pinned old snapshot
        store.save_batch(Batch(jobs=[{"id": "b", "state": "queued"}]))  # BEGIN IMMEDIATE works
        assert other.get_job("b") == {"id": "b", "state": "queued"}
    finally:
        store.close()
        other.close()


def test_a_store_with_tasks_inside_job_documents_moves_them_to_rows_once(path: Path) -> None:
    """Stores written before tasks were rows of their own open with every job as it was."""
    doc = job("old", tasks=[{"taskid": "old_0", "state": "queued"}, {"taskid": "old_1"}])
    EmbeddedStore(path).close()
    with sqlite3.connect(path) as conn:  # the layout before: the whole job in one document
        conn.execute("INSERT INTO jobs (id, doc) VALUES (?, ?)", ("old", json.dumps(doc)))
        conn.execute("DELETE FROM meta WHERE key = 'layout'")
    reopened = EmbeddedStore(path)
    try:
        assert reopened.get_job("old") == doc
        with sqlite3.connect(path) as conn:
            stored = json.loads(conn.execute("SELECT doc FROM jobs").fetchone()[0])
            rows = conn.execute("SELECT idx FROM tasks WHERE job_id = 'old'").fetchall()
        assert "tasks" not in stored and sorted(rows) == [(0,), (1,)]
    finally:
        reopened.close()
