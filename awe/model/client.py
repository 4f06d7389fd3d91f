"""Client (worker) records and the rules that apply to them (spec 3.4, 4.4, 4.5, 6)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from awe.errors import AweError
from awe.model.matching import ClientView
from awe.model.times import ZERO_TIME, format_time, parse_time

GROUP_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


class ClientStatus(StrEnum):
    IDLE = "active-idle"
    BUSY = "active-busy"
    SUSPEND = "suspend"
    DELETED = "deleted"


@dataclass
class Client:
    id: str
    name: str = ""
    group: str = "default"
    user: str = ""
    domain: str = ""
    instance_id: str = ""
    instance_type: str = ""
    host: str = ""
    # what newer AWE clients send and its monitor shows ("host" is v0.9's name for the IP)
    host_ip: str = ""
    hostname: str = ""
    cores: int = 0
    apps: list[str] = field(default_factory=list)
    regtime: str = ZERO_TIME
    status: ClientStatus = ClientStatus.IDLE
    total_checkout: int = 0
    total_completed: int = 0
    total_failed: int = 0
    # the registry's view of the leases this client holds, derived from the lease changes
    # job actors announce (awe.model.registry); a profile's claim at registration until then
    current_work: dict[str, bool] = field(default_factory=dict)
    skip_work: list[str] = field(default_factory=list)
    consecutive_failures: int = 0
    last_heartbeat: str = ZERO_TIME
    version: str = ""
    git_commit_hash: str = ""
    # instructions waiting for the next heartbeat: wuids to discard, and whether to stop
    pending_discard: list[str] = field(default_factory=list)
    # it registered with a secret: no call as its id is taken without it (awe.model.workerauth)
    secured: bool = False

    @property
    def active(self) -> bool:
        return self.status in (ClientStatus.IDLE, ClientStatus.BUSY)

    def view(self) -> ClientView:
        return ClientView(self.id, self.group, frozenset(self.apps), frozenset(self.skip_work))

    def to_json(self, now: str) -> dict[str, Any]:
        served = max(0, int((parse_time(now) - parse_time(self.regtime)).total_seconds()))
        idle = (
            0
            if self.current_work
            else max(0, int((parse_time(now) - parse_time(self.last_heartbeat)).total_seconds()))
        )
        return {
            "id": self.id,
            "name": self.name,
            "group": self.group,
            "user": self.user,
            "domain": self.domain,
            "instance_id": self.instance_id,
            "instance_type": self.instance_type,
            "host": self.host,
            "host_ip": self.host_ip or self.host,
            "hostname": self.hostname,
            "cores": self.cores,
            "apps": list(self.apps),
            "regtime": self.regtime,
            "serve_time": f"{served // 3600}h{served % 3600 // 60}m",
            "idle_time": idle if not self.current_work else 0,
            "Status": str(self.status),
            "total_checkout": self.total_checkout,
            "total_completed": self.total_completed,
            "total_failed": self.total_failed,
            "current_work": dict(self.current_work),
            "skip_work": list(self.skip_work),
            "last_heartbeat": self.last_heartbeat,
            "proxy": False,
            "subclients": 0,
            "version": self.version,
            "git_commit_hash": self.git_commit_hash,
        }


def _text(profile: dict[str, Any], key: str) -> str:
    value = profile.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AweError(f"Error in registering new client:{key} must be a string")
    return value


def _time(text: str, key: str) -> str:
    """A time from a profile, normalised to the stored form; refused when it is not one."""
    if text == ZERO_TIME:
        return text
    try:
        return format_time(parse_time(text))
    except (ValueError, OverflowError):
        raise AweError(
            f"Error in registering new client:{key} must be an RFC 3339 time, got {text!r}"
        ) from None


def client_from_profile(profile: Any, now: str) -> Client:
    """A client from the `profile` a worker registers with (new id unless it carries one)."""
    if not isinstance(profile, dict):
        raise AweError("Error in registering new client:profile must be a JSON object")
    group = _text(profile, "group") or "default"
    if not GROUP_NAME.match(group):
        raise AweError(f"Error in registering new client:invalid clientgroup name: {group}")
    apps = profile.get("apps") or []
    if isinstance(apps, str):
        apps = [a for a in apps.split(",") if a]
    if not isinstance(apps, list) or not all(isinstance(a, str) for a in apps):
        raise AweError("Error in registering new client:apps must be a list of strings")
    current = profile.get("current_work") or {}
    if isinstance(current, list):
        current = dict.fromkeys(current, True)
    if not isinstance(current, dict):
        raise AweError("Error in registering new client:current_work must be an object")
    cores = profile.get("cores") or 0
    if not isinstance(cores, int):
        raise AweError("Error in registering new client:cores must be an integer")
    regtime = _time(_text(profile, "regtime") or ZERO_TIME, "regtime")
    counters = {
        k: profile.get(k) or 0 for k in ("total_checkout", "total_completed", "total_failed")
    }
    if not all(isinstance(v, int) for v in counters.values()):
        raise AweError("Error in registering new client:counters must be integers")
    return Client(
        id=_text(profile, "id") or str(uuid.uuid4()),
        name=_text(profile, "name"),
        group=group,
        domain=_text(profile, "domain"),
        instance_id=_text(profile, "instance_id"),
        instance_type=_text(profile, "instance_type"),
        host=_text(profile, "host") or _text(profile, "host_ip"),
        host_ip=_text(profile, "host_ip"),
        hostname=_text(profile, "hostname"),
        cores=cores,
        apps=list(apps),
        regtime=now if regtime == ZERO_TIME else regtime,
        current_work={str(k): True for k in current},
        last_heartbeat=now,
        version=_text(profile, "version"),
        git_commit_hash=_text(profile, "git_commit_hash"),
        **counters,
    )


def record_outcome(client: Client, wuid: str, outcome: str, max_failures: int) -> bool:
    """Count a finished lease (spec 4.5); True when the client must now be suspended."""
    if outcome == "done":
        client.total_completed += 1
        client.consecutive_failures = 0
    elif outcome == "fail":
        client.total_failed += 1
        client.consecutive_failures += 1
        if wuid not in client.skip_work:
            client.skip_work.append(wuid)
        return max_failures > 0 and client.consecutive_failures >= max_failures and client.active
    return False
