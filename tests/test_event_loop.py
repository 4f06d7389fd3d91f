"""The IOLoop runs on uvloop by default, and a machine without uvloop still serves."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest

from awe.server import use_event_loop


@pytest.fixture(autouse=True)
def standard_policy() -> None:
    yield
    asyncio.set_event_loop_policy(None)


def test_uvloop_drives_new_loops() -> None:
    uvloop = pytest.importorskip("uvloop")
    use_event_loop("uvloop")
    loop = asyncio.new_event_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_without_uvloop_the_standard_loop_serves_and_the_log_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    with caplog.at_level(logging.WARNING, logger="awe.server"):
        use_event_loop("uvloop")
    assert "uvloop is not installed" in caplog.text
    loop = asyncio.new_event_loop()
    try:
        assert type(loop).__module__.startswith("asyncio")
    finally:
        loop.close()
