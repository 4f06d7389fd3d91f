"""A job's history as it is stored: its last events as compact rows, expanded when served.

Every snapshot writes the job's document, history included, so each event is kept as a short
row (`[id, time, kind, subject, old, new, stimulus, detail]`, the subject without the job id it
starts with; the job id and owner are the job's own) rather than a full object: it halves what
each write serialises.
`GET /job/{id}?history` serves the rows expanded back into `awe.events.Event` JSON.
"""

from __future__ import annotations

from typing import Any

from awe.events import Event

HISTORY_SIZE = 100  # events kept with each job


def row(event: Event) -> list[Any]:
    """An event of a job as a row of its history."""
    subject = event.subject
    if event.job_id and subject.startswith(event.job_id):
        subject = subject[len(event.job_id) :]  # "" for the job, "_<task>[_<rank>]" for its parts
    return [event.id, event.time, event.kind, subject, event.old, event.new, event.stimulus,
            event.detail]  # fmt: skip


def expand(rows: list[Any], job_id: str, owner: str) -> list[dict[str, Any]]:
    """The rows of a job as event JSON, oldest first."""
    return [
        {"kind": kind, "subject": _subject(job_id, subject), "old": old, "new": new,
         "stimulus": stimulus, "job_id": job_id, "owner": owner, "detail": detail, "time": time,
         "id": event_id}
        for event_id, time, kind, subject, old, new, stimulus, detail in rows
    ]  # fmt: skip


def _subject(job_id: str, stored: str) -> str:
    return job_id + stored if stored == "" or stored.startswith("_") else stored
