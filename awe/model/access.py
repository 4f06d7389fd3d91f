"""Who may read, write or delete a job: its ACL, checked where the job is (spec 8.4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from awe.errors import Unauthorized

PUBLIC = "public"


@dataclass(frozen=True)
class Caller:
    """Who sent a request: a user name (`public` when anonymous) and whether it is an admin."""

    user: str = PUBLIC
    admin: bool = False


def check_acl(acl: dict[str, Any], caller: Caller, right: str) -> None:
    """Raise 401 unless `caller` has `right` (read, write, delete) on a job with this ACL."""
    allowed = acl.get(right) or []
    if not acl or caller.admin or acl.get("owner") == caller.user or caller.user in allowed:
        return
    if right == "read" and PUBLIC in allowed:
        return
    raise Unauthorized("User Unauthorized")
