"""Chaos, bounded: 60 workunits, 3 server SIGKILLs and 1 worker SIGKILL at random points.

Every run of a workunit's command appends `start`/`end` lines to an evidence file outside the
server, with its pid, its work dir (which worker ran it) and the time. At the end every job
must be completed (0 stuck), every workunit must have run to its end (0 lost) and none twice
(0 run twice); a workunit whose command was running on the killed worker may run once more
elsewhere, and is counted apart. After every restart `GET /job` must count every job.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tests.worker.workerproc import AweApi, cluster, py_task

JOBS, FIRST, SECOND = 5, 8, 4  # 5 jobs of 8 + 4 workunits: 60 in all
SERVER = {"queue": {"client_timeout_s": 6, "client_check_interval_s": 0.5}}
RUN = (
    'import os, sys, time; f = sys.argv[1]; w = os.environ["AWE_WORKUNIT"];'
    'line = lambda e: open(f, "a").write(f"{e} {w} {os.getpid()} {os.getcwd()} {time.time()}\\n");'
    'line("start"); time.sleep(0.3); open("out.txt", "w").write(w); line("end")'
)


@dataclass
class Evidence:
    """What the evidence file says about each workunit's runs."""

    ends: dict[str, list[tuple[str, float]]] = field(default_factory=lambda: defaultdict(list))
    starts: dict[str, list[tuple[str, float]]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def read(cls, path: Path) -> Evidence:
        evidence = cls()
        text = path.read_text() if path.exists() else ""
        for line in text.splitlines():
            parts = line.split()
            if len(parts) != 5:
                continue  # a line being written right now
            event, wuid, _, cwd, at = parts
            target = evidence.ends if event == "end" else evidence.starts
            target[wuid].append((cwd, float(at)))
        return evidence

    def done(self) -> int:
        return sum(len(runs) for runs in self.ends.values())


def total_count(url: str) -> int:
    """`total_count` of `GET /job`: every job in the store, finished or not."""
    return AweApi(url).http.request("GET", f"{url}/job").json()["total_count"]


def script(n: int, evidence: Path) -> dict:
    first = py_task("0", RUN, str(evidence), totalwork=FIRST, outputs=[{"filename": "out.txt"}])
    second = py_task("1", RUN, str(evidence), dependsOn=["0"], totalwork=SECOND,
                     outputs=[{"filename": "out.txt"}])  # fmt: skip
    return {"info": {"name": f"chaos-{n}", "project": "chaos"}, "tasks": [first, second]}


def test_chaos_nothing_lost_nothing_run_twice_nothing_stuck(tmp_path: Path) -> None:
    seed = int(os.environ.get("AWE_CHAOS_SEED", random.randrange(1 << 32)))
    rng = random.Random(seed)
    print(f"chaos seed {seed} (rerun with AWE_CHAOS_SEED={seed})")
    evidence_file = tmp_path / "evidence.txt"
    total = JOBS * (FIRST + SECOND)
    # the points (workunits finished so far) where something is killed; one is the worker's
    points = sorted(rng.sample(range(4, total - 8), 4))
    kills = {point: "server" for point in points}
    kills[rng.choice(points)] = "worker"
    restarts_seen: list[int] = []
    victim = None
    deadline = time.monotonic() + 120
    with cluster(tmp_path, SERVER, workers=3, slots=2) as (server, api, workers):
        jobs = [api.submit(script(n, evidence_file))["id"] for n in range(JOBS)]
        for point in points:
            while Evidence.read(evidence_file).done() < point:
                assert time.monotonic() < deadline, f"no progress to {point} workunits"
                time.sleep(0.05)
            time.sleep(rng.uniform(0, 0.3))
            if kills[point] == "worker":
                victim = rng.choice(workers)
                victim.kill()
                print(f"at {point} done: SIGKILL worker {victim.name}")
            else:
                server.kill()
                server.start()
                count = total_count(server.url)
                print(f"at {point} done: SIGKILL server, restarted: total_count {count}")
                restarts_seen.append(count)
        states = {}
        for job_id in jobs:
            left = max(1.0, deadline - time.monotonic())
            try:
                states[job_id] = api.wait_state(job_id, "completed", timeout=left)["state"]
            except AssertionError:
                states[job_id] = api.job(job_id)["state"]
        total_counts = [total_count(server.url)]
    assert victim is not None
    # the killed worker's runs: a command it started may have ended (its child lives on) or
    # not, but only one it had reported done must never run again
    victim_dir = str(victim.root / "work")
    reported = set(re.findall(r"reported (\S+) done", victim.log))
    evidence = Evidence.read(evidence_file)
    lost, twice, reruns = [], [], []
    for job_id in jobs:
        for task, ranks in (("0", FIRST), ("1", SECOND)):
            for rank in range(1, ranks + 1):
                wuid = f"{job_id}_{task}_{rank}"
                ends = evidence.ends.get(wuid, [])
                if not ends:
                    lost.append(wuid)
                elif len(ends) > 1:
                    on_victim = any(
                        cwd.startswith(victim_dir) for cwd, _ in evidence.starts.get(wuid, [])
                    )
                    in_flight = on_victim and wuid not in reported and len(ends) == 2
                    (reruns if in_flight else twice).append(wuid)
    stuck = [job_id for job_id, state in states.items() if state != "completed"]
    print(f"chaos: {total} workunits, {len(points) - 1} server SIGKILLs, 1 worker SIGKILL: "
          f"lost {len(lost)}, run twice {len(twice)}, in-flight reruns {len(reruns)}, "
          f"stuck {len(stuck)}")  # fmt: skip
    assert restarts_seen == [JOBS] * (len(points) - 1), restarts_seen
    assert total_counts == [JOBS]
    assert (lost, twice, stuck) == ([], [], []), (lost, twice, stuck, seed)
