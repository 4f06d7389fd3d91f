"""Replies resolved on actor threads land on the IOLoop: together, with deadlines, as polls."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

import pytest

from awe.actors.bridge import Landing


def on_another_thread(action) -> None:  # noqa: ANN001
    thread = threading.Thread(target=action)
    thread.start()
    thread.join()


def test_replies_resolved_together_wake_the_loop_once() -> None:
    async def scenario() -> tuple[list[int], int]:
        loop = asyncio.get_running_loop()
        wakes = [0]
        real = loop.call_soon_threadsafe

        def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            wakes[0] += 1
            return real(*args, **kwargs)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        replies = [concurrent.futures.Future() for _ in range(10)]
        waiting = [asyncio.ensure_future(Landing.current().wait(r, 10)) for r in replies]
        await asyncio.sleep(0)
        on_another_thread(lambda: [r.set_result(n) for n, r in enumerate(replies)])
        return list(await asyncio.gather(*waiting)), wakes[0]

    results, wakes = asyncio.run(scenario())
    assert results == list(range(10))
    assert wakes == 1


def test_an_error_lands_as_the_error_and_a_late_reply_after_the_deadline_is_dropped() -> None:
    async def scenario() -> None:
        failing = concurrent.futures.Future()
        on_another_thread(lambda: failing.set_exception(ValueError("no")))
        with pytest.raises(ValueError, match="no"):
            await Landing.current().wait(failing, 10)
        silent = concurrent.futures.Future()
        with pytest.raises(TimeoutError):
            await Landing.current().wait(silent, 0.01)
        silent.set_result("too late")  # lands nowhere, breaks nothing
        await asyncio.sleep(0)

    asyncio.run(scenario())


def test_a_poll_that_runs_out_answers_none_unless_answered_first() -> None:
    async def scenario() -> tuple[object, object, object]:
        idle = concurrent.futures.Future()
        ran_out = await Landing.current().wait(idle, 10, poll_s=0.01)
        served = concurrent.futures.Future()
        served.set_result("work")
        got = await Landing.current().wait(served, 10, poll_s=5)
        return ran_out, idle.result(), got

    assert asyncio.run(scenario()) == (None, None, "work")
