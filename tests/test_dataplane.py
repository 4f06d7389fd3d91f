"""The data plane's wiring: the URL outputs are named by, and pool jobs that log their failures."""

from __future__ import annotations

import logging
import socket

import pytest

from awe.config import ServerConfig, from_mapping
from awe.dataplane import logged, public_url


def config(**api) -> ServerConfig:
    return from_mapping(ServerConfig, {"api": api})


def test_the_public_url_is_the_external_url_else_host_and_port() -> None:
    assert public_url(config(external_url="https://awe.example.org/")) == "https://awe.example.org"
    assert public_url(config(host="10.0.0.5", port=8001)) == "http://10.0.0.5:8001"
    assert public_url(config(host="10.0.0.5"), port=9000) == "http://10.0.0.5:9000"
    assert public_url(config(host="::1", port=1)) == "http://[::1]:1"
    assert public_url(config(host="0.0.0.0", port=2)) == f"http://{socket.getfqdn()}:2"


def test_a_pool_job_that_fails_is_logged_not_lost(caplog: pytest.LogCaptureFixture) -> None:
    def boom() -> None:
        raise OSError("disk on fire")

    with caplog.at_level(logging.ERROR):
        assert logged(boom, "retention")() is None
    assert "retention failed" in caplog.text and "disk on fire" in caplog.text
