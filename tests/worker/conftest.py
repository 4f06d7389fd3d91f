"""Fixtures for worker tests: a Shock fixture, a plain HTTP file server, a fake AWE server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from awe.worker.config import WorkerConfig, load_worker_config
from tests.worker.fake_awe import FakeAwe
from tests.worker.helpers import FileServer
from tests.worker.shock_fixture import ShockFixture


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., WorkerConfig]:
    """A worker config with tiny intervals, work dir under tmp_path."""

    def make(**overrides: Any) -> WorkerConfig:
        values: dict[str, Any] = {
            "work_dir": str(tmp_path / "work"),
            "heartbeat_interval_s": 0.1,
            "checkout_wait_s": 0.3,
            "backoff": {
                "idle_s": 0.05,
                "error_s": 0.05,
                "error_after_10_s": 0.1,
                "suspended_s": 0.1,
            },
            "report_retry": {"initial_s": 0.05, "max_s": 0.2},
            "shutdown_grace_s": 5.0,
            "upload_retry_pause_s": 0.05,
            "http_timeout_s": 10.0,
            "log_level": "debug",
            "file_roots": [str(tmp_path)],  # the test's own files; roots tests set their own
        }
        values.update(overrides)
        return load_worker_config(None, values)

    return make


@pytest.fixture
def shock(tmp_path: Path) -> Iterator[ShockFixture]:
    fixture = ShockFixture(tmp_path / "shock").start()
    yield fixture
    fixture.stop()


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    fs = FileServer().start()
    yield fs
    fs.server.stop()


@pytest.fixture
def fake_awe() -> Iterator[FakeAwe]:
    awe = FakeAwe().start()
    yield awe
    awe.stop()
