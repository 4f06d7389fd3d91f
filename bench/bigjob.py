"""Throughput of one job with many workunits vs many small jobs (prints numbers, asserts none).

A job's workunits are stored as their own rows, and a snapshot writes only the workunits that
changed; this shows that a 20,000-workunit job dispatches about as fast as 200 jobs of 100.

    python bench/bigjob.py [--clients 8] [--cycles 2000] [--units 20000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.e2e.serverproc import ServerProcess  # noqa: E402


def script(totalwork: int) -> str:
    task = {"taskid": "0", "cmd": {"name": "true", "args": ""}, "totalwork": totalwork}
    return json.dumps({"info": {"name": "bench", "project": "bench"}, "tasks": [task]})


def run(jobs: int, per_job: int, clients: int, cycles: int) -> tuple[float, float]:
    """Seconds to submit, and workunits/s of `clients` threads doing checkout -> report done."""
    with tempfile.TemporaryDirectory(prefix="awe-bench-") as tmp:
        server = ServerProcess(Path(tmp) / "srv").start()
        try:
            http = urllib3.PoolManager(maxsize=clients + 2, retries=False)
            started = time.perf_counter()
            for _ in range(jobs):
                http.request("POST", f"{server.url}/job", fields={"upload": ("j", script(per_job))})
            submitted = time.perf_counter() - started
            left = [cycles]
            lock = threading.Lock()

            def client(i: int) -> None:
                profile = json.dumps({"name": f"bench-{i}", "apps": ["*"]})
                answer = http.request(
                    "POST", f"{server.url}/client", fields={"profile": ("p", profile)}
                )
                cid = json.loads(answer.data)["data"]["id"]
                while True:
                    with lock:
                        if left[0] <= 0:
                            return
                        left[0] -= 1
                    work = json.loads(
                        http.request("GET", f"{server.url}/work?client={cid}&wait=30").data
                    )
                    wuid = work["data"]["wuid"]
                    http.request("PUT", f"{server.url}/work/{wuid}?status=done&client={cid}")

            started = time.perf_counter()
            threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return submitted, cycles / (time.perf_counter() - started)
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--cycles", type=int, default=2000)
    parser.add_argument("--units", type=int, default=20000)
    args = parser.parse_args()
    print(f"awe big-job benchmark: {args.clients} clients, {args.cycles} checkout+report cycles")
    print("(numbers are noisy on a shared machine; compare within one run)")
    print(f"{'shape':>24}  {'submit s':>8}  {'wu/s':>7}")
    small = max(1, args.units // 100)
    for jobs, per_job in ((small, 100), (1, args.units)):
        submitted, rate = run(jobs, per_job, args.clients, args.cycles)
        print(f"{f'{jobs} job(s) x {per_job} wu':>24}  {submitted:8.1f}  {rate:7.0f}")


if __name__ == "__main__":
    main()
