"""Schemas of the OpenAPI document: AWE's envelope, and the objects in its `data`."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

TIME = {"type": "string", "description": "RFC 3339, UTC; 0001-01-01T00:00:00Z when unset"}
ERRORS = {"type": "array", "items": {"type": "string"}, "minItems": 1}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def envelope(data: Schema) -> Schema:
    """AWE's envelope around `data`, as every JSON answer has it."""
    return {
        "type": "object",
        "required": ["status", "data", "error"],
        "properties": {"status": {"type": "integer"}, "data": data, "error": {"type": "null"}},
    }


def page(item: Schema) -> Schema:
    """A list envelope: `data` is a page, with `limit`, `offset` and `total_count`."""
    schema = envelope({"type": "array", "items": item})
    schema["required"] = [*schema["required"], "limit", "offset", "total_count"]
    for name in ("limit", "offset", "total_count"):
        schema["properties"][name] = {"type": "integer", "minimum": 0}
    return schema


def obj(required: list[str], **properties: Schema) -> Schema:
    return {"type": "object", "required": required, "properties": properties}


SCHEMAS: dict[str, Schema] = {
    "ErrorEnvelope": {
        "type": "object",
        "required": ["status", "data", "error"],
        "properties": {
            "status": {"type": "integer", "minimum": 400},
            "data": {"type": "null"},
            "error": ERRORS,
        },
    },
    "Message": {"type": "string", "description": "what the server did, in words"},
    "IO": obj(["filename"], filename={"type": "string"}),
    "Command": obj(["name"], name={"type": "string"}, args={"type": "string"}),
    "Workunit": obj(
        ["rank", "state"],
        rank={"type": "integer"},
        state={"enum": ["queued", "checkout", "suspend", "done"]},
        failed={"type": "integer"},
        client={"type": "string"},
        checkout_time=TIME,
    ),
    "Task": obj(
        ["taskid", "state", "cmd", "dependsOn", "totalwork"],
        taskid={"type": "string", "description": "<job id>_<user taskid>"},
        state={"type": "string"},
        cmd=ref("Command"),
        dependsOn={"type": "array", "items": {"type": "string"}},
        totalwork={"type": "integer"},
        remainwork={"type": "integer"},
        inputs={"type": "array", "items": ref("IO")},
        outputs={"type": "array", "items": ref("IO")},
        workunits={"type": "array", "items": ref("Workunit")},
    ),
    "Job": obj(
        ["id", "state", "info", "tasks"],
        id={"type": "string"},
        jid={"type": "string"},
        state={"enum": ["init", "queued", "in-progress", "completed", "suspend", "deleted"]},
        info={"type": "object"},
        tasks={"type": "array", "items": ref("Task")},
        remaintasks={"type": "integer"},
        notes={"type": "string"},
        updatetime=TIME,
        history={"type": "array", "items": ref("Event")},
    ),
    "JobPerf": obj(
        ["id", "task_stats", "work_stats"],
        id={"type": "string"},
        task_stats={"type": "object"},
        work_stats={"type": "object"},
    ),
    "WorkunitView": obj(["wuid", "state"], wuid={"type": "string"}, state={"type": "string"}),
    "Client": obj(
        ["id", "Status"],
        id={"type": "string"},
        name={"type": "string"},
        group={"type": "string"},
        Status={"type": "string"},
        current_work={"type": "object"},
        last_heartbeat=TIME,
    ),
    "Queue": obj(
        ["queue_status"],
        queue_status={"enum": ["running", "suspended"]},
        jobs={"type": "object"},
        workunits={"type": "object"},
        clients={"type": "object"},
    ),
    "Event": obj(
        ["id", "kind", "subject", "old", "new", "stimulus", "time"],
        id={"type": "integer", "description": "increasing; the SSE id for Last-Event-ID"},
        kind={"enum": ["job", "task", "workunit", "client"]},
        subject={"type": "string", "description": "job id, task id, wuid or client id"},
        old={"type": "string"},
        new={"type": "string"},
        stimulus={"type": "string", "description": "what caused it: a request id, a sweep…"},
        job_id={"type": "string"},
        owner={"type": "string"},
        detail={"type": "string"},
        time=TIME,
    ),
    "Ticket": obj(
        ["ticket", "user", "expires"],
        ticket={"type": "string"},
        user={"type": "string"},
        expires=TIME,
    ),
    "WhoAmI": obj(
        ["user", "anonymous", "admin", "rights"],
        user={"type": "string"},
        anonymous={"type": "boolean"},
        admin={"type": "boolean"},
        rights={"type": "object"},
        queue_control={"type": "boolean"},
        client_control={"type": "boolean"},
    ),
}
