"""What a model function asks the rest of the server to do, and the state changes it made.

Model functions change a job in place and append to an `Effects`; the actor that owns the job
performs the effects (offer to the queue, announce lease changes, publish `changes` as events).
Nothing here performs anything.
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

    def record(self, kind: str, subject: str, old: str, new: str, detail: str = "") -> None:
        """Note a state change (nothing when the state stayed the same)."""
        if old != new:
            self.changes.append(Change(kind, subject, str(old), str(new), detail))
