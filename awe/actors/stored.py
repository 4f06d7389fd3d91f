"""Answers for commands to a job that has no JobActor: from its stored document, or at once.

The QueueActor uses these after it read the job on the I/O pool (a finished job, a zombie, a
job that is not in the store at all). Only an operation brings the job back into an actor.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from awe.actors.base import reject, resolve
from awe.actors.messages import (
    ApplyReport,
    DataRights,
    GetJob,
    GetWorkunit,
    JobCommand,
    JobOverview,
    OperateJob,
    Reattach,
    Release,
    Secret,
)
from awe.errors import AweError, NotFound
from awe.model import data_access, history, lifecycle
from awe.model.job import Job, public_job


def needs_actor(cmd: JobCommand) -> bool:
    """Only an operation changes a job that is not live; everything else is answered here."""
    return isinstance(cmd, OperateJob)


def answer_at_once(cmd: JobCommand) -> bool:
    """Commands about leases, which a job without an actor does not have; True when answered."""
    if isinstance(cmd, Release | Reattach):
        resolve(cmd.reply, False)
        return True
    if isinstance(cmd, JobOverview):  # it left the queue: no share of it
        resolve(cmd.reply, None)
        return True
    if not isinstance(cmd, GetJob | GetWorkunit | OperateJob | ApplyReport | Secret | DataRights):
        resolve(cmd.reply, None)  # a job's own messages (ticks, nodes) have nothing left to do
        return True
    return False


def answer_stored(cmd: JobCommand, doc: dict[str, Any]) -> None:
    """Answer from the stored document (durable by definition): reads and stale reports."""
    try:
        resolve(cmd.reply, _stored(cmd, doc))
    except AweError as err:
        reject(cmd.reply, err)


def _stored(cmd: JobCommand, doc: dict[str, Any]) -> Any:
    acl = dict(doc.get("acl") or {})
    if isinstance(cmd, GetJob):
        if cmd.history:
            owner = str(acl.get("owner", ""))
            return history.expand(doc.get("history") or [], cmd.job_id, owner), acl
        view = public_job(doc, False)
        return view, acl
    if isinstance(cmd, GetWorkunit):
        job = Job.from_doc(doc)
        task, unit = lifecycle.find_unit(job, cmd.wuid)
        return lifecycle.workunit_view(job, task, unit), acl
    if isinstance(cmd, ApplyReport):  # the job left the queue: a late or repeated report
        lifecycle.find_unit(Job.from_doc(doc), cmd.wuid)
        return "ok"
    if isinstance(cmd, Secret):
        raise AweError(f"error in getting token for job {cmd.wuid}")
    if isinstance(cmd, DataRights):  # a finished job's files: read by its ACL, never written
        if cmd.ask.op == data_access.WRITE:
            raise AweError(f"job {cmd.job_id} is not in the queue: it takes no files", 409)
        return data_access.decide(Job.from_doc(doc), dataclasses.replace(cmd.ask, client=""))
    raise AweError(f"{type(cmd).__name__} needs a live job")


def answer_missing(cmd: JobCommand) -> None:
    """The job is in no actor and not in the store."""
    if isinstance(cmd, GetJob | GetWorkunit):
        reject(cmd.reply, AweError(f"job not found:{cmd.job_id}"))
    elif isinstance(cmd, OperateJob):
        reject(cmd.reply, NotFound("Not Found"))
    elif isinstance(cmd, ApplyReport):
        reject(cmd.reply, NotFound(f"no workunit found with id {cmd.wuid}"))
    elif isinstance(cmd, Secret):
        reject(cmd.reply, AweError(f"error in getting token for job {cmd.wuid}"))
    elif isinstance(cmd, DataRights):
        reject(cmd.reply, NotFound(f"job not found:{cmd.job_id}"))
    else:
        resolve(cmd.reply, None)
