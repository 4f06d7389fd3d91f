"""After a restart: every unfinished job comes back (D3) while the server already serves.

The queue learns the unfinished ids at once (a command for one of them reads it back first,
and no checkout is served until all are back); a thread reads them from the store a chunk at
a time, makes their `Job`s and hands them to the queue. With recovery off they stay in the
store, and the queue knows them as dormant (listings of live jobs leave them out).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from awe.actors.base import ask_sync, new_reply
from awe.actors.messages import Dormant, ExpectJobs, RecoverJobs
from awe.model.job import Job
from awe.store.base import Store, StoreUnavailable

log = logging.getLogger("awe.server")

CHUNK = 1000  # unfinished jobs read from the store at a time


class Recovery:
    """Brings a store's unfinished jobs back into the queue; `recovered` counts them."""

    def __init__(self, store: Store, queue: Any, stopping: threading.Event) -> None:
        self.store = store
        self.queue = queue
        self.stopping = stopping
        self.recovered = 0

    def start(self, enabled: bool = True) -> threading.Thread | None:
        """Tell the queue what comes back and start the thread that brings it (None when
        recovery is off)."""
        job_ids = self.store.unfinished_job_ids()
        if not enabled:
            log.info("recovery is off (queue.recover: false): unfinished jobs stay in the store")
            ask_sync(self.queue, Dormant(job_ids=tuple(job_ids), reply=new_reply()))
            return None
        ask_sync(self.queue, ExpectJobs(job_ids=tuple(job_ids), reply=new_reply()))
        thread = threading.Thread(target=self._run, args=(job_ids,), name="recovery", daemon=True)
        thread.start()
        return thread

    def _run(self, job_ids: list[str]) -> None:
        started = time.monotonic()
        try:
            with no_cycle_collection():
                for first in range(0, len(job_ids), CHUNK):
                    docs = self._read(job_ids[first : first + CHUNK])
                    if docs is None:
                        return  # the server stops
                    jobs = [Job.from_doc(doc) for doc in docs]  # here, not on the queue's thread
                    recover = RecoverJobs(jobs=jobs, stimulus="recover", reply=new_reply())
                    self.recovered += ask_sync(self.queue, recover, timeout=600)
            ask_sync(self.queue, ExpectJobs(done=True, reply=new_reply()))
        except Exception as err:  # noqa: BLE001 - the queue is gone: the server is stopping
            if not self.stopping.is_set():
                log.error("recovery stopped: %r", err)
            return
        if self.recovered:
            log.info("recovered %d unfinished job(s) from the store in %.1f s", self.recovered,
                     time.monotonic() - started)  # fmt: skip

    def _read(self, job_ids: list[str]) -> list[dict[str, Any]] | None:
        """Jobs from the store; a store that cannot be read is tried again every second."""
        while not self.stopping.is_set():
            try:
                return self.store.get_jobs(job_ids, history=False)  # a live job keeps none
            except StoreUnavailable as err:
                log.warning("recovery: %s; trying again in 1 s", err)
                self.stopping.wait(1.0)
        return None


@contextlib.contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while millions of long-lived objects are made (a
    restart) or dropped (a stop): each full collection walks all of them again, and did so
    often enough to be half of a restart (100,000 jobs: 22.5 s with it, 10.2 s without).
    Everything reference counting frees is freed meanwhile; cycles wait for the next
    collection."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
