"""Job, Task and Workunit records, their states, and their document forms.

`to_doc()` is what the store keeps (everything, secrets included); `to_json()` is what users
see (no data token, no private environment, no ACL), spec 3.1-3.3.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

from awe.model.history import HISTORY_SIZE
from awe.model.ids import work_id
from awe.model.jsontext import compact
from awe.model.ranks import Run, rank_range, runs_of, without
from awe.model.times import ZERO_TIME


class JobState(StrEnum):
    INIT = "init"
    QUEUED = "queued"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    SUSPEND = "suspend"
    DELETED = "deleted"


class TaskState(StrEnum):
    INIT = "init"
    PENDING = "pending"
    QUEUED = "queued"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    SUSPEND = "suspend"
    USER_SKIPPED = "user_skipped"
    SKIPPED = "skipped"
    PASSED = "passed"


class WorkState(StrEnum):
    QUEUED = "queued"
    CHECKOUT = "checkout"
    SUSPEND = "suspend"
    DONE = "done"


ACTIVE_JOB_STATES = frozenset({JobState.QUEUED, JobState.IN_PROGRESS})
FINISHED_JOB_STATES = frozenset({JobState.COMPLETED, JobState.DELETED})
# A dependency in one of these states no longer holds its dependents back (spec 5.1).
_SCANNED = 8  # Job.task scans this many tasks or fewer; more get an index
DONE_TASK_STATES = frozenset(
    {TaskState.COMPLETED, TaskState.PASSED, TaskState.USER_SKIPPED, TaskState.SKIPPED}
)


@dataclass(slots=True)
class Workunit:
    """One rank of a task that has been handed out (or held back) at least once.

    Kept in the job document so progress survives a restart (D3). A rank never handed out has
    no object: its task knows it only as part of its range of ranks (`Task.unstarted`).
    """

    rank: int
    state: WorkState = WorkState.QUEUED
    failed: int = 0
    client: str = ""
    checkout_time: str = ZERO_TIME
    computetime: int = 0
    notes: str = ""

    def to_doc(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "state": str(self.state),
            "failed": self.failed,
            "client": self.client,
            "checkout_time": self.checkout_time,
            "computetime": self.computetime,
            "notes": self.notes,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Workunit:
        return cls(
            rank=doc["rank"],
            state=WorkState(doc.get("state", "queued")),
            failed=doc.get("failed", 0),
            client=doc.get("client", ""),
            checkout_time=doc.get("checkout_time", ZERO_TIME),
            computetime=doc.get("computetime", 0),
            notes=doc.get("notes", ""),
        )

    def unstarted(self, state: WorkState) -> bool:
        """Whether it is what a rank never handed out is, in a task whose others are `state`."""
        return (
            self.state == state
            and not (self.failed or self.client or self.computetime or self.notes)
            and self.checkout_time == ZERO_TIME
        )


# The `units` of a task with no rank handed out yet: one shared and read-only, so that 100,000
# queued tasks hold no empty dict each (64 bytes); `Task.keep` gives a task a dict of its own.
NO_UNITS: Mapping[int, Workunit] = MappingProxyType({})


@dataclass(slots=True)
class Task:
    id: str  # "<jobid>_<user taskid>"
    cmd: dict[str, Any]
    depends_on: list[str] = field(default_factory=list)  # full task ids
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    predata: list[dict[str, Any]] = field(default_factory=list)
    totalwork: int = 1
    maxworksize: int = 0
    remainwork: int = 1
    state: TaskState = TaskState.INIT
    createddate: str = ZERO_TIME
    starteddate: str = ZERO_TIME
    completeddate: str = ZERO_TIME
    computetime: int = 0
    userattr: dict[str, Any] = field(default_factory=dict)
    clientgroups: str = ""
    skip: int = 0
    workstatus: list[str] = field(default_factory=list)
    # How many workunits the task was split into (0 until it is enqueued): ranks 1..split, or
    # rank 0 alone (D18). Only ranks handed out at least once have an object in `units`; every
    # other rank is in the state `unstarted` (queued, or suspend while its job is suspended).
    split: int = 0
    units: Mapping[int, Workunit] = field(default_factory=lambda: NO_UNITS)
    unstarted: WorkState = WorkState.QUEUED

    @property
    def user_taskid(self) -> str:
        return self.id.split("_", 1)[1]

    def wuid(self, unit: Workunit) -> str:
        return work_id(self.id, unit.rank)

    def ranks(self) -> range:
        """Every rank of the task (none before it is split)."""
        return rank_range(self.split)

    def unit(self, rank: int) -> Workunit | None:
        """The workunit of a rank: its own object, or a new one standing for a rank never handed
        out (not kept: `keep` it to change it). None for a rank the task does not have."""
        unit = self.units.get(rank)
        if unit is None and rank in self.ranks():
            unit = Workunit(rank=rank, state=self.unstarted)
        return unit

    def keep(self, unit: Workunit) -> Workunit:
        """From now on this rank is its own object (it is being handed out, or held back)."""
        units = self.units if isinstance(self.units, dict) else {}
        units[unit.rank] = unit
        self.units = units
        return unit

    def all_units(self) -> list[Workunit]:
        """Every workunit in rank order, never-started ranks as new objects: linear in the
        split, for views and listings, never for the dispatch path."""
        return [self.unit(rank) for rank in self.ranks()]  # type: ignore[misc]

    def started(self) -> list[Workunit]:
        """The workunits handed out at least once, in rank order."""
        return [self.units[rank] for rank in sorted(self.units)]

    def unstarted_count(self) -> int:
        return max(0, len(self.ranks()) - len(self.units))

    def ranks_in(self, state: WorkState) -> list[Run]:
        """The ranks whose workunit is in `state`, as runs, ascending."""
        if state == self.unstarted:
            others = [r for r, u in self.units.items() if u.state != state]
            return without(self.ranks(), others)
        return runs_of(r for r, u in self.units.items() if u.state == state)

    def to_doc(self, workunits: bool = True, shared: bool = False) -> dict[str, Any]:
        """The task; `workunits` lists every workunit (the form users see), else the store's
        form, which keeps started workunits apart (as rows) and the rest as `split`.
        `shared=True` leaves the task's own dicts and lists in the document, not copies: for a
        caller that encodes it at once (a snapshot), where a deep copy was most of the cost."""
        copied = _same if shared else copy.deepcopy
        doc = {
            "taskid": self.id,
            "cmd": copied(self.cmd),
            "dependsOn": list(self.depends_on),
            "inputs": copied(self.inputs),
            "outputs": copied(self.outputs),
            "predata": copied(self.predata),
            "totalwork": self.totalwork,
            "maxworksize": self.maxworksize,
            "remainwork": self.remainwork,
            "state": str(self.state),
            "createddate": self.createddate,
            "starteddate": self.starteddate,
            "completeddate": self.completeddate,
            "computetime": self.computetime,
            "userattr": copied(self.userattr),
            "clientgroups": self.clientgroups,
            "skip": self.skip,
            "workstatus": list(self.workstatus),
            "split": self.split,
            "unstarted": str(self.unstarted),
        }
        if workunits:
            doc["workunits"] = [unit.to_doc() for unit in self.all_units()]
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Task:
        task = cls(
            id=doc["taskid"],
            cmd=compact(doc.get("cmd") or {}),
            depends_on=list(doc.get("dependsOn") or []),
            inputs=compact(doc.get("inputs") or []),
            outputs=compact(doc.get("outputs") or []),
            predata=compact(doc.get("predata") or []),
            totalwork=doc.get("totalwork", 1),
            maxworksize=doc.get("maxworksize", 0),
            remainwork=doc.get("remainwork", 1),
            state=TaskState(doc.get("state", "init")),
            createddate=doc.get("createddate", ZERO_TIME),
            starteddate=doc.get("starteddate", ZERO_TIME),
            completeddate=doc.get("completeddate", ZERO_TIME),
            computetime=doc.get("computetime", 0),
            userattr=compact(doc.get("userattr") or {}),
            clientgroups=doc.get("clientgroups", ""),
            skip=doc.get("skip", 0),
            workstatus=list(doc.get("workstatus") or []),
            unstarted=WorkState(doc.get("unstarted") or "queued"),
        )
        rows = doc.get("workunits") or []
        # before ranges were kept, every workunit had its row: their count was the split
        task.split = doc["split"] if isinstance(doc.get("split"), int) else len(rows)
        ranks = task.ranks()
        for row in rows:
            unit = Workunit.from_doc(row)
            if unit.rank in ranks and not unit.unstarted(task.unstarted):
                task.keep(unit)
        return task


class TaskIndex(NamedTuple):
    """A job's tasks by id, their places in its list, and the places of each one's dependents."""

    tasks: list[Task]  # the list indexed: a new list means a new index
    by_id: dict[str, Task]
    places: dict[str, int]
    children: dict[str, list[int]]

    @classmethod
    def of(cls, tasks: list[Task]) -> TaskIndex:
        children: dict[str, list[int]] = {}
        for n, task in enumerate(tasks):
            for parent in dict.fromkeys(task.depends_on):
                children.setdefault(parent, []).append(n)
        by_id = {task.id: task for task in tasks}
        return cls(tasks, by_id, {task.id: n for n, task in enumerate(tasks)}, children)


@dataclass(slots=True)
class Job:
    id: str
    jid: str
    info: dict[str, Any]
    tasks: list[Task]
    state: JobState = JobState.INIT
    remaintasks: int = 0
    updatetime: str = ZERO_TIME
    notes: str = ""
    lastfailed: str = ""
    resumed: int = 0
    acl: dict[str, Any] = field(default_factory=dict)
    # how many events the job has had: the store keeps the last HISTORY_SIZE of them as rows
    # apart from the document (awe.model.history); a live job does not hold them in memory
    history_count: int = 0
    expiration: str = ZERO_TIME  # v0.9.30: when a finished job is removed (zero: never)
    # tasks by id, their places and their dependents, built together on first use (issue 9: a
    # scan per lookup made a job of 10,000 tasks quadratic); a job of _SCANNED tasks or fewer
    # scans instead and keeps none (100,000 small jobs)
    _index: TaskIndex | None = field(default=None, init=False, repr=False, compare=False)

    def task(self, full_task_id: str) -> Task | None:
        if len(self.tasks) <= _SCANNED:  # a dict would cost more than the scan saves
            return next((task for task in self.tasks if task.id == full_task_id), None)
        return self._indexed().by_id.get(full_task_id)

    def place(self, full_task_id: str) -> int:
        """The task's index in `tasks` (the order in which the store and AWE list them);
        KeyError for a task the job does not have."""
        if len(self.tasks) <= _SCANNED:
            for n, task in enumerate(self.tasks):
                if task.id == full_task_id:
                    return n
            raise KeyError(full_task_id)
        return self._indexed().places[full_task_id]

    def dependents(self, full_task_id: str) -> list[int]:
        """Indexes in `tasks` of the tasks that name this one in `depends_on`, in order."""
        if len(self.tasks) <= _SCANNED:
            return [n for n, task in enumerate(self.tasks) if full_task_id in task.depends_on]
        return self._indexed().children.get(full_task_id, [])

    def _indexed(self) -> TaskIndex:
        """The index of the task list as it is now (a new list, or one grown, is indexed anew)."""
        index = self._index
        if index is None or index.tasks is not self.tasks or len(index.by_id) != len(self.tasks):
            index = self._index = TaskIndex.of(self.tasks)
        return index

    @property
    def priority(self) -> int:
        return int(self.info.get("priority", 1))

    def to_doc(
        self, workunits: bool = True, tasks: bool = True, shared: bool = False
    ) -> dict[str, Any]:
        """The whole job but its history (the store keeps it apart); `workunits=False` and
        `tasks=False` leave those out (the store keeps them apart too); `shared` as in
        `Task.to_doc`."""
        copied = _same if shared else copy.deepcopy
        doc = {
            "id": self.id,
            "jid": self.jid,
            "info": copied(self.info),
            "tasks": [task.to_doc(workunits, shared) for task in self.tasks] if tasks else None,
            "state": str(self.state),
            "remaintasks": self.remaintasks,
            "updatetime": self.updatetime,
            "notes": self.notes,
            "lastfailed": self.lastfailed,
            "resumed": self.resumed,
            "acl": copied(self.acl),
            "history_count": self.history_count,
            "expiration": self.expiration,
        }
        if not tasks:
            del doc["tasks"]
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Job:
        return cls(
            id=doc["id"],
            jid=doc.get("jid", ""),
            info=compact(doc.get("info") or {}),
            tasks=[Task.from_doc(t) for t in doc.get("tasks") or []],
            state=JobState(doc.get("state", "init")),
            remaintasks=doc.get("remaintasks", 0),
            updatetime=doc.get("updatetime", ZERO_TIME),
            notes=doc.get("notes", ""),
            lastfailed=doc.get("lastfailed", ""),
            resumed=doc.get("resumed", 0),
            acl=compact(doc.get("acl") or {}),
            history_count=doc.get("history_count") or len(doc.get("history") or []),
            expiration=doc.get("expiration") or ZERO_TIME,
        )

    def history_kept_from(self) -> int:
        """The number of the oldest event the store still keeps (it keeps HISTORY_SIZE)."""
        return max(0, self.history_count - HISTORY_SIZE)


def _same(value: Any) -> Any:
    return value


def public_job(doc: dict[str, Any], registered: bool) -> dict[str, Any]:
    """A stored job document as users see it: secrets and ACL removed, `registered` set.

    The history is left out too: `GET /job/{id}?history` serves it (it would weigh down every
    listing).
    """
    out = {k: v for k, v in doc.items() if k not in ("acl", "history", "history_count")}
    out["info"] = public_info(doc.get("info") or {})
    out["tasks"] = [
        {**t, "cmd": public_cmd(t.get("cmd") or {}), **{k: sized(t.get(k)) for k in IO_LISTS}}
        for t in doc.get("tasks") or []
    ]
    out["registered"] = registered
    return out


IO_LISTS = ("inputs", "outputs", "predata")


def sized(ios: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """IO entries with `size` (0 until known): AWE always sends it and its monitor reads it."""
    return [{**io, "size": io.get("size") or 0} for io in ios or []]


def public_info(info: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in info.items() if k != "datatoken"}


def public_cmd(cmd: dict[str, Any]) -> dict[str, Any]:
    """The command without its private environment (it only goes to the lease holder, D10)."""
    out = dict(cmd)
    environ = dict(out.get("environ") or {})
    environ.pop("private", None)
    out["environ"] = environ
    return out
