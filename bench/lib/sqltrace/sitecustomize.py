"""Counts the SQLite statements a server runs, per thread and verb (bench/profile.py only).

Put on a child's PYTHONPATH with AWE_BENCH_SQLTRACE=<file>: every connection opened through
`sqlite3.connect` gets a trace callback, and the counts are written to the file twice a
second. Nothing under awe/ changes; without the variable this module does nothing.
"""

from __future__ import annotations

import os

_PATH = os.environ.get("AWE_BENCH_SQLTRACE")

if _PATH:
    import collections
    import json
    import re
    import sqlite3
    import threading
    import time

    _counts: collections.Counter[str] = collections.Counter()
    _connect = sqlite3.connect

    def _trace(sql: str) -> None:
        thread = re.sub(r"[-_]\d+$", "", threading.current_thread().name)
        verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
        _counts[f"{thread} {verb}"] += 1

    def _traced_connect(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - sqlite3's signature
        conn = _connect(*args, **kwargs)
        conn.set_trace_callback(_trace)
        return conn

    def _writer() -> None:
        while True:
            tmp = _PATH + ".tmp"
            with open(tmp, "w") as f:
                json.dump(dict(_counts), f)
            os.replace(tmp, _PATH)
            time.sleep(0.5)

    sqlite3.connect = _traced_connect
    threading.Thread(target=_writer, name="bench-sqltrace", daemon=True).start()
