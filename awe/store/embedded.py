"""The embedded store: one SQLite file in WAL mode, so a fresh machine needs no database server.

Job, perf and meta rows hold JSON text. A job's row holds its fields; its tasks, workunits and
history are rows of their own, so a change to one task of a big job writes that task's row,
not the job. Listings filter, count and sort on `job_keys`, one narrow row per job with the
fields of INDEXED_FIELDS and its readers, written with the job (`awe.store.listing`); other
fields are reached with `json_extract`. One writer thread (the SnapshotActor) and many reader
threads each get their own connection.
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

from awe.store.base import INDEXED_FIELDS, UNFINISHED_STATES, Batch, JobQuery, StoreUnavailable
from awe.store.listing import COUNTS_AGREE, KEYS_SCHEMA, RECOUNT, UPSERT_KEYS, Listing, key_row
from awe.store.rules import (
    DEFAULT_MAX_JID,
    EXPIRABLE_STATES,
    FIRST_REAL_TIME,
    CheckedBatch,
    check_batch,
    check_field,
    check_query,
    decode_doc,
    merge_history,
    merge_workunits,
    page_bounds,
    sort_distinct,
    split_job,
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
CREATE TABLE IF NOT EXISTS tasks (
    job_id TEXT NOT NULL, idx INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history (
    job_id TEXT NOT NULL, seq INTEGER NOT NULL, row TEXT NOT NULL, PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
"""


def _value(field: str) -> str:
    """SQL for a checked dotted field of the job document `j`."""
    return f"json_extract(j.doc, '$.{field}')"


def _type(field: str) -> str:
    return f"json_type(j.doc, '$.{field}')"


