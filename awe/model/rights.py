"""Who may do what: the one table of rights, and the one function that applies it.

Every endpoint and operation is a `Right` in `RIGHTS`; its `who` names the principals allowed.
Handlers, the registry and the job actors all ask `decide` (or `authorize`, which raises); the
README's permission table, `/whoami`, the event stream's filter and the access-matrix test are
made from the same table (`awe.model.rightsgrid`). Pure, no I/O.

Facts only an actor knows are passed where they are known: the handler decides with the caller
alone (a job's ACL not yet known), the job's actor decides again with the ACL or the lease.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from awe.errors import AweError, Unauthorized
from awe.model.access import PUBLIC, Caller
from awe.model.workerauth import WorkerCheck, WorkerRules

if TYPE_CHECKING:
    from awe.config import ServerConfig

# ---- principals -----------------------------------------------------------------------------
ANYONE = "anyone"
READERS = "readers"  # any user; anonymous callers when `anonymous.read`
WRITERS = "writers"  # … `anonymous.write`
DELETERS = "deleters"  # … `anonymous.delete`
USERS = "users"  # callers with a user token
ADMINS = "admins"  # `auth.admin_users`
# admins, once auth is on or admins are named; before that (one user, anonymous mode) writers
CONTROLLERS = "controllers"
JOB_READERS = "job readers"  # the job's owner, users in its ACL, admins (public jobs: readers)
JOB_WRITERS = "job writers"
JOB_DELETERS = "job deleters"
HOLDER = "lease holder"  # the worker holding the workunit's lease, proving its identity
WORKER = "the worker"  # the worker the request names (its secret, its group's CG token)
QUEUE_READERS = "auth.queue_access"  # one of ANYONE, READERS, USERS, ADMINS by config
METRICS_READERS = "auth.metrics_access"

_BASE_RIGHT = {
    READERS: "read", JOB_READERS: "read", WRITERS: "write", JOB_WRITERS: "write",
    CONTROLLERS: "write", DELETERS: "delete", JOB_DELETERS: "delete",
}  # fmt: skip
_LEVELS = {"anyone": ANYONE, "readers": READERS, "users": USERS, "admins": ADMINS}
UNKNOWN: Any = object()  # a fact not known where the decision is made (checked later)


@dataclass(frozen=True)
class Right:
    """One operation: `METHOD route op`, who may, and what it then acts on (`scope`)."""

    key: str
    method: str
    route: str
    op: str
    who: tuple[str, ...]
    scope: str = ""


RIGHTS: tuple[Right, ...] = (
    Right("root", "GET", "/", "", (ANYONE,)),
    Right("cors", "OPTIONS", "any", "", (ANYONE,), "CORS headers only for allowed origins"),
    Right("job.submit", "POST", "/job", "`upload`, `import`", (WRITERS,), "owned by the caller"),
    Right("job.list", "GET", "/job", "`?query`, `?distinct`, …", (READERS,),
          "jobs the caller may read"),
    Right("job.resumeall", "PUT", "/job", "`?resumeall`", (WRITERS,),
          "the caller's jobs; an admin's: all"),
    Right("job.delete_many", "DELETE", "/job", "`?suspend`, `?zombie`", (DELETERS,),
          "the caller's jobs; an admin's: all"),
    Right("job.show", "GET", "/job/{id}", "`?perf`, `?history`, `?position`", (JOB_READERS,)),
    Right("job.operate", "PUT", "/job/{id}", "`?suspend`, `?resume`, `?recompute`, …",
          (JOB_WRITERS,)),
    Right("job.delete", "DELETE", "/job/{id}", "", (JOB_DELETERS,)),
    Right("work.list", "GET", "/work", "", (READERS,), "workunits of jobs the caller may read"),
    Right("work.checkout", "GET", "/work", "`?client=C`", (WORKER,), "a workunit of C's group"),
    Right("work.show", "GET", "/work/{id}", "", (JOB_READERS, HOLDER)),
    Right("work.report_file", "GET", "/work/{id}", "`?report=`", (JOB_READERS, HOLDER)),
    Right("work.secret", "GET", "/work/{id}", "`?datatoken`, `?privateenv`", (HOLDER,)),
    Right("work.report", "PUT", "/work/{id}", "`?status=…&client=C` (also by GET)", (WORKER,),
          "applied from the lease holder only; others get `ok` and change nothing (D5)"),
    Right("client.register", "POST", "/client", "profile without `id`", (WORKER,),
          "its group's CG token once auth is on"),
    Right("client.reregister", "POST", "/client", "profile with `id`", (WORKER,),
          "that id's secret; keeps only leases the job actors confirm"),
    Right("client.list", "GET", "/client", "`?busy`", (READERS,)),
    Right("client.control_all", "PUT", "/client", "`?suspendall`, `?resumeall`", (CONTROLLERS,)),
    Right("client.show", "GET", "/client/{id}", "", (READERS,)),
    Right("client.heartbeat", "GET", "/client/{id}", "`?heartbeat`", (WORKER,)),
    Right("client.control", "PUT", "/client/{id}", "`?suspend`, `?resume`", (CONTROLLERS,)),
    Right("client.delete", "DELETE", "/client/{id}", "", (CONTROLLERS,)),
    Right("queue.show", "GET", "/queue", "`?json`", (QUEUE_READERS,)),
    Right("queue.control", "PUT", "/queue", "`?suspend`, `?resume`", (CONTROLLERS,)),
    Right("metrics", "GET", "/metrics", "", (METRICS_READERS,)),
    Right("events.stream", "GET", "/events", "`?job=`", (READERS,),
          "a job's events only to its readers"),
    Right("events.ticket", "POST", "/events/ticket", "", (READERS,)),
    Right("data.root", "GET", "/data", "", (ANYONE,), "the datastore's id and file size cap"),
    Right("data.list", "GET", "/data/{job}", "", (JOB_READERS, HOLDER),
          "a holder: of any workunit of the job"),
    Right("data.read", "GET, HEAD", "/data/{job}/{task}/{file}", "`?meta`, ranges",
          (JOB_READERS, HOLDER), "a holder: of any workunit of the job"),
    Right("data.write", "PUT", "/data/{job}/{task}/{file}", "`?client=C&rank=R`", (HOLDER,),
          "of that rank's workunit, while the job runs, an output the task declares"),
    Right("whoami", "GET", "/whoami", "", (ANYONE,)),
    Right("ui", "GET", "/ui/", "", (ANYONE,)),
    Right("openapi", "GET", "/openapi.json", "", (ANYONE,)),
)  # fmt: skip
BY_KEY: Mapping[str, Right] = {right.key: right for right in RIGHTS}


@dataclass(frozen=True)
class Policy:
    """The configuration as rights see it (`from_config`); the defaults are anonymous mode."""

    anonymous_read: bool = True
    anonymous_write: bool = True
    anonymous_delete: bool = True
    admins: frozenset[str] = frozenset()
    client_auth_required: bool = False
    legacy_clients: bool = False
    queue_access: str = "readers"
    metrics_access: str = "anyone"
    clientgroup_tokens: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, config: ServerConfig) -> Policy:
        auth, anonymous = config.auth, config.anonymous
        return cls(anonymous.read, anonymous.write, anonymous.delete, frozenset(auth.admin_users),
                   auth.client_auth_required, auth.legacy_clients, auth.queue_access,
                   auth.metrics_access, dict(auth.clientgroup_tokens))  # fmt: skip

    @property
    def auth_on(self) -> bool:
        """Users are told apart: some anonymous right is off."""
        return not (self.anonymous_read and self.anonymous_write and self.anonymous_delete)

    @property
    def strict_control(self) -> bool:
        """Queue and worker control are for admins (else, in anonymous mode, for writers)."""
        return self.auth_on or bool(self.admins)

    @functools.cached_property  # asked on every heartbeat, checkout and report
    def workers(self) -> WorkerRules:
        workers_auth = self.auth_on or self.client_auth_required
        return WorkerRules(
            tokens_required=workers_auth,
            secrets_required=workers_auth and not self.legacy_clients,
            clientgroup_tokens=self.clientgroup_tokens,
        )

    def anonymous_may(self, right: str) -> bool:
        return bool(getattr(self, f"anonymous_{right}"))

    def resolve(self, who: tuple[str, ...]) -> tuple[str, ...]:
        """Principals named by configuration (`auth.queue_access`…) replaced by what they say."""
        levels = {QUEUE_READERS: self.queue_access, METRICS_READERS: self.metrics_access}
        return tuple(_LEVELS[levels[p]] if p in levels else p for p in who)


def acl_allows(acl: Mapping[str, Any], caller: Caller, right: str) -> bool:
    """A job's ACL (spec 8.2): no ACL, an admin, its owner, a named user, or public readers."""
    allowed = acl.get(right) or []
    if not acl or caller.admin or acl.get("owner") == caller.user or caller.user in allowed:
        return True
    return right == "read" and PUBLIC in allowed


