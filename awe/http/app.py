"""The Tornado application: every module's `routes`, and `GET` of anything else → `GET /`."""

from __future__ import annotations

import tornado.web

from awe.http import clients, data, jobs, queue, work
from awe.http.base import ResourceHandler, Services


def make_app(services: Services) -> tornado.web.Application:
    handlers = [(r"/", ResourceHandler)]
    for module in (jobs, work, clients, queue, data):
        handlers.extend(module.routes)
    handlers.append((r"/.*", ResourceHandler))
    return tornado.web.Application(
        [(pattern, handler, {"services": services}) for pattern, handler in handlers],
        log_function=_log_request,
    )


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """Access log, without heartbeats (as AWE) and without the long-poll noise of idle workers."""
    import logging

    request = handler.request
    if "heartbeat" in request.query_arguments:
        return
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING
    if (
        status == 400
        and request.path.rstrip("/") == "/work"
        and "client" in request.query_arguments
    ):
        level = logging.DEBUG  # "No eligible workunit found" every few seconds per idle worker
    logging.getLogger("awe.access").log(
        level, "%s %s %d %.1fms", request.method, request.uri, status,
        1000.0 * request.request_time(),
    )  # fmt: skip
