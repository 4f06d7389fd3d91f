"""The job operations a JobActor applies, by name, with the answer AWE gives (spec 4.7, v0.9.30)."""

from __future__ import annotations

from typing import Any

from awe.errors import AweError
from awe.model import expiration, lifecycle, operations
from awe.model.effects import Effects
from awe.model.job import Job, JobState
from awe.model.lifecycle import Settings
from awe.model.times import now


def apply_operation(job: Job, op: str, arg: Any, settings: Settings) -> tuple[Effects, str]:
    """Apply `op` (the model refuses before changing anything); returns effects and answer."""
    at = now()
    if op == "suspend":
        effects = Effects()
        lifecycle.suspend(job, "manually suspended", at, effects)
        return effects, f"job suspended: {job.id}"
    if op == "resume":
        return operations.resume(job, at, settings), f"job resumed: {job.id}"
    if op == "resubmit":
        return operations.resubmit(job, at, settings), f"job resubmitted: {job.id}"
    if op == "recompute":
        return operations.recompute(job, arg, at, settings), f"job recompute started: {job.id}"
    if op == "clientgroup":
        return operations.set_clientgroups(job, arg), f"job group updated: {job.id} to {arg}"
    if op == "priority":
        effects = operations.set_priority(job, arg)
        return effects, f"job priority updated: {job.id} to {job.priority}"
    if op == "pipeline":
        return operations.set_pipeline(job, arg), f"job pipeline updated: {job.id} to {arg}"
    if op == "expiration":
        when = expiration.go_time(expiration.set_expiration(job, arg, at))
        return Effects(), f"expiration '{when}' set for job: {job.id}"
    if op == "delete":  # arg: {"only_suspended": bool, "full": bool} from DELETE /job/{id}
        options = arg or {}
        if options.get("only_suspended") and job.state != JobState.SUSPEND:
            raise AweError(f"job {job.id} is not suspended: nothing deleted")
        if options.get("full") and job.state == JobState.DELETED:
            return Effects(), f"job deleted: {job.id}"  # only its document is left to remove
        return operations.delete(job, at), f"job deleted: {job.id}"
    raise AweError("requested job operation not supported")
