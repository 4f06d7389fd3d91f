"""Durable storage for awe: the `Store` protocol and the back-end the configuration picks."""

from __future__ import annotations

from awe.config import ServerConfig
from awe.store.base import Batch, JobQuery, Report, Store, StoreUnavailable
from awe.store.rules import check_field

__all__ = [
    "Batch",
    "JobQuery",
    "Report",
    "Store",
    "StoreUnavailable",
    "check_field",
    "open_store",
]


def open_store(config: ServerConfig) -> Store:
    """MongoDB when `store.mongodb.uri` is set, else the embedded SQLite file (zero setup)."""
    mongo = config.store.mongodb
    if mongo.uri:
        from awe.store.mongo import MongoStore  # pymongo is only loaded when it is used

        return MongoStore(
            mongo.uri,
            database=mongo.database,
            timeout_s=mongo.timeout_s,
            w=mongo.write_concern.w,
            j=mongo.write_concern.j,
        )
    from awe.store.embedded import EmbeddedStore

    return EmbeddedStore(config.embedded_path, config.store.embedded.synchronous)
