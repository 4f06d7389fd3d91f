"""The OpenAPI 3.1 document of awe's REST API: the one place that describes every route.

`GET /openapi.json` serves it; tests check it against the Tornado app's routes (a route the
document lacks fails) and run schemathesis against a live server with it.
"""

from __future__ import annotations

import re
from typing import Any

from awe import __version__
from awe.openapi.data import DATA_PATHS, DATA_SCHEMAS
from awe.openapi.paths import PATHS
from awe.openapi.schemas import SCHEMAS

PATHS.update(DATA_PATHS)  # the datastore's routes are described in their own module
SCHEMAS.update(DATA_SCHEMAS)


def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "awe — A Workflow Engine (AWE v0.9 API and awe's additions)",
            "version": __version__,
            "description": (
                "Every JSON answer is AWE's envelope {status, data, error}. Every endpoint also "
                "takes AWE's `callback=<name>` (JSONP) and `always200` (errors answered with "
                "HTTP 200, the real status in the envelope). Auth: `Authorization: Bearer "
                "<token>` (or Basic user:token) for users, `CG_TOKEN <token>` for workers, "
                "who also send `X-AWE-Client-Secret: <secret>` with every call as their client "
                "id (POST /client answers the secret in that header when the request sends "
                "`X-AWE-Client-Secret: new`). Who may call what: the README's permission "
                "table. A browser request that changes state from an origin not in "
                "`api.allowed_origins` is refused with 403 before any handler runs."
            ),
        },
        "paths": PATHS,
        "components": {"schemas": SCHEMAS},
    }


def path_of(pattern: str) -> str:
    """A Tornado route pattern → the document's path for it (`/job/([^/]+)/?` → `/job/{id}`)."""
    plain = pattern.removesuffix("/?").removesuffix("$") or "/"
    if plain == "/.*":
        return "/"
    shape = re.sub(r"\([^)]*\)", "{}", plain)
    for known in PATHS:
        if re.sub(r"\{[^}]*\}", "{}", known) == shape:
            return known
    return shape
