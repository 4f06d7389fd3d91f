"""Both back-ends answer random listings exactly as a small reference model of spec 8.3/8.4 does."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import mongomock
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from awe.store import Batch, JobQuery, Store
from awe.store.embedded import EmbeddedStore
from awe.store.mongo import MongoStore
from tests.store.conftest import patch_mongomock
from tests.store.jobs import ZERO, t

MISSING = object()
USERS = ["alice", "bob", "public"]
TIMES = [ZERO, t(1), t(2), t(3)]

# Values a filterable field may hold: strings, but also look-alikes that must never match.
filter_values = st.sampled_from(["queued", "completed", "1", 1, True, None, ["queued"], MISSING])
# Values a sortable field may hold: both back-ends order missing/null < numbers < strings.
sort_values = st.sampled_from([MISSING, None, 1, 2.5, t(1), t(2), t(3)])
time_values = st.sampled_from([*TIMES, None, MISSING])


def _put(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for key in parents:
        doc = doc.setdefault(key, {})
    if value is not MISSING:
        doc[leaf] = value


@st.composite
def jobs(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(st.sampled_from([f"j{i:02d}" for i in range(12)]), unique=True))
    docs = []
    for job_id in ids:
        doc: dict[str, Any] = {"id": job_id, "info": {}}
        for path in ("state", "info.project"):
            _put(doc, path, draw(filter_values))
        _put(doc, "updatetime", draw(sort_values))
        for path in ("info.submittime", "info.completedtime"):
            _put(doc, path, draw(time_values))
        read = draw(st.one_of(st.lists(st.sampled_from(USERS)), st.sampled_from(USERS)))
        doc["acl"] = {"owner": draw(st.sampled_from(USERS[:2])), "read": read}
        docs.append(doc)
    return docs


queries = st.builds(
    JobQuery,
    filters=st.dictionaries(
        st.sampled_from(["state", "info.project"]),
        st.lists(st.sampled_from(["queued", "completed", "1", "True"]), max_size=2),
        max_size=2,
    ),
    ids=st.none() | st.lists(st.sampled_from([f"j{i:02d}" for i in range(14)]), max_size=6),
    exclude_ids=st.none() | st.lists(st.sampled_from([f"j{i:02d}" for i in range(12)]), max_size=3),
    date_start=st.none() | st.sampled_from(TIMES),
    date_end=st.none() | st.sampled_from(TIMES),
    order=st.sampled_from(["updatetime", "id", "info.submittime"]),
    descending=st.booleans(),
    offset=st.integers(-1, 6),
    limit=st.integers(-1, 6),
    readable_by=st.none() | st.sampled_from(USERS[:2]),
)


def _get(doc: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(doc, dict) or key not in doc:
            return MISSING
        doc = doc[key]
    return doc


def _readable(doc: dict[str, Any], user: str) -> bool:
    read = _get(doc, "acl.read")
    readers = read if isinstance(read, list) else [read]
    return _get(doc, "acl.owner") == user or any(r in (user, "public") for r in readers)


def _in_range(doc: dict[str, Any], q: JobQuery) -> bool:
    for path in ("info.submittime", "info.completedtime"):
        value = _get(doc, path)
        if not isinstance(value, str) or value == ZERO:  # an unset time is in no range
            continue
        if (q.date_start is None or value >= q.date_start) and (
            q.date_end is None or value < q.date_end
        ):
            return True
    return False


def _matches(doc: dict[str, Any], q: JobQuery) -> bool:
    if any(not (isinstance(_get(doc, f), str) and _get(doc, f) in v) for f, v in q.filters.items()):
        return False
    if q.ids is not None and doc["id"] not in q.ids:
        return False
    if q.exclude_ids and doc["id"] in q.exclude_ids:
        return False
    if (q.date_start is not None or q.date_end is not None) and not _in_range(doc, q):
        return False
    return q.readable_by is None or _readable(doc, q.readable_by)


def _sort_key(doc: dict[str, Any], order: str) -> tuple[int, Any]:
    value = _get(doc, order)
    if value is MISSING or value is None:
        return (0, 0)
    return (1, value) if isinstance(value, int | float) else (2, value)


def model(docs: list[dict[str, Any]], q: JobQuery) -> tuple[list[str], int]:
    """The reference answer: filter, order (ties by id ascending), then page."""
    found = sorted((d for d in docs if _matches(d, q)), key=lambda d: d["id"])
    found.sort(key=lambda d: _sort_key(d, q.order), reverse=q.descending)
    start = max(0, q.offset)
    end = start + q.limit if q.limit > 0 else None
    return [d["id"] for d in found[start:end]], len(found)


def answer(store: Store, q: JobQuery) -> tuple[list[str], int]:
    docs, total = store.find_jobs(q)
    return [d["id"] for d in docs], total


@settings(max_examples=150, deadline=None)
@given(docs=jobs(), query_list=st.lists(queries, min_size=1, max_size=4))
def test_both_back_ends_agree_with_the_reference_model(
    docs: list[dict[str, Any]], query_list: list[JobQuery]
) -> None:
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        patch_mongomock(mp)
        stores: list[Store] = [
            EmbeddedStore(Path(tmp) / "awe.sqlite3"),
            MongoStore("mongodb://mock/", client=mongomock.MongoClient()),
        ]
        try:
            for store in stores:
                store.save_batch(Batch(jobs=docs))
            for q in query_list:
                expected = model(docs, q)
                for store in stores:
                    assert answer(store, q) == expected, (store.describe(), q)
        finally:
            for store in stores:
                store.close()
