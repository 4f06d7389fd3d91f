"""A singleton actor that dies takes the real server process down (status 70), never a zombie;
started again, the server recovers every accepted job."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import urllib3

from tests.e2e.serverproc import ServerProcess
from tests.e2e.test_server_restart import call, submit

FAULTY = [sys.executable, str(Path(__file__).with_name("faultyserver.py"))]


def test_a_dead_registry_actor_ends_the_process_and_a_restart_recovers(tmp_path) -> None:
    data = tmp_path / "srv"
    faulty = ServerProcess(data, command=FAULTY).start()
    try:
        job = submit(faulty.url, "survivor")
        assert call("GET", f"{faulty.url}/client")["status"] == 200
        try:
            urllib3.request("GET", f"{faulty.url}/client/die-now?heartbeat", retries=False,
                            timeout=5)  # fmt: skip
        except urllib3.exceptions.HTTPError:
            pass  # the process may be gone before it answers
        assert faulty.proc is not None
        try:
            status = faulty.proc.wait(10)
        except subprocess.TimeoutExpired:
            raise AssertionError("the server stayed up with a dead registry actor") from None
        assert status == 70
        log = "\n".join(faulty.log_lines)
        assert "the registry actor died" in log and "planted fault" in log, log[-2000:]
    finally:
        faulty.stop()

    with ServerProcess(data) as server:
        back = call("GET", f"{server.url}/job/{job['id']}")["data"]
        assert (back["state"], back["registered"]) == ("queued", True)
