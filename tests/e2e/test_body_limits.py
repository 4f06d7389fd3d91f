"""A body over its cap gets the JSON 413 before it is read, whatever the client is like.

Against a real awe-server on 127.0.0.1: a raw socket that sends everything without waiting, a
client that sends `Expect: 100-continue` and waits, urllib3, curl, and a chunked body.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from tests.e2e.serverproc import ServerProcess

CAP = 64 * 1024
BODY = 4 * 1024 * 1024  # far over the cap: reading it first would show


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = {"limits": {"job_script_bytes": CAP, "report_bytes": CAP}}
    with ServerProcess(tmp_path_factory.mktemp("limits") / "srv", config) as running:
        yield running


def head(port: int, path: str, length: int, *extra: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
             "Content-Type: multipart/form-data; boundary=b0und", f"Content-Length: {length}",
             *extra]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(sock: socket.socket) -> tuple[int, dict]:
    """Status and JSON body of one HTTP/1.1 answer with a Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before the answer: {data!r}"
        data += chunk
    header, _, body = data.partition(b"\r\n\r\n")
    lines = header.decode("latin1").split("\r\n")
    length = next(int(v) for k, _, v in (h.partition(": ") for h in lines[1:])
                  if k.lower() == "content-length")  # fmt: skip
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the answer"
        body += chunk
    return int(lines[0].split()[1]), json.loads(body[:length])


def assert_413(status: int, envelope: dict, key: str = "limits.job_script_bytes") -> None:
    assert status == 413
    assert envelope["status"] == 413
    assert envelope["data"] is None
    assert f"over {key} ({CAP})" in envelope["error"][0]


def test_a_client_that_sends_everything_first_still_reads_the_413(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head(server.port, "/job", BODY))
        sock.sendall(b"x" * BODY)  # no reset while it writes: the server drains, then closes
        status, envelope = read_answer(sock)
    assert_413(status, envelope)


def test_the_413_comes_before_the_body_is_sent(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head(server.port, "/job", BODY))  # not one byte of the body
        status, envelope = read_answer(sock)
    assert_413(status, envelope)


def test_expect_100_continue_gets_the_413_instead_of_a_100(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head(server.port, "/job", BODY, "Expect: 100-continue"))
        status, envelope = read_answer(sock)
        assert_413(status, envelope)
        assert sock.recv(65536) == b""  # then the server closes: no "100 Continue" after it


def test_a_report_over_its_cap_is_refused_the_same_way(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head(server.port, "/work/j_0_0?status=done&client=c&report", BODY))
        sock.sendall(b"x" * BODY)
        status, envelope = read_answer(sock)
    assert_413(status, envelope, "limits.report_bytes")


def test_urllib3_reads_the_413(server: ServerProcess) -> None:
    http = urllib3.PoolManager(retries=False, timeout=30)
    answer = http.request("POST", f"{server.url}/job", fields={"upload": ("j", b"x" * BODY)})
    assert_413(answer.status, json.loads(answer.data))
    assert http.request("GET", f"{server.url}/job").status == 200  # and the server goes on


def test_a_chunked_body_over_the_cap_gets_the_413_at_its_end(server: ServerProcess) -> None:
    http = urllib3.PoolManager(retries=False, timeout=30)
    parts = (b"x" * 65536 for _ in range(BODY // 65536))
    answer = http.request("POST", f"{server.url}/job", body=parts, chunked=True,
                          headers={"Content-Type": "multipart/form-data; boundary=b"})  # fmt: skip
    assert_413(answer.status, json.loads(answer.data))


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("expect", ["Expect: 100-continue", "Expect:"])
def test_curl_reads_the_413(server: ServerProcess, tmp_path: Path, expect: str) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b"x" * BODY)
    result = subprocess.run(
        ["curl", "-sS", "--max-time", "30", "-H", expect, "-F", f"upload=@{big}",
         "-w", "\n%{http_code}", f"{server.url}/job"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    body, _, code = result.stdout.rpartition("\n")
    assert_413(int(code), json.loads(body))
