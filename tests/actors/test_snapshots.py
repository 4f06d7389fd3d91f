"""SnapshotActor: group commit — answered only once durable; a failed write answers 503."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from awe.actors.base import new_reply
from awe.actors.messages import Flush, Save, Sync
from awe.actors.snapshots import SnapshotActor
from awe.errors import Unavailable
from awe.store.base import Batch, Report, StoreUnavailable
from awe.store.embedded import EmbeddedStore
from awe.store.rules import split_job


class GatedStore:
    """A store whose writes wait for a gate, and can be told to fail."""

    def __init__(self, inner: EmbeddedStore) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.gate.set()
        self.batches: list[Batch] = []
        self.failing = False
        self.writing = threading.Event()

    def save_batch(self, batch: Batch) -> None:
        self.writing.set()
        self.gate.wait(10)
        if self.failing:
            raise StoreUnavailable("disk on fire")
        self.batches.append(batch)
        self.inner.save_batch(batch)


def doc(job_id: str, state: str = "queued") -> dict:
    return {"id": job_id, "jid": "10001", "state": state, "info": {}}


@pytest.fixture
def store(tmp_path: Path):
    inner = EmbeddedStore(tmp_path / "s.sqlite3")
    yield GatedStore(inner)
    inner.close()


def save(actor, job: dict, answer: object, reports: list | None = None):
    """Hand a snapshot of `job` in; returns the reply that answers `answer` once durable."""
    reply = new_reply()
    part = split_job(job)
    actor.tell(Save(job_id=job["id"], part=part, reports=reports or [], waiters=[(reply, answer)]))
    return reply


def test_changes_queued_during_a_write_go_out_in_one_batch(store) -> None:
    actor = SnapshotActor.start(store)
    try:
        store.gate.clear()
        first = save(actor, doc("a"), "a saved")
        assert store.writing.wait(10)  # the first write is under way, held at the gate
        replies = []
        for i in range(20):  # these arrive while the first write waits at the gate
            replies.append(save(actor, doc("b", state=f"s{i}"), i))
        assert not first.done()
        store.gate.set()
        assert first.result(10) == "a saved"
        assert [r.result(10) for r in replies] == list(range(20))
        assert len(store.batches) == 2  # the first, then everything that queued behind it
        assert store.inner.get_job("b")["state"] == "s19"  # only the latest snapshot
    finally:
        actor.stop()


def test_a_failed_write_answers_unavailable_and_is_retried(store) -> None:
    actor = SnapshotActor.start(store, retry_s=0.05)
    try:
        store.failing = True
        reply = save(actor, doc("a"), "ok", [Report("a", "a_0_0", "stdout", b"hi")])
        with pytest.raises(Unavailable, match="disk on fire"):
            reply.result(10)
        assert store.inner.get_job("a") is None
        # a request that changed nothing waits for that job's state to be durable too
        retried = new_reply()
        actor.tell(Sync(job_id="a", waiters=[(retried, "ok")]))
        with pytest.raises(Unavailable, match="disk on fire"):
            retried.result(10)
        store.failing = False
        flushed = new_reply()
        actor.tell(Flush(reply=flushed))
        flushed.result(10)
        assert store.inner.get_job("a")["state"] == "queued"
        assert store.inner.get_report("a_0_0", "stdout") == b"hi"
        synced = new_reply()
        actor.tell(Sync(job_id="a", waiters=[(synced, "ok")]))
        assert synced.result(10) == "ok"  # durable now: answered at once
    finally:
        actor.stop()
