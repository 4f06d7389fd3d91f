"""The embedded store's listing keys: one narrow row per job that `GET /job` filters, counts and
sorts on, so a listing at 100,000 jobs reads indexes, never every job document.

`job_keys` holds, per job, the indexed fields (INDEXED_FIELDS) as plain SQL values and the job's
readers folded into one `visibility` value (`rules.visibility`). Counting the matches of a
listing is then a range count over a covering index, and a page is read in index order and
stops after `offset + limit` rows. Fields without a column (any other dotted field) are still
filtered and sorted through `json_extract` on the document, correctly but without an index.
"""

from __future__ import annotations

import json
from typing import Any

from awe.store.base import JobQuery
from awe.store.rules import (
    ALL_READERS,
    MANY_READERS,
    date_bounds,
    key_value,
    single_reader,
    visibility,
)

# dotted field -> its column in job_keys
COLUMNS = {
    "id": "id",
    "jid": "jid",
    "state": "state",
    "updatetime": "updatetime",
    "info.submittime": "submittime",
    "info.completedtime": "completedtime",
    "info.user": "user",
    "info.project": "project",
    "info.pipeline": "pipeline",
}
# the fields a listing filters on that get an index ordered by updatetime
_FILTERED = ("state", "user", "project", "pipeline")
_ORDER = "updatetime"  # the default order of GET /job (queue.default_order)
_COUNT_IN = (
    "INSERT INTO job_counts VALUES ({row}.visibility, ifnull({row}.state, x''), 1)"
    " ON CONFLICT (visibility, state) DO UPDATE SET n = n + 1;"
)
_COUNT_OUT = (
    "UPDATE job_counts SET n = n - 1"
    " WHERE visibility = {row}.visibility AND state = ifnull({row}.state, x'');"
)

KEYS_SCHEMA = "\n".join(
    [
        "CREATE TABLE IF NOT EXISTS job_keys (id TEXT PRIMARY KEY, jid, state, updatetime,"
        " submittime, completedtime, user, project, pipeline, visibility, readers)"
        " WITHOUT ROWID;",
        # every index ends with the readers (null unless a job has several), so that the
        # readers check is read from the index too
        # a page in the default order, checking readers and state without leaving the index
        "CREATE INDEX IF NOT EXISTS job_keys_updatetime"
        " ON job_keys (updatetime, id, visibility, state, readers);",
        # the count of what a reader may see, by state
        "CREATE INDEX IF NOT EXISTS job_keys_visibility ON job_keys (visibility, state, readers);",
        *(
            f"CREATE INDEX IF NOT EXISTS job_keys_{c}"
            f" ON job_keys ({c}, updatetime, id, visibility, readers);"
            for c in _FILTERED
        ),
        # no more: each index costs every job write a page or two (dates and jid are rare
        # filters, and read through the updatetime index)
        # how many jobs each (visibility, state) has, kept by triggers in the same transaction
        # as the keys: the listing's total without counting (a missing state counts as x'')
        "CREATE TABLE IF NOT EXISTS job_counts (visibility NOT NULL, state NOT NULL,"
        " n INTEGER NOT NULL, PRIMARY KEY (visibility, state)) WITHOUT ROWID;",
        "CREATE TRIGGER IF NOT EXISTS job_keys_in AFTER INSERT ON job_keys BEGIN"
        f" {_COUNT_IN.format(row='new')} END;",
        "CREATE TRIGGER IF NOT EXISTS job_keys_out AFTER DELETE ON job_keys BEGIN"
        f" {_COUNT_OUT.format(row='old')} END;",
        "CREATE TRIGGER IF NOT EXISTS job_keys_moved AFTER UPDATE OF visibility, state"
        " ON job_keys WHEN old.visibility IS NOT new.visibility OR old.state IS NOT new.state"
        f" BEGIN {_COUNT_OUT.format(row='old')} {_COUNT_IN.format(row='new')} END;",
    ]
)
# the counts of job_keys, made again from the keys (a store whose counts are not theirs)
RECOUNT = [
    "DELETE FROM job_counts",
    "INSERT INTO job_counts SELECT visibility, ifnull(state, x''), count(*) FROM job_keys"
    " GROUP BY 1, 2",
]
COUNTS_AGREE = "SELECT (SELECT ifnull(sum(n), 0) FROM job_counts) = (SELECT count(*) FROM job_keys)"

UPSERT_KEYS = (
    "INSERT INTO job_keys (id, jid, state, updatetime, submittime, completedtime, user, project,"
    " pipeline, visibility, readers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET jid = excluded.jid, state = excluded.state,"
    " updatetime = excluded.updatetime, submittime = excluded.submittime,"
    " completedtime = excluded.completedtime, user = excluded.user, project = excluded.project,"
    " pipeline = excluded.pipeline, visibility = excluded.visibility, readers = excluded.readers"
)


def key_row(doc: dict[str, Any]) -> tuple[Any, ...]:
    """The job_keys row of a job document (in UPSERT_KEYS' column order)."""
    seen, readers = visibility(doc)
    values = [key_value(doc, field) for field in COLUMNS if field != "id"]
    return (doc["id"], *values, seen, json.dumps(readers) if readers is not None else None)


