"""`awe watch` follows GET /events (resuming with Last-Event-ID), polls a server without it,
and Ctrl-C ends `awe submit --watch` with exit 130, quietly."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tornado.web

from tests.cli.conftest import REPO, awe_command, cli_env, job_script
from tests.e2e.serverproc import ServerProcess
from tests.worker.httpthread import ServerThread

JOB = "11111111-2222-3333-4444-555555555555"


class Scene:
    """What the stub server shows: the job's state, and what the CLI asked for."""

    def __init__(self) -> None:
        self.state = "queued"
        self.job_reads = 0
        self.last_event_ids: list[str | None] = []

    def job(self) -> dict[str, Any]:
        task_state = "completed" if self.state == "completed" else "queued"
        return {
            "id": JOB,
            "state": self.state,
            "info": {"name": "stub"},
            "remaintasks": 0 if self.state == "completed" else 1,
            "tasks": [{"taskid": f"{JOB}_0", "state": task_state, "totalwork": 1,
                       "cmd": {"name": "true"}, "workunits": []}],
        }  # fmt: skip


class JobStub(tornado.web.RequestHandler):
    def initialize(self, scene: Scene) -> None:
        self.scene = scene

    def get(self, _job_id: str) -> None:
        self.scene.job_reads += 1
        self.finish({"status": 200, "data": self.scene.job(), "error": None})


class OldEvents(JobStub):
    """An awe without /events: its catch-all GET answers AWE's JSON resource document."""

    def get(self) -> None:  # type: ignore[override]
        self.finish({"id": "AWE", "type": "server"})


class StreamingEvents(JobStub):
    """First connection: one event, then the stream ends. Second: the task's completion."""

    async def get(self) -> None:  # type: ignore[override]
        self.scene.last_event_ids.append(self.request.headers.get("Last-Event-ID"))
        self.set_header("Content-Type", "text/event-stream")
        self.write("retry: 100\n\n")
        await self.flush()
        await asyncio.sleep(0.2)
        if len(self.scene.last_event_ids) == 1:
            event = {"kind": "job", "subject": JOB, "old": "queued", "new": "in-progress"}
            self.write(f"id: 7\ndata: {json.dumps(event)}\n\n")
            return  # the stream ends: the CLI must come back with Last-Event-ID 7
        self.scene.state = "completed"
        event = {"kind": "task", "subject": f"{JOB}_0", "old": "queued", "new": "completed"}
        self.write(f"id: 8\ndata: {json.dumps(event)}\n\n")
        await self.flush()
        await asyncio.sleep(30)  # no keep-alive, no end: only the event can finish the watch


def stub(events_handler: type) -> tuple[ServerThread, Scene]:
    scene = Scene()
    app = tornado.web.Application(
        [(r"/events", events_handler, {"scene": scene}), (r"/job/(.*)", JobStub, {"scene": scene})]
    )
    return ServerThread(app), scene


def watch(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        awe_command("--server", url, "watch", JOB, *args),
        capture_output=True, text=True, cwd=REPO, env=cli_env(), timeout=60,
    )  # fmt: skip


def test_watch_logs_a_tasks_event_and_resumes_a_broken_stream_after_its_last_id() -> None:
    server, scene = stub(StreamingEvents)
    with server:
        done = watch(server.url, "--timeout", "20")
    assert done.returncode == 0, done.stderr
    assert "task 0 completed" in done.stdout
    assert done.stdout.rstrip().endswith(f"job {JOB} completed")
    assert scene.last_event_ids == [None, "7"]


def test_watch_polls_a_server_without_an_event_stream() -> None:
    server, scene = stub(OldEvents)

    class Completing(JobStub):
        def get(self, _job_id: str) -> None:
            if scene.job_reads >= 3:
                scene.state = "completed"
            super().get(_job_id)

    server.app.wildcard_router.rules[1].target = Completing
    with server:
        done = watch(server.url, "--interval", "0.05", "--timeout", "20")
    assert done.returncode == 0, done.stderr
    assert scene.job_reads >= 4  # read until it completed: polling
    assert f"job {JOB} completed" in done.stdout


@pytest.fixture
def submitter(server: ServerProcess, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    script = tmp_path / "job.json"
    script.write_text(json.dumps(job_script(name="interrupted")))
    proc = subprocess.Popen(
        awe_command("--server", server.url, "submit", str(script), "--watch"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=cli_env(),
    )  # fmt: skip
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_ctrl_c_ends_submit_watch_with_130_and_no_traceback(
    submitter: subprocess.Popen[str],
) -> None:
    assert submitter.stdout is not None
    assert submitter.stdout.readline().startswith("submitted job ")
    assert "job queued" in submitter.stdout.readline()  # it is watching now
    submitter.send_signal(signal.SIGINT)
    _, err = submitter.communicate(timeout=30)
    assert submitter.returncode == 130
    assert err.strip() == ""
