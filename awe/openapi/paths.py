"""Parameters and operations of the OpenAPI document: every route, as the handlers serve it."""

from __future__ import annotations

from typing import Any

from awe.openapi.schemas import Schema, envelope, page, ref


def query(name: str, description: str, schema: Schema | None = None) -> Schema:
    return {"name": name, "in": "query", "description": description,
            "schema": schema or {"type": "string"}}  # fmt: skip


def flag(name: str, description: str) -> Schema:
    """AWE's bare query flags (`?suspend`): present means yes, whatever the value."""
    return {**query(name, description), "allowEmptyValue": True}


def path(name: str, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "pattern": "^[^/]+$"}}  # fmt: skip


INT = {"type": "integer", "minimum": 0, "maximum": 1_000_000}
JOB_ID = path("id", "job id")
WUID = path("id", "workunit id: <job id>_<taskid>_<rank>, or base64:<that id, base64>")
CLIENT_ID = path("id", "client id")
CLIENT = query("client", "the client (worker) id making the call")

# ---- operations ---------------------------------------------------------------------------


def json_answer(schema: Schema, description: str = "OK") -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR_TEXT = {
    "400": "bad request, unknown id or state that does not allow it (AWE's message)",
    "401": "no or wrong credentials, or not the caller's job",
    "404": "not found",
    "413": "body over the configured limit",
    "501": "operation not implemented",
    "503": "store unavailable: nothing was changed",
    "504": "the server did not answer in time",
}


def op(summary: str, answer: Schema, *errors: str, params: list | None = None, **more: Any):
    """One operation: its 200 answer and the error statuses it may give (JSON envelopes)."""
    responses = {"200": answer}
    for code in (*errors, "503", "504"):
        responses[code] = json_answer(ref("ErrorEnvelope"), ERROR_TEXT[code])
    return {"summary": summary, "parameters": params or [], "responses": responses, **more}


def multipart(**parts: str) -> Schema:
    properties = {
        name: {"type": "string", "contentMediaType": "application/octet-stream",
               "description": text}
        for name, text in parts.items()
    }  # fmt: skip
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    return {"content": {"multipart/form-data": {"schema": schema}}}


def text_answer(media: str, description: str) -> Schema:
    return {"description": description, "content": {media: {"schema": {"type": "string"}}}}


PAGING = [
    query(
        "limit", "page size (default 25); 0: every match, up to limits.listing_limit (1000)", INT
    ),
    query("offset", "how many to skip", INT),
    query("order", "field to sort by (jobs: default updatetime)"),
    query("direction", "sort direction", {"enum": ["asc", "desc"]}),
]
JOB_FILTERS = [
    flag("query", "filter by the job fields given (any field; these are the usual ones)"),
    query("state", "with ?query: job states, comma-separated"),
    query("info.project", "with ?query"),
    query("info.user", "with ?query"),
    query("info.pipeline", "with ?query"),
    query("info.name", "with ?query"),
    query("date_start", "with ?query: updated at or after (date or RFC 3339)"),
    query("date_end", "with ?query: updated before"),
    flag("active", "only jobs in the queue, running"),
    flag("suspend", "only suspended jobs in the queue"),
    flag("registered", "active plus suspended"),
]
MESSAGE = json_answer(envelope(ref("Message")))

