"""The server's data plane put together: datastore, pool, public URL, and its periodic chores.

`awe.datastore` does the file work, `awe.http.data` serves it; this module builds what they need
from the config and holds the jobs the server runs beside them (joining a split task's parts for
its JobActor, retention), so that `awe.server` only wires them in.
"""

from __future__ import annotations

import concurrent.futures
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from awe.config import ServerConfig
from awe.datastore import Datastore
from awe.model.retention import data_expired, parse_duration
from awe.model.times import parse_time
from awe.store.base import Store

log = logging.getLogger("awe.datastore")


@dataclass
class DataService:
    """What the /data handlers reach: the datastore, the pool its calls run on, and its id."""

    store: Datastore
    pool: concurrent.futures.Executor
    ident: str
    throttle_bytes_per_s: int = 0
    max_file_bytes: int = 100 * 1024**3


def open_data_service(config: ServerConfig) -> DataService:
    """The datastore (made if new), its id, its own pool; what cut-short writes left goes."""
    ds_config = config.datastore
    datastore = Datastore(config.datastore_root, ds_config.index_chunk_bytes)
    ident = datastore.ensure()
    swept = datastore.sweep_incoming()
    if swept:
        log.info("datastore: removed %d unfinished upload(s) left by the last run", swept)
    pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="datastore")
    return DataService(
        datastore, pool, ident, ds_config.throttle_bytes_per_s, ds_config.max_file_bytes
    )


def public_url(config: ServerConfig, port: int | None = None) -> str:
    """`api.external_url`, else http://<host>:<port> (the host name when listening on all)."""
    if config.api.external_url:
        return config.api.external_url.rstrip("/")
    host = config.api.host
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - comparing, not binding
        host = socket.getfqdn()
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config.api.port if port is None else port}"


def part_joiner(datastore: Datastore) -> Callable[[str, str, list[str], list[int]], dict[str, int]]:
    """The JobContext's `join_parts`: each output of a split task, joined; {name: size}."""

    def join(job_id: str, task: str, names: list[str], ranks: list[int]) -> dict[str, int]:
        return {name: datastore.join_parts(job_id, task, name, ranks)["size"] for name in names}

    return join


def logged(fn: Callable[..., Any], what: str) -> Callable[..., Any]:
    """`fn` for a pool: what it raises is logged, since no one waits for its result."""

    def run(*args: Any) -> Any:
        try:
            return fn(*args)
        except Exception:
            log.exception("%s failed", what)
            return None

    return run


def expire_data(
    datastore: Datastore, store: Store, retention: str, at: float | None = None
) -> list[str]:
    """Remove the files of jobs finished longer ago than `retention` (blocking); their ids."""
    keep_s = parse_duration(retention)
    if keep_s is None:
        return []
    moment = time.time() if at is None else at
    removed = []
    for job_id in datastore.job_ids():
        doc = store.get_job(job_id)
        if doc is None:  # a folder whose job the store does not know: by the folder's age
            state, finished = None, datastore.folder_mtime(job_id)
        else:
            state, finished = doc.get("state"), _timestamp(doc.get("updatetime"))
        if data_expired(state, finished, moment, keep_s) and datastore.delete_job(job_id):
            removed.append(job_id)
    if removed:
        log.info("retention: removed the files of %d finished job(s)", len(removed))
    return removed


def _timestamp(value: Any) -> float | None:
    try:
        return parse_time(str(value)).timestamp()
    except (TypeError, ValueError):
        return None
