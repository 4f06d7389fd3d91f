"""Store fixtures: every contract test runs on each back-end (embedded, mongomock, real MongoDB).

`open_store` gives a function that opens a *new* store instance over the same data, so tests
can check what survives a restart; every instance it opened is closed at teardown.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mongomock
import mongomock.collection
import pymongo
import pytest

from awe.store import Store
from awe.store.embedded import EmbeddedStore
from awe.store.mongo import MongoStore
from tests.mongo_double import sort_patches

MONGO_URI_ENV = "AWE_TEST_MONGODB_URI"
MONGO_SKIP = "AWE_TEST_MONGODB_URI is not set: real MongoDB contract tests skipped"


def patch_mongomock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let mongomock take pymongo's ReplaceOne and UpdateOne (see tests/mongo_double.py)."""
    for name, wrapper in sort_patches().items():
        monkeypatch.setattr(mongomock.collection.BulkOperationBuilder, name, wrapper)


@dataclass
class Opener:
    """Opens store instances over one set of data; `client` is the Mongo client, if any."""

    factory: Callable[[], Store]
    client: Any = None
    database: str = ""
    opened: list[Store] = field(default_factory=list)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def __call__(self) -> Store:
        store = self.factory()
        self.opened.append(store)
        return store

    def close_all(self) -> None:
        for store in self.opened:
            store.close()
        for cleanup in self.cleanups:
            cleanup()


def _mongomock_opener(monkeypatch: pytest.MonkeyPatch) -> Opener:
    patch_mongomock(monkeypatch)
    client = mongomock.MongoClient()
    uri = "mongodb://awe:secret-pw@mock-host:27017/"
    return Opener(lambda: MongoStore(uri, client=client), client=client, database="AWEDB")


@pytest.fixture
def real_mongo() -> Iterator[tuple[str, str]]:
    """(uri, fresh database name) of the real MongoDB named by AWE_TEST_MONGODB_URI."""
    uri = os.environ.get(MONGO_URI_ENV)
    if not uri:
        pytest.skip(MONGO_SKIP)
    database = f"awe_test_{uuid.uuid4().hex[:12]}"
    yield uri, database
    client: pymongo.MongoClient = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        client.drop_database(database)
    finally:
        client.close()


def _real_mongo_opener(real_mongo: tuple[str, str]) -> Opener:
    uri, database = real_mongo
    client: pymongo.MongoClient = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    opener = Opener(
        lambda: MongoStore(uri, database=database, timeout_s=5.0), client=client, database=database
    )
    opener.cleanups.append(client.close)
    return opener


def _opener(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Opener:
    if kind == "embedded":
        return Opener(lambda: EmbeddedStore(tmp_path / "data" / "awe.sqlite3"))
    if kind == "mongomock":
        return _mongomock_opener(monkeypatch)
    return _real_mongo_opener(request.getfixturevalue("real_mongo"))


@pytest.fixture(params=["embedded", "mongomock", "mongodb"])
def open_store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Opener]:
    """Every back-end in turn: the contract tests hold for each."""
    opener = _opener(request.param, request, tmp_path, monkeypatch)
    yield opener
    opener.close_all()


@pytest.fixture
def store(open_store: Opener) -> Store:
    return open_store()


@pytest.fixture(params=["mongomock", "mongodb"])
def open_mongo(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Opener]:
    """The MongoDB back-end only, on mongomock and (when configured) a real server."""
    opener = _opener(request.param, request, tmp_path, monkeypatch)
    yield opener
    opener.close_all()
