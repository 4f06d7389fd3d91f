"""Which browser requests the server refuses before any handler runs: other sites' pages.

Workers, the CLI and curl send no `Origin`; a browser does, on every state-changing request,
and a web page on another site could otherwise submit jobs (commands on the workers) to an
awe it can reach, anonymous or not. As Jupyter Server does, a state-changing request whose
origin is neither the server's own nor configured (`api.allowed_origins`, empty by default) is
refused with 403. When the server listens on the loopback interface only, a request naming
another host is refused too: that is a DNS-rebinding page on the same port. Pure, no I/O.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# a GET that changes state: a status report (D17), a heartbeat (it consumes instructions), a
# checkout (it leases work), a worker's secrets: workers send these, browsers have no business to
WORKER_FLAGS = ("status", "heartbeat", "client", "datatoken", "privateenv")
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


@dataclass(frozen=True)
class OriginPolicy:
    """What the server accepts: configured origins, and whether it listens on loopback only."""

    allowed: Sequence[str] = ()
    loopback_only: bool = True
    external_url: str = ""  # `api.external_url`: its host and origin are the server's own too


def origin_problem(origin: str) -> str:
    """Why a configured origin cannot match a browser's `Origin` header ("" when it can)."""
    if origin == "*":
        return ""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "is not scheme://host[:port]"
    if parts.path or parts.query or parts.fragment or origin.endswith("/"):
        return "must not have a path (an origin is scheme://host[:port])"
    return ""


@functools.lru_cache(maxsize=1024)  # every request asks it of its Host header
def is_loopback_host(host: str) -> bool:
    """`127.0.0.1`, `[::1]`, `localhost`…: names only this machine answers to."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _hostname(netloc: str) -> str:
    """`host:port` or `[v6]:port` → host."""
    if netloc.startswith("["):
        return netloc[1 : netloc.find("]")] if "]" in netloc else netloc
    return netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def changes_state(method: str, query: Mapping[str, object]) -> bool:
    """A request that does something, as opposed to one that only reads."""
    if method.upper() not in SAFE_METHODS:
        return True
    for flag in WORKER_FLAGS:  # not any(generator): asked on every request
        if flag in query:
            return True
    return False


def refusal(
    method: str,
    host: str,
    headers: Mapping[str, str],
    query: Mapping[str, object],
    policy: OriginPolicy,
) -> str:
    """Why this request is refused (answered 403), or "" when it may go on.

    `host` is the request's `Host` header; `headers` its headers (case-insensitive mapping).
    """
    host = host.lower()
    why = host_refusal(host, policy.loopback_only, policy.external_url)
    if why or not changes_state(method, query):
        return why
    origin = headers.get("Origin")
    if origin is None and headers.get("Referer"):
        origin = _origin_of(headers.get("Referer", "")) or "null"
    if origin is None:
        site = headers.get("Sec-Fetch-Site", "")
        if site in ("cross-site", "same-site"):
            return f"a {site} browser request may not change anything here"
        return ""  # not a browser: workers, the CLI, curl
    own_hosts = {host}
    if policy.external_url:
        own_hosts.add(urlsplit(policy.external_url).netloc.lower())
    if urlsplit(origin).netloc.lower() in own_hosts and origin != "null":
        return ""
    if "*" in policy.allowed or origin.lower() in {o.lower() for o in policy.allowed}:
        return ""
    return f"cross-origin request from {origin} refused: not in api.allowed_origins"


@functools.lru_cache(maxsize=1024)  # every request asks it of its Host header
def host_refusal(host: str, loopback_only: bool, external_url: str) -> str:
    """Why a request naming `host` (lowercase) is not for this server ("" when it is)."""
    if loopback_only and not is_loopback_host(_hostname(host)):
        external = urlsplit(external_url).hostname or ""
        if _hostname(host) != external.lower():
            return f"host {host!r} is not this server (it listens on loopback only)"
    return ""


def allow_origin_header(origin: str | None, policy: OriginPolicy) -> str:
    """The `Access-Control-Allow-Origin` value for this request's `Origin` ("" for none)."""
    if not origin or origin == "null":
        return ""
    if "*" in policy.allowed:
        return "*"
    return origin if origin.lower() in {o.lower() for o in policy.allowed} else ""
