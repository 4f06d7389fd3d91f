"""The rights table as a grid: each operation × eight kinds of caller → allowed, or the answer.

Made from `awe.model.rights` alone, for the permission table in the README and for the
access-matrix test, which sends each cell's request to a real server and expects this answer.
The callers are those of the multi-user setup (`MULTI_USER`): anonymous access off, users A and
B, an admin, a clientgroup `secure` with a CG token, and another group with its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from awe.errors import AweError
from awe.model.access import Caller
from awe.model.rights import (
    HOLDER,
    RIGHTS,
    WORKER,
    Policy,
    Right,
    decide,
)
from awe.model.workerauth import (
    CLIENT_SECRET,
    NEEDS_TOKEN,
    TOKEN_MISMATCH,
    Proof,
    Registration,
    check_client,
    check_registration,
)

SECURE, OTHER = "secure", "other"
MULTI_USER = Policy(
    anonymous_read=False, anonymous_write=False, anonymous_delete=False,
    admins=frozenset({"admin"}), clientgroup_tokens={SECURE: "cg-secure", OTHER: "cg-other"},
)  # fmt: skip
A_JOB_ACL = {"owner": "A", "read": ["A"], "write": ["A"], "delete": ["A"]}
REGISTRATION = ("client.register", "client.reregister")


@dataclass(frozen=True)
class Identity:
    """A kind of caller: the user token it sends, and the worker it claims to be and how."""

    name: str
    user: str = "public"  # "public": no user token
    admin: bool = False
    client: str = "W"  # the client id it names in a worker call: W (the holder), O, or "X"
    group: str = SECURE  # the group of the CG token it sends ("" none, "wrong" a bad one)
    proof: Proof = Proof.NONE  # the secret it shows for `client`
    is_worker: bool = False  # it calls as a worker (names its client id on shared routes too)


IDENTITIES = (
    Identity("anonymous", group=""),
    Identity("user A", user="A", group=""),
    Identity("user B", user="B", group=""),
    Identity("admin", user="admin", admin=True, group=""),
    Identity("worker W", proof=Proof.VALID, is_worker=True),
    Identity("other group's worker", client="O", group=OTHER, proof=Proof.VALID, is_worker=True),
    Identity("wrong CG token", group="wrong", is_worker=True),
    Identity("unregistered id", client="X", is_worker=True),
)
ALLOWED = "allowed"
CLIENTS = {"W": (SECURE, True), "O": (OTHER, True)}  # registered clients: (group, secured)


def _token(identity: Identity, policy: Policy) -> str | None:
    if identity.group == "wrong":
        return "wrong-token"
    return policy.clientgroup_tokens.get(identity.group) if identity.group else None


def names_client(right: Right, identity: Identity) -> bool:
    """Whether this caller names a client id in this request (`?client=`, the route, a profile)."""
    if WORKER in right.who or right.who == (HOLDER,):
        return True  # a worker's call: every caller of it names a client
    return HOLDER in right.who and identity.is_worker


def _registration(key: str, identity: Identity, policy: Policy) -> AweError | None:
    """`POST /client`: a new worker (asking for a secret), or taking back its own id."""
    reregister = key == "client.reregister"
    profile_id = ""
    shown = identity.proof
    if reregister:  # every caller claims W's id, but the one that never was registered
        profile_id = "X" if identity.client == "X" else "W"
        if identity.client != "W" and shown == Proof.VALID:
            shown = Proof.WRONG  # O shows its own secret for W's id
    known = CLIENTS.get(profile_id)
    group = identity.group if identity.group in (SECURE, OTHER) else SECURE
    answer = check_registration(profile_id, group, known[1] if known else None,
                                _token(identity, policy), shown, asks_secret=not reregister,
                                rules=policy.workers)  # fmt: skip
    return None if isinstance(answer, Registration) else answer


def expected(right: Right, identity: Identity, policy: Policy = MULTI_USER) -> AweError | None:
    """What the server answers this caller for this operation: None when it is allowed."""
    caller = Caller(identity.user, identity.admin)
    if right.key in REGISTRATION:
        return _registration(right.key, identity, policy)
    worker = None
    if names_client(right, identity):
        worker = check_client(identity.client, CLIENTS.get(identity.client),
                              _token(identity, policy), identity.proof, policy.workers)  # fmt: skip
    return decide(right.key, policy, caller, worker=worker, acl=A_JOB_ACL, holder="W")


def cell(error: AweError | None) -> str:
    """`allowed`, or the status and message the server answers."""
    return ALLOWED if error is None else f"{error.status} {error.message}"


def grid(policy: Policy = MULTI_USER) -> list[tuple[Right, list[str]]]:
    """Every right with its cells, one per identity, in IDENTITIES order."""
    return [(r, [cell(expected(r, i, policy)) for i in IDENTITIES]) for r in RIGHTS]


_SHORT = {
    "No Authorization": "N", "User Unauthorized": "U", CLIENT_SECRET: "S", TOKEN_MISMATCH: "T",
    NEEDS_TOKEN: "G", "Client not found": "C",
}  # fmt: skip
LEGEND = (
    "✓ allowed · **401 N** `No Authorization` · **401 U** `User Unauthorized` · "
    f"**401 S** `{CLIENT_SECRET}` · **400 T** `{TOKEN_MISMATCH}` · "
    "**400 G** `Clientgroup with the group specified by your client exists, but you cannot "
    "register with it, without clientgroup token.` · **400 C** `Client not found`"
)
COLUMNS = ("anonymous", "A (owner)", "B", "admin", "W (holder)", "O (other group)",
           "wrong CG token", "unregistered id")  # fmt: skip


def _short(text: str) -> str:
    if text == ALLOWED:
        return "✓"
    status, _, message = text.partition(" ")
    return f"{status} {_SHORT.get(message, message)}"


def markdown(policy: Policy = MULTI_USER) -> str:
    """The README's permission table."""
    head = ["request", "who may", *COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for right, cells in grid(policy):
        request = f"`{right.method} {right.route}` {right.op}".strip()
        who = ", ".join(right.who) + (f" — {right.scope}" if right.scope else "")
        row = [request.replace("|", "\\|"), who.replace("|", "\\|"), *map(_short, cells)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n\n" + LEGEND + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
