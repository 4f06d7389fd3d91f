"""Which ready workunit a client gets (spec 5.3): order, groups, apps, skips, size."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from awe.model.matching import ClientView, ReadyEntry, ReadyIndex


def entry(wuid: str, priority: int = 1, submittime: str = "2024-01-01", clientgroups: str = "",
          cmd_name: str = "run", size: int = 0, job_id: str | None = None) -> ReadyEntry:  # fmt: skip
    return ReadyEntry(
        wuid=wuid,
        job_id=job_id or wuid.split("_")[0],
        priority=priority,
        submittime=submittime,
        clientgroups=clientgroups,
        cmd_name=cmd_name,
        size=size,
    )


def client(group: str = "default", apps: tuple[str, ...] = ("*",), skip: tuple[str, ...] = ()
           ) -> ClientView:  # fmt: skip
    return ClientView("c1", group, frozenset(apps), frozenset(skip))


def index_of(*entries: ReadyEntry) -> ReadyIndex:
    index = ReadyIndex()
    for item in entries:
        index.add(item)
    return index


def drain(index: ReadyIndex, who: ClientView, available: int | None = None) -> list[str]:
    picked = []
    while (found := index.pick(who, available)) is not None:
        picked.append(found.wuid)
    return picked


# ---- order -------------------------------------------------------------------------------------


def test_higher_priority_first_then_earlier_submission() -> None:
    index = index_of(
        entry("late_0_0", priority=1, submittime="2024-01-03"),
        entry("early_0_0", priority=1, submittime="2024-01-01"),
        entry("urgent_0_0", priority=5, submittime="2024-01-09"),
        entry("mid_0_0", priority=3, submittime="2024-01-05"),
    )
    assert drain(index, client()) == ["urgent_0_0", "mid_0_0", "early_0_0", "late_0_0"]
    assert len(index) == 0


def test_order_holds_across_commands_and_groups() -> None:
    index = index_of(
        entry("a_0_0", priority=1, cmd_name="x"),
        entry("b_0_0", priority=2, cmd_name="y", clientgroups="default"),
        entry(
            "c_0_0", priority=1, submittime="2023-12-31", cmd_name="z", clientgroups="g1,default"
        ),
    )
    assert drain(index, client()) == ["b_0_0", "c_0_0", "a_0_0"]


def test_pick_removes_what_it_returns() -> None:
    index = index_of(entry("a_0_0"))
    found = index.pick(client())
    assert found is not None and found.wuid == "a_0_0"
    assert "a_0_0" not in index
    assert index.pick(client()) is None


# ---- clientgroups ------------------------------------------------------------------------------


def test_empty_clientgroups_means_any_group() -> None:
    assert index_of(entry("a_0_0")).pick(client(group="anything")) is not None


def test_clientgroups_is_a_comma_list_of_exact_names() -> None:
    index = index_of(entry("a_0_0", clientgroups="bigmem,default"))
    assert index.pick(client(group="big")) is None
    assert index.pick(client(group="bigmem2")) is None
    assert index.pick(client(group="Default")) is None
    found = index.pick(client(group="default"))
    assert found is not None and found.wuid == "a_0_0"


def test_clientgroup_names_are_not_trimmed() -> None:
    index = index_of(entry("a_0_0", clientgroups="bigmem, default"))
    assert index.pick(client(group="default")) is None
    assert index.pick(client(group=" default")) is not None


def test_a_client_passes_over_work_of_other_groups_to_reach_its_own() -> None:
    index = index_of(
        entry("other_0_0", priority=9, clientgroups="gpu"),
        entry("mine_0_0", priority=1, clientgroups="cpu"),
    )
    assert drain(index, client(group="cpu")) == ["mine_0_0"]
    assert "other_0_0" in index


# ---- apps ------------------------------------------------------------------------------------


def test_apps_must_list_the_command() -> None:
    index = index_of(entry("a_0_0", cmd_name="blast"), entry("b_0_0", cmd_name="bowtie"))
    assert drain(index, client(apps=("bowtie", "sort"))) == ["b_0_0"]
    assert drain(index, client(apps=())) == []
    assert drain(index, client(apps=("blas",))) == []


def test_star_serves_every_command() -> None:
    index = index_of(entry("a_0_0", cmd_name="blast"), entry("b_0_0", cmd_name="bowtie"))
    assert sorted(drain(index, client(apps=("*",)))) == ["a_0_0", "b_0_0"]


# ---- skip_work and size ------------------------------------------------------------------------


def test_skip_work_is_never_offered_to_that_client() -> None:
    index = index_of(entry("a_0_0", priority=5), entry("b_0_0", priority=1))
    assert drain(index, client(skip=("a_0_0",))) == ["b_0_0"]
    found = index.pick(client())
    assert found is not None and found.wuid == "a_0_0"


def test_size_must_be_less_than_available() -> None:
    index = index_of(entry("big_0_0", priority=5, size=100), entry("small_0_0", size=99))
    assert index.pick(client(), available=99) is None
    found = index.pick(client(), available=100)
    assert found is not None and found.wuid == "small_0_0"
    assert index.pick(client(), available=100) is None  # 100 < 100 is false
    found = index.pick(client(), available=101)
    assert found is not None and found.wuid == "big_0_0"


def test_no_or_negative_available_means_no_size_limit() -> None:
    index = index_of(entry("a_0_0", size=10**12), entry("b_0_0", size=10**12))
    assert index.pick(client()) is not None
    assert index.pick(client(), available=-1) is not None


def test_work_of_unknown_size_always_fits() -> None:
    index = index_of(entry("a_0_0", size=0))
    assert index.pick(client(), available=0) is not None


def test_passed_over_entries_stay_for_others() -> None:
    index = index_of(entry("a_0_0", size=50), entry("b_0_0", size=5))
    assert drain(index, client(), available=10) == ["b_0_0"]
    assert drain(index, client()) == ["a_0_0"]


# ---- remove, remove_job, replace ------------------------------------------------------------


def test_removed_entries_are_not_picked() -> None:
    index = index_of(entry("a_0_0", priority=9), entry("b_0_0"))
    removed = index.remove("a_0_0")
    assert removed is not None and removed.wuid == "a_0_0"
    assert index.remove("a_0_0") is None
    assert drain(index, client()) == ["b_0_0"]


def test_remove_job_takes_all_its_workunits() -> None:
    index = index_of(
        entry("j1_0_1", job_id="j1"), entry("j1_0_2", job_id="j1"), entry("j2_0_0", job_id="j2")
    )
    assert index.job_count("j1") == 2
    assert sorted(index.remove_job("j1")) == ["j1_0_1", "j1_0_2"]
    assert index.job_count("j1") == 0
    assert index.remove_job("j1") == []
    assert drain(index, client()) == ["j2_0_0"]
    assert index.job_count("j2") == 0


def test_re_adding_replaces_and_the_old_slot_is_skipped() -> None:
    index = index_of(entry("a_0_0", priority=9), entry("b_0_0", priority=5))
    index.add(entry("a_0_0", priority=1))  # priority lowered: the old heap slot is stale
    assert len(index) == 2
    assert drain(index, client()) == ["b_0_0", "a_0_0"]


def test_re_adding_into_another_group_moves_it() -> None:
    index = index_of(entry("a_0_0", clientgroups="gpu"))
    index.add(entry("a_0_0", clientgroups="cpu"))
    assert index.pick(client(group="gpu")) is None
    found = index.pick(client(group="cpu"))
    assert found is not None and found.wuid == "a_0_0"
    assert index.pick(client(group="cpu")) is None


def test_remove_then_add_again_offers_it_once() -> None:
    same = entry("a_0_0")
    index = index_of(same)
    index.remove("a_0_0")
    index.add(same)  # the same object again: two heap slots point at one live entry
    assert drain(index, client()) == ["a_0_0"]
    index.add(same)
    assert drain(index, client()) == ["a_0_0"]
    assert len(index) == 0


def test_entries_lists_the_live_ones() -> None:
    index = index_of(entry("a_0_0"), entry("b_0_0"))
    index.add(entry("a_0_0", priority=3))
    index.remove("b_0_0")
    assert [(e.wuid, e.priority) for e in index.entries()] == [("a_0_0", 3)]


# ---- property: pick agrees with a brute-force scan -------------------------------------------

GROUPS = ["", "g1", "g2", "g1,g2", "g3"]
CMDS = ["a", "b", "c"]
WUIDS = [f"j{j}_t_{r}" for j in range(4) for r in range(3)]

entries_st = st.builds(
    lambda wuid, priority, day, groups, cmd, size: entry(
        wuid,
        priority=priority,
        submittime=f"2024-01-0{day}",
        clientgroups=groups,
        cmd_name=cmd,
        size=size,
    ),  # fmt: skip
    st.sampled_from(WUIDS),
    st.integers(1, 3),
    st.integers(1, 3),
    st.sampled_from(GROUPS),
    st.sampled_from(CMDS),
    st.sampled_from([0, 5, 10, 20]),
)
clients_st = st.builds(
    lambda group, apps, skip: ClientView("c", group, frozenset(apps), frozenset(skip)),
    st.sampled_from(["g1", "g2", "g3", "g4"]),
    st.lists(st.sampled_from([*CMDS, "*"]), max_size=3),
    st.lists(st.sampled_from(WUIDS), max_size=4),
)
steps_st = st.lists(
    st.one_of(
        st.tuples(st.just("add"), entries_st),
        st.tuples(st.just("remove"), st.sampled_from(WUIDS)),
        st.tuples(st.just("pick"), clients_st, st.sampled_from([None, -1, 0, 6, 11, 21])),
    ),
    max_size=40,
)


def _eligible(item: ReadyEntry, who: ClientView, available: int | None) -> bool:
    group_ok = not item.clientgroups or who.group in item.clientgroups.split(",")
    app_ok = "*" in who.apps or item.cmd_name in who.apps
    fits = available is None or available < 0 or item.size == 0 or item.size < available
    return group_ok and app_ok and fits and item.wuid not in who.skip_work


@given(steps_st)
@settings(max_examples=300, deadline=None)
def test_pick_agrees_with_a_brute_force_scan(steps: list[tuple[Any, ...]]) -> None:
    index = ReadyIndex()
    live: dict[str, ReadyEntry] = {}
    for step in steps:
        if step[0] == "add":
            index.add(step[1])
            live[step[1].wuid] = step[1]
        elif step[0] == "remove":
            assert (index.remove(step[1]) is not None) == (step[1] in live)
            live.pop(step[1], None)
        else:
            _, who, available = step
            candidates = [e for e in live.values() if _eligible(e, who, available)]
            found = index.pick(who, available)
            if not candidates:
                assert found is None
                continue
            assert found is not None
            assert found is live[found.wuid]  # the live entry, never a stale one
            assert _eligible(found, who, available)
            best = min((-e.priority, e.submittime) for e in candidates)
            assert (-found.priority, found.submittime) == best
            del live[found.wuid]
        assert len(index) == len(live)
        assert sorted(e.wuid for e in index.entries()) == sorted(live)


def test_a_class_nobody_serves_does_not_keep_stale_heap_slots() -> None:
    from awe.model.matching import ReadyEntry, ReadyIndex

    index = ReadyIndex()
    for i in range(1000):
        index.add(ReadyEntry(f"j{i}_0_0", f"j{i}", 1, "t", "gpu", "train", 0))
        index.remove_job(f"j{i}")
    assert len(index) == 0
    assert index._classes == {}  # noqa: SLF001 - the leak this pins down is internal
