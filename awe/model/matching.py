"""Which ready workunit a client may take, and in which order (spec 5.3).

`ReadyIndex` keeps ready workunits in one heap per *class* — (clientgroups, command name) —
ordered by priority desc, then job submit time asc. A checkout looks only at the heads of the
classes the client may serve, so its cost follows the number of classes, not of workunits.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


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


@dataclass
class ReadyEntry:
    """A ready workunit with what ordering and matching need, and the view a worker receives."""

    wuid: str
    job_id: str
    priority: int
    submittime: str
    clientgroups: str
    cmd_name: str
    size: int
    view: dict[str, Any] = field(repr=False, default_factory=dict)


class ReadyIndex:
    """The ready workunits, indexed for checkout. Not thread-safe: one owner (QueueActor)."""

    def __init__(self) -> None:
        self._entries: dict[str, ReadyEntry] = {}
        self._by_job: dict[str, set[str]] = {}
        self._classes: dict[tuple[str, str], list[tuple[int, str, int, ReadyEntry]]] = {}
        self._live: dict[tuple[str, str], int] = {}  # live entries per class: 0 drops its heap
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, wuid: str) -> bool:
        return wuid in self._entries

    def add(self, entry: ReadyEntry) -> None:
        """Add or replace; a replaced entry's old heap slot becomes stale and is skipped."""
        self.remove(entry.wuid)
        self._entries[entry.wuid] = entry
        self._by_job.setdefault(entry.job_id, set()).add(entry.wuid)
        key = (entry.clientgroups, entry.cmd_name)
        self._live[key] = self._live.get(key, 0) + 1
        heap = self._classes.setdefault(key, [])
        heapq.heappush(heap, (-entry.priority, entry.submittime, next(self._seq), entry))

    def remove(self, wuid: str) -> ReadyEntry | None:
        entry = self._entries.pop(wuid, None)
        if entry is not None:
            key = (entry.clientgroups, entry.cmd_name)
            self._live[key] -= 1
            if not self._live[key]:  # its heap holds only stale slots now
                del self._live[key]
                self._classes.pop(key, None)
            wuids = self._by_job.get(entry.job_id)
            if wuids is not None:
                wuids.discard(wuid)
                if not wuids:
                    del self._by_job[entry.job_id]
        return entry

    def remove_job(self, job_id: str) -> list[str]:
        wuids = list(self._by_job.get(job_id, ()))
        for wuid in wuids:
            self.remove(wuid)
        return wuids

    def job_count(self, job_id: str) -> int:
        return len(self._by_job.get(job_id, ()))

    def entries(self) -> Iterable[ReadyEntry]:
        return self._entries.values()

    def _is_live(self, entry: ReadyEntry) -> bool:
        return self._entries.get(entry.wuid) is entry

    def pick(self, client: ClientView, available: int | None = None) -> ReadyEntry | None:
        """Remove and return the best workunit `client` may take, or None."""
        best: tuple[tuple[int, str, int], ReadyEntry] | None = None
        for (groups, cmd_name), heap in list(self._classes.items()):
            if not client.serves(groups, cmd_name):
                continue
            head = self._best_in_class(heap, client, available)
            if head is not None and (best is None or head[0] < best[0]):
                best = head
            if not heap:
                del self._classes[(groups, cmd_name)]
        if best is None:
            return None
        return self.remove(best[1].wuid)

    def _best_in_class(
        self,
        heap: list[tuple[int, str, int, ReadyEntry]],
        client: ClientView,
        available: int | None,
    ) -> tuple[tuple[int, str, int], ReadyEntry] | None:
        """The first live entry the client accepts; stale heads are dropped for good."""
        passed_over = []
        found = None
        while heap:
            item = heap[0]
            entry = item[3]
            if not self._is_live(entry):
                heapq.heappop(heap)
                continue
            fits = available is None or available < 0 or entry.size < available or entry.size == 0
            if entry.wuid in client.skip_work or not fits:
                passed_over.append(heapq.heappop(heap))
                continue
            found = ((item[0], item[1], item[2]), entry)
            break
        for item in passed_over:
            heapq.heappush(heap, item)
        return found
