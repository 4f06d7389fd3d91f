#!/usr/bin/env python
"""Datastore benchmark: a large file up to and down from a real awe-server, next to `cp`.

Starts `awe-server` (tests/e2e/serverproc.py) on 127.0.0.1 with a temporary data dir, generates
a text file (1 GiB; 128 MiB with --quick) on the same disk, and measures:

1. `cp` of the file on that disk, alone and followed by `sync` of the copy (the server fsyncs
   every file it stores, so the second line is the fair comparison);
2. upload: the worker's own client (`awe.worker.transfer`): md5 pass, then a streamed PUT that
   the server checksums (md5 + sha256), indexes by line and fsyncs before it answers;
3. download: the worker's client (Range request, md5 verified as it arrives), and a plain
   streamed GET that only reads the bytes;
4. the server's resident memory (VmRSS, sampled every 20 ms) before and at its peak during each
   transfer: it should stay flat, whatever the file size.

It prints numbers and asserts nothing about time.

    .venv/bin/python bench/datastore.py --quick
    .venv/bin/python bench/datastore.py --size-mb 2048
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import urllib3

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
)
for _proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
    os.environ.pop(_proxy, None)

from awe.worker.client import make_pool  # noqa: E402
from awe.worker.dataref import DataRef  # noqa: E402
from awe.worker.transfer import DatastoreClient, file_md5  # noqa: E402
from tests.e2e.serverproc import ServerProcess  # noqa: E402

MIB = 1024 * 1024


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def make_file(path: Path, size: int) -> None:
    """Text lines (so the server's line index has work to do), `size` bytes."""
    block = "".join(f"read {i:09d} ACGTACGTACGTACGTACGTACGTACGTACGT\n" for i in range(20_000))
    data = block.encode()
    with open(path, "wb") as out:
        left = size
        while left > 0:
            piece = data[: min(len(data), left)]
            out.write(piece)
            left -= len(piece)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler:
    """Peak resident memory of a process while a block of code runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            self._stop.wait(0.02)

    def __enter__(self) -> RssSampler:
        self.before = rss_kib(self.pid)
        self.cpu = cpu_seconds(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kib(self.pid))
        self.cpu = cpu_seconds(self.pid) - self.cpu

    def note(self) -> str:
        return (f"server RSS {self.before // 1024} -> peak {self.peak // 1024} MiB, "
                f"server CPU {self.cpu:.2f} s")  # fmt: skip


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def call(http: urllib3.PoolManager, method: str, url: str, **kw: Any) -> Any:
    response = http.request(method, url, **kw)
    body = json.loads(response.data)
    if body.get("error"):
        raise RuntimeError(f"{method} {url}: {body['error']}")
    return body["data"]


def lease(url: str) -> tuple[str, str]:
    """A job with one output kept by the server, and a client holding its workunit."""
    http = urllib3.PoolManager(retries=False)
    script = {"info": {"name": "bench"}, "tasks": [
        {"taskid": "0", "cmd": {"name": "true"}, "outputs": [{"filename": "big.txt"}]}]}  # fmt: skip
    job = call(http, "POST", f"{url}/job",
               fields={"upload": ("job.json", json.dumps(script).encode())})["id"]  # fmt: skip
    profile = json.dumps({"name": "bench", "group": "default", "apps": ["*"]}).encode()
    client = call(http, "POST", f"{url}/client", fields={"profile": ("p.json", profile)})["id"]
    work = call(http, "GET", f"{url}/work?client={client}")
    assert work["wuid"] == f"{job}_0_0", work
    return job, client


def plain_get(url: str) -> int:
    http = urllib3.PoolManager(retries=False)
    response = http.request("GET", url, preload_content=False)
    total = 0
    while chunk := response.read1(MIB):
        total += len(chunk)
    response.release_conn()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="128 MiB instead of 1 GiB")
    parser.add_argument("--size-mb", type=int, default=None, help="file size in MiB")
    parser.add_argument("--dir", default=None, help="where to work (default: a temp dir)")
    args = parser.parse_args()
    size = (args.size_mb or (128 if args.quick else 1024)) * MIB
    root = Path(tempfile.mkdtemp(prefix="awe-bench-data-", dir=args.dir))
    server = ServerProcess(root / "server", {"datastore": {"max_file_bytes": 4 * size}})
    rows: list[tuple[str, float, str]] = []
    try:
        source = root / "big.txt"
        log(f"generating {size // MIB} MiB in {root}")
        make_file(source, size)
        subprocess.run(["sync"], check=False)
        copy = root / "copy.txt"
        for name, command in (
            ("cp", f"cp {source} {copy}"),
            ("cp + sync of the copy", f"cp {source} {copy} && sync {copy}"),
        ):
            best = float("inf")
            for _ in range(2):  # best of two: the first may meet the generator's writeback
                seconds, _ = timed(lambda c=command: subprocess.run(c, shell=True, check=True))
                best = min(best, seconds)
                copy.unlink()
            rows.append((name, best, "best of 2"))

        server.start()
        pid = server.proc.pid  # type: ignore[union-attr]
        job, client_id = lease(server.url)
        client = DatastoreClient(make_pool(1), server.url, {}, lambda: client_id, timeout_s=600)
        ref = DataRef(job, "0", "big.txt")
        seconds, _ = timed(lambda: file_md5(source))
        rows.append(("  of which: worker's md5 pass", seconds, ""))
        with RssSampler(pid) as up:
            seconds, stored = timed(lambda: client.upload(source, ref, 0, lambda: False))
        rows.insert(2, ("upload (md5 pass + PUT, stored)", seconds, up.note()))
        assert stored["size"] == size, stored
        back = root / "back.txt"
        with RssSampler(pid) as down:
            seconds, _ = timed(lambda: client.download(ref, back, lambda: False))
        rows.append(("download (worker client, verified)", seconds, down.note()))
        back.unlink()
        with RssSampler(pid) as raw:
            seconds, got = timed(lambda: plain_get(f"{server.url}{ref.path}"))
        assert got == size
        rows.append(("download (plain GET, not verified)", seconds, raw.note()))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"\nDatastore transfer of a {size // MIB} MiB text file, same disk, 127.0.0.1")
    print(f"{'measurement':38} {'seconds':>8} {'MiB/s':>8}  notes")
    for name, seconds, note in rows:
        print(f"{name:38} {seconds:8.2f} {size / MIB / seconds:8.0f}  {note}")


if __name__ == "__main__":
    main()
