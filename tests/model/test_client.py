"""Client records: registration profiles and the counters a report moves (spec 4.4, 4.5, 6)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from awe.errors import AweError
from awe.model.client import Client, ClientStatus, client_from_profile, record_report

NOW = "2024-05-01T10:00:00.000000Z"
LATER = "2024-05-01T12:34:00.000000Z"
ERR = "Error in registering new client:"


def profile(**fields: Any) -> dict[str, Any]:
    return {"name": "w1", "group": "default", "cores": 4, "apps": ["*"], "host": "10.0.0.5",
            "version": "0.9.24", **fields}  # fmt: skip


# ---- registration ------------------------------------------------------------------------------


def test_a_new_client_gets_a_fresh_uuid_and_starts_idle() -> None:
    first = client_from_profile(profile(), NOW)
    second = client_from_profile(profile(), NOW)
    assert str(uuid.UUID(first.id)) == first.id
    assert first.id != second.id
    assert first.status == ClientStatus.IDLE
    assert (first.name, first.group, first.cores, first.host) == ("w1", "default", 4, "10.0.0.5")
    assert first.regtime == first.last_heartbeat == NOW
    assert first.current_work == {}
    assert first.skip_work == []
    assert (first.total_checkout, first.total_completed, first.total_failed) == (0, 0, 0)


def test_a_re_registering_client_keeps_its_id_regtime_and_counters() -> None:
    doc = profile(id="c-42", regtime="2024-04-01T00:00:00.000000Z", total_checkout=7,
                  total_completed=5, total_failed=2, skip_work=["x_0_0"])  # fmt: skip
    again = client_from_profile(doc, NOW)
    assert again.id == "c-42"
    assert again.regtime == "2024-04-01T00:00:00.000000Z"
    assert (again.total_checkout, again.total_completed, again.total_failed) == (7, 5, 2)
    assert again.skip_work == []  # reset at every registration (spec 6.1)
    assert again.status == ClientStatus.IDLE


def test_a_missing_group_is_default() -> None:
    assert client_from_profile(profile(group=None), NOW).group == "default"
    assert client_from_profile({}, NOW).group == "default"


@pytest.mark.parametrize(("apps", "stored"), [
    (["a", "b"], ["a", "b"]),
    ("a,b,,c", ["a", "b", "c"]),
    ("*", ["*"]),
    (None, []),
    ([], []),
])  # fmt: skip
def test_apps_as_a_list_or_a_comma_string(apps: Any, stored: list[str]) -> None:
    assert client_from_profile(profile(apps=apps), NOW).apps == stored


@pytest.mark.parametrize(("current", "stored"), [
    (None, {}),
    ([], {}),
    (["j_0_0", "j_1_2"], {"j_0_0": True, "j_1_2": True}),
    ({"j_0_0": True}, {"j_0_0": True}),
])  # fmt: skip
def test_current_work_as_null_list_or_map(current: Any, stored: dict[str, bool]) -> None:
    assert client_from_profile(profile(current_work=current), NOW).current_work == stored


def test_registration_always_starts_idle_even_with_current_work() -> None:
    client = client_from_profile(profile(current_work=["j_0_0"]), NOW)
    assert client.status == ClientStatus.IDLE


@pytest.mark.parametrize(("doc", "detail"), [
    ("not a map", "profile must be a JSON object"),
    (["a"], "profile must be a JSON object"),
    (profile(apps=5), "apps must be a list of strings"),
    (profile(apps=["a", 1]), "apps must be a list of strings"),
    (profile(current_work="j_0_0"), "current_work must be an object"),
    (profile(current_work=3), "current_work must be an object"),
    (profile(cores="4"), "cores must be an integer"),
    (profile(total_failed="1"), "counters must be integers"),
    (profile(name=7), "name must be a string"),
    (profile(id=12), "id must be a string"),
    (profile(group="bad group!"), "invalid clientgroup name: bad group!"),
])  # fmt: skip
def test_bad_profiles_are_refused_with_the_awe_prefix(doc: Any, detail: str) -> None:
    with pytest.raises(AweError) as caught:
        client_from_profile(doc, NOW)
    assert caught.value.message == ERR + detail
    assert caught.value.status == 400


def test_view_carries_what_matching_needs() -> None:
    client = client_from_profile(profile(apps="a,b", group="g1"), NOW)
    client.skip_work.append("j_0_0")
    view = client.view()
    assert (view.id, view.group) == (client.id, "g1")
    assert view.apps == frozenset({"a", "b"})
    assert view.skip_work == frozenset({"j_0_0"})


def test_to_json_reports_serve_and_idle_time() -> None:
    client = client_from_profile(profile(), NOW)
    shown = client.to_json(LATER)
    assert shown["Status"] == "active-idle"
    assert shown["serve_time"] == "2h34m"
    assert shown["idle_time"] == 2 * 3600 + 34 * 60
    client.current_work["j_0_0"] = True
    assert client.to_json(LATER)["idle_time"] == 0


# ---- reports -----------------------------------------------------------------------------------


def busy(*wuids: str) -> Client:
    client = Client(id="c1", apps=["*"], status=ClientStatus.BUSY)
    client.current_work = dict.fromkeys(wuids, True)
    return client


def test_done_counts_and_frees_the_client() -> None:
    client = busy("j_0_0")
    client.consecutive_failures = 3
    assert record_report(client, "j_0_0", "done", applied=True, max_failures=5) is False
    assert client.total_completed == 1
    assert client.consecutive_failures == 0
    assert client.current_work == {}
    assert client.status == ClientStatus.IDLE


def test_a_client_with_more_work_stays_busy() -> None:
    client = busy("j_0_0", "j_1_0")
    record_report(client, "j_0_0", "done", applied=True, max_failures=5)
    assert client.status == ClientStatus.BUSY
    assert client.current_work == {"j_1_0": True}


def test_fail_counts_and_skips_that_workunit() -> None:
    client = busy("j_0_0")
    assert record_report(client, "j_0_0", "fail", applied=True, max_failures=5) is False
    assert (client.total_failed, client.consecutive_failures) == (1, 1)
    assert client.skip_work == ["j_0_0"]
    client.current_work["j_0_0"] = True
    record_report(client, "j_0_0", "fail", applied=True, max_failures=5)
    assert client.skip_work == ["j_0_0"]  # listed once


def test_a_report_not_applied_frees_the_slot_but_counts_nothing() -> None:
    client = busy("j_0_0")
    assert record_report(client, "j_0_0", "fail", applied=False, max_failures=1) is False
    assert (client.total_failed, client.consecutive_failures, client.skip_work) == (0, 0, [])
    assert client.current_work == {}
    assert client.status == ClientStatus.IDLE


def test_discarded_counts_nothing() -> None:
    client = busy("j_0_0")
    assert record_report(client, "j_0_0", "discarded", applied=True, max_failures=1) is False
    assert (client.total_completed, client.total_failed, client.consecutive_failures) == (0, 0, 0)


def _fail(client: Client, n: int, max_failures: int = 5) -> bool:
    wuid = f"j_{n}_0"
    client.current_work[wuid] = True
    return record_report(client, wuid, "fail", applied=True, max_failures=max_failures)


def test_consecutive_failures_suspend_at_the_limit() -> None:
    client = busy()
    assert [_fail(client, n) for n in range(5)] == [False, False, False, False, True]


def test_done_resets_the_consecutive_count() -> None:
    client = busy()
    assert [_fail(client, n) for n in range(4)] == [False] * 4
    client.current_work["j_9_0"] = True
    record_report(client, "j_9_0", "done", applied=True, max_failures=5)
    assert [_fail(client, n) for n in range(10, 14)] == [False] * 4
    assert _fail(client, 14) is True


def test_the_limit_triggers_again_after_a_resume_without_success() -> None:
    # AWE compared with ==: after a resume the counter is past the limit and never equal again
    client = busy()
    assert [_fail(client, n) for n in range(5)][-1] is True
    client.status = ClientStatus.SUSPEND
    assert _fail(client, 5) is False  # a suspended client is not suspended twice
    client.status = ClientStatus.IDLE  # resumed, counter untouched
    assert _fail(client, 6) is True
    assert client.consecutive_failures == 7


def test_a_zero_limit_never_suspends() -> None:
    client = busy()
    assert not any(_fail(client, n, max_failures=0) for n in range(20))
