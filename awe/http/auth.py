"""Who is calling, and may it: the parts of every handler that deal with identity and rights.

The rights themselves are in `awe/model/rights.py` (who may do what), `awe/model/workerauth.py`
(a worker's proof of its client id) and `awe/model/origins.py` (which browser pages are
refused); this mixin of `APIHandler` reads a request's credentials and asks them.
"""

from __future__ import annotations

import base64
from typing import Any

from awe.errors import AweError, Unauthorized
from awe.model import origins, rights
from awe.model.access import PUBLIC, Caller
from awe.model.workerauth import SECRET_HEADER, Proof, proof


class AuthMixin:
    """Credentials and rights for `APIHandler` (which provides request, services, config)."""

    request: Any
    services: Any
    config: Any
    set_header: Any
    _refuse_before_body: Any

    def _cors(self) -> None:
        """CORS headers for configured origins only (`api.allowed_origins`), never `*` by default."""
        origin = self.request.headers.get("Origin")
        if not origin:  # workers, the CLI, curl: nothing to allow
            return
        allow = origins.allow_origin_header(origin, self.services.origins)
        if allow:
            self.set_header("Access-Control-Allow-Origin", allow)
            self.set_header("Access-Control-Allow-Methods", "POST, GET, PUT, DELETE, OPTIONS")
            self.set_header("Access-Control-Allow-Headers", "Authorization, Datatoken")
            self.set_header("Access-Control-Expose-Headers", "X-Request-Id")

    def refuse_other_origins(self) -> bool:
        """Refuse other sites' pages before any handler runs (awe.model.origins): True if so.

        A refused request that brings a body is answered before the body is read (see
        `_refuse_before_body`), so that a browser still writing it reads the 403.
        """
        self._cors()
        request = self.request
        why = origins.refusal(request.method or "", request.host, request.headers,
                              request.query_arguments, self.services.origins)  # fmt: skip
        if not why:
            return False
        length = request.headers.get("Content-Length", "")
        chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        if not chunked and not (length.isdigit() and int(length) > 0):
            raise AweError(why, 403)
        unread = int(length) if length.isdigit() else self.config.api.max_body_bytes
        self._refuse_before_body(AweError(why, 403), unread)
        return True

    # ---- who calls ------------------------------------------------------------------------

    def user(self) -> str:
        """The caller's name from a bearer/basic token, or `public` when anonymous (spec 8.2)."""
        header = self.request.headers.get("Authorization", "")
        if not header or header.startswith("CG_TOKEN "):
            return PUBLIC
        scheme, _, credential = header.partition(" ")
        tokens = self.config.auth.tokens
        bearers = ("bearer", "oauth", *self.config.auth.oauth_bearers)  # AWE's oauth_bearers
        if scheme.lower() in bearers and credential in tokens:
            return tokens[credential]
        if scheme.lower() == "basic":
            try:
                name, _, secret = base64.b64decode(credential).decode().partition(":")
            except ValueError:
                raise Unauthorized("Invalid Auth Header") from None
            if tokens.get(secret) == name:
                return name
        raise Unauthorized("Invalid Auth Header")

    def is_admin(self, user: str) -> bool:
        return user in self.config.auth.admin_users

    def caller(self) -> Caller:
        """Who asks, as a user (`public` when anonymous); a bad token is a 401 here."""
        user = self.user()
        return Caller(user, self.is_admin(user))

    def authorize(self, key: str, **facts: Any) -> Caller:
        """Check `key` of the rights table for this caller (and the facts known here)."""
        caller = self.caller()
        rights.authorize(key, self.services.policy, caller, **facts)
        return caller

    def allowed(self, key: str, caller: Caller, **facts: Any) -> bool:
        return rights.allowed(key, self.services.policy, caller, **facts)

    def cg_token(self) -> str | None:
        header = self.request.headers.get("Authorization", "")
        return header[len("CG_TOKEN ") :] if header.startswith("CG_TOKEN ") else None

    def proof(self, client_id: str) -> Proof:
        """What the request's worker secret says about `client_id` (checked in constant time)."""
        return proof(self.services.client_key, client_id, self.request.headers.get(SECRET_HEADER))
