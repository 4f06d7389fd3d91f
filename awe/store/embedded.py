"""The embedded store: one SQLite file in WAL mode, so a fresh machine needs no database server.

Job, perf and meta rows hold JSON text; queries reach into it with `json_extract`, and every
field of INDEXED_FIELDS has an expression index, so listings sort and page inside SQLite.
One writer thread (the SnapshotActor) and many reader threads each get their own connection.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from awe.store.base import INDEXED_FIELDS, Batch, JobQuery, StoreUnavailable
from awe.store.rules import (
    DEFAULT_MAX_JID,
    EXPIRABLE_STATES,
    FIRST_REAL_TIME,
    CheckedBatch,
    check_batch,
    check_field,
    check_query,
    date_bounds,
    merge_history,
    merge_workunits,
    page_bounds,
    sort_distinct,
    unfinished_query,
)

SYNCHRONOUS_MODES = ("full", "normal")
_SCALAR_TYPES = ("text", "integer", "real", "true", "false")
_BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    wuid TEXT NOT NULL, name TEXT NOT NULL, job_id TEXT NOT NULL, content BLOB NOT NULL,
    PRIMARY KEY (wuid, name)
);
CREATE INDEX IF NOT EXISTS reports_job_id ON reports (job_id);
CREATE TABLE IF NOT EXISTS perf (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS workunits (wuid TEXT PRIMARY KEY, job_id TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS workunits_job_id ON workunits (job_id);
CREATE TABLE IF NOT EXISTS history (
    job_id TEXT NOT NULL, seq INTEGER NOT NULL, row TEXT NOT NULL, PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
"""


def _value(field: str) -> str:
    """SQL for a checked dotted field of the job document; must match the index expressions."""
    return f"json_extract(doc, '$.{field}')"


def _type(field: str) -> str:
    return f"json_type(doc, '$.{field}')"


def _index_sql(field: str) -> str:
    name = "jobs_" + field.replace(".", "_")
    return f"CREATE INDEX IF NOT EXISTS {name} ON jobs ({_value(field)})"


