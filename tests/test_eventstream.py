"""What a stream sends to whom: rights, job filter, wire format, the bounded buffer."""

from __future__ import annotations

import pytest

from awe import eventstream
from awe.events import Event, make
from awe.model.access import Caller
from awe.model.rights import Policy

PRIVATE = Policy(anonymous_read=False, anonymous_write=False, anonymous_delete=False)


def numbered(n: int, **more: str) -> Event:
    event = make("job", f"j{n}", "queued", "in-progress", "req", job_id=f"j{n}", **more)
    return Event(**{**event.to_json(), "id": n})


@pytest.mark.parametrize(
    ("owner", "user", "admin", "seen"),
    [
        ("ana", "ana", False, True),
        ("ana", "bob", False, False),
        ("ana", "bob", True, True),
        ("public", "bob", False, True),  # a job submitted anonymously: readable by all
        ("", "bob", False, True),  # no ACL at all, as check_acl treats it
    ],
)
def test_a_job_event_goes_to_those_who_may_read_the_job(
    owner: str, user: str, admin: bool, seen: bool
) -> None:
    caller = Caller(user, admin)
    assert eventstream.may_see(numbered(1, owner=owner), caller, Policy()) is seen
    assert eventstream.may_see(numbered(1, owner=owner), caller, PRIVATE) is seen


def test_client_events_go_to_every_reader() -> None:
    event = make("client", "c1", "active-idle", "active-busy", "checkout", owner="ana")
    assert eventstream.may_see(event, Caller("bob"), PRIVATE)
    assert not eventstream.may_see(event, Caller(), PRIVATE)  # anonymous: may not read clients


def test_job_filter_keeps_the_job_its_tasks_and_workunits() -> None:
    task = make("task", "j1_0", "queued", "completed", "report", job_id="j1")
    other = make("workunit", "j2_0_0", "queued", "checkout", "checkout", job_id="j2")
    assert eventstream.wanted(task, "j1")
    assert not eventstream.wanted(other, "j1")
    assert eventstream.wanted(other, "")


def test_message_carries_the_id_and_one_line_of_json() -> None:
    text = eventstream.message(numbered(7))
    lines = text.split("\n")
    assert lines[0] == "id: 7"
    assert lines[1].startswith('data: {"kind":"job"')
    assert text.endswith("\n\n") and text.count("\n") == 3


@pytest.mark.parametrize("value", ["-1", "1.5", "abc", "١٢"])
def test_last_event_id_must_be_a_plain_integer(value: str) -> None:
    with pytest.raises(ValueError, match="Last-Event-ID"):
        eventstream.parse_last_id(value)


def test_last_event_id_absent_or_given() -> None:
    assert eventstream.parse_last_id(None) is None
    assert eventstream.parse_last_id(" ") is None
    assert eventstream.parse_last_id("42") == 42


def test_buffer_skips_what_was_replayed_and_overflows_for_good() -> None:
    buffer = eventstream.StreamBuffer(limit=2)
    assert buffer.push(numbered(1)) and buffer.push(numbered(1))  # a duplicate is skipped
    assert [e.id for e in buffer.drain()] == [1]
    assert buffer.push(numbered(2)) and buffer.push(numbered(3))
    assert not buffer.push(numbered(4))
    assert buffer.overflowed and len(buffer) == 0
    assert not buffer.push(numbered(5))
