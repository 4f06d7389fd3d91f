"""JSON that users send (job scripts, client profiles, report parts), read so that it stays safe.

`json.loads` alone accepts what later breaks the server far from the request: nesting deep
enough to raise RecursionError wherever the document is copied or written, integers no store
can hold (MongoDB and SQLite stop at 64 bits), and NaN/Infinity, which are not JSON and would
be echoed back as invalid JSON. Everything here is refused up front with a ValueError.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 64  # real job scripts nest about 6 levels; MongoDB refuses documents past 100
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class JsonTextError(ValueError):
    """The text is not JSON awe accepts; the message says why."""


def _int(text: str) -> int:
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise JsonTextError(f"integer {text[:24]}{'...' if len(text) > 24 else ''} is out of range")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonTextError(f"number {text[:24]} is out of range")
    return value


def _constant(name: str) -> Any:
    raise JsonTextError(f"{name} is not a JSON value")


def loads(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Decode `raw`; JsonTextError for invalid JSON, deep nesting, huge numbers or NaN."""
    try:
        value = json.loads(raw, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise JsonTextError(f"nested deeper than {max_depth} levels") from None
    except JsonTextError:
        raise
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, int digit limits
        raise JsonTextError(str(err)) from None
    if depth(value) > max_depth:
        raise JsonTextError(f"nested deeper than {max_depth} levels")
    return value


def depth(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (a scalar is 0), without recursion."""
    deepest = 0
    todo = [(value, 1)]
    while todo:
        current, level = todo.pop()
        children = (
            current.values() if isinstance(current, dict) else current
            if isinstance(current, list) else None
        )  # fmt: skip
        if children is None:
            continue
        deepest = max(deepest, level)
        todo.extend((child, level + 1) for child in children)
    return deepest
