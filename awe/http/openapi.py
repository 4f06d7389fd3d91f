"""`GET /openapi.json`: the API described in `awe/openapi.py`, served as it is."""

from __future__ import annotations

import json

from awe import openapi
from awe.http.base import APIHandler

path_of = openapi.path_of


class OpenApiHandler(APIHandler):
    """The OpenAPI 3.1 document, without the envelope (tools read it as it is)."""

    def get(self) -> None:
        self.finish(json.dumps(openapi.document()))


routes = [
    (r"/openapi.json", OpenApiHandler),
]
