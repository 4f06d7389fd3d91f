"""AWE's identifiers: `<jobid>_<taskid>` for tasks and `<jobid>_<taskid>_<rank>` for workunits."""

from __future__ import annotations

from awe.errors import AweError


def task_id(job_id: str, user_taskid: str) -> str:
    return f"{job_id}_{user_taskid}"


def work_id(full_task_id: str, rank: int) -> str:
    return f"{full_task_id}_{rank}"


def split_task_id(full_task_id: str) -> tuple[str, str]:
    """(job id, user taskid); a task id has exactly two `_`-separated parts."""
    parts = full_task_id.split("_")
    if len(parts) != 2 or not all(parts):
        raise AweError(f"invalid task id: {full_task_id}")
    return parts[0], parts[1]


def task_and_rank(wuid: str) -> tuple[str, int] | None:
    """(full task id, rank) of a workunit id, or None when it ends in no rank: the cheap split
    of the hot paths, which look the task up next (and find none for a malformed id)."""
    full_task_id, _, rank = wuid.rpartition("_")
    return (full_task_id, int(rank)) if rank.isdigit() else None


def split_work_id(wuid: str) -> tuple[str, str, int]:
    """(job id, full task id, rank); a workunit id has exactly three parts."""
    parts = wuid.split("_")
    if len(parts) != 3 or not all(parts) or not parts[2].isdigit():
        raise AweError(f"invalid work id: {wuid}")
    return parts[0], f"{parts[0]}_{parts[1]}", int(parts[2])
