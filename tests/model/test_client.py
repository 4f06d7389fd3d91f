"""Client records: registration profiles and the counters a report moves (spec 4.4, 4.5, 6)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from awe.errors import AweError
from awe.model import registry as reg
from awe.model.client import Client, ClientStatus, client_from_profile
from awe.model.effects import Effects

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
    (profile(regtime="not-a-time"), "regtime must be an RFC 3339 time, got 'not-a-time'"),
    (profile(regtime="0001-01-01T00:00:00+14:00"),
     "regtime must be an RFC 3339 time, got '0001-01-01T00:00:00+14:00'"),
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


# ---- lease changes and reports (awe.model.registry) ---------------------------------------------


def registered(*wuids: str) -> tuple[reg.Registry, Client]:
    registry = reg.Registry()
    client = Client(id="c1", apps=["*"], last_heartbeat=NOW)
    reg.register(registry, client, Effects())
    for wuid in wuids:
        assert reg.granted(registry, "c1", wuid, counted=True, fx=Effects())
    return registry, client


def end(registry: reg.Registry, wuid: str, outcome: str, max_failures: int = 5) -> bool:
    return reg.ended(registry, "c1", wuid, outcome, max_failures, Effects())


def test_a_lease_makes_the_client_busy_and_is_counted_once() -> None:
    registry, client = registered()
    fx = Effects()
    assert reg.granted(registry, "c1", "j_0_0", counted=True, fx=fx)
    assert (client.status, client.current_work, client.total_checkout) == (
        ClientStatus.BUSY, {"j_0_0": True}, 1)  # fmt: skip
    assert [(c.old, c.new) for c in fx.changes] == [("active-idle", "active-busy")]
    assert registry.leases == {"j_0_0": "c1"}


def test_done_counts_and_frees_the_client() -> None:
    registry, client = registered("j_0_0")
    client.consecutive_failures = 3
    assert end(registry, "j_0_0", "done") is False
    assert client.total_completed == 1
    assert client.consecutive_failures == 0
    assert client.current_work == {}
    assert client.status == ClientStatus.IDLE
    assert registry.leases == {}


def test_a_client_with_more_work_stays_busy() -> None:
    registry, client = registered("j_0_0", "j_1_0")
    end(registry, "j_0_0", "done")
    assert client.status == ClientStatus.BUSY
    assert client.current_work == {"j_1_0": True}


def test_fail_counts_and_skips_that_workunit() -> None:
    registry, client = registered("j_0_0")
    assert end(registry, "j_0_0", "fail") is False
    assert (client.total_failed, client.consecutive_failures) == (1, 1)
    assert client.skip_work == ["j_0_0"]
    reg.granted(registry, "c1", "j_0_0", counted=True, fx=Effects())
    end(registry, "j_0_0", "fail")
    assert client.skip_work == ["j_0_0"]  # listed once


def test_a_released_lease_frees_the_slot_but_counts_nothing() -> None:
    registry, client = registered("j_0_0")
    assert end(registry, "j_0_0", "released", max_failures=1) is False
    assert (client.total_failed, client.consecutive_failures, client.skip_work) == (0, 0, [])
    assert client.current_work == {}
    assert client.status == ClientStatus.IDLE


def test_discarded_counts_nothing() -> None:
    registry, client = registered("j_0_0")
    assert end(registry, "j_0_0", "discarded", max_failures=1) is False
    assert (client.total_completed, client.total_failed, client.consecutive_failures) == (0, 0, 0)


def test_a_lease_for_an_unknown_or_suspended_client_must_be_released() -> None:
    registry, client = registered()
    assert reg.granted(registry, "ghost", "j_0_0", counted=True, fx=Effects()) is False
    assert reg.granted(registry, "ghost", "j_1_0", counted=False, fx=Effects()) is True
    reg.suspend(client, "test", Effects())
    assert reg.granted(registry, "c1", "j_2_0", counted=True, fx=Effects()) is False


def test_a_re_registering_client_sees_the_leases_it_holds_and_claims_them_all() -> None:
    registry, _ = registered()
    reg.granted(registry, "c1", "j_0_0", counted=False, fx=Effects())  # found at start-up
    again = Client(id="c1", current_work={"j_0_0": True, "j_1_0": True}, last_heartbeat=NOW)
    assert reg.register(registry, again, Effects()) == ["j_0_0", "j_1_0"]
    assert again.current_work == {"j_0_0": True}
    assert again.status == ClientStatus.BUSY


def test_suspending_a_client_tells_its_worker_to_discard_its_work() -> None:
    registry, client = registered("j_0_0")
    assert reg.suspend(client, "test", Effects()) == ["j_0_0"]
    assert client.pending_discard == ["j_0_0"]
    with pytest.raises(AweError, match="Client not active"):
        reg.suspend(client, "again", Effects())
    reg.resume(client, Effects())
    with pytest.raises(AweError, match="Client not suspended"):
        reg.resume(client, Effects())


def test_the_sweep_finds_silent_clients() -> None:
    registry, client = registered()
    assert reg.lost(registry, LATER, timeout_s=40) == [client]
    assert reg.lost(registry, NOW, timeout_s=40) == []


def _fail(registry: reg.Registry, n: int, max_failures: int = 5) -> bool:
    wuid = f"j_{n}_0"
    reg.granted(registry, "c1", wuid, counted=True, fx=Effects())
    return end(registry, wuid, "fail", max_failures)


def test_consecutive_failures_suspend_at_the_limit() -> None:
    registry, _ = registered()
    assert [_fail(registry, n) for n in range(5)] == [False, False, False, False, True]


def test_done_resets_the_consecutive_count() -> None:
    registry, _ = registered()
    assert [_fail(registry, n) for n in range(4)] == [False] * 4
    reg.granted(registry, "c1", "j_9_0", counted=True, fx=Effects())
    end(registry, "j_9_0", "done")
    assert [_fail(registry, n) for n in range(10, 14)] == [False] * 4
    assert _fail(registry, 14) is True


def test_the_limit_triggers_again_after_a_resume_without_success() -> None:
    # AWE compared with ==: after a resume the counter is past the limit and never equal again
    registry, client = registered()
    assert [_fail(registry, n) for n in range(5)][-1] is True
    client.status = ClientStatus.SUSPEND
    assert _fail(registry, 5) is False  # a suspended client is not suspended twice
    client.status = ClientStatus.IDLE  # resumed, counter untouched
    assert _fail(registry, 6) is True
    assert client.consecutive_failures == 7


def test_a_zero_limit_never_suspends() -> None:
    registry, _ = registered()
    assert not any(_fail(registry, n, max_failures=0) for n in range(20))