PATHS: dict[str, dict[str, Any]] = {
    "/": {
        "get": op(
            "What this server is (AWE's resource document, no envelope)",
            json_answer({"type": "object", "required": ["id", "type", "version"]}),
        )
    },
    "/job": {
        "get": op(
            "List and query jobs, newest update first; ?distinct=<info field> its values",
            json_answer({"anyOf": [page(ref("Job")), envelope({"type": "array", "items": {}})]}),
            "400",
            "401",
            params=[
                *PAGING,
                *JOB_FILTERS,
                query("distinct", "the distinct values of info.<this> (pipeline, project, user…)"),
            ],
        ),
        "post": op(
            "Submit a job script",
            json_answer(envelope(ref("Job"))),
            "400",
            "401",
            "413",
            params=[
                {
                    "name": "Datatoken",
                    "in": "header",
                    "schema": {"type": "string"},
                    "description": "token workers use to fetch the job's inputs",
                }
            ],
            requestBody={
                "required": True,
                **multipart(
                    upload="the job script (JSON)",
                    **{"import": "a finished job's whole document, stored and not run"},
                ),
            },
        ),
        "put": op(
            "?resumeall: resume every suspended job",
            MESSAGE,
            "401",
            "501",
            params=[flag("resumeall", "resume all suspended jobs")],
        ),
        "delete": op(
            "?suspend deletes suspended jobs, ?zombie zombie jobs",
            MESSAGE,
            "401",
            "501",
            params=[
                flag("suspend", "delete every suspended job"),
                flag("zombie", "delete jobs in the store the queue lost"),
                flag("full", "also remove their documents, workunits and reports"),
            ],
        ),
    },
    "/job/{id}": {
        "get": op(
            "One job; ?perf its timing; ?history its recent transitions",
            json_answer(
                envelope(
                    {
                        "anyOf": [
                            ref("Job"),
                            ref("JobPerf"),
                            {"type": "array", "items": ref("Event")},
                        ]
                    }
                )
            ),
            "400",
            "401",
            params=[
                JOB_ID,
                flag("perf", "timing of the job, tasks and workunits"),
                flag("history", "the job's recent transitions (events), oldest first"),
            ],
        ),
        "put": op(
            "Operate on a job (one operation per call)",
            MESSAGE,
            "400",
            "401",
            "404",
            params=[
                JOB_ID,
                flag("suspend", "suspend"),
                flag("resume", "resume"),
                flag("resubmit", "put a job from the store back into the queue"),
                flag("recover", "alias of resubmit"),
                query("recompute", "rerun this taskid and all downstream"),
                query("clientgroup", "clientgroups allowed to run it, comma-separated"),
                query("pipeline", "set info.pipeline"),
                query(
                    "expiration", "remove it from the store this long after it finished: <N><M|H|D>"
                ),
                query(
                    "priority",
                    "new priority (higher first)",
                    {"type": "integer", "minimum": 1, "maximum": 1_000_000},
                ),
            ],
        ),
        "delete": op(
            "Delete a job (?suspend: only if it is suspended)",
            MESSAGE,
            "400",
            "401",
            "404",
            params=[
                JOB_ID,
                flag("suspend", "delete only a suspended job"),
                flag("full", "also remove its document, workunits and reports from the store"),
            ],
        ),
    },
    "/work": {
        "get": op(
            "With ?client: check out a workunit (long poll with ?wait); else list them",
            json_answer(
                envelope(
                    {
                        "anyOf": [
                            ref("WorkunitView"),
                            {"type": "array", "items": ref("WorkunitView")},
                        ]
                    }
                )
            ),
            "400",
            "401",
            params=[
                CLIENT,
                query("available", "bytes of disk the client has", INT),
                flag("query", "without client: sort and page the listing (total_count)"),
                query("state", "without client: only workunits in this state"),
                *PAGING,
                query(
                    "wait",
                    "seconds to hold the checkout until work appears",
                    {"type": "number", "minimum": 0, "maximum": 300},
                ),
            ],
        ),
    },
    "/work/{id}": {
        "get": op(
            "A workunit; ?report=stdout|stderr|worknotes|perf its report; "
            "?datatoken / ?privateenv (its client only, in a header)",
            json_answer(envelope({})),
            "400",
            "401",
            "413",
            params=[
                WUID,
                query(
                    "report",
                    "which report file",
                    {"enum": ["stdout", "stderr", "worknotes", "perf"]},
                ),
                flag("datatoken", "the job's data token (header Datatoken)"),
                flag("privateenv", "the private environment (header Privateenv)"),
                CLIENT,
            ],
        ),
        "put": op(
            "A client reports a workunit (files as multipart parts)",
            MESSAGE,
            "400",
            "401",
            "413",
            params=[
                WUID,
                CLIENT,
                query("status", "the outcome", {"enum": ["done", "fail", "discarded"]}),
                flag("report", "the body carries report files"),
                query("computetime", "seconds the command ran", INT),
            ],
            requestBody=multipart(
                stdout="",
                stderr="",
                worknotes="",
                perf="JSON",
                outputs="JSON [{filename, node, url, size}]",
                notes="why it failed",
            ),
        ),
    },
    "/client": {
        "get": op(
            "Registered clients",
            json_answer(envelope({"type": "array", "items": ref("Client")})),
            "401",
            params=[flag("busy", "only clients holding work")],
        ),
        "post": op(
            "Register a client (re-registration keeps its id)",
            json_answer(envelope(ref("Client"))),
            "400",
            "401",
            "413",
            requestBody={"required": True, **multipart(profile="the profile (JSON)")},
        ),
        "put": op(
            "?suspendall / ?resumeall",
            MESSAGE,
            "401",
            "501",
            params=[flag("suspendall", ""), flag("resumeall", "")],
        ),
        "delete": op("Not implemented (delete one client at a time)", MESSAGE, "501"),
    },
    "/client/{id}": {
        "get": op(
            "A client; ?heartbeat records one and answers instructions",
            json_answer(envelope({"type": "object"})),
            "400",
            "401",
            params=[CLIENT_ID, flag("heartbeat", "")],
        ),
        "put": op(
            "?suspend / ?resume a client",
            MESSAGE,
            "400",
            "401",
            "501",
            params=[CLIENT_ID, flag("suspend", ""), flag("resume", "")],
        ),
        "delete": op("Forget a client", MESSAGE, "400", "401", params=[CLIENT_ID]),
    },
    "/queue": {
        "get": op(
            "Queue status (a sentence; ?json for counts)",
            json_answer(envelope({"anyOf": [ref("Message"), ref("Queue")]})),
            "401",
            params=[flag("json", "counts as JSON")],
        ),
        "put": op(
            "?suspend / ?resume the whole queue (admins, when admins are named)",
            MESSAGE,
            "401",
            "501",
            params=[flag("suspend", ""), flag("resume", "")],
        ),
    },
    "/metrics": {
        "get": op(
            "Prometheus metrics (text exposition format)",
            text_answer("text/plain", "counters, histograms and gauges"),
        )
    },
    "/events": {
        "get": op(
            "Every state change as server-sent events (`data:` is an Event)",
            text_answer("text/event-stream", "a stream that stays open"),
            "400",
            "401",
            params=[
                query("job", "only this job's events"),
                query("last_event_id", "resume after this id (as Last-Event-ID)"),
                query("ticket", "from POST /events/ticket, for browsers"),
                {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "schema": {"type": "string"},
                    "description": "resume after this id; on a gap, event `reload`",
                },
            ],
        ),
    },
    "/events/ticket": {
        "post": op(
            "A short-lived ticket that opens GET /events (EventSource sends no headers)",
            json_answer(envelope(ref("Ticket"))),
            "401",
        ),
    },
    "/whoami": {
        "get": op(
            "The caller and what it may do (the web page asks)",
            json_answer(envelope(ref("WhoAmI"))),
            "401",
        )
    },
    "/ui": {
        "get": {"summary": "Redirect to /ui/", "responses": {"302": {"description": "to /ui/"}}}
    },
    "/ui/{path}": {
        "get": op(
            "The web page and its files",
            text_answer("text/html", "a file of the page"),
            "404",
            params=[
                {
                    "name": "path",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "file",
                }
            ],
        ),
    },
    "/openapi.json": {"get": op("This document", json_answer({"type": "object"}))},
}
