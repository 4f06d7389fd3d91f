"""open_store picks the back-end the configuration names and passes its settings through."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import awe.store.mongo
from awe.config import ServerConfig, from_mapping
from awe.store import Batch, StoreUnavailable, open_store
from awe.store.embedded import EmbeddedStore


def config(tmp_path: Path, store: dict[str, Any]) -> ServerConfig:
    return from_mapping(ServerConfig, {"paths": {"data": str(tmp_path / "data")}, "store": store})


def test_without_a_mongodb_uri_the_embedded_store_lives_in_the_data_dir(tmp_path: Path) -> None:
    store = open_store(config(tmp_path, {}))
    try:
        assert isinstance(store, EmbeddedStore)
        assert store.describe().endswith(str(tmp_path / "data" / "awe.sqlite3"))
        assert (tmp_path / "data" / "awe.sqlite3").is_file()
    finally:
        store.close()


def test_embedded_path_and_synchronous_come_from_the_config(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere" / "jobs.db"
    store = open_store(config(tmp_path, {"embedded": {"path": str(path), "synchronous": "normal"}}))
    try:
        assert isinstance(store, EmbeddedStore)
        assert store.describe() == f"embedded SQLite store at {path}"
        assert store._conn().execute("PRAGMA synchronous").fetchone()[0] == 1
        store.save_batch(Batch(jobs=[{"id": "a", "jid": "10001"}]))
        assert store.max_jid() == 10001
    finally:
        store.close()


def test_bad_synchronous_in_the_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'sometimes'"):
        open_store(config(tmp_path, {"embedded": {"synchronous": "sometimes"}}))


def test_a_mongodb_uri_selects_mongodb_with_its_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(awe.store.mongo, "MongoStore", lambda *a, **kw: calls.append((a, kw)))
    mongodb = {
        "uri": "mongodb://db1:27017/",
        "database": "Other",
        "timeout_s": 2.5,
        "write_concern": {"w": "majority", "j": False},
    }
    open_store(config(tmp_path, {"mongodb": mongodb}))
    assert calls == [
        (
            ("mongodb://db1:27017/",),
            {"database": "Other", "timeout_s": 2.5, "w": "majority", "j": False},
        )
    ]
    assert not (tmp_path / "data").exists()


def test_an_unreachable_mongodb_fails_with_store_unavailable(tmp_path: Path) -> None:
    cfg = config(tmp_path, {"mongodb": {"uri": "mongodb://127.0.0.1:1/", "timeout_s": 0.3}})
    with pytest.raises(StoreUnavailable, match="127.0.0.1:1"):
        open_store(cfg)
