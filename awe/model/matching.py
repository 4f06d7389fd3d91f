"""Which ready workunit a client may take, and in which order (spec 5.3).

`ReadyIndex` keeps ready workunits in one heap per *class* — (clientgroups, command name) —
ordered by priority desc, then job submit time asc, then the order they were offered in. A
checkout looks only at the heads of the classes the client may serve, so its cost follows the
number of classes, not of workunits.

A task's ready ranks are held as runs of consecutive ranks (`awe.model.ranks`), one heap slot
per run: offering a task of 100,000 ranks costs one slot, and a rank becomes a workunit id only
when it is picked. Each rank keeps the place in the offer order it would have had as an entry
of its own (a run reserves one number per rank), so the order is exactly that of one entry per
workunit.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from awe.model.ids import task_and_rank
from awe.model.ranks import Run


@dataclass(frozen=True)
class ClientView:
    """What matching needs to know about a client."""

    id: str
    group: str
    apps: frozenset[str]
    skip_work: frozenset[str] = frozenset()

    def serves(self, clientgroups: str, cmd_name: str) -> bool:
        group_ok = not clientgroups or self.group in clientgroups.split(",")
        return group_ok and ("*" in self.apps or cmd_name in self.apps)


@dataclass(frozen=True, slots=True)
class ReadyEntry:
    """Ready ranks of one task with what ordering and matching need.

    `runs` are offered in their order (usually ascending ranks); without runs the entry is the
    one workunit `wuid` names. `task_id` is derived from `wuid` when not given.
    """

    wuid: str
    job_id: str
    priority: int
    submittime: str
    clientgroups: str
    cmd_name: str
    size: int
    runs: tuple[Run, ...] = ()
    task_id: str = ""

    def task_and_runs(self) -> tuple[str, tuple[Run, ...]]:
        if self.runs:
            return self.task_id, self.runs
        task, _, rank = self.wuid.rpartition("_")
        return task, ((int(rank), int(rank)),)


def _listed(tasks: str | list[str] | tuple[()]) -> list[str] | tuple[str, ...]:
    """A job's task ids in the ready index as a sequence (a copy: the caller may change it)."""
    return (tasks,) if isinstance(tasks, str) else list(tasks)


class Picked(NamedTuple):
    job_id: str
    wuid: str


class _Run:
    """Consecutive ready ranks of one task; `seq` is the offer number of `first`."""

    __slots__ = ("entry", "task", "first", "last", "seq", "alive")

    def __init__(self, entry: ReadyEntry, task: str, first: int, last: int, seq: int) -> None:
        self.entry, self.task, self.first, self.last, self.seq = entry, task, first, last, seq
        self.alive = True

    def key(self, rank: int | None = None) -> tuple[int, str, int]:
        offset = 0 if rank is None else rank - self.first
        return (-self.entry.priority, self.entry.submittime, self.seq + offset)

    def klass(self) -> tuple[str, str]:
        return (self.entry.clientgroups, self.entry.cmd_name)


_Slot = tuple[int, str, int, _Run]  # (-priority, submittime, seq of the run's head, run)


