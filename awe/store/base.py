"""The Store protocol: everything awe keeps durably, behind one interface for both back-ends.

The job document is the truth for anything that must survive a restart (DESIGN.md,
"Persistence"). Writers are few: only the SnapshotActor calls `save_batch`; readers (HTTP
handlers through an executor, start-up recovery) only read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

# Job states that still need a JobActor after a restart (spec 7.3, decision D3).
UNFINISHED_STATES = ("init", "queued", "in-progress", "suspend")

# Dotted job fields that both back-ends index (spec 7.1).
INDEXED_FIELDS = (
    "id",
    "jid",
    "state",
    "updatetime",
    "info.submittime",
    "info.completedtime",
    "info.user",
    "info.project",
    "info.pipeline",
)


class StoreUnavailable(Exception):
    """The store cannot be reached now; the request that needed it should answer 503."""


@dataclass(frozen=True)
class Report:
    """One report file a worker sent with a status report (stdout, stderr, worknotes, perf...)."""

    job_id: str
    wuid: str
    name: str
    content: bytes


@dataclass(frozen=True)
class JobPart:
    """What changed in a job, already JSON text: its fields, and those of its tasks that changed.

    The JobActor encodes these when it hands a snapshot over, so the snapshot is immutable
    while the job goes on changing, and a change to one task of a job of 10,000 writes that
    task, not the job. `header` is the job document without `tasks` (nor workunits, history);
    `tasks` maps a task's index in the job's task list to its document (without workunits);
    `whole` says `tasks` holds every task of the job, replacing what was stored.
    """

    job_id: str
    jid: Any  # as in the document: the jid high-water mark follows it
    header: str
    tasks: dict[int, str] = field(default_factory=dict)
    whole: bool = False

    def merge(self, newer: JobPart) -> JobPart:
        """This part with a later one of the same job applied on top (a write-behind buffer)."""
        if newer.whole:
            return newer
        return JobPart(self.job_id, newer.jid, newer.header, {**self.tasks, **newer.tasks},
                       self.whole)  # fmt: skip


@dataclass
class Batch:
    """What one group commit writes: job documents (upserted whole, by `id`) or the parts of
    them that changed, workunits, reports.

    Workunits are kept apart from their job's document, one row per `wuid`, so a change to one
    workunit of a job with thousands writes one small row, not the whole job (and no job grows
    past MongoDB's 16 MiB document limit). Each row is a workunit document (rank, state, failed,
    client, ...) plus `wuid`, `job_id` and `taskid`; `removed_workunits` are wuids to forget
    (a recomputed task starts with new ones).
    """

    jobs: list[dict[str, Any]] = field(default_factory=list)
    # jobs changed in part (JobActor snapshots): applied after `jobs`
    parts: list[JobPart] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    perf: list[dict[str, Any]] = field(default_factory=list)
    workunits: list[dict[str, Any]] = field(default_factory=list)
    removed_workunits: list[str] = field(default_factory=list)
    # A job's history (its last events) is kept apart as well, one row per event, appended:
    # {"job_id", "seq", "row"}, `seq` counting the job's events. `history_from` gives, per job,
    # the first seq still kept: older rows are removed.
    history: list[dict[str, Any]] = field(default_factory=list)
    history_from: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(
            self.jobs
            or self.parts
            or self.reports
            or self.perf
            or self.workunits
            or self.removed_workunits
            or self.history
            or self.history_from
        )


@dataclass
class JobQuery:
    """A listing of jobs, as `GET /job` asks for it (spec 8.3, 8.4).

    `filters` maps a dotted field to the string values it may equal (exact string equality,
    no type conversion). `ids` restricts to those job ids; `exclude_ids` removes them.
    `date_start`/`date_end` form a half-open range that must hold for `info.submittime` or
    `info.completedtime`. A `limit` of 0 or less means no limit.
    `readable_by` (spec 8.4, ACL) keeps only jobs that user may read: `acl.owner` is the user,
    or `acl.read` contains the user or "public"; None means no ACL filter (admins).
    """

    filters: dict[str, list[str]] = field(default_factory=dict)
    ids: list[str] | None = None
    exclude_ids: list[str] | None = None
    date_start: str | None = None
    date_end: str | None = None
    order: str = "updatetime"
    descending: bool = True
    offset: int = 0
    limit: int = 25
    readable_by: str | None = None


class Store(Protocol):
    """Durable storage of jobs, reports and perf records."""

    def save_batch(self, batch: Batch) -> None:
        """Write every document of the batch durably before returning (D4).

        Jobs are upserted whole by `id`; reports replace an earlier report of the same
        (wuid, name). The jid high-water mark follows the largest `jid` saved.
        Raises StoreUnavailable when the back-end cannot be written now.
        """
        ...

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        """The job with its stored workunits back in `tasks[i].workunits`, by rank, and (if it
        has any) its history rows in `history`, by seq."""
        ...

    def find_jobs(self, query: JobQuery) -> tuple[list[dict[str, Any]], int]:
        """Return one page of matching jobs (without their workunits) and the total matches."""
        ...

    def load_unfinished_jobs(self) -> list[dict[str, Any]]:
        """Jobs in UNFINISHED_STATES with their workunits and history (as `get_job`), oldest
        `info.submittime` first."""
        ...

    def unfinished_job_ids(self) -> list[str]:
        """Ids of the jobs in UNFINISHED_STATES, oldest `info.submittime` first (ties by id):
        what a restart brings back, known before any of them is read."""
        ...

    def get_jobs(self, job_ids: list[str], history: bool = True) -> list[dict[str, Any]]:
        """The jobs of `job_ids` that exist, each as `get_job` gives it (without `history`
        when `history` is False), in a few reads (not one per job): recovery reads unfinished
        jobs a thousand at a time."""
        ...

    def job_history(self, job_id: str) -> list[list[Any]]:
        """A job's history rows, oldest first (the last HISTORY_SIZE of its events)."""
        ...

    def max_jid(self) -> int:
        """The largest jid ever saved, or 10000 when none was (so the first job gets 10001)."""
        ...

    def delete_job(self, job_id: str) -> bool:
        """Remove the job document with its workunits, reports and perf record (`?full`).

        Only the SnapshotActor calls it, as it calls `save_batch`. True if the job was there.
        """
        ...

    def distinct(self, field: str, query: JobQuery) -> list[Any]:
        """The distinct scalar values of a dotted field among the matching jobs, sorted."""
        ...

    def expired_job_ids(self, now: str) -> list[str]:
        """Completed or deleted jobs whose `expiration` is set and earlier than `now` (spec 7.6)."""
        ...

    def get_report(self, wuid: str, name: str) -> bytes | None: ...

    def job_reports(self, job_id: str, name: str) -> dict[str, bytes]:
        """Every stored report called `name` of a job's workunits, by wuid (one read)."""
        ...

    def get_perf(self, job_id: str) -> dict[str, Any] | None: ...

    def describe(self) -> str:
        """Where the data lives, for the start-up log line."""
        ...

    def close(self) -> None: ...