def _where(query: JobQuery) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) of a checked query; clauses are AND-ed."""
    clauses: list[str] = []
    params: list[Any] = []
    for field, values in query.filters.items():
        # A string equal to one of the values; numbers, booleans, objects and arrays never are.
        clauses.append(
            f"{_type(field)} = 'text' AND {_value(field)} IN (SELECT value FROM json_each(?))"
        )
        params.append(json.dumps(list(values)))
    if query.ids is not None:
        clauses.append("id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(query.ids)))
    if query.exclude_ids:
        clauses.append("id NOT IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(query.exclude_ids)))
    if query.date_start is not None or query.date_end is not None:
        either = []
        start, end = date_bounds(query)
        for field in ("info.submittime", "info.completedtime"):
            parts = [f"{_type(field)} = 'text'", f"{_value(field)} >= ?"]
            params.append(start)
            if end is not None:
                parts.append(f"{_value(field)} < ?")
                params.append(end)
            either.append("(" + " AND ".join(parts) + ")")
        clauses.append(" OR ".join(either))
    if query.readable_by is not None:
        clauses.append(
            f"({_type('acl.owner')} = 'text' AND {_value('acl.owner')} = ?)"
            f" OR ({_type('acl.read')} IN ('array', 'text') AND EXISTS ("
            "SELECT 1 FROM json_each(doc, '$.acl.read') AS r"
            " WHERE r.type = 'text' AND r.value IN (?, 'public')))"
        )
        params += [query.readable_by, query.readable_by]
    if not clauses:
        return "", params
    return " WHERE " + " AND ".join(f"({c})" for c in clauses), params


class EmbeddedStore:
    """Durable storage in a single SQLite file: the default back-end."""

    def __init__(self, path: Path, synchronous: str = "full") -> None:
        mode = synchronous.lower() if isinstance(synchronous, str) else synchronous
        if mode not in SYNCHRONOUS_MODES:
            raise ValueError(
                f"invalid SQLite synchronous mode {synchronous!r}: expected full or normal"
            )
        self._path = Path(path).absolute()
        self._synchronous = mode
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreUnavailable(f"cannot create the directory of {self._path}: {err}") from err
        try:
            self._create_schema()
        except BaseException:
            self.close()
            raise

    def _create_schema(self) -> None:
        with self._errors("open"):
            conn = self._conn()
            mode_now = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode_now).lower() != "wal":
                raise StoreUnavailable(f"{self._path} cannot use WAL mode (got {mode_now})")
            conn.executescript(_SCHEMA)
            for field in INDEXED_FIELDS:
                conn.execute(_index_sql(field))
            conn.execute(_index_sql("acl.owner"))

    def describe(self) -> str:
        """Where the data lives, for the start-up log line."""
        return f"embedded SQLite store at {self._path}"

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn SQLite failures (locked, disk full, I/O error, closed) into StoreUnavailable."""
        try:
            yield
        except sqlite3.DatabaseError as err:
            raise StoreUnavailable(f"embedded store {self._path}: cannot {doing}: {err}") from err

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and not self._closed:
            return conn
        with self._lock:
            if self._closed:
                raise StoreUnavailable(f"embedded store {self._path} is closed")
            # isolation_level=None: transactions are begun and committed explicitly below.
            # check_same_thread=False only so that close() may close every thread's connection.
            conn = sqlite3.connect(
                self._path,
                timeout=_BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
            self._connections.append(conn)
        conn.execute(f"PRAGMA synchronous={self._synchronous.upper()}")
        self._local.conn = conn
        return conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement inside sees the same snapshot."""
        with self._errors("read"):
            conn = self._conn()
            _end_stray_transaction(conn)
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    @contextmanager
    def _write_transaction(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed (durable) when the block ends, rolled back on error."""
        with self._errors(doing):
            conn = self._conn()
            _end_stray_transaction(conn)
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def save_batch(self, batch: Batch) -> None:
        """Write the whole batch in one transaction, committed (durable) before returning."""
        if not batch:
            return
        checked = check_batch(batch)
        with self._write_transaction("save a batch") as conn:
            self._write(conn, checked)

    def delete_job(self, job_id: str) -> bool:
        """Remove a job with its workunits, reports and perf record, in one transaction."""
        with self._write_transaction("delete a job") as conn:
            found = conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount
            conn.execute("DELETE FROM workunits WHERE job_id = ?", (job_id,))
            conn.execute("DELETE FROM history WHERE job_id = ?", (job_id,))
            conn.execute("DELETE FROM reports WHERE job_id = ?", (job_id,))
            conn.execute("DELETE FROM perf WHERE id = ?", (job_id,))
        return found > 0

    def distinct(self, field: str, query: JobQuery) -> list[Any]:
        """The distinct scalar values of `field` among the jobs matching `query`."""
        check_query(query)
        check_field(field)
        where, params = _where(query)
        sql = f"SELECT DISTINCT {_type(field)}, {_value(field)} FROM jobs{where}"
        with self._read() as conn:
            rows = conn.execute(sql, params).fetchall()
        booleans = {"true": True, "false": False}
        return sort_distinct(
            [booleans.get(kind, value) for kind, value in rows if kind in _SCALAR_TYPES]
        )

    def expired_job_ids(self, now: str) -> list[str]:
        """Finished jobs whose expiration is set and has passed (the reaper removes them)."""
        sql = (
            f"SELECT id FROM jobs WHERE {_value('state')} IN (SELECT value FROM json_each(?))"
            f" AND {_type('expiration')} = 'text'"
            f" AND {_value('expiration')} >= ? AND {_value('expiration')} < ?"
            " ORDER BY id"
        )
        params = (json.dumps(list(EXPIRABLE_STATES)), FIRST_REAL_TIME, now)
        with self._read() as conn:
            return [job_id for (job_id,) in conn.execute(sql, params).fetchall()]

    @staticmethod
    def _write(conn: sqlite3.Connection, checked: CheckedBatch) -> None:
        conn.executemany(
            "INSERT INTO jobs (id, doc) VALUES (?, ?)"
            " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
            [(job_id, text) for job_id, (_, text) in checked.jobs.items()],
        )
        conn.executemany(
            "INSERT INTO reports (wuid, name, job_id, content) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (wuid, name) DO UPDATE"
            " SET job_id = excluded.job_id, content = excluded.content",
            [(r.wuid, r.name, r.job_id, bytes(r.content)) for r in checked.reports.values()],
        )
        conn.executemany(
            "INSERT INTO perf (id, doc) VALUES (?, ?)"
            " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
            [(perf_id, text) for perf_id, (_, text) in checked.perf.items()],
        )
        conn.executemany(
            "INSERT INTO workunits (wuid, job_id, doc) VALUES (?, ?, ?)"
            " ON CONFLICT (wuid) DO UPDATE SET job_id = excluded.job_id, doc = excluded.doc",
            [(wuid, row["job_id"], text) for wuid, (row, text) in checked.workunits.items()],
        )
        conn.executemany(
            "DELETE FROM workunits WHERE wuid = ?", [(w,) for w in checked.removed_workunits]
        )
        conn.executemany(
            "INSERT INTO history (job_id, seq, row) VALUES (?, ?, ?)"
            " ON CONFLICT (job_id, seq) DO UPDATE SET row = excluded.row",
            [(job_id, seq, text) for (job_id, seq), (_, text) in checked.history.items()],
        )
        conn.executemany(
            "DELETE FROM history WHERE job_id = ? AND seq < ?", list(checked.history_from.items())
        )
        if checked.max_jid is not None:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('max_jid', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
                (checked.max_jid,),
            )

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        """One job document by id, or None."""
        with self._read() as conn:
            row = conn.execute("SELECT doc FROM jobs WHERE id = ?", (job_id,)).fetchone()
            return self._whole(conn, json.loads(row[0])) if row else None

    @classmethod
    def _whole(cls, conn: sqlite3.Connection, job: dict[str, Any]) -> dict[str, Any]:
        """The job with the parts stored apart: workunits and history."""
        job_id = job["id"]
        rows = conn.execute("SELECT doc FROM workunits WHERE job_id = ?", (job_id,)).fetchall()
        merge_workunits(job, [json.loads(doc) for (doc,) in rows])
        events = conn.execute("SELECT seq, row FROM history WHERE job_id = ?", (job_id,))
        return merge_history(job, [(seq, json.loads(text)) for seq, text in events.fetchall()])

    def find_jobs(self, query: JobQuery) -> tuple[list[dict[str, Any]], int]:
        """Return one page of matching jobs and the total number of matches."""
        check_query(query)
        where, params = _where(query)
        offset, limit = page_bounds(query)
        direction = "DESC" if query.descending else "ASC"
        sql = (
            f"SELECT doc FROM jobs{where}"
            f" ORDER BY {_value(query.order)} {direction}, id ASC LIMIT ? OFFSET ?"
        )
        with self._read() as conn:
            total = conn.execute(f"SELECT count(*) FROM jobs{where}", params).fetchone()[0]
            rows = conn.execute(sql, [*params, -1 if limit is None else limit, offset]).fetchall()
        return [json.loads(doc) for (doc,) in rows], total

    def load_unfinished_jobs(self) -> list[dict[str, Any]]:
        """Jobs in UNFINISHED_STATES, oldest `info.submittime` first (start-up recovery)."""
        jobs = self.find_jobs(unfinished_query())[0]
        with self._read() as conn:
            return [self._whole(conn, job) for job in jobs]

    def max_jid(self) -> int:
        """The largest jid ever saved, or 10000 when none was."""
        with self._read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'max_jid'").fetchone()
        return int(row[0]) if row else DEFAULT_MAX_JID

    def get_report(self, wuid: str, name: str) -> bytes | None:
        """The content of one stored report file, or None."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT content FROM reports WHERE wuid = ? AND name = ?", (wuid, name)
            ).fetchone()
        return bytes(row[0]) if row else None

    def job_reports(self, job_id: str, name: str) -> dict[str, bytes]:
        """Every stored report called `name` of a job's workunits, by wuid."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT wuid, content FROM reports WHERE job_id = ? AND name = ?", (job_id, name)
            ).fetchall()
        return {wuid: bytes(content) for wuid, content in rows}

    def get_perf(self, job_id: str) -> dict[str, Any] | None:
        """The JobPerf document of a job, or None."""
        with self._read() as conn:
            row = conn.execute("SELECT doc FROM perf WHERE id = ?", (job_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def close(self) -> None:
        """Close every thread's connection; later calls raise StoreUnavailable."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()


def _end_stray_transaction(conn: sqlite3.Connection) -> None:
    """A transaction left open (a failed COMMIT) would pin an old snapshot: roll it back."""
    if conn.in_transaction:
        logging.getLogger(__name__).warning("rolling back a transaction left open on %s", conn)
        conn.execute("ROLLBACK")
