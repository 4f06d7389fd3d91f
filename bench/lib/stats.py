"""Percentiles and medians: the few statistics the bench reports, defined once."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable


def pct(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile, q in 0..1; NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def latency_ms(values: list[float]) -> dict[str, float]:
    """n, p50, p99 and max of durations given in seconds, in milliseconds."""
    return {
        "n": len(values),
        "p50_ms": pct(values, 0.50) * 1000,
        "p99_ms": pct(values, 0.99) * 1000,
        "max_ms": (max(values) * 1000) if values else math.nan,
    }


def median(values: Iterable[float | None]) -> float:
    """Median of the rounds that produced a number; NaN when none did."""
    got = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(got) if got else math.nan


def ratio(a: float, b: float) -> float:
    """a / b, NaN when either is missing or b is zero."""
    if a is None or b is None or math.isnan(a) or math.isnan(b) or b == 0:
        return math.nan
    return a / b
