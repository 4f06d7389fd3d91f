"""The OpenAPI description of `/data`: the server's datastore (awe.http.data)."""

from __future__ import annotations

from awe.openapi.paths import ERROR_TEXT, INT, JOB_ID, flag, json_answer, path, query
from awe.openapi.schemas import Schema, envelope, obj, ref

DATA_ERRORS = {
    **ERROR_TEXT,
    "403": "a browser request from an origin not in api.allowed_origins",
    "409": "the job no longer takes files (finished, deleted or not in the queue)",
    "416": "the range starts past the end of the file (Content-Range: bytes */<size>)",
    "422": "the bytes that arrived differ from the Content-MD5 sent: nothing was stored",
    "507": "the server could not store the file (its disk)",
}
TASK = path("task", "the task's id as the job script gave it (e.g. 0)")
FILE = path("file", "the output's file name")
HEX = {"type": "string", "pattern": "^[0-9a-f]+$"}
BINARY = {"type": "string", "contentMediaType": "application/octet-stream"}
FILE_HEADERS = {
    name: {"description": text, "schema": {"type": "string"}}
    for name, text in (
        ("ETag", '"<sha256 of the whole file>"'),
        ("Digest", "md5=<base64>,sha-256=<base64> of the whole file (also on a 206)"),
        ("Accept-Ranges", "bytes"),
    )
}


def data_op(summary: str, responses: dict[str, Schema], *errors: str, **more: object) -> Schema:
    """An operation with its answers and the JSON error envelopes it may give."""
    answers = dict(responses)
    for code in (*errors, "503", "504"):
        answers[code] = json_answer(ref("ErrorEnvelope"), DATA_ERRORS[code])
    return {"summary": summary, "responses": answers, **more}


def file_answer(description: str, status_headers: dict[str, Schema] | None = None) -> Schema:
    return {
        "description": description,
        "headers": {**FILE_HEADERS, **(status_headers or {})},
        "content": {
            "application/octet-stream": {"schema": BINARY},
            "application/json": {"schema": envelope(ref("DataMeta"))},
        },
    }


READ_PARAMS = [
    JOB_ID,
    TASK,
    FILE,
    query("client", "a worker holding a workunit of the job (reads it by its lease)"),
    flag("meta", "answer the file's size and checksums (JSON) instead of its bytes"),
    query("rank", "with ?meta: the rank whose line share to describe", INT),
    query("totalwork", "with ?meta and rank: how many ranks share the file", INT),
    {"name": "Range", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "bytes=<first>-[<last>] or bytes=-<suffix>: one range, answered 206"},
    {"name": "If-Range", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "the ETag the range was computed against; another ETag: the whole file"},
]  # fmt: skip
DOWNLOAD = {
    "200": file_answer("the file (or, with ?meta, its size and checksums)"),
    "206": file_answer(
        "the requested range",
        {"Content-Range": {"description": "bytes a-b/size", "schema": {"type": "string"}}},
    ),
}

DATA_PATHS: dict[str, dict[str, Schema]] = {
    "/data": {
        "get": data_op(
            "This datastore: its id (in <datastore>/.awe-datastore), URL and file size cap",
            {"200": json_answer(envelope(ref("DatastoreInfo")))},
        )
    },
    "/data/{id}": {
        "get": data_op(
            "The job's files in the datastore",
            {"200": json_answer(envelope({"type": "array", "items": ref("DataFile")}))},
            "400",
            "401",
            "404",
            parameters=[JOB_ID, query("client", "a worker holding a workunit of the job")],
        )
    },
    "/data/{id}/{task}/{file}": {
        "get": data_op(
            "A file of the job, streamed; a byte range; or (?meta) its checksums and a share",
            DOWNLOAD,
            "400",
            "401",
            "404",
            "416",
            parameters=READ_PARAMS,
        ),
        "head": data_op(
            "The headers of the file's download",
            {"200": {"description": "size and checksums in the headers", "headers": FILE_HEADERS}},
            "400",
            "401",
            "404",
            "416",
            parameters=READ_PARAMS,
        ),
        "put": data_op(
            "Store the body as the task's output (rank R > 0: R's part of a split task); only "
            "from the client holding workunit <id>_<task>_<rank>",
            {"200": json_answer(envelope(ref("StoredFile")))},
            "400",
            "401",
            "403",
            "404",
            "409",
            "413",
            "422",
            "507",
            parameters=[
                JOB_ID,
                TASK,
                FILE,
                query("client", "the client (worker) holding the workunit"),
                query("rank", "the workunit's rank (0 for a task that is not split)", INT),
                {
                    "name": "Content-MD5",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "base64 md5 of the body; the server refuses other bytes (422)",
                },
            ],  # fmt: skip
            requestBody={"content": {"application/octet-stream": {"schema": BINARY}}},
        ),
    },
}

CHECKSUMS: dict[str, Schema] = {
    "size": {"type": "integer", "minimum": 0},
    "md5": HEX,
    "sha256": HEX,
}
DATA_SCHEMAS: dict[str, Schema] = {
    "DatastoreInfo": obj(
        ["id", "url", "max_file_bytes"],
        id={"type": "string"},
        url={"type": "string"},
        max_file_bytes={"type": "integer"},
    ),
    "DataFile": obj(
        ["task", "filename", "size", "md5", "sha256", "url"],
        task={"type": "string"},
        filename={"type": "string"},
        lines={"type": "integer", "minimum": 0},
        url={"type": "string"},
        **CHECKSUMS,
    ),
    "DataMeta": obj(
        ["job", "task", "filename", "size", "md5", "sha256", "url"],
        job={"type": "string"},
        task={"type": "string"},
        filename={"type": "string"},
        lines={"type": "integer", "minimum": 0},
        url={"type": "string"},
        share=obj(
            ["rank", "totalwork", "start", "end", "md5", "sha256"],
            rank={"type": "integer"},
            totalwork={"type": "integer"},
            start={"type": "integer"},
            end={"type": "integer"},
            **CHECKSUMS,
        ),
        **CHECKSUMS,
    ),
    "StoredFile": obj(
        ["task", "filename", "size", "md5", "sha256", "url"],
        task={"type": "string"},
        filename={"type": "string"},
        part={"type": ["integer", "null"]},
        lines={"type": "integer", "minimum": 0},
        url={"type": "string"},
        **CHECKSUMS,
    ),
}
