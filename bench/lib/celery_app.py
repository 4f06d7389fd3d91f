"""The Celery baseline's app: one no-op task, broker and results in the bench's own redis-server.

Imported by the `celery worker` the bench starts (`-A bench.lib.celery_app`) and by the bench
itself to send the tasks; the redis URL comes from AWE_BENCH_REDIS.
"""

from __future__ import annotations

import os

from celery import Celery

REDIS = os.environ.get("AWE_BENCH_REDIS", "redis://127.0.0.1:6379/0")

app = Celery("awe_bench", broker=REDIS, backend=REDIS)
app.conf.update(
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    result_expires=600,
)


@app.task
def noop() -> None:
    """Does nothing: what is measured is Celery's own dispatch."""