def _user_allowed(principal: str, caller: Caller, policy: Policy, acl: Any) -> bool:
    anonymous = caller.user == PUBLIC
    base = _BASE_RIGHT.get(principal)
    if principal == ANYONE:
        return True
    if principal == ADMINS:
        return caller.admin
    if principal == USERS:
        return not anonymous
    if principal == CONTROLLERS and policy.strict_control:
        return caller.admin
    if base is None or (anonymous and not policy.anonymous_may(base)):
        return False
    if principal in (JOB_READERS, JOB_WRITERS, JOB_DELETERS) and acl is not UNKNOWN:
        return acl_allows(acl or {}, caller, base)
    return True


def decide(
    key: str,
    policy: Policy,
    caller: Caller,
    *,
    worker: WorkerCheck | None = None,
    acl: Any = UNKNOWN,
    holder: Any = UNKNOWN,
) -> AweError | None:
    """None when allowed, else the error to answer (status and AWE's words).

    `worker`: the check of the client id the request names (None when it names none);
    `acl`: the job's ACL; `holder`: the client holding the workunit's lease ("" for nobody).
    A fact left UNKNOWN is the business of whoever knows it, who decides again with it.
    """
    who = policy.resolve(BY_KEY[key].who)
    if worker is not None and worker.ok:
        if WORKER in who or (HOLDER in who and holder in (UNKNOWN, worker.client)):
            return None
    if any(_user_allowed(p, caller, policy, acl) for p in who if p not in (WORKER, HOLDER)):
        return None
    if worker is not None:
        return worker.error or Unauthorized("User Unauthorized")
    bases = [_BASE_RIGHT[p] for p in who if p in _BASE_RIGHT]
    if caller.user == PUBLIC and not any(policy.anonymous_may(b) for b in bases):
        return Unauthorized("No Authorization")
    return Unauthorized("User Unauthorized")


def authorize(key: str, policy: Policy, caller: Caller, **facts: Any) -> None:
    """`decide`, raising its error."""
    error = decide(key, policy, caller, **facts)
    if error is not None:
        raise error


def allowed(key: str, policy: Policy, caller: Caller, **facts: Any) -> bool:
    return decide(key, policy, caller, **facts) is None


def authorize_job(key: str, caller: Caller, acl: Mapping[str, Any]) -> None:
    """The half of `authorize` only a job's holder of the ACL can do (the JobActor, a stored job).

    The handler already checked the caller's anonymous rights for `key` with the same table.
    """
    base = next(_BASE_RIGHT[p] for p in BY_KEY[key].who if p in _BASE_RIGHT)
    if not acl_allows(acl, caller, base):
        raise Unauthorized("User Unauthorized")


def authorize_holder(client: str, holder: str) -> None:
    """The lease half of HOLDER: the job actor, which owns leases, checks it."""
    if not client or client != holder:
        raise Unauthorized("User Unauthorized")
