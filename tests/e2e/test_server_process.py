"""awe-server as a supervisor sees it: start-up failures exit 2 at once, SIGTERM always ends it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3
import yaml

from awe.config import LimitsConfig
from tests.e2e.serverproc import ServerProcess, console_script

# How long a failed start may take here: the server itself needs ~0.3 s (interpreter and
# imports); the rest is room for a loaded CI machine. A server that hangs never gets there.
START_DEADLINE_S = 10.0


def run_server(*args: str, timeout: float = START_DEADLINE_S) -> tuple[int, list[str], float]:
    """Run awe-server to its end: (exit code, stderr lines, seconds it took)."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [*console_script("awe-server"), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"awe-server still running after {timeout} s:\n{err}") from None
    return proc.returncode, err.strip().splitlines(), time.monotonic() - started


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def assert_one_line_exit_2(args: list[str], *expected: str) -> None:
    code, lines, seconds = run_server(*args)
    print(f"awe-server {' '.join(args)}: exit {code} after {seconds:.2f} s: {lines}")
    assert code == 2, lines
    assert len(lines) == 1, lines
    for text in expected:
        assert text in lines[0]


def test_a_busy_port_is_one_line_and_exit_2(tmp_path: Path, busy_port: int) -> None:
    args = ["--port", str(busy_port), "--data-dir", str(tmp_path / "d")]
    assert_one_line_exit_2(
        args, f"cannot listen on 127.0.0.1:{busy_port}", "address already in use"
    )


def test_an_address_not_of_this_machine_is_one_line_and_exit_2(tmp_path: Path) -> None:
    args = ["--host", "10.255.255.1", "--port", "0", "--data-dir", str(tmp_path / "d")]
    assert_one_line_exit_2(args, "cannot listen on 10.255.255.1:0")


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_a_port_out_of_range_is_refused_not_replaced(tmp_path: Path, port: str) -> None:
    assert_one_line_exit_2(["--port", port, "--data-dir", str(tmp_path)], "--port", port)


def test_a_port_out_of_range_in_the_config_file_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"api": {"port": 70000}}))
    args = ["--config", str(config), "--data-dir", str(tmp_path / "d")]
    assert_one_line_exit_2(args, "api.port: 70000 is not a port")


def test_a_wrong_log_level_is_refused(tmp_path: Path) -> None:
    assert_one_line_exit_2(["--log-level", "loud", "--data-dir", str(tmp_path)], "--log-level")


def test_a_data_dir_that_cannot_be_created_is_one_line_and_exit_2() -> None:
    assert_one_line_exit_2(["--data-dir", "/proc/x", "--port", "0"], "data dir /proc/x", "created")


def test_a_data_dir_that_is_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("")
    assert_one_line_exit_2(["--data-dir", str(plain), "--port", "0"], "is not a directory")
    below = plain / "x"
    assert_one_line_exit_2(["--data-dir", str(below), "--port", "0"], "cannot be created")


def test_a_data_dir_that_is_not_writable_is_one_line_and_exit_2() -> None:
    assert_one_line_exit_2(["--data-dir", "/proc", "--port", "0"], "data dir /proc is not writable")


def test_a_data_dir_in_use_by_a_running_server_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "srv") as first:
        assert first.proc is not None
        args = ["--data-dir", str(tmp_path / "srv"), "--port", "0"]
        assert_one_line_exit_2(args, "in use by another awe-server", f"pid {first.proc.pid}")
    # the lock goes with the process: the same dir serves again
    with ServerProcess(tmp_path / "srv") as again:
        assert again.url


def test_a_sigkilled_server_leaves_no_lock_behind(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "srv").start()
    server.kill()
    server.start()
    server.stop()


def test_help_shows_the_defaults() -> None:
    proc = subprocess.run([*console_script("awe-server"), "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for default in (
        "Default: 8001.",
        "Default: 127.0.0.1.",
        "Default: ./awe-data.",
        "[default: info]",
    ):
        assert default in text


def http_call(method: str, url: str, **kwargs: object) -> dict:
    http = urllib3.PoolManager(retries=False, timeout=120)
    return json.loads(http.request(method, url, **kwargs).data)


def wait_for_exit(server: ServerProcess, seconds: float) -> int:
    assert server.proc is not None
    try:
        return server.proc.wait(seconds)
    except subprocess.TimeoutExpired:
        server.kill()
        log = "\n".join(server.log_lines[-20:])
        raise AssertionError(
            f"awe-server still running {seconds} s after SIGTERM:\n{log}"
        ) from None


def test_sigterm_with_the_largest_job_the_limits_allow_ends_cleanly_in_time(
    tmp_path: Path,
) -> None:
    grace = 2.0
    server = ServerProcess(tmp_path / "srv", config={"shutdown_grace_s": grace}).start()
    try:
        units = LimitsConfig().workunits_per_job  # the default limits
        task = {"taskid": "0", "cmd": {"name": "true"}, "totalwork": units}
        script = json.dumps({"info": {"name": "largest"}, "tasks": [task]})
        answer = http_call("POST", f"{server.url}/job", fields={"upload": ("j", script)})
        assert answer["status"] == 200, answer
        profile = json.dumps({"name": "w", "group": "default", "apps": ["*"]})
        client = http_call("POST", f"{server.url}/client", fields={"profile": ("p", profile)})
        for _ in range(3):  # some of it leased, most of it queued
            work = http_call("GET", f"{server.url}/work?client={client['data']['id']}")
            assert work["status"] == 200
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        assert wait_for_exit(server, grace + 5) == 0
        assert any("stopped cleanly" in line for line in server.log_lines)
    finally:
        server.kill()


STUCK_QUEUE = """
import threading
from awe.actors.messages import QueueStatus
from awe.actors.queue import QueueActor
def stuck(self, cmd):
    threading.Event().wait()  # never answers, never returns: a stuck actor, not a dead one
QueueActor._handlers[QueueStatus] = stuck
from awe.server import main
main()
"""

STUCK_LOOP = """
import time, awe.http.base
def stuck(self, *args):
    time.sleep(3600)  # blocks the IOLoop itself: no callback runs any more
awe.http.base.ResourceHandler.get = stuck
from awe.server import main
main()
"""


@pytest.mark.parametrize(("program", "what"), [(STUCK_QUEUE, "actor"), (STUCK_LOOP, "IOLoop")])
def test_sigterm_ends_the_process_in_time_even_when_something_is_stuck(
    tmp_path: Path, program: str, what: str
) -> None:
    grace = 1.0
    command = [sys.executable, "-c", program]
    server = ServerProcess(tmp_path / "srv", config={"shutdown_grace_s": grace}, command=command)
    server.start()
    try:
        http = urllib3.PoolManager(retries=False, timeout=1.0)
        with pytest.raises(urllib3.exceptions.HTTPError):
            http.request("GET", f"{server.url}/")  # reaches the stuck part and never returns
        assert server.proc is not None
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        code = wait_for_exit(server, grace + 5)
        print(f"stuck {what}: exit {code} {time.monotonic() - started:.2f} s after SIGTERM")
        assert code == 1  # a supervisor sees a stop that did not finish
        assert any("still running" in line for line in server.log_lines)
    finally:
        server.kill()