def _doc_value(field: str) -> str:
    return f"json_extract(j.doc, '$.{field}')"


def _doc_type(field: str) -> str:
    return f"json_type(j.doc, '$.{field}')"


class Listing:
    """The SQL of one checked query: its WHERE, whether it needs the documents, its order."""

    def __init__(self, query: JobQuery) -> None:
        self.query = query
        self.needs_doc = query.order not in COLUMNS or any(f not in COLUMNS for f in query.filters)
        # the one filter whose index (field, updatetime, id, visibility) reads a page in order
        self._leading = _leading_filter(query)

    def tables(self) -> str:
        """`job_keys` alone, or joined to the documents when a field has no column."""
        joined = " CROSS JOIN jobs AS j ON j.id = k.id" if self.needs_doc else ""
        return "job_keys AS k" + joined

    def where(self, for_page: bool) -> tuple[str, list[Any]]:
        """The WHERE clause and its parameters; clauses are AND-ed.

        For a page in the default order, columns are written `+k.col` (SQLite then uses no index
        for them) except the leading filter's: the page is read in updatetime order and stops
        after `offset + limit` matches, instead of collecting every match and sorting them.
        """
        query, clauses, params = self.query, [], []
        in_order = for_page and query.order == _ORDER

        def col(field: str) -> str:
            name = "k." + COLUMNS[field]
            return "+" + name if in_order and field != self._leading else name

        for field, values in query.filters.items():
            texts = [v for v in values if isinstance(v, str)]
            if not texts:
                clauses.append("0")  # only strings ever match, and no string was asked for
            elif field in COLUMNS:
                clauses.append(f"{col(field)} IN ({', '.join('?' * len(texts))})")
                params += texts
            else:
                clauses.append(
                    f"{_doc_type(field)} = 'text' AND {_doc_value(field)}"
                    " IN (SELECT value FROM json_each(?))"
                )
                params.append(json.dumps(texts))
        if query.ids is not None:
            clauses.append("k.id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(query.ids)))
        if query.exclude_ids:
            clauses.append("k.id NOT IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(query.exclude_ids)))
        if query.date_start is not None or query.date_end is not None:
            clauses.append(self._dates(params))
        if query.readable_by is not None:
            seen = "+k.visibility" if in_order else "k.visibility"
            clauses.append(
                f"{seen} IN (?, ?, ?) AND (k.visibility <> ?"
                " OR ? IN (SELECT value FROM json_each(k.readers)))"
            )
            user = query.readable_by
            params += [ALL_READERS, single_reader(user), MANY_READERS, MANY_READERS, user]
        if not clauses:
            return "", params
        return " WHERE " + " AND ".join(f"({c})" for c in clauses), params

    def counted(self) -> tuple[str, list[Any]] | None:
        """The total from job_counts, when the query filters on nothing but readers and state
        (the default listing, `?active`, `?suspend`, `?registered`); None otherwise."""
        query = self.query
        if set(query.filters) - {"state"} or query.ids is not None or query.exclude_ids:
            return None
        if query.date_start is not None or query.date_end is not None:
            return None
        states, state_sql = [], ""
        if "state" in query.filters:
            states = [v for v in query.filters["state"] if isinstance(v, str)]
            state_sql = f" AND state IN ({', '.join('?' * len(states))})"
        if query.readable_by is None:
            return f"SELECT ifnull(sum(n), 0) FROM job_counts WHERE 1{state_sql}", states
        user = query.readable_by
        # jobs of several readers are counted one by one: a short range of an index
        sql = (
            "SELECT (SELECT ifnull(sum(n), 0) FROM job_counts"
            f" WHERE visibility IN (?, ?){state_sql})"
            f" + (SELECT count(*) FROM job_keys WHERE visibility = ?{state_sql}"
            " AND ? IN (SELECT value FROM json_each(readers)))"
        )
        return sql, [ALL_READERS, single_reader(user), *states, MANY_READERS, *states, user]

    def _dates(self, params: list[Any]) -> str:
        """A half-open range that must hold for info.submittime or info.completedtime."""
        start, end = date_bounds(self.query)
        either = []
        for column in ("k.submittime", "k.completedtime"):
            parts = [f"typeof({column}) = 'text'", f"{column} >= ?"]
            params.append(start)
            if end is not None:
                parts.append(f"{column} < ?")
                params.append(end)
            either.append("(" + " AND ".join(parts) + ")")
        return " OR ".join(either)

    def order_by(self) -> str:
        """The order, ties broken by ascending id in either direction (the contract's rule)."""
        field = self.query.order
        key = "k." + COLUMNS[field] if field in COLUMNS else _doc_value(field)
        direction = "DESC" if self.query.descending else "ASC"
        if field == "id":
            return f" ORDER BY k.id {direction}"
        return f" ORDER BY {key} {direction}, k.id ASC"


def _leading_filter(query: JobQuery) -> str | None:
    """A filter on one value of an indexed field: its index gives the page in updatetime order."""
    if query.order != _ORDER:
        return None
    for field, values in query.filters.items():
        if field in COLUMNS and COLUMNS[field] in _FILTERED and len(values) == 1:
            return field
    return None
