"""What makes awe-server a process a supervisor can manage: fail fast, stop in bounded time.

A start-up failure (a data dir that cannot be used or is in use, an address that cannot be
bound) is a `StartupError` whose message names the cause in one line; `serve` turns it into
exit code 2 before any actor thread exists. Stopping runs under a deadline: whatever an actor
is doing, the process is gone `shutdown_grace_s` (plus a few seconds of last resort) after the
signal, with exit code 1 when it had to leave something unfinished.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pykka.debug
import tornado.netutil

log = logging.getLogger("awe.server")

LOCK_NAME = "awe-server.lock"
LAST_RESORT_S = 4.0  # past the grace period: no more waiting, log the threads and exit


class StartupError(Exception):
    """The server cannot start; the message says why in one line."""


def claim_data_dir(path: Path) -> IO[str]:
    """Create (if needed), check and lock the data dir; the lock lives as long as the handle.

    The lock (flock on `<data>/awe-server.lock`, holding the owner's pid) keeps a second
    server from running on the same jobs; the kernel drops it when the process dies, even
    by SIGKILL, so a crash never leaves a stale lock behind.
    """
    if path.exists() and not path.is_dir():
        raise StartupError(f"data dir {path} is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StartupError(
            f"data dir {path} does not exist and cannot be created: {_why(err)}"
        ) from None
    try:
        handle = (path / LOCK_NAME).open("a+")
    except OSError as err:
        raise StartupError(f"data dir {path} is not writable: {_why(err)}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        handle.close()
        raise StartupError(
            f"data dir {path} is in use by another awe-server (pid {owner})"
        ) from None
    try:
        probe = path / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
    except OSError as err:
        handle.close()
        raise StartupError(f"data dir {path} is not writable: {_why(err)}") from None
    return handle


def bind(host: str, port: int) -> list[socket.socket]:
    """The listening sockets, or a StartupError naming the address and the reason."""
    try:
        return tornado.netutil.bind_sockets(port, host)
    except socket.gaierror as err:
        raise StartupError(
            f"cannot listen on {host}:{port}: unknown host ({err.strerror})"
        ) from None
    except OSError as err:
        raise StartupError(f"cannot listen on {host}:{port}: {_why(err)}") from None


def _why(err: OSError) -> str:
    return (err.strerror or str(err)).lower()


def run_with_deadline(work: Callable[[], object], seconds: float, what: str) -> bool:
    """Run `work` on a daemon thread; False when it raised or did not end within `seconds`.

    A daemon thread, so that a `work` stuck forever cannot keep the process alive.
    """
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            work()
        except BaseException as err:  # noqa: BLE001 - reported below, whatever it is
            outcome.append(err)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, name=f"awe-{what}", daemon=True)
    thread.start()
    seconds = max(0.0, seconds)
    thread.join(seconds)
    if thread.is_alive():
        log.error("%s did not finish within %.1f s: %s", what, seconds, alive_threads())
        return False
    if outcome and outcome[0] is not None:
        log.error("%s failed: %r", what, outcome[0])
        return False
    return True


def alive_threads() -> str:
    """Names of the threads still running besides this one (actors are named after classes)."""
    me = threading.current_thread()
    names = sorted(t.name for t in threading.enumerate() if t is not me and t.is_alive())
    return "still running: " + (", ".join(names) if names else "nothing")


def start_last_resort(seconds: float) -> None:
    """Exit 1 after `seconds` whatever the process is doing, logging every thread's stack."""

    def wait_then_exit() -> None:
        time.sleep(seconds)
        log.error("still not stopped %.1f s after the signal: exiting now (%s)", seconds,
                  alive_threads())  # fmt: skip
        pykka.debug.log_thread_tracebacks()
        exit_now(1)

    threading.Thread(target=wait_then_exit, name="awe-last-resort", daemon=True).start()


def exit_now(code: int) -> None:
    """Leave at once with `code`, after the logs are out; threads that still run are dropped."""
    for handler in logging.getLogger().handlers:
        try:
            handler.flush()
        except Exception:  # noqa: BLE001, S110 - nothing else can be done while exiting
            pass
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
