"""SnapshotActor: the write-behind buffer and group commit (DESIGN.md "Persistence", D4).

It keeps the latest document of every job changed since the last write, and the reports that
came with the changes. When its inbox is empty it writes them all in one batch and only then
answers the requests that caused them. A failed write answers 503, keeps the buffer and tries
again, so a change is never answered as done before it is durable.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pykka

from awe.actors.base import Reply, reject, resolve, tell_quietly
from awe.errors import AweError, Unavailable
from awe.metrics import SNAPSHOT_WRITE
from awe.model.expiration import still_expired
from awe.store.base import Batch, Report, Store

log = logging.getLogger(__name__)


class SnapshotActor(pykka.ThreadingActor):
    def __init__(self, store: Store, retry_s: float = 1.0) -> None:
        super().__init__()
        self._store = store
        self._retry_s = retry_s
        self._jobs: dict[str, dict[str, Any]] = {}
        self._reports: list[Report] = []
        self._units: dict[str, dict[str, Any]] = {}  # wuid -> latest row
        self._removed: set[str] = set()
        self._waiters: list[tuple[Reply, Any]] = []
        self._retry_timer: threading.Timer | None = None
        self.batches_written = 0

    def save(
        self,
        doc: dict[str, Any] | None = None,
        reports: list[Report] | None = None,
        reply: Reply | None = None,
        answer: Any = None,
        waiters: list[tuple[Reply, Any]] | None = None,
        workunits: list[dict[str, Any]] | None = None,
        removed_workunits: list[str] | None = None,
    ) -> None:
        """Buffer a job snapshot (reports, changed workunits); answer waiters once durable."""
        if doc is not None:
            self._jobs[doc["id"]] = doc
        self._reports.extend(reports or ())
        for wuid in removed_workunits or ():
            self._units.pop(wuid, None)
            self._removed.add(wuid)
        for row in workunits or ():
            self._removed.discard(row["wuid"])
            self._units[row["wuid"]] = row
        if reply is not None:
            self._waiters.append((reply, answer))
        self._waiters.extend(waiters or ())
        if self.actor_inbox.empty():
            self._flush()

    def flush(self, reply: Reply | None = None) -> None:
        """Write whatever is buffered now (used at shutdown and by tests)."""
        if reply is not None:
            self._waiters.append((reply, None))
        self._flush()

    def purge(
        self, job_id: str, expired_before: str | None = None, reply: Reply | None = None
    ) -> None:
        """Remove a job from the store for good (`?full`, the reaper), after every pending write.

        With `expired_before` only if the stored job is still finished and expired by then: it
        may have been recomputed since the reaper looked. Answers whether it was removed.
        """
        if not self._write_pending(reply):
            return
        try:
            if expired_before is not None:
                if not still_expired(self._store.get_job(job_id), expired_before):
                    resolve(reply, False)
                    return
            resolve(reply, self._store.delete_job(job_id))
        except Exception as err:  # noqa: BLE001 - any store failure: not deleted, say so
            reject(reply, Unavailable(f"store unavailable, job {job_id} not deleted: {err}"))

    def insert(self, doc: dict[str, Any], reply: Reply | None = None) -> None:
        """Save a job that must not exist yet (`POST /job` with `import`): never overwrite one."""
        if not self._write_pending(reply):
            return
        try:
            if self._store.get_job(doc["id"]) is not None:
                reject(reply, AweError(f"job {doc['id']} already exists"))
                return
            self._store.save_batch(Batch(jobs=[doc]))
        except Exception as err:  # noqa: BLE001 - any store failure: not saved, say so
            reject(reply, Unavailable(f"store unavailable, job not imported: {err}"))
            return
        resolve(reply, doc)

    def _write_pending(self, reply: Reply | None) -> bool:
        """Write what is buffered first; False (and `reply` rejected) if that failed."""
        self._flush()
        if self._jobs or self._reports or self._units or self._removed:
            reject(reply, Unavailable("store unavailable, earlier changes not saved yet"))
            return False
        return True

    def retry(self) -> None:
        self._retry_timer = None
        self._flush()

    def _flush(self) -> None:
        if not (self._jobs or self._reports or self._waiters or self._units or self._removed):
            return
        batch = Batch(
            jobs=list(self._jobs.values()),
            reports=list(self._reports),
            workunits=list(self._units.values()),
            removed_workunits=sorted(self._removed),
        )
        waiters, self._waiters = self._waiters, []
        try:
            if batch:
                with SNAPSHOT_WRITE.time():
                    self._store.save_batch(batch)
        except Exception as err:  # noqa: BLE001 - any store failure means "not durable"
            log.error("store write failed (%s); %d job(s) kept for retry", err, len(batch.jobs))
            for reply, _ in waiters:
                reject(reply, Unavailable(f"store unavailable, change not saved: {err}"))
            self._schedule_retry()
            return
        self.batches_written += 1
        self._jobs.clear()
        self._reports.clear()
        self._units.clear()
        self._removed.clear()
        for reply, answer in waiters:
            resolve(reply, answer)

    def _schedule_retry(self) -> None:
        if self._retry_timer is not None:
            return
        proxy = self.actor_ref.proxy()
        self._retry_timer = threading.Timer(self._retry_s, lambda: tell_quietly(proxy.retry))
        self._retry_timer.daemon = True
        self._retry_timer.start()

    def on_stop(self) -> None:
        if self._retry_timer is not None:
            self._retry_timer.cancel()
        self._flush()
