"""The web page (`/ui/`, static files shipped in the package) and `GET /whoami`, which it reads.

The page holds no data of its own: it calls the REST API with the user's token, so it sees and
may do exactly what the user may.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tornado.web

from awe.http.base import PUBLIC, APIHandler

STATIC = Path(__file__).resolve().parent.parent / "ui" / "static"
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


class WhoAmIHandler(APIHandler):
    """`GET /whoami`: who the caller is and what it may do, so the page offers only that."""

    def get(self) -> None:
        caller = self.caller()
        anonymous = caller.user == PUBLIC
        policy = self.services.policy
        rights = {
            right: (not anonymous) or policy.anonymous_may(right)
            for right in ("read", "write", "delete")
        }
        self.reply(
            {
                "user": caller.user,
                "anonymous": anonymous,
                "admin": caller.admin,
                "rights": rights,
                # from the same table as the handlers (awe/model/rights.py)
                "queue_control": self.allowed("queue.control", caller),
                "client_control": self.allowed("client.control", caller),
            }
        )


class UiFileHandler(tornado.web.StaticFileHandler):
    """The page's files; a missing one is AWE's JSON 404, like every other error."""

    def initialize(self, services: Any = None, **_: Any) -> None:  # noqa: ARG002 - route kwargs
        super().initialize(path=str(STATIC), default_filename="index.html")

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-cache")  # revalidate (ETag): a new awe shows at once
        self.set_header("Content-Security-Policy", POLICY)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        message = "Not Found" if status_code == 404 else self._reason
        body = {"status": status_code, "data": None, "error": [message]}
        self.finish(json.dumps(body))


class UiRedirectHandler(APIHandler):
    """`/ui` → `/ui/`, so the page's relative links resolve."""

    def get(self) -> None:
        self.redirect("/ui/", permanent=False)


routes = [
    (r"/whoami/?", WhoAmIHandler),
    (r"/ui", UiRedirectHandler),
    (r"/ui/(.*)", UiFileHandler),
]
