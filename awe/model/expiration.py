"""Job expiration (AWE v0.9.30+, spec 7.6): when a finished job is removed from the store.

`PUT /job/{id}?expiration=<N><M|H|D>` sets it; a job that completes without one gets the
configured default for its pipeline, or the global one; the reaper removes completed or deleted
jobs whose expiration has passed. An unset expiration is the zero time: never.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from awe.errors import AweError
from awe.model.job import Job
from awe.model.times import ZERO_TIME, format_time, parse_time

EXPIRATION = re.compile(r"^(\d+)(M|H|D)$")
_UNITS = {"M": timedelta(minutes=1), "H": timedelta(hours=1), "D": timedelta(days=1)}
EXPIRABLE_STATES = ("completed", "deleted")


def valid(spec: str) -> bool:
    """`<N><M|H|D>`: minutes, hours or days, as AWE's config and API take it."""
    return bool(EXPIRATION.match(spec))


def expiry_after(spec: str, now: str) -> str:
    """The time `spec` from `now`; AweError in AWE's words when the format is wrong."""
    match = EXPIRATION.match(spec)
    if match is None:
        raise AweError(f"expiration format '{spec}' is invalid")
    try:
        moment = parse_time(now) + int(match.group(1)) * _UNITS[match.group(2)]
    except OverflowError:
        raise AweError(f"expiration '{spec}' is too far in the future") from None
    return format_time(moment)


def set_expiration(job: Job, spec: str, now: str) -> str:
    """Give the job an expiration `spec` from now; returns it."""
    job.expiration = expiry_after(spec, now)
    return job.expiration


def on_completion(job: Job, now: str, global_spec: str, per_pipeline: dict[str, str]) -> None:
    """A job that completes without an expiration gets its pipeline's default or the global one."""
    if job.expiration != ZERO_TIME:
        return
    spec = per_pipeline.get(str(job.info.get("pipeline") or ""), global_spec)
    if spec:
        job.expiration = expiry_after(spec, now)


def still_expired(doc: dict[str, Any] | None, now: str) -> bool:
    """The stored job is finished and its (set) expiration is before `now`: the reaper takes it."""
    if doc is None or doc.get("state") not in EXPIRABLE_STATES:
        return False
    expiration = doc.get("expiration")
    return isinstance(expiration, str) and ZERO_TIME < expiration < now


def go_time(stored: str) -> str:
    """A stored time as Go prints a time (`2006-01-02 15:04:05.999999 +0000 UTC`), as AWE says it."""
    moment: datetime = parse_time(stored)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f +0000 UTC")
