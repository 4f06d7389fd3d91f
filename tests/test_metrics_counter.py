"""The event counter behind /metrics: one count per event from any thread, bounded memory."""

from __future__ import annotations

import threading

from awe import metrics
from awe.events import make
from awe.metrics import EventCounter


def _checkout_then_done(counter: EventCounter, job: str, rank: int) -> None:
    wuid = f"{job}_0_{rank}"
    counter(make("workunit", wuid, "queued", "checkout", "req-a", job_id=job))
    counter(make("workunit", wuid, "checkout", "done", "req-b", job_id=job))


def test_events_from_many_threads_are_each_counted_once() -> None:
    counter = EventCounter()
    before = metrics.COMPLETED._value.get()
    jobs = [f"job{n}" for n in range(8)]

    def run(job: str) -> None:
        for rank in range(1, 301):
            _checkout_then_done(counter, job, rank)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert metrics.COMPLETED._value.get() - before == 8 * 300


def test_a_finished_job_forgets_its_workunits_and_nothing_else() -> None:
    counter = EventCounter()
    for job in ("keep", "gone"):
        for rank in (1, 2):
            counter(make("workunit", f"{job}_0_{rank}", "", "queued", "req", job_id=job))
    counter(make("job", "gone", "in-progress", "completed", "report-gone_0_1", job_id="gone"))
    assert sorted(counter._since) == ["keep_0_1", "keep_0_2"]
    assert set(counter._by_job) == {"keep"}


def test_memory_stays_bounded_and_its_index_with_it() -> None:
    counter = EventCounter(memory=10)
    for rank in range(50):
        counter(make("workunit", f"j{rank}_0_1", "", "queued", "req", job_id=f"j{rank}"))
    assert len(counter._since) == 10
    assert sum(_count(keys) for keys in counter._by_job.values()) == 10


def _count(keys: str | set[str]) -> int:
    return 1 if isinstance(keys, str) else len(keys)


def test_a_job_with_one_key_holds_no_set_and_more_keys_are_kept_and_dropped() -> None:
    counter = EventCounter()
    job = "j1"
    counter(make("task", f"{job}_0", "pending", "queued", "req", job_id=job))
    assert counter._by_job == {job: f"{job}_0"}  # its one key, no set (216 bytes) of it
    for rank in (1, 2):
        counter(make("workunit", f"{job}_0_{rank}", "", "queued", "req", job_id=job))
    assert counter._by_job == {job: {f"{job}_0", f"{job}_0_1", f"{job}_0_2"}}
    counter(make("workunit", f"{job}_0_1", "queued", "checkout", "req", job_id=job))
    counter(make("workunit", f"{job}_0_1", "checkout", "done", "req", job_id=job))
    assert counter._by_job == {job: {f"{job}_0", f"{job}_0_2"}}
    counter(make("job", job, "in-progress", "completed", "req", job_id=job))
    assert (counter._by_job, dict(counter._since)) == ({}, {})
    counter(make("task", "j2_0", "pending", "queued", "req", job_id="j2"))
    counter(make("workunit", "j2_0", "queued", "done", "req", job_id="j2"))  # its one key goes
    assert counter._by_job == {}
