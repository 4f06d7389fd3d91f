"""The OpenAPI document and the Tornado app describe the same routes and methods."""

from __future__ import annotations

import json

import schemathesis
import tornado.web

from awe import openapi
from awe.http.app import make_app
from awe.http.base import ResourceHandler
from tests.http.harness import AweTestCase

METHODS = ("get", "post", "put", "delete")
CATCH_ALL = r"/.*"  # any other GET is GET / (AWE's resource document), any other verb a 404


def rules(app: tornado.web.Application) -> list[tuple[str, type]]:
    """The app's routes as (pattern, handler class)."""
    return [
        (r.matcher.regex.pattern.removesuffix("$"), r.target) for r in app.wildcard_router.rules
    ]


def served(routes: list[tuple[str, type]]) -> dict[str, set[str]]:
    """Each route as a document path → the methods its handler implements."""
    served: dict[str, set[str]] = {}
    for pattern, handler in routes:
        if pattern == CATCH_ALL:
            continue
        methods = {
            m
            for m in METHODS
            if getattr(handler, m) is not getattr(tornado.web.RequestHandler, m)
            and getattr(handler, m) is not ResourceHandler._no_route
        }
        served[openapi.path_of(pattern)] = methods
    return served


def differences(routes: dict[str, set[str]]) -> tuple[dict, dict]:
    """(served but not documented, documented but not served): path → methods."""
    documented = {path: {m for m in item if m in METHODS} for path, item in openapi.PATHS.items()}
    missing = {p: sorted(m - documented.get(p, set())) for p, m in routes.items()}
    extra = {p: sorted(m - routes.get(p, set())) for p, m in documented.items()}
    return {p: m for p, m in missing.items() if m}, {p: m for p, m in extra.items() if m}


class OpenApiTest(AweTestCase):
    def test_every_route_and_method_of_the_app_is_in_the_document_and_back(self) -> None:
        missing, extra = differences(served(rules(make_app(self.server.services))))
        assert missing == {}, "routes the document lacks"
        assert extra == {}, "documented but not served"

    def test_a_route_added_without_documentation_is_caught(self) -> None:
        routes = rules(make_app(self.server.services))
        routes.append((r"/undocumented/([^/]+)", ResourceHandler))
        missing, _ = differences(served(routes))
        assert missing == {"/undocumented/{}": ["get"]}

    def test_the_server_serves_a_valid_openapi_3_1_document(self) -> None:
        response = self.fetch("/openapi.json")
        assert response.code == 200
        document = json.loads(response.body)
        assert document == json.loads(json.dumps(openapi.document()))
        assert document["openapi"] == "3.1.0"
        schema = schemathesis.openapi.from_dict(document)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == sum(len(item) for item in openapi.PATHS.values())

    def test_route_patterns_map_to_document_paths(self) -> None:
        assert openapi.path_of(r"/job/([^/]+)/?") == "/job/{id}"
        assert openapi.path_of(r"/ui/(.*)") == "/ui/{path}"
        assert openapi.path_of(r"/queue/?") == "/queue"
        assert openapi.path_of(r"/") == "/"
