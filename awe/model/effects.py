"""What a model function asks the rest of the server to do, and the state changes it made.

Model functions change a job in place and append to an `Effects`; the actor that owns the job
performs the effects (offer to the queue, announce lease changes, publish `changes` as events,
snapshot the tasks and workunits named in `touched` and `units`). Nothing here performs anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Change:
    """One state change: `kind` is job | task | workunit | client; `old` "" when it is new."""

    kind: str
    subject: str
    old: str
    new: str
    detail: str = ""


@dataclass
class Effects:
    offer: list[str] = field(default_factory=list)  # wuids that became ready
    withdraw: list[str] = field(default_factory=list)  # wuids no longer ready
    # tasks whose queued ranks are all ready now (one offer for the task, however many ranks)
    offer_tasks: list[str] = field(default_factory=list)
    withdraw_tasks: list[str] = field(default_factory=list)  # tasks with no rank ready any more
    granted: list[tuple[str, str]] = field(default_factory=list)  # (client, wuid) leased
    # (client, wuid): the lease ended and the worker must drop the work
    discard: list[tuple[str, str]] = field(default_factory=list)
    # (client, wuid): the lease ended by the holder's report or a release
    lease_ended: list[tuple[str, str]] = field(default_factory=list)
    completed_tasks: list[str] = field(default_factory=list)
    create_nodes: list[str] = field(default_factory=list)  # tasks waiting for Shock nodes
    join_parts: list[str] = field(default_factory=list)  # split tasks whose parts need joining
    delete_data: bool = False  # the job's files in the datastore go (the job was deleted)
    changes: list[Change] = field(default_factory=list, compare=False)
    # what the function changed, so a snapshot writes only that (never the whole job): full task
    # ids whose task document changed, and wuids whose workunit (an object its task keeps) did
    touched: set[str] = field(default_factory=set, compare=False)
    units: set[str] = field(default_factory=set, compare=False)
    dropped: list[str] = field(default_factory=list, compare=False)  # wuids a task let go of

    def touch(self, full_task_id: str, wuid: str = "") -> None:
        """Note that a task (and, with `wuid`, one of its workunits) changed."""
        self.touched.add(full_task_id)
        if wuid:
            self.units.add(wuid)

    def record(self, kind: str, subject: str, old: str, new: str, detail: str = "") -> None:
        """Note a state change (nothing when the state stayed the same)."""
        if old != new:
            self.changes.append(Change(kind, subject, str(old), str(new), detail))