# indexes on json_extract(doc, ...) that earlier versions made: dropped once job_keys holds
# their fields (a write then parses no document); finding one means job_keys must be rebuilt
_OLD_INDEXES = [f"jobs_{f.replace('.', '_')}" for f in (*INDEXED_FIELDS, "acl.owner")]


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
            conn.executescript(KEYS_SCHEMA)
            _move_tasks_apart(conn)
        self._migrate_keys()

    def _migrate_keys(self) -> None:
        """Fill job_keys from the documents when an earlier version wrote the store last."""
        with self._write_transaction("build the listing keys") as conn:
            old = conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name IN"
                " (SELECT value FROM json_each(?))",
                (json.dumps(_OLD_INDEXES),),
            ).fetchall()
            empty = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM job_keys)").fetchone()[0]
            if not old and not (empty and conn.execute("SELECT count(*) FROM jobs").fetchone()[0]):
                return
            conn.execute("DELETE FROM job_keys")
            rows = conn.execute("SELECT doc FROM jobs")
            while chunk := rows.fetchmany(1000):
                conn.executemany(UPSERT_KEYS, [key_row(decode_doc(doc)) for (doc,) in chunk])
            for (name,) in old:
                conn.execute(f"DROP INDEX IF EXISTS {name}")
        with self._write_transaction("count the listing keys") as conn:
            if not conn.execute(COUNTS_AGREE).fetchone()[0]:
                for statement in RECOUNT:
                    conn.execute(statement)

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
            conn.execute("DELETE FROM job_keys WHERE id = ?", (job_id,))
            conn.execute("DELETE FROM tasks WHERE job_id = ?", (job_id,))
            conn.execute("DELETE FROM workunits WHERE job_id = ?", (job_id,))
            conn.execute("DELETE FROM history WHERE job_id = ?", (job_id,))
            conn.execute("DELETE FROM reports WHERE job_id = ?", (job_id,))
            conn.execute("DELETE FROM perf WHERE id = ?", (job_id,))
        return found > 0

    def distinct(self, field: str, query: JobQuery) -> list[Any]:
        """The distinct scalar values of `field` among the jobs matching `query`."""
        listing = Listing(check_query(query))
        check_field(field)
        where, params = listing.where(for_page=False)
        sql = (
            f"SELECT DISTINCT {_type(field)}, {_value(field)}"
            f" FROM job_keys AS k CROSS JOIN jobs AS j ON j.id = k.id{where}"
        )
        with self._read() as conn:
            rows = conn.execute(sql, params).fetchall()
        booleans = {"true": True, "false": False}
        return sort_distinct(
            [booleans.get(kind, value) for kind, value in rows if kind in _SCALAR_TYPES]
        )

    def expired_job_ids(self, now: str) -> list[str]:
        """Finished jobs whose expiration is set and has passed (the reaper removes them)."""
        sql = (
            "SELECT k.id FROM job_keys AS k CROSS JOIN jobs AS j ON j.id = k.id"
            " WHERE k.state IN (SELECT value FROM json_each(?))"
            f" AND {_type('expiration')} = 'text'"
            f" AND {_value('expiration')} >= ? AND {_value('expiration')} < ?"
            " ORDER BY k.id"
        )
        params = (json.dumps(list(EXPIRABLE_STATES)), FIRST_REAL_TIME, now)
        with self._read() as conn:
            return [job_id for (job_id,) in conn.execute(sql, params).fetchall()]

    @staticmethod
    def _write(conn: sqlite3.Connection, checked: CheckedBatch) -> None:
        """Only statements with rows to write: a cycle's batch is a few of them."""
        parts = checked.parts.values()
        _many(conn, _UPSERT_JOB, [(p.job_id, p.header) for p in parts])
        _many(conn, UPSERT_KEYS, [key_row(decode_doc(p.header)) for p in parts])
        _many(conn, "DELETE FROM tasks WHERE job_id = ?", [(p.job_id,) for p in parts if p.whole])
        _many(conn, _UPSERT_TASK, [(p.job_id, n, t) for p in parts for n, t in p.tasks.items()])
        _many(
            conn,
            "INSERT INTO reports (wuid, name, job_id, content) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (wuid, name) DO UPDATE"
            " SET job_id = excluded.job_id, content = excluded.content",
            [(r.wuid, r.name, r.job_id, bytes(r.content)) for r in checked.reports.values()],
        )
        _many(
            conn,
            "INSERT INTO perf (id, doc) VALUES (?, ?)"
            " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
            [(perf_id, text) for perf_id, (_, text) in checked.perf.items()],
        )
        _many(
            conn,
            "INSERT INTO workunits (wuid, job_id, doc) VALUES (?, ?, ?)"
            " ON CONFLICT (wuid) DO UPDATE SET job_id = excluded.job_id, doc = excluded.doc",
            [(wuid, row["job_id"], text) for wuid, (row, text) in checked.workunits.items()],
        )
        _many(conn, "DELETE FROM workunits WHERE wuid = ?",
              [(w,) for w in checked.removed_workunits])  # fmt: skip
        _many(
            conn,
            "INSERT INTO history (job_id, seq, row) VALUES (?, ?, ?)"
            " ON CONFLICT (job_id, seq) DO UPDATE SET row = excluded.row",
            [(job_id, seq, text) for (job_id, seq), (_, text) in checked.history.items()],
        )
        _many(conn, "DELETE FROM history WHERE job_id = ? AND seq < ?",
              list(checked.history_from.items()))  # fmt: skip
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
            if not row:
                return None
            return self._whole(conn, _with_tasks(conn, [decode_doc(row[0])])[0])

    @classmethod
    def _whole(cls, conn: sqlite3.Connection, job: dict[str, Any]) -> dict[str, Any]:
        """The job with the parts stored apart: workunits and history."""
        job_id = job["id"]
        rows = conn.execute("SELECT doc FROM workunits WHERE job_id = ?", (job_id,)).fetchall()
        merge_workunits(job, [decode_doc(doc) for (doc,) in rows])
        events = conn.execute("SELECT seq, row FROM history WHERE job_id = ?", (job_id,))
        return merge_history(job, [(seq, decode_doc(text)) for seq, text in events.fetchall()])

    def find_jobs(self, query: JobQuery) -> tuple[list[dict[str, Any]], int]:
        """Return one page of matching jobs and the total number of matches.

        The total is counted on the listing keys' indexes; the page's ids are read in order
        from them, then only those documents are read.
        """
        listing = Listing(check_query(query))
        offset, limit = page_bounds(query)
        count_where, count_params = listing.where(for_page=False)
        page_where, page_params = listing.where(for_page=True)
        tables = listing.tables()
        page = f"SELECT k.id FROM {tables}{page_where}{listing.order_by()} LIMIT ? OFFSET ?"
        counting = listing.counted() or (
            f"SELECT count(*) FROM {tables}{count_where}",
            count_params,
        )
        with self._read() as conn:
            total = conn.execute(*counting).fetchone()[0]
            page_ids = [job_id for (job_id,) in conn.execute(
                page, [*page_params, -1 if limit is None else limit, offset])]  # fmt: skip
            docs = self._docs(conn, page_ids)
        return [docs[job_id] for job_id in page_ids if job_id in docs], total

    @staticmethod
    def _docs(conn: sqlite3.Connection, job_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Job documents by id, read in one statement."""
        rows = conn.execute(
            "SELECT id, doc FROM jobs WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(job_ids),),
        )
        docs = _with_tasks(conn, [decode_doc(doc) for _, doc in rows])
        return {doc["id"]: doc for doc in docs}

    def load_unfinished_jobs(self) -> list[dict[str, Any]]:
        """Jobs in UNFINISHED_STATES, oldest `info.submittime` first (start-up recovery)."""
        return self.get_jobs(self.unfinished_job_ids())

    def unfinished_job_ids(self) -> list[str]:
        """Ids of unfinished jobs, oldest `info.submittime` first, from the listing keys."""
        sql = (
            "SELECT id FROM job_keys WHERE state IN (SELECT value FROM json_each(?))"
            " ORDER BY submittime, id"
        )
        with self._read() as conn:
            rows = conn.execute(sql, (json.dumps(list(UNFINISHED_STATES)),))
            return [job_id for (job_id,) in rows]

    def job_history(self, job_id: str) -> list[list[Any]]:
        """A job's history rows, oldest first."""
        with self._read() as conn:
            rows = conn.execute("SELECT row FROM history WHERE job_id = ? ORDER BY seq", (job_id,))
            return [decode_doc(text) for (text,) in rows]

    def get_jobs(self, job_ids: list[str], history: bool = True) -> list[dict[str, Any]]:
        """Jobs by id with their tasks, workunits and history: four statements, whatever the count."""
        wanted = json.dumps(list(job_ids))
        with self._read() as conn:
            docs = self._docs(conn, list(job_ids))
            units: dict[str, list[dict[str, Any]]] = {}
            rows = conn.execute(
                "SELECT job_id, doc FROM workunits WHERE job_id IN (SELECT value FROM json_each(?))",
                (wanted,),
            )
            for job_id, doc in rows:
                units.setdefault(job_id, []).append(decode_doc(doc))
            events: dict[str, list[tuple[int, list[Any]]]] = {}
            rows = conn.execute(
                "SELECT job_id, seq, row FROM history"
                " WHERE job_id IN (SELECT value FROM json_each(?))",
                (wanted if history else "[]",),
            )
            for job_id, seq, text in rows:
                events.setdefault(job_id, []).append((seq, decode_doc(text)))
        return [
            merge_history(
                merge_workunits(docs[job_id], units.get(job_id, [])), events.get(job_id, [])
            )
            for job_id in job_ids
            if job_id in docs
        ]

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
        return decode_doc(row[0]) if row else None

    def close(self) -> None:
        """Close every thread's connection; later calls raise StoreUnavailable."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()


_UPSERT_JOB = (
    "INSERT INTO jobs (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc"
)
_UPSERT_TASK = (
    "INSERT INTO tasks (job_id, idx, doc) VALUES (?, ?, ?)"
    " ON CONFLICT (job_id, idx) DO UPDATE SET doc = excluded.doc"
)


def _many(conn: sqlite3.Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        conn.executemany(sql, rows)


def _with_tasks(conn: sqlite3.Connection, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Put each job's task rows back into its document as `tasks`, in order (one query)."""
    apart = [doc["id"] for doc in docs if "tasks" not in doc]
    if not apart:
        return docs
    found: dict[str, list[Any]] = {}
    sql = (
        "SELECT job_id, doc FROM tasks WHERE job_id IN (SELECT value FROM json_each(?))"
        " ORDER BY job_id, idx"
    )
    for job_id, text in conn.execute(sql, (json.dumps(apart),)):
        found.setdefault(job_id, []).append(decode_doc(text))
    for doc in docs:
        if "tasks" not in doc and doc["id"] in found:
            doc["tasks"] = found[doc["id"]]
    return docs


_LAYOUT = 2  # 2: tasks are rows of their own (before: inside the job's document)


def _move_tasks_apart(conn: sqlite3.Connection) -> None:
    """A store written before tasks were rows of their own: move them out, once."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'layout'").fetchone()
    if row is not None and int(row[0]) >= _LAYOUT:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        legacy = conn.execute(
            "SELECT doc FROM jobs WHERE json_type(doc, '$.tasks') = 'array'"
            " AND json_array_length(doc, '$.tasks') > 0"
        ).fetchall()
        for (text,) in legacy:
            part = split_job(decode_doc(text))
            conn.execute(_UPSERT_JOB, (part.job_id, part.header))
            conn.executemany(_UPSERT_TASK, [(part.job_id, n, t) for n, t in part.tasks.items()])
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('layout', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (_LAYOUT,),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _end_stray_transaction(conn: sqlite3.Connection) -> None:
    """A transaction left open (a failed COMMIT) would pin an old snapshot: roll it back."""
    if conn.in_transaction:
        logging.getLogger(__name__).warning("rolling back a transaction left open on %s", conn)
        conn.execute("ROLLBACK")
