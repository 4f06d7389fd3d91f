"""What a JobActor needs besides its messages: its context, ready entries, joining parts."""

from __future__ import annotations

import concurrent.futures
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from awe.events import EventBus
from awe.model import lifecycle
from awe.model.job import Job
from awe.model.lifecycle import Settings
from awe.model.matching import ReadyEntry

log = logging.getLogger("awe.actors.job")


@dataclass
class JobContext:
    """The refs a JobActor talks to (pykka ActorRefs) and the settings it applies."""

    queue: Any
    registry: Any
    snapshots: Any
    settings: Settings
    events: EventBus
    client_timeout_s: float = 40.0
    # creates Shock nodes: (outputs as [(host, filename)], parts, token) -> {filename: node id};
    # run on `io_pool` so that a slow Shock never holds a job actor's turn
    create_nodes: Callable[[list[tuple[str, str]], int, str | None], dict[str, str]] | None = None
    io_pool: concurrent.futures.Executor | None = None
    # reads a job from the store (id -> document or None), run on `read_pool` by the queue
    read_job: Callable[[str], dict[str, Any] | None] | None = None
    read_pool: concurrent.futures.Executor | None = None


def ready_entry(job: Job, wuid: str) -> ReadyEntry:
    """What the ready index needs to order and match a workunit, and the view it lists."""
    task, unit = lifecycle.find_unit(job, wuid)
    size = sum(int(i.get("size") or 0) for i in task.inputs)
    return ReadyEntry(
        wuid=wuid,
        job_id=job.id,
        priority=job.priority,
        submittime=job.info.get("submittime", ""),
        clientgroups=lifecycle.effective_clientgroups(job, task),
        cmd_name=task.cmd.get("name", ""),
        size=size,
        view=lifecycle.workunit_view(job, task, unit),
    )


def join_parts(job: Job, full_task_id: str) -> None:
    """A split task's datastore outputs are its ranks' parts joined in rank order (D18)."""
    task = job.task(full_task_id)
    if task is None or len(task.workunits) < 2:
        return
    for out in task.outputs:
        if not out.get("datastore") or not out.get("url"):
            continue
        target = Path(unquote(urlparse(out["url"]).path))
        parts = [Path(f"{target}.part{u.rank}") for u in task.workunits]
        missing = [p.name for p in parts if not p.exists()]
        if missing:
            log.error("task %s output %s: missing parts %s", task.id, out["filename"], missing)
            continue
        partial = target.with_name(target.name + ".joining")
        with partial.open("wb") as sink:
            for part in parts:
                with part.open("rb") as source:
                    shutil.copyfileobj(source, sink, 1024 * 1024)
        partial.replace(target)
        out["size"] = target.stat().st_size
        for part in parts:
            part.unlink(missing_ok=True)
