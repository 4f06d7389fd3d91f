"""Removes finished work dirs after a delay, so a failure can still be looked at for a while."""

from __future__ import annotations

import heapq
import logging
import shutil
import threading
import time
from pathlib import Path

log = logging.getLogger("awe.worker")


class Cleaner:
    """One thread, one heap of (due time, path); what is not yet due at exit stays on disk."""

    def __init__(self) -> None:
        self._due: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self._stopped = False
        self._removing = ""  # the path being removed right now, outside the lock
        self._thread = threading.Thread(target=self._loop, name="cleaner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(5)

    def remove_later(self, path: Path, delay_s: float) -> None:
        with self._cond:
            heapq.heappush(self._due, (time.monotonic() + delay_s, str(path)))
            self._cond.notify_all()

    def cancel(self, path: Path) -> None:
        """Keep `path`: a workunit checked out again is working in it."""
        with self._cond:
            while self._removing == str(path):  # let a removal under way finish first
                self._cond.wait()
            self._due = [(due, p) for due, p in self._due if p != str(path)]
            heapq.heapify(self._due)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._due or self._due[0][0] > time.monotonic()):
                    timeout = self._due[0][0] - time.monotonic() if self._due else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, path = heapq.heappop(self._due)
                self._removing = path
            try:
                remove_workdir(Path(path))
            finally:
                with self._cond:
                    self._removing = ""
                    self._cond.notify_all()


def remove_workdir(path: Path) -> None:
    """Remove a work dir and the empty <w[0:2]>/<w[2:4]>/<w[4:6]> levels above it."""
    shutil.rmtree(path, ignore_errors=True)
    for parent in list(path.parents)[:3]:
        try:
            parent.rmdir()
        except OSError:
            break
    log.debug("removed work dir %s", path)
