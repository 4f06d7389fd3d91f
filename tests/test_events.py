"""The event bus: numbering, resumption from an id, listeners that cannot break publishers."""

from __future__ import annotations

import threading

import pytest

from awe.events import Event, EventBus, make


def _event(n: int) -> Event:
    return make("job", f"job-{n}", "queued", "in-progress", "req-test", job_id=f"job-{n}")


def test_publish_numbers_events_in_order_and_stamps_time() -> None:
    bus = EventBus()
    first, second = bus.publish([_event(1), _event(2)])
    assert (first.id, second.id) == (1, 2)
    assert first.time.endswith("Z")
    assert bus.last_id == 2


def test_since_resumes_after_an_id_and_reports_a_gap() -> None:
    bus = EventBus(capacity=3)
    bus.publish(_event(n) for n in range(5))  # ids 1..5, only 3..5 kept
    assert [e.id for e in bus.since(3)] == [4, 5]
    assert bus.since(5) == []
    assert [e.id for e in bus.since(2)] == [3, 4, 5]
    assert bus.since(1) is None  # event 2 is gone: the caller must start over


def test_a_failing_listener_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    seen: list[int] = []

    def broken(event: Event) -> None:
        raise RuntimeError("listener bug")

    bus.subscribe(broken)
    unsubscribe = bus.subscribe(lambda e: seen.append(e.id))
    bus.publish([_event(1)])
    unsubscribe()
    bus.publish([_event(2)])
    assert seen == [1]
    assert "listener bug" in caplog.text


def test_ids_stay_unique_under_concurrent_publishers() -> None:
    bus = EventBus(capacity=100_000)
    threads = [
        threading.Thread(target=lambda: [bus.publish([_event(n)]) for n in range(500)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [e.id for e in bus.since(0)]
    assert ids == list(range(1, 2001))


def test_json_round_trip_and_unknown_kind() -> None:
    event = bus_event = EventBus().publish([_event(7)])[0]
    assert Event.from_json(event.to_json()) == bus_event
    with pytest.raises(ValueError, match="unknown event kind"):
        make("planet", "x", "", "new", "req")
