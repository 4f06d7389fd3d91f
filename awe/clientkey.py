"""The server key worker secrets are derived from (`awe.model.workerauth`): made once, kept.

It lives in a file of its own (`auth.client_key_file`, default `<paths.data>/client-secret.key`,
mode 0600), not in the store, so that a copy of the database does not carry it. Delete the
file to revoke every worker secret at once: workers then register afresh, under new ids.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

from awe.model.workerauth import KEY_BYTES, new_key

log = logging.getLogger("awe.server")


class KeyFileError(Exception):
    """The key file exists but cannot be used; the message says why and where."""


def load_client_key(path: Path) -> bytes:
    """Read the key, or make it (readable by this user only) when the file does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    key = new_key()
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(key.hex().encode() + b"\n")
            out.flush()
            os.fsync(out.fileno())
    except OSError:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    log.info("made a new key for worker secrets: %s", path)
    return key


def _read(path: Path) -> bytes:
    try:
        text = path.read_text().strip()
        key = bytes.fromhex(text)
    except (OSError, ValueError) as err:
        raise KeyFileError(f"cannot read the worker-secret key {path}: {err}") from None
    if len(key) < KEY_BYTES:
        raise KeyFileError(f"the worker-secret key {path} is shorter than {KEY_BYTES} bytes")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s can be read by other users (mode %o): chmod 600 it", path, mode & 0o777)
    return key
