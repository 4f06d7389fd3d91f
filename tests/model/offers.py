"""The workunits a job's effects offer, one id each, as the ready index receives them."""

from __future__ import annotations

from awe.model.effects import Effects
from awe.model.job import Job
from awe.model.offers import ready_entries


def offered(job: Job, effects: Effects) -> list[str]:
    """Every workunit `effects` offer (a task's runs of ranks spelled out), in offer order."""
    out: list[str] = []
    for entry in ready_entries(job, effects):
        if entry.runs:
            out += [
                f"{entry.task_id}_{r}" for first, last in entry.runs for r in range(first, last + 1)
            ]
        else:
            out.append(entry.wuid)
    return out
