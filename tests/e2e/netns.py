"""A second host on this machine: a network namespace joined to ours by a veth pair.

Made and removed by the test that uses it; private addresses derived from the test's pid so
that runs in parallel do not meet. Tests that need it are skipped, saying why, when the machine
does not allow it (not root, no `ip`, no namespaces).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Namespace:
    name: str
    host_address: str  # ours, on the veth: the server listens here
    guest_address: str  # the namespace's own

    @property
    def prefix(self) -> tuple[str, ...]:
        """Run a command inside the namespace."""
        return ("ip", "netns", "exec", self.name)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


@contextlib.contextmanager
def namespace() -> Iterator[Namespace]:
    """A namespace with one veth pair to us, up, with a /30 of its own; removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("a network namespace needs root (ip netns add)")
    if shutil.which("ip") is None:
        pytest.skip("iproute2's `ip` is not installed")
    pid = os.getpid()
    name, ours, theirs = f"awe-t{pid}", f"aweh{pid % 100000}", f"awen{pid % 100000}"
    net = f"10.{200 + pid % 50}.{(pid // 50) % 250}"
    made = Namespace(name, f"{net}.1", f"{net}.2")
    try:
        _ip("netns", "add", name)
        _ip("link", "add", ours, "type", "veth", "peer", "name", theirs)
        _ip("link", "set", theirs, "netns", name)
        _ip("addr", "add", f"{made.host_address}/30", "dev", ours)
        _ip("link", "set", ours, "up")
        _ip("netns", "exec", name, "ip", "addr", "add", f"{made.guest_address}/30", "dev", theirs)
        _ip("netns", "exec", name, "ip", "link", "set", theirs, "up")
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
    except (subprocess.CalledProcessError, OSError) as err:
        _remove(name, ours)
        reason = getattr(err, "stderr", "") or str(err)
        pytest.skip(f"cannot make a network namespace here: {reason.strip()}")
    try:
        yield made
    finally:
        _remove(name, ours)


def _remove(name: str, link: str) -> None:
    for args in (("link", "del", link), ("netns", "del", name)):
        subprocess.run(["ip", *args], capture_output=True, timeout=30)
