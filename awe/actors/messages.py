"""The typed messages actors exchange, and that handlers send (DESIGN.md "Ownership and messages").

Every message is a frozen dataclass, dispatched by its type. A `Command` may carry a `reply`
(a future that exactly one actor resolves or rejects, possibly not the one first told) and
always carries its `stimulus`: the request id that caused it (`req-…`), or `sweep`, `recover`,
`restart`, … so that every state change it makes can say why. Fields that hold secrets or bulk
(tokens, profiles, report files, whole jobs) are left out of `repr`, so a logged message never
shows them.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field
from typing import Any

from awe.model.access import Caller
from awe.model.data_access import DataAsk
from awe.model.matching import ClientView, ReadyEntry
from awe.store.base import JobPart
from awe.store.base import Report as ReportFile

Reply = concurrent.futures.Future


@dataclass(frozen=True, kw_only=True)
class Command:
    stimulus: str = ""
    reply: Reply | None = field(default=None, repr=False, compare=False)


# ---- to the QueueActor ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SubmitJob(Command):
    job: Any = field(repr=False)  # awe.model.job.Job


@dataclass(frozen=True, kw_only=True)
class RecoverJobs(Command):
    """Unfinished jobs read from the store (`awe.model.job.Job`s, made off the queue's
    thread): each gets its JobActor back (D3), unless it is live already (brought back on
    demand meanwhile)."""

    jobs: list[Any] = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class ExpectJobs(Command):
    """A restart: these unfinished jobs come back (`RecoverJobs`) while the server serves;
    a command for one of them brings it back at once. `done` ends the recovery."""

    job_ids: tuple[str, ...] = field(default=(), repr=False)
    done: bool = False


@dataclass(frozen=True, kw_only=True)
class Dormant(Command):
    """Unfinished jobs in the store that no JobActor holds (recovery off): ids in the store
    that listings of live jobs leave out. `job_ids` sets them (at start); without, answers."""

    job_ids: tuple[str, ...] | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True)
class LiveAmong(Command):
    """Which of these jobs are in the queue (live, or coming back after a restart)."""

    job_ids: tuple[str, ...] = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class Registered(Command):
    """Ids of live jobs: registered, active, suspend (spec 7.5)."""


@dataclass(frozen=True, kw_only=True)
class QueueStatus(Command):
    pass


@dataclass(frozen=True, kw_only=True)
class SuspendQueue(Command):
    suspended: bool


@dataclass(frozen=True, kw_only=True)
class CloseQueue(Command):
    """The server stops: hand out nothing more, answer every waiting checkout."""


@dataclass(frozen=True, kw_only=True)
class Sweep(Command):
    """The periodic sweep (queue: leases' deadlines; registry: lost clients)."""

    at: str


@dataclass(frozen=True, kw_only=True)
class Pick(Command):
    """A checkout of a known client: pick the best ready workunit for it. Answers the
    workunit as the worker gets it, or None when there is none (now, or within `wait_s`)."""

    client: ClientView
    available: int | None
    wait_s: float
    wait_token: int


@dataclass(frozen=True, kw_only=True)
class DropWaiter(Command):
    """A suspended, deleted or lost client's waiting checkout ends now."""

    client_id: str


@dataclass(frozen=True, kw_only=True)
class JobChanged(Command):
    """A JobActor's effects on the ready index, and its job's state."""

    job_id: str
    ref: Any = field(repr=False)
    state: str
    withdraw: tuple[str, ...] = ()
    withdraw_tasks: tuple[str, ...] = ()  # tasks none of whose ranks is ready any more
    offers: tuple[ReadyEntry, ...] = ()
    finished: bool = False


@dataclass(frozen=True, kw_only=True)
class Retiring(Command):
    """A finished job is durable: its actor leaves, the store serves the job from now on."""

    job_id: str
    ref: Any = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class Reroute(Command):
    """A command a JobActor could not handle (retiring or stopped): route it again."""

    command: JobCommand
    ref: Any = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class JobCrashed(Command):
    job_id: str
    ref: Any = field(repr=False)
    reason: str


@dataclass(frozen=True, kw_only=True)
class WakeAt(Command):
    """Send the job a `Tick` at the first sweep at or after `at` (a POSIX time)."""

    job_id: str
    at: float


@dataclass(frozen=True, kw_only=True)
class Loaded(Command):
    """A job read from the store on the I/O pool (the future holds the doc or the error)."""

    job_id: str
    result: concurrent.futures.Future = field(repr=False)


# ---- to a JobActor (the QueueActor routes them by job_id) ------------------------------------


@dataclass(frozen=True, kw_only=True)
class JobCommand(Command):
    job_id: str


@dataclass(frozen=True, kw_only=True)
class Admit(JobCommand):
    pass


@dataclass(frozen=True, kw_only=True)
class Recover(JobCommand):
    pass


@dataclass(frozen=True, kw_only=True)
class GetJob(JobCommand):
    """Answers (view, acl): the job as users see it, or its history when `history`."""

    history: bool = False


@dataclass(frozen=True, kw_only=True)
class JobOverview(JobCommand):
    """The job's counts for `GET /queue` (and its workunits in the queue for `GET /work`);
    None once the job left the queue."""

    workunits: bool = False


@dataclass(frozen=True, kw_only=True)
class GetWorkunit(JobCommand):
    """Answers (view, acl): the workunit (its lease holder in `client`) and its job's ACL."""

    wuid: str


@dataclass(frozen=True, kw_only=True)
class OperateJob(JobCommand):
    """suspend, resume, resubmit, recompute, clientgroup, priority, delete (spec 4.7)."""

    op: str
    arg: Any = None
    caller: Caller = Caller()
    right: str = "write"


@dataclass(frozen=True, kw_only=True)
class ApplyReport(JobCommand):
    wuid: str
    client: str
    status: str
    computetime: int = 0
    notes: str = field(default="", repr=False)
    reports: tuple[ReportFile, ...] = field(default=(), repr=False)


@dataclass(frozen=True, kw_only=True)
class Secret(JobCommand):
    wuid: str
    client: str
    kind: str  # datatoken | privateenv


@dataclass(frozen=True, kw_only=True)
class Lease(JobCommand):
    wuid: str
    client: str
    at: str
    pick: Pick


@dataclass(frozen=True, kw_only=True)
class Release(JobCommand):
    """The holder is lost, suspended or deleted: its workunit goes back to the queue."""

    wuid: str
    client: str
    why: str = ""


@dataclass(frozen=True, kw_only=True)
class Undelivered(JobCommand):
    """A lease no worker received (its write failed, or its checkout gave up): release it,
    then answer the checkout with `error`, so that a retry finds the workunit ready again."""

    wuid: str
    client: str
    checkout: Reply | None = field(default=None, repr=False)
    error: BaseException | None = None


@dataclass(frozen=True, kw_only=True)
class Reattach(JobCommand):
    """A re-registering worker says it still runs `wuid`; answers whether it holds it."""

    wuid: str
    client: str
    at: str


@dataclass(frozen=True, kw_only=True)
class Tick(JobCommand):
    """A sweep reached a time the job asked for (lease deadlines after a restart)."""

    at: str


@dataclass(frozen=True, kw_only=True)
class NodesCreated(JobCommand):
    task_id: str
    result: concurrent.futures.Future = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class DataRights(JobCommand):
    """May this request read or write the job's files? Answers a `data_access.Grant`."""

    ask: DataAsk


@dataclass(frozen=True, kw_only=True)
class PartsJoined(JobCommand):
    """The I/O pool joined a split task's parts (the future holds {file name: size} or the error)."""

    task_id: str
    result: concurrent.futures.Future = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class Durable(JobCommand):
    """The job's snapshot with its finished state was written (or not: `ok` False)."""

    ok: bool


# ---- to the ClientRegistryActor --------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RegisterClient(Command):
    profile: Any = field(repr=False)
    token: str | None = field(default=None, repr=False)
    proof: str = "none"  # awe.model.workerauth.Proof of the profile's id
    asks_secret: bool = False  # the worker asked for a secret (awe's worker does)


@dataclass(frozen=True, kw_only=True)
class Heartbeat(Command):
    client_id: str
    token: str | None = field(default=None, repr=False)
    proof: str = "none"


@dataclass(frozen=True, kw_only=True)
class CheckClient(Command):
    """May this request act as `client_id`? Answers an `awe.model.workerauth.WorkerCheck`."""

    client_id: str
    token: str | None = field(default=None, repr=False)
    proof: str = "none"


@dataclass(frozen=True, kw_only=True)
class GetClient(Command):
    client_id: str


@dataclass(frozen=True, kw_only=True)
class ListClients(Command):
    busy: bool = False


@dataclass(frozen=True, kw_only=True)
class ControlClient(Command):
    client_id: str
    op: str  # suspend | resume | delete


@dataclass(frozen=True, kw_only=True)
class ControlAllClients(Command):
    op: str  # suspendall | resumeall


@dataclass(frozen=True, kw_only=True)
class Checkout(Command):
    client_id: str
    token: str | None = field(default=None, repr=False)
    proof: str = "none"
    available: int | None = None
    wait_s: float = 0.0
    wait_token: int = 0


@dataclass(frozen=True, kw_only=True)
class ReportWork(Command):
    client_id: str
    token: str | None = field(default=None, repr=False)
    proof: str = "none"
    wuid: str
    status: str
    computetime: int = 0
    notes: str = field(default="", repr=False)
    reports: tuple[ReportFile, ...] = field(default=(), repr=False)


@dataclass(frozen=True, kw_only=True)
class GetSecret(Command):
    client_id: str
    token: str | None = field(default=None, repr=False)
    proof: str = "none"
    wuid: str
    kind: str


@dataclass(frozen=True, kw_only=True)
class ClientDataRights(Command):
    """A worker acting on a job's files: the registry checks who it is, the job decides."""

    client_id: str
    token: str | None = field(default=None, repr=False)
    proof: str = "none"
    job_id: str
    ask: DataAsk


@dataclass(frozen=True, kw_only=True)
class LeaseChanged(Command):
    """The one stream of lease changes: a JobActor granted or ended a lease."""

    wuid: str
    client: str
    granted: bool
    counted: bool = False  # a new checkout (not a reattach, nor a lease found at start-up)
    outcome: str = ""  # how it ended: done, fail, discarded, released, …
    discard: bool = False  # the worker must drop it (its job was suspended or deleted)


@dataclass(frozen=True, kw_only=True)
class FillStatus(Command):
    """The queue's part of `QueueStatus`; the registry adds the lease count and answers."""

    status: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Settled(Command):
    """Releases or reattaches the registry asked for are durable: answer `answer`."""

    client_id: str
    answer: Any = None
    refused: tuple[str, ...] = ()  # reattaches refused: the worker must drop those


# ---- to the SnapshotActor --------------------------------------------------------------------

Waiter = tuple[Reply, Any]


@dataclass(frozen=True, kw_only=True)
class Save(Command):
    """What changed in a job (its fields, changed tasks), its changed workunit rows and
    reports; answer `waiters` once durable."""

    job_id: str
    part: JobPart = field(repr=False)
    workunits: list[dict[str, Any]] = field(default_factory=list, repr=False)
    removed: list[str] = field(default_factory=list, repr=False)
    reports: list[ReportFile] = field(default_factory=list, repr=False)
    history: list[dict[str, Any]] = field(default_factory=list, repr=False)  # new event rows
    history_from: int = 0  # the first history seq of the job still kept
    waiters: list[Waiter] = field(default_factory=list, repr=False)


@dataclass(frozen=True, kw_only=True)
class Sync(Command):
    """Answer `waiters` once everything handed in for this job so far is durable."""

    job_id: str
    waiters: list[Waiter] = field(default_factory=list, repr=False)


@dataclass(frozen=True, kw_only=True)
class Purge(Command):
    """Remove a job from the store for good (`?full`, the expiration reaper), after every
    pending write; with `expired_before` only if the stored job is still expired by then."""

    job_id: str
    expired_before: str | None = None


@dataclass(frozen=True, kw_only=True)
class Insert(Command):
    """Store a job that must not exist yet (`POST /job` with `import`), never overwriting one."""

    doc: dict[str, Any] = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class Flush(Command):
    """Write whatever is buffered now (shutdown, tests)."""


@dataclass(frozen=True, kw_only=True)
class Retry(Command):
    pass
