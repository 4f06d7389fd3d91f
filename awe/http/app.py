"""The Tornado application: every module's `routes`, and `GET` of anything else → `GET /`."""

from __future__ import annotations

import logging
import secrets

import tornado.httpserver
import tornado.web

from awe.config import ServerConfig
from awe.http import clients, data, events, jobs, metrics, openapi, queue, ui, work
from awe.http.base import (
    BODY_READ_BYTES,
    SMALL_READ_BYTES,
    ResourceHandler,
    Services,
    loggable_uri,
)

ACCESS = logging.getLogger("awe.access")
ROUTE_MODULES = (jobs, work, clients, queue, metrics, events, ui, openapi, data)


def make_app(services: Services) -> tornado.web.Application:
    handlers = [(r"/", ResourceHandler)]
    for module in ROUTE_MODULES:
        handlers.extend(module.routes)
    handlers.append((r"/.*", ResourceHandler))
    metrics.install(services.events)
    return tornado.web.Application(
        [(pattern, handler, {"services": services}) for pattern, handler in handlers],
        log_function=_log_request,
        cookie_secret=secrets.token_bytes(32),  # signs stream tickets; new at every start
        route_names=_route_names(handlers),
    )


def make_http_server(
    app: tornado.web.Application, config: ServerConfig
) -> tornado.httpserver.HTTPServer:
    """The HTTP server: bodies handed over 1 MiB at a time, sockets read 16 KiB at a time.

    Tornado reads a socket into a fresh `bytearray(read_chunk_size)`, zeroed, on every read,
    and reads at least twice a request (the request, then an empty read). At 1 MiB that was
    about a sixth of the IOLoop's time on a heartbeat; a request whose declared body is larger
    switches its connection to 1 MiB reads (`APIHandler.size_reads`), so a 1 GB upload is still
    about 1,000 handler calls, not 65,000.
    """
    http = tornado.httpserver.HTTPServer(
        app, max_body_size=config.api.max_body_bytes, chunk_size=BODY_READ_BYTES
    )
    http.read_chunk_size = SMALL_READ_BYTES  # what each new connection's IOStream starts with
    return http


def _route_names(handlers: list) -> dict[type, str]:
    """Each handler class → its path in the OpenAPI document (`/job/{id}`): metrics' route label."""
    names: dict[type, str] = {}
    for pattern, handler in handlers:
        names.setdefault(handler, openapi.path_of(pattern))
    return names


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """Access log, without heartbeats (as AWE). A worker's checkouts and reports that succeed
    (and its idle long polls) are at DEBUG: at INFO they were a line per request of the hot
    path (3-5% of its CPU); what fails stays at INFO/WARNING."""
    request = handler.request
    route = handler.application.settings["route_names"].get(type(handler), "")
    metrics.observe_request(handler, route)
    if "heartbeat" in request.query_arguments:
        return
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING
    if route.startswith("/work") and "client" in request.query_arguments:
        if status < 400 or (status == 400 and request.method == "GET"):
            level = logging.DEBUG  # "No eligible workunit found": every few s per idle worker
    if ACCESS.isEnabledFor(level):
        ACCESS.log(level, "%s %s %d %.1fms", request.method, loggable_uri(request.uri), status,
                   1000.0 * request.request_time())  # fmt: skip
