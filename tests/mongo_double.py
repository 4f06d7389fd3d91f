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
