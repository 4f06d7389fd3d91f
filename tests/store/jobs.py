"""Job documents for store tests: the shape awe saves, with overridable fields."""

from __future__ import annotations

from typing import Any

ZERO = "0001-01-01T00:00:00Z"


def t(day: int, hour: int = 0) -> str:
    """A stored time: RFC 3339 UTC, fixed width, so string order is time order."""
    return f"2026-01-{day:02d}T{hour:02d}:00:00.000000Z"


def job(job_id: str, **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": job_id,
        "jid": "10001",
        "state": "queued",
        "updatetime": t(1),
        "info": {
            "name": f"job {job_id}",
            "user": "alice",
            "project": "p1",
            "pipeline": "mgrast",
            "submittime": t(1),
            "completedtime": ZERO,
            "userattr": {"sample": "s1"},
        },
        "acl": {"owner": "alice", "read": ["alice"], "write": ["alice"], "delete": ["alice"]},
        "tasks": [],
    }
    info = overrides.pop("info", {})
    doc.update(overrides)
    doc["info"] = {**doc["info"], **info}
    return doc
