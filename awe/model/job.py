"""Job, Task and Workunit records, their states, and their document forms.

`to_doc()` is what the store keeps (everything, secrets included); `to_json()` is what users
see (no data token, no private environment, no ACL), spec 3.1-3.3.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from awe.model.history import HISTORY_SIZE
from awe.model.ids import work_id
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
DONE_TASK_STATES = frozenset(
    {TaskState.COMPLETED, TaskState.PASSED, TaskState.USER_SKIPPED, TaskState.SKIPPED}
)


@dataclass
class Workunit:
    """One rank of a task. Kept in the job document so progress survives a restart (D3)."""

    rank: int
    state: WorkState = WorkState.QUEUED
    failed: int = 0
    client: str = ""
    checkout_time: str = ZERO_TIME
    computetime: int = 0
    notes: str = ""

    def __setattr__(self, name: str, value: Any) -> None:
        """Every assignment marks the workunit changed, so a snapshot finds what to write."""
        object.__setattr__(self, name, value)
        if name != "changed":
            object.__setattr__(self, "changed", True)

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


@dataclass
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
    workunits: list[Workunit] = field(default_factory=list)

    @property
    def user_taskid(self) -> str:
        return self.id.split("_", 1)[1]

    def wuid(self, unit: Workunit) -> str:
        return work_id(self.id, unit.rank)

    def unit(self, rank: int) -> Workunit | None:
        """Ranks are 0 alone or 1..N in order, so the rank is (almost) the index."""
        index = rank if not self.workunits or self.workunits[0].rank == 0 else rank - 1
        if 0 <= index < len(self.workunits) and self.workunits[index].rank == rank:
            return self.workunits[index]
        for unit in self.workunits:
            if unit.rank == rank:
                return unit
        return None

    def to_doc(self, workunits: bool = True) -> dict[str, Any]:
        doc = {
            "taskid": self.id,
            "cmd": copy.deepcopy(self.cmd),
            "dependsOn": list(self.depends_on),
            "inputs": copy.deepcopy(self.inputs),
            "outputs": copy.deepcopy(self.outputs),
            "predata": copy.deepcopy(self.predata),
            "totalwork": self.totalwork,
            "maxworksize": self.maxworksize,
            "remainwork": self.remainwork,
            "state": str(self.state),
            "createddate": self.createddate,
            "starteddate": self.starteddate,
            "completeddate": self.completeddate,
            "computetime": self.computetime,
            "userattr": copy.deepcopy(self.userattr),
            "clientgroups": self.clientgroups,
            "skip": self.skip,
            "workstatus": list(self.workstatus),
        }
        if workunits:
            doc["workunits"] = [unit.to_doc() for unit in self.workunits]
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Task:
        return cls(
            id=doc["taskid"],
            cmd=copy.deepcopy(doc.get("cmd") or {}),
            depends_on=list(doc.get("dependsOn") or []),
            inputs=copy.deepcopy(doc.get("inputs") or []),
            outputs=copy.deepcopy(doc.get("outputs") or []),
            predata=copy.deepcopy(doc.get("predata") or []),
            totalwork=doc.get("totalwork", 1),
            maxworksize=doc.get("maxworksize", 0),
            remainwork=doc.get("remainwork", 1),
            state=TaskState(doc.get("state", "init")),
            createddate=doc.get("createddate", ZERO_TIME),
            starteddate=doc.get("starteddate", ZERO_TIME),
            completeddate=doc.get("completeddate", ZERO_TIME),
            computetime=doc.get("computetime", 0),
            userattr=copy.deepcopy(doc.get("userattr") or {}),
            clientgroups=doc.get("clientgroups", ""),
            skip=doc.get("skip", 0),
            workstatus=list(doc.get("workstatus") or []),
            workunits=[Workunit.from_doc(u) for u in doc.get("workunits") or []],
        )


@dataclass
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
    # the last HISTORY_SIZE events of the job, oldest first, as rows (awe.model.history); the
    # store keeps them apart from the document, like workunits; `history_count` numbers them
    history: list[list[Any]] = field(default_factory=list)
    history_count: int = 0
    expiration: str = ZERO_TIME  # v0.9.30: when a finished job is removed (zero: never)
    # tasks by id, built on first use: every report and enqueue looks tasks up, and a scan of
    # the list made a job of 10,000 tasks quadratic (issue 9)
    _index: dict[str, Task] = field(default_factory=dict, init=False, repr=False, compare=False)
    _indexed: list[Task] | None = field(default=None, init=False, repr=False, compare=False)

    def task(self, full_task_id: str) -> Task | None:
        if self._indexed is not self.tasks or len(self._index) != len(self.tasks):
            self._index = {task.id: task for task in self.tasks}
            self._indexed = self.tasks
        return self._index.get(full_task_id)

    @property
    def priority(self) -> int:
        return int(self.info.get("priority", 1))

    def to_doc(self, workunits: bool = True, history: bool = True) -> dict[str, Any]:
        """The whole job; `workunits=False`, `history=False` leave those out (the store keeps
        them apart)."""
        doc = {
            "id": self.id,
            "jid": self.jid,
            "info": copy.deepcopy(self.info),
            "tasks": [task.to_doc(workunits) for task in self.tasks],
            "state": str(self.state),
            "remaintasks": self.remaintasks,
            "updatetime": self.updatetime,
            "notes": self.notes,
            "lastfailed": self.lastfailed,
            "resumed": self.resumed,
            "acl": copy.deepcopy(self.acl),
            "history_count": self.history_count,
            "expiration": self.expiration,
        }
        if history:
            doc["history"] = list(self.history)  # rows are never changed once made
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Job:
        return cls(
            id=doc["id"],
            jid=doc.get("jid", ""),
            info=copy.deepcopy(doc.get("info") or {}),
            tasks=[Task.from_doc(t) for t in doc.get("tasks") or []],
            state=JobState(doc.get("state", "init")),
            remaintasks=doc.get("remaintasks", 0),
            updatetime=doc.get("updatetime", ZERO_TIME),
            notes=doc.get("notes", ""),
            lastfailed=doc.get("lastfailed", ""),
            resumed=doc.get("resumed", 0),
            acl=copy.deepcopy(doc.get("acl") or {}),
            history=list(doc.get("history") or []),
            history_count=doc.get("history_count") or len(doc.get("history") or []),
            expiration=doc.get("expiration") or ZERO_TIME,
        )

    def remember(self, rows: list[list[Any]]) -> None:
        """Keep events (as history rows) in the job's history, which holds the last HISTORY_SIZE."""
        self.history.extend(rows)
        self.history_count += len(rows)
        if len(self.history) > HISTORY_SIZE:
            del self.history[: len(self.history) - HISTORY_SIZE]


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
