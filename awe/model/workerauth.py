"""Who a worker is: the secret a registration gives it, and when a call as a client id is accepted.

Client ids are public (`GET /client` lists them), so an id alone is never a credential once
auth is on. A registration gives the worker a secret, `HMAC-SHA256(server key, client id)`:
the server keeps nothing per client but the key (`auth.client_key_file`, made at first start),
compares in constant time, and still recognises a worker's secret after a restart, when it has
forgotten every client, so the worker re-registers with its current work and nobody else can.
The server hands a secret out only for an id it made itself or that the caller proved it holds.

A worker that asks for a secret at registration (`X-AWE-Client-Secret: new`, as awe's worker
does) is *secured*: from then on the server takes no call as its id without the secret, in
every mode. AWE v0.9 workers cannot send one: they work in anonymous mode, and once auth is on
only with `auth.legacy_clients` (see SECURITY.md for what that gives away). Pure, no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from awe.errors import CLIENT_NOT_FOUND, AweError, Unauthorized

# names and messages, not credentials (ruff's S105 guesses from the words)
SECRET_HEADER = "X-AWE-Client-Secret"  # noqa: S105
ASK_FOR_SECRET = "new"  # noqa: S105 - sent in SECRET_HEADER by a worker that has none yet
CLIENT_SECRET = "Client secret missing or wrong"  # noqa: S105
TOKEN_MISMATCH = "Clientgroup name in token does not match that in the client configuration."  # noqa: S105
NEEDS_TOKEN = (
    "Clientgroup with the group specified by your client exists, but you cannot register with "  # noqa: S105
    "it, without clientgroup token."
)
KEY_BYTES = 32


class Proof(StrEnum):
    """What a request's SECRET_HEADER says about the client id it names."""

    NONE = "none"  # no secret sent: an AWE v0.9 worker, a user, anyone
    VALID = "valid"
    WRONG = "wrong"


@dataclass(frozen=True)
class WorkerRules:
    """The parts of the config that decide about workers (built by `awe.model.rights.Policy`)."""

    tokens_required: bool = False  # a CG token on every worker call (auth on, or configured)
    secrets_required: bool = False  # auth on and not legacy_clients
    clientgroup_tokens: Mapping[str, str] | None = None

    def token_of(self, group: str) -> str | None:
        return (self.clientgroup_tokens or {}).get(group)

    def __repr__(self) -> str:  # the tokens are credentials: never in a log line
        return f"WorkerRules(tokens_required={self.tokens_required}, "\
               f"secrets_required={self.secrets_required})"  # fmt: skip


@dataclass(frozen=True)
class WorkerCheck:
    """The outcome of checking a request's claim to act as `client`: who, or why not."""

    client: str
    error: AweError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def new_key() -> bytes:
    """A fresh server key (256 random bits)."""
    return secrets.token_bytes(KEY_BYTES)


def derive_secret(key: bytes, client_id: str) -> str:
    """The secret of `client_id` under `key`: 256 bits, URL-safe text."""
    mac = hmac.new(key, b"awe client secret\0" + client_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def proof(key: bytes, client_id: str, presented: str | None) -> Proof:
    """Check a presented secret against `client_id` in constant time."""
    if not presented or presented == ASK_FOR_SECRET:
        return Proof.NONE
    expected = derive_secret(key, client_id).encode()
    if client_id and hmac.compare_digest(expected, presented.encode("utf-8", "replace")):
        return Proof.VALID
    return Proof.WRONG


def _token_error(group: str, token: str | None, rules: WorkerRules) -> AweError | None:
    """Clientgroup tokens (spec 8.2): a token sent must be its group's; required when auth is on."""
    if token:
        return None if rules.token_of(group) == token else AweError(TOKEN_MISMATCH)
    if rules.tokens_required:
        return Unauthorized("No Authorization")
    return None


def check_client(
    client_id: str,
    known: tuple[str, bool] | None,
    token: str | None,
    shown: Proof,
    rules: WorkerRules,
) -> WorkerCheck:
    """May this request act as `client_id`? `known` is (group, secured) of the registered client.

    Checked in the order a worker can act on: a wrong secret, an unknown id (`Client not
    found`: register again), the group's token, then the secret the client must show.
    """
    if shown == Proof.WRONG:
        return WorkerCheck(client_id, Unauthorized(CLIENT_SECRET))
    if known is None:
        return WorkerCheck(client_id, AweError(CLIENT_NOT_FOUND))
    group, secured = known
    error = _token_error(group, token, rules)
    if error is None and shown != Proof.VALID and (secured or rules.secrets_required):
        error = Unauthorized(CLIENT_SECRET)
    return WorkerCheck(client_id, error)


@dataclass(frozen=True)
class Registration:
    """What a registration may do: take `client_id` (made up when empty), secured or not."""

    client_id: str
    secured: bool
    issue_secret: bool  # answer the secret (in SECRET_HEADER)


def check_registration(
    profile_id: str,
    group: str,
    known_secured: bool | None,
    token: str | None,
    shown: Proof,
    asks_secret: bool,
    rules: WorkerRules,
) -> Registration | AweError:
    """`POST /client`: may this profile register, keeping its `id` if it names one?

    `known_secured` is None when no client has that id now (a new one, or a server restart).
    An id is kept only with its secret, except for a worker that never had one (anonymous mode
    or `legacy_clients`), and never over a secured client's record.
    """
    if shown == Proof.WRONG:
        return Unauthorized(CLIENT_SECRET)
    if not token and rules.token_of(group):
        return AweError(NEEDS_TOKEN)
    error = _token_error(group, token, rules)
    if error is not None:
        return error
    if shown == Proof.VALID:
        return Registration(profile_id, secured=True, issue_secret=True)
    if profile_id:  # an id claimed without its secret
        if known_secured or rules.secrets_required:
            return Unauthorized(CLIENT_SECRET)
        return Registration(profile_id, secured=False, issue_secret=False)
    if not asks_secret and rules.secrets_required:
        return Unauthorized(CLIENT_SECRET)
    return Registration("", secured=asks_secret, issue_secret=asks_secret)
