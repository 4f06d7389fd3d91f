"""The server's supervisor: a singleton actor that dies takes the process down, never half alive.

Job actors are restarted from the store by the QueueActor; the queue, the registry and the
snapshot writer have no one above them inside the process. If one of them stops other than at
shutdown, `fatal` runs once (by default: log why and exit with status 70) so that systemd, a
container runtime or whatever started awe-server starts it again and recovery runs. A watchdog
thread catches the deaths no hook reports (an actor stopped by pykka's `stop_all`, a failing
`on_start`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("awe.supervisor")

EXIT_STATUS = 70  # EX_SOFTWARE: an internal error; a supervisor restarts the service


def exit_process(reason: str) -> None:
    """The default `fatal`: say why, then end the process at once (state is in the store)."""
    log.critical("%s: exiting with status %d so that awe-server is restarted and recovers",
                 reason, EXIT_STATUS)  # fmt: skip
    logging.shutdown()
    os._exit(EXIT_STATUS)


class Supervisor:
    """Watches the singleton actors; calls `fatal(reason)` once if one dies while running."""

    def __init__(self, fatal: Callable[[str], None] = exit_process, interval_s: float = 0.2):
        self._fatal = fatal
        self._interval_s = interval_s
        self._watched: dict[str, Any] = {}
        self._reasons: dict[str, str] = {}
        self._stopping = threading.Event()
        self._fired = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, name: str, ref: Any) -> None:
        self._watched[name] = ref

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """The server is stopping on purpose: actors that stop now are not deaths."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def died(self, name: str, reason: str) -> None:
        """Called by a singleton actor that is dying (from its own thread)."""
        self._reasons.setdefault(name, reason)
        self._check()

    def _run(self) -> None:
        while not self._stopping.wait(self._interval_s):
            self._check()

    def _check(self) -> None:
        if self._stopping.is_set():
            return
        dead = [name for name, ref in self._watched.items() if not ref.is_alive()]
        if not dead:
            return
        # one death stops every actor (pykka's stop_all): name the one that said why
        name = next((n for n in dead if n in self._reasons), dead[0])
        if self._fired.acquire(blocking=False):
            self._stopping.set()
            self._fatal(f"the {name} actor died ({self._reasons.get(name, 'it stopped')})")
