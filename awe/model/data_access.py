"""Who may read and write a job's files in the server's datastore: the one place the rule lives.

Reads: whoever may read the job (its owner, an admin, a user or `public` in its read ACL), and a
worker that holds a lease on one of the job's workunits. Writes: only the client holding the
lease of the workunit whose output it is, and only under the name the task declared, while the
job still runs. Names are checked again here (the job-script parser is the first wall): a task
id or file name that could walk a path never reaches the filesystem.

`decide` is pure: the JobActor calls it with its live job, the handler with a stored one.
"""

from __future__ import annotations

from dataclasses import dataclass

from awe.errors import AweError, Unauthorized
from awe.model import rights
from awe.model.access import PUBLIC, Caller
from awe.model.ids import task_id, work_id
from awe.model.job import ACTIVE_JOB_STATES, Job, JobState, Task, TaskState, WorkState
from awe.model.names import filename_problem, taskid_problem

READ, WRITE = "read", "write"
GONE = 409  # the job no longer takes files


@dataclass(frozen=True)
class DataAsk:
    """One request on a job's files, as the handler saw it (the client id checked by the registry)."""

    op: str  # read | write
    user: str = PUBLIC  # from the Authorization header; `public` when there is none
    admin: bool = False
    anonymous_read: bool = True  # config `anonymous.read`
    client: str = ""  # a registered worker acting for a workunit it holds
    task: str = ""  # the user's task id ("0"), not `<job>_<task>`
    filename: str = ""
    rank: int = 0  # write: which workunit of the task uploads


@dataclass(frozen=True)
class Grant:
    """What the request may touch: a task's file, or one rank's part of it (split tasks)."""

    task: str = ""
    filename: str = ""
    part: int | None = None


def check_names(task: str, filename: str, required: bool = False) -> None:
    """A task id and a file name from a request must be single, safe path components."""
    if task or required:
        problem = taskid_problem(task)
        if problem:
            raise AweError(f"invalid task id {task!r}: {problem}")
    if filename or required:
        problem = filename_problem(filename)
        if problem:
            raise AweError(f"invalid file name {filename!r}: {problem}")


def holds_lease(job: Job, client: str) -> bool:
    """`client` holds a workunit of `job` right now."""
    return bool(client) and any(
        unit.client == client and unit.state in (WorkState.CHECKOUT, WorkState.SUSPEND)
        for task in job.tasks
        for unit in task.units.values()
    )


def decide(job: Job, ask: DataAsk) -> Grant:
    """Allow the request (the grant says what it may touch) or raise the error to answer."""
    check_names(ask.task, ask.filename)
    if ask.op == READ:
        return _read(job, ask)
    if ask.op == WRITE:
        return _write(job, ask)
    raise AweError(f"unknown data operation {ask.op!r}")


def _read(job: Job, ask: DataAsk) -> Grant:
    if holds_lease(job, ask.client):
        return Grant(ask.task, ask.filename)
    if ask.user == PUBLIC and not ask.anonymous_read:
        raise Unauthorized("No Authorization" if not ask.client else "User Unauthorized")
    rights.authorize_job("data.read", Caller(ask.user, ask.admin), job.acl)  # its readers
    return Grant(ask.task, ask.filename)


def _write(job: Job, ask: DataAsk) -> Grant:
    if not ask.client:
        raise AweError("This request type requires the client=clientid parameter.")
    if job.state not in (JobState.INIT, *ACTIVE_JOB_STATES, JobState.SUSPEND):
        raise AweError(f"job {job.id} is {job.state}: it takes no more files", GONE)
    task = job.task(task_id(job.id, ask.task))
    if task is None:
        raise AweError(f"task {ask.task} not found in job {job.id}")
    wuid = work_id(task.id, ask.rank)
    unit = task.unit(ask.rank)
    if unit is None:
        raise AweError(f"no workunit found with id {wuid}")
    leased = unit.state in (WorkState.CHECKOUT, WorkState.SUSPEND)
    rights.authorize_holder(ask.client, unit.client if leased else "")  # 401 for anyone else
    if task.state == TaskState.SKIPPED:
        raise AweError(f"task {task.id} was skipped: it takes no more files", GONE)
    if not _datastore_output(task, ask.filename):
        raise AweError(f"{ask.filename} is not an output of task {ask.task} kept by this server")
    return Grant(ask.task, ask.filename, ask.rank if task.split > 1 else None)


def _datastore_output(task: Task, filename: str) -> bool:
    return any(
        out.get("filename") == filename and out.get("datastore") and not out.get("nofile")
        for out in task.outputs
    )