class ReadyIndex:
    """The ready workunits, indexed for checkout. Not thread-safe: one owner (QueueActor)."""

    def __init__(self) -> None:
        self._tasks: dict[str, list[_Run]] = {}  # task id -> its runs, by first rank
        # job id -> its task ids with ready ranks (few): the id itself while it is the only one
        # (a list each is ~90 bytes, times 100,000 queued one-task jobs), a list from two
        self._by_job: dict[str, str | list[str]] = {}
        self._classes: dict[tuple[str, str], list[_Slot]] = {}
        self._live: dict[tuple[str, str], int] = {}  # live runs per class: 0 drops its heap
        self._seq = 0
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __contains__(self, wuid: str) -> bool:
        parts = task_and_rank(wuid)
        return parts is not None and self._find(*parts) is not None

    # ---- adding ---------------------------------------------------------------------------

    def add(self, entry: ReadyEntry) -> None:
        """Add ranks, in the order of the entry's runs; a rank already here is replaced (it
        takes its new place in the order)."""
        task, runs = entry.task_and_runs()
        for first, last in runs:
            self._remove_span(task, first, last)
        for first, last in runs:
            run = _Run(entry, task, first, last, self._seq)
            self._seq += last - first + 1
            self._count += last - first + 1
            runs_of_task = self._tasks.get(task)
            if runs_of_task is None:  # lists, not sets: memory per queued job counts
                self._tasks[task] = [run]
                self._join_job(entry.job_id, task)
            else:
                bisect.insort(runs_of_task, run, key=lambda r: r.first)
            self._push(run, new=True)

    def _push(self, run: _Run, new: bool = False) -> None:
        klass = run.klass()
        if new:
            self._live[klass] = self._live.get(klass, 0) + 1
        heapq.heappush(self._classes.setdefault(klass, []), (*run.key(), run))

    # ---- removing -------------------------------------------------------------------------

    def remove(self, wuid: str) -> bool:
        """Take one workunit out; False when it was not ready."""
        parts = task_and_rank(wuid)
        return parts is not None and self._take(*parts)

    def remove_task(self, task: str) -> int:
        """Take every ready rank of a task out; how many there were."""
        runs = self._tasks.pop(task, [])
        for run in runs:
            self._drop(run)
        if runs:
            self._leave_job(runs[0].entry.job_id, task)
        return sum(run.last - run.first + 1 for run in runs)

    def remove_job(self, job_id: str) -> int:
        """Take every ready rank of a job out; how many there were."""
        return sum(self.remove_task(task) for task in _listed(self._by_job.pop(job_id, ())))

    def wuids(self) -> Iterator[str]:
        """Every ready workunit id (one per rank: for tests, not for a hot path)."""
        for task, runs in self._tasks.items():
            for run in runs:
                for rank in range(run.first, run.last + 1):
                    yield f"{task}_{rank}"

    def job_count(self, job_id: str) -> int:
        """Ready ranks of a job."""
        return sum(
            run.last - run.first + 1
            for task in _listed(self._by_job.get(job_id, ()))
            for run in self._tasks.get(task, ())
        )

    def _find(self, task: str, rank: int) -> _Run | None:
        runs = self._tasks.get(task)
        if not runs:
            return None
        at = bisect.bisect_right(runs, rank, key=lambda r: r.first) - 1
        if at >= 0 and runs[at].first <= rank <= runs[at].last:
            return runs[at]
        return None

    def _take(self, task: str, rank: int) -> bool:
        """Take `rank` out of its run; False when it is not ready."""
        run = self._find(task, rank)
        if run is None:
            return False
        self._cut(run, rank, rank)
        return True

    def _remove_span(self, task: str, first: int, last: int) -> None:
        """Take ranks first..last out of the task's runs, wherever they are."""
        for run in [r for r in self._tasks.get(task, ()) if r.first <= last and r.last >= first]:
            self._cut(run, max(run.first, first), min(run.last, last))

    def _cut(self, run: _Run, lo: int, hi: int) -> None:
        """Take lo..hi (inside the run) out: the run shrinks, goes, or splits in two."""
        self._count -= hi - lo + 1
        if lo == run.first and hi == run.last:
            self._forget(run)
        elif lo == run.first:  # its head moves on: its heap slot is refreshed when reached
            run.seq += hi + 1 - run.first
            run.first = hi + 1
        elif hi == run.last:
            run.last = lo - 1
        else:
            upper = _Run(run.entry, run.task, hi + 1, run.last, run.seq + hi + 1 - run.first)
            run.last = lo - 1
            bisect.insort(self._tasks[run.task], upper, key=lambda r: r.first)
            self._push(upper, new=True)

    def _forget(self, run: _Run) -> None:
        """A run with no rank left leaves its task (and the job, when it was the last)."""
        runs = self._tasks[run.task]
        runs.remove(run)
        self._drop(run, counted=False)
        if not runs:
            del self._tasks[run.task]
            self._leave_job(run.entry.job_id, run.task)

    def _join_job(self, job_id: str, task: str) -> None:
        tasks = self._by_job.get(job_id)
        if tasks is None:
            self._by_job[job_id] = task
        elif isinstance(tasks, str):
            self._by_job[job_id] = [tasks, task]
        else:
            tasks.append(task)

    def _leave_job(self, job_id: str, task: str) -> None:
        tasks = self._by_job.get(job_id)
        if tasks == task:
            del self._by_job[job_id]
        elif isinstance(tasks, list) and task in tasks:
            tasks.remove(task)
            if not tasks:
                del self._by_job[job_id]

    def _drop(self, run: _Run, counted: bool = True) -> None:
        run.alive = False
        if counted:
            self._count -= run.last - run.first + 1
        klass = run.klass()
        self._live[klass] -= 1
        if not self._live[klass]:  # its heap holds only stale slots now
            del self._live[klass]
            self._classes.pop(klass, None)

    # ---- picking --------------------------------------------------------------------------

    def pick(self, client: ClientView, available: int | None = None) -> Picked | None:
        """Remove and return the best workunit `client` may take, or None."""
        best: tuple[tuple[int, str, int], _Run, int] | None = None
        for klass, heap in list(self._classes.items()):
            if not client.serves(*klass):
                continue
            found = self._best_in_class(heap, client, available)
            if found is not None and (best is None or found[0] < best[0]):
                best = found
        if best is None:
            return None
        _, run, rank = best
        self._take(run.task, rank)
        return Picked(run.entry.job_id, f"{run.task}_{rank}")

    def _best_in_class(
        self, heap: list[_Slot], client: ClientView, available: int | None
    ) -> tuple[tuple[int, str, int], _Run, int] | None:
        """The first rank the client accepts; stale slots are dropped or refreshed for good."""
        passed_over: list[_Slot] = []
        found = None
        while heap:
            slot = heap[0]
            run = slot[3]
            if not run.alive:
                heapq.heappop(heap)
                continue
            if slot[2] != run.seq:  # its head was taken: the slot moves to the new head
                heapq.heapreplace(heap, (*run.key(), run))
                continue
            size = run.entry.size
            fits = available is None or available < 0 or size < available or size == 0
            rank = self._first_not_skipped(run, client.skip_work) if fits else None
            if rank is None:
                passed_over.append(heapq.heappop(heap))
                continue
            found = (run.key(rank), run, rank)
            break
        for slot in passed_over:
            heapq.heappush(heap, slot)
        return found

    @staticmethod
    def _first_not_skipped(run: _Run, skip: Iterable[str]) -> int | None:
        """The lowest rank of the run whose workunit the client does not skip."""
        rank = run.first
        if skip:
            while rank <= run.last and f"{run.task}_{rank}" in skip:
                rank += 1
        return rank if rank <= run.last else None
