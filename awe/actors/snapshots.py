"""SnapshotActor: the write-behind buffer and group commit (DESIGN.md "Persistence", D4).

It keeps the latest document of every job changed since the last write, and the reports that
came with the changes. When its inbox is empty it writes them all in one batch and only then
answers the requests that caused them. A failed write answers 503, keeps the buffer and tries
again, so a change is never answered as done before it is durable.

`Sync` answers a request that changed nothing (a repeated report, a no-op operation, a read)
once its job's last snapshot is durable: at once when nothing of that job is buffered, else with
the next write, so a retried report is not answered `ok` while the store is down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from awe.actors.base import SingletonActor, handles, reject, resolve, tell_quietly
from awe.actors.messages import Flush, Insert, Purge, Retry, Save, Sync, Waiter
from awe.errors import AweError, Unavailable
from awe.metrics import SNAPSHOT_WRITE
from awe.model.expiration import still_expired
from awe.store.base import Batch, JobPart, Report, Store

log = logging.getLogger(__name__)


class SnapshotActor(SingletonActor):
    name = "snapshot"

    def __init__(
        self,
        store: Store,
        retry_s: float = 1.0,
        on_death: Callable[[str, str], None] | None = None,
    ) -> None:
        super().__init__(on_death)
        self._store = store
        self._retry_s = retry_s
        self._jobs: dict[str, JobPart] = {}  # what changed in each job, not yet written
        self._reports: list[Report] = []
        self._units: dict[str, dict[str, Any]] = {}  # wuid -> latest row
        self._removed: set[str] = set()
        self._history: list[dict[str, Any]] = []
        self._history_from: dict[str, int] = {}
        self._waiters: list[Waiter] = []
        self._retry_timer: threading.Timer | None = None
        self.batches_written = 0

    @handles(Save)
    def _save(self, msg: Save) -> None:
        """Buffer a job snapshot (reports, changed workunits); answer waiters once durable."""
        older = self._jobs.get(msg.job_id)
        self._jobs[msg.job_id] = msg.part if older is None else older.merge(msg.part)
        self._reports.extend(msg.reports)
        for wuid in msg.removed:
            self._units.pop(wuid, None)
            self._removed.add(wuid)
        for row in msg.workunits:
            self._removed.discard(row["wuid"])
            self._units[row["wuid"]] = row
        self._history.extend(msg.history)
        if msg.history_from > 0:
            self._history_from[msg.job_id] = msg.history_from
        self._waiters.extend(msg.waiters)
        resolve(msg.reply)
        self._flush_when_idle()

    @handles(Sync)
    def _sync(self, msg: Sync) -> None:
        if msg.job_id in self._jobs:  # something of this job is not durable yet
            self._waiters.extend(msg.waiters)
            self._flush_when_idle()
            return
        for reply, answer in msg.waiters:
            resolve(reply, answer)

    @handles(Flush)
    def _flush_now(self, msg: Flush) -> None:
        if msg.reply is not None:
            self._waiters.append((msg.reply, None))
        self._flush()

    @handles(Purge)
    def _purge(self, msg: Purge) -> None:
        """Answers whether the job was removed (the reaper's job may have been recomputed)."""
        if not self._write_pending(msg):
            return
        try:
            if msg.expired_before is not None:
                if not still_expired(self._store.get_job(msg.job_id), msg.expired_before):
                    resolve(msg.reply, False)
                    return
            resolve(msg.reply, self._store.delete_job(msg.job_id))
        except Exception as err:  # noqa: BLE001 - any store failure: not deleted, say so
            raise Unavailable(f"store unavailable, job {msg.job_id} not deleted: {err}") from err

    @handles(Insert)
    def _insert(self, msg: Insert) -> None:
        if not self._write_pending(msg):
            return
        job_id = msg.doc["id"]
        try:
            exists = self._store.get_job(job_id) is not None
            if not exists:
                self._store.save_batch(Batch(jobs=[msg.doc]))
        except Exception as err:  # noqa: BLE001 - any store failure: not saved, say so
            raise Unavailable(f"store unavailable, job not imported: {err}") from err
        if exists:
            raise AweError(f"job {job_id} already exists")
        resolve(msg.reply, msg.doc)

    def _write_pending(self, msg: Purge | Insert) -> bool:
        """Write what is buffered first; False (and the message refused) if that failed."""
        self._flush()
        if self._jobs or self._reports or self._units or self._removed:
            reject(msg.reply, Unavailable("store unavailable, earlier changes not saved yet"))
            return False
        return True

    @handles(Retry)
    def _retry(self, msg: Retry) -> None:
        self._retry_timer = None
        self._flush()

    def _flush_when_idle(self) -> None:
        if self.actor_inbox.empty():
            self._flush()

    def _flush(self) -> None:
        if not (self._jobs or self._reports or self._waiters or self._units or self._removed):
            return
        batch = Batch(
            parts=list(self._jobs.values()),
            reports=list(self._reports),
            workunits=list(self._units.values()),
            removed_workunits=sorted(self._removed),
            history=list(self._history),
            history_from=dict(self._history_from),
        )
        waiters, self._waiters = self._waiters, []
        try:
            if batch:
                with SNAPSHOT_WRITE.time():
                    self._store.save_batch(batch)
        except Exception as err:  # noqa: BLE001 - any store failure means "not durable"
            log.error("store write failed (%s); %d job(s) kept for retry", err, len(batch.parts))
            for reply, _ in waiters:
                reject(reply, Unavailable(f"store unavailable, change not saved: {err}"))
            self._schedule_retry()
            return
        self.batches_written += 1
        self._jobs.clear()
        self._reports.clear()
        self._units.clear()
        self._removed.clear()
        self._history.clear()
        self._history_from.clear()
        for reply, answer in waiters:
            resolve(reply, answer)

    def _schedule_retry(self) -> None:
        if self._retry_timer is not None:
            return
        ref = self.actor_ref
        self._retry_timer = threading.Timer(self._retry_s, lambda: tell_quietly(ref, Retry()))
        self._retry_timer.daemon = True
        self._retry_timer.start()

    def on_stop(self) -> None:
        if self._retry_timer is not None:
            self._retry_timer.cancel()
        self._flush()
