"""mongomock as a test double for the Mongo store (never used by the product)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import mongomock


def replace_accepting_sort() -> Callable[..., Any] | None:
    """mongomock 4.3's bulk builder predates pymongo 4.9's `sort` argument of ReplaceOne.

    Returns the wrapper to install as `BulkOperationBuilder.add_replace`, or None when the
    installed mongomock already takes `sort`.
    """
    original = mongomock.collection.BulkOperationBuilder.add_replace
    if "sort" in inspect.signature(original).parameters:
        return None

    def add_replace(self, selector, doc, upsert, collation=None, hint=None, sort=None):
        if sort is not None:
            raise NotImplementedError("mongomock cannot sort a ReplaceOne")
        return original(self, selector, doc, upsert, collation=collation, hint=hint)

    return add_replace


def update_accepting_sort() -> Callable[..., Any] | None:
    """The same for `BulkOperationBuilder.add_update` (pymongo's UpdateOne passes `sort`)."""
    original = mongomock.collection.BulkOperationBuilder.add_update
    if "sort" in inspect.signature(original).parameters:
        return None

    def add_update(self, selector, doc, multi=False, upsert=False, collation=None,
                   array_filters=None, hint=None, sort=None):  # fmt: skip
        if sort is not None:
            raise NotImplementedError("mongomock cannot sort an UpdateOne")
        return original(self, selector, doc, multi=multi, upsert=upsert, collation=collation,
                        array_filters=array_filters, hint=hint)  # fmt: skip

    return add_update


def sort_patches() -> dict[str, Callable[..., Any]]:
    """Every `BulkOperationBuilder` method to replace, by name (empty on a newer mongomock)."""
    found = {"add_replace": replace_accepting_sort(), "add_update": update_accepting_sort()}
    return {name: wrapper for name, wrapper in found.items() if wrapper is not None}
