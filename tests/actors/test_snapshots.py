"""SnapshotActor: group commit — answered only once durable; a failed write answers 503."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from awe.actors.base import new_reply
from awe.actors.snapshots import SnapshotActor
from awe.errors import Unavailable
from awe.store.base import Batch, Report, StoreUnavailable
from awe.store.embedded import EmbeddedStore


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


def test_changes_queued_during_a_write_go_out_in_one_batch(store) -> None:
    actor = SnapshotActor.start(store).proxy()
    try:
        store.gate.clear()
        first = new_reply()
        actor.save.defer(doc("a"), [], first, "a saved")
        assert store.writing.wait(10)  # the first write is under way, held at the gate
        replies = []
        for i in range(20):  # these arrive while the first write waits at the gate
            reply = new_reply()
            actor.save.defer(doc("b", state=f"s{i}"), [], reply, i)
            replies.append(reply)
        assert not first.done()
        store.gate.set()
        assert first.result(10) == "a saved"
        assert [r.result(10) for r in replies] == list(range(20))
        assert len(store.batches) == 2  # the first, then everything that queued behind it
        assert store.inner.get_job("b")["state"] == "s19"  # only the latest snapshot
    finally:
        actor.actor_ref.stop()


def test_a_failed_write_answers_unavailable_and_is_retried(store) -> None:
    actor = SnapshotActor.start(store, retry_s=0.05).proxy()
    try:
        store.failing = True
        reply = new_reply()
        actor.save.defer(doc("a"), [Report("a", "a_0_0", "stdout", b"hi")], reply, "ok")
        with pytest.raises(Unavailable, match="disk on fire"):
            reply.result(10)
        assert store.inner.get_job("a") is None
        store.failing = False
        flushed = new_reply()
        actor.flush.defer(flushed)
        flushed.result(10)
        assert store.inner.get_job("a")["state"] == "queued"
        assert store.inner.get_report("a_0_0", "stdout") == b"hi"
    finally:
        actor.actor_ref.stop()
