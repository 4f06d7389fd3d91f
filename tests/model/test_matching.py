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
    assert index.remove("a_0_0") is True
    assert index.remove("a_0_0") is False
    assert drain(index, client()) == ["b_0_0"]


def test_remove_job_takes_all_its_workunits() -> None:
    index = index_of(
        entry("j1_0_1", job_id="j1"), entry("j1_0_2", job_id="j1"), entry("j2_0_0", job_id="j2")
    )
    assert index.job_count("j1") == 2
    assert index.remove_job("j1") == 2
    assert index.job_count("j1") == 0
    assert index.remove_job("j1") == 0
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
    index.add(same)
    assert drain(index, client()) == ["a_0_0"]
    index.add(same)
    assert drain(index, client()) == ["a_0_0"]
    assert len(index) == 0


def test_wuids_lists_the_ready_ones() -> None:
    index = index_of(entry("a_0_0"), entry("b_0_0"))
    index.add(entry("a_0_0", priority=3))
    index.remove("b_0_0")
    assert list(index.wuids()) == ["a_0_0"]


# ---- a task's ranks as runs ------------------------------------------------------------------


def ranks(task: str, runs: tuple[tuple[int, int], ...], priority: int = 1,
          submittime: str = "2024-01-01", clientgroups: str = "", size: int = 0) -> ReadyEntry:  # fmt: skip
    return ReadyEntry(wuid="", job_id=task.split("_")[0], priority=priority,
                      submittime=submittime, clientgroups=clientgroups, cmd_name="run",
                      size=size, runs=runs, task_id=task)  # fmt: skip


def test_a_task_of_many_ranks_is_one_run_and_hands_them_out_in_order() -> None:
    index = index_of(ranks("j_t", ((1, 100_000),)))
    assert len(index) == 100_000
    assert len(index._tasks["j_t"]) == 1  # noqa: SLF001 - one run, not 100,000 entries
    assert [index.pick(client()).wuid for _ in range(3)] == ["j_t_1", "j_t_2", "j_t_3"]  # type: ignore[union-attr]
    assert len(index) == 99_997


def test_taking_a_rank_from_the_middle_splits_the_run_and_keeps_the_order() -> None:
    index = index_of(ranks("j_t", ((1, 5),)))
    assert index.remove("j_t_3") and "j_t_3" not in index and "j_t_4" in index
    assert drain(index, client()) == ["j_t_1", "j_t_2", "j_t_4", "j_t_5"]


def test_a_released_rank_goes_behind_the_ranks_offered_before_it() -> None:
    index = index_of(ranks("j_t", ((1, 3),)), ranks("j_u", ((1, 2),)))
    first = index.pick(client())
    assert first is not None and first.wuid == "j_t_1"
    index.add(entry("j_t_1", job_id="j"))  # handed back: offered again, last
    assert drain(index, client()) == ["j_t_2", "j_t_3", "j_u_1", "j_u_2", "j_t_1"]


def test_a_skipped_head_rank_gives_the_next_rank_of_the_same_run() -> None:
    index = index_of(ranks("j_t", ((1, 3),)), ranks("k_t", ((1, 1),), submittime="2024-01-02"))
    assert drain(index, client(skip=("j_t_1", "j_t_2"))) == ["j_t_3", "k_t_1"]
    assert drain(index, client()) == ["j_t_1", "j_t_2"]


def test_a_job_of_one_ready_task_holds_no_list_and_its_tasks_come_and_go() -> None:
    index = index_of(entry("j1_0_1", job_id="j1"))
    assert index._by_job == {"j1": "j1_0"}  # the task id itself, no list of it
    index.add(entry("j1_1_1", job_id="j1"))
    index.add(entry("j1_2_1", job_id="j1"))
    assert index._by_job == {"j1": ["j1_0", "j1_1", "j1_2"]}
    assert index.remove_task("j1_1") == 1 and index.job_count("j1") == 2
    assert index.remove("j1_0_1") and index.remove("j1_2_1")
    assert index._by_job == {} and index.job_count("j1") == 0
    index.add(entry("j1_3_1", job_id="j1"))
    assert index.remove_job("j1") == 1 and index._by_job == {}


def test_remove_task_takes_every_run_of_it() -> None:
    index = index_of(ranks("j_t", ((1, 3), (7, 9))), ranks("j_u", ((0, 0),)))
    assert index.remove_task("j_t") == 6
    assert drain(index, client()) == ["j_u_0"]


def test_a_class_nobody_serves_does_not_keep_stale_heap_slots() -> None:
    index = ReadyIndex()
    for i in range(1000):
        index.add(ReadyEntry(f"j{i}_0_0", f"j{i}", 1, "t", "gpu", "train", 0))
        index.remove_job(f"j{i}")
    assert len(index) == 0
    assert index._classes == {}  # noqa: SLF001 - the leak this pins down is internal


# ---- property: the same picks as one entry per workunit ------------------------------------

GROUPS = ["", "g1", "g2", "g1,g2", "g3"]
CMDS = ["a", "b", "c"]
TASKS = [f"j{j}_t{t}" for j in range(3) for t in range(2)]
RANKS = 6


@st.composite
def offers(draw: st.DrawFn) -> ReadyEntry:
    task = draw(st.sampled_from(TASKS))
    chosen = sorted(draw(st.sets(st.integers(0, RANKS - 1), min_size=1)))
    runs: list[tuple[int, int]] = []
    for rank in chosen:  # consecutive ranks as runs, in ascending order as the job offers them
        if runs and runs[-1][1] == rank - 1:
            runs[-1] = (runs[-1][0], rank)
        else:
            runs.append((rank, rank))
    return ReadyEntry(
        wuid="", job_id=task.split("_")[0], priority=draw(st.integers(1, 3)),
        submittime=f"2024-01-0{draw(st.integers(1, 3))}", clientgroups=draw(st.sampled_from(GROUPS)),
        cmd_name=draw(st.sampled_from(CMDS)), size=draw(st.sampled_from([0, 5, 10, 20])),
        runs=tuple(runs), task_id=task,
    )  # fmt: skip


WUIDS = [f"{t}_{r}" for t in TASKS for r in range(RANKS)]
clients_st = st.builds(
    lambda group, apps, skip: ClientView("c", group, frozenset(apps), frozenset(skip)),
    st.sampled_from(["g1", "g2", "g3", "g4"]),
    st.lists(st.sampled_from([*CMDS, "*"]), max_size=3),
    st.lists(st.sampled_from(WUIDS), max_size=4),
)
steps_st = st.lists(
    st.one_of(
        st.tuples(st.just("add"), offers()),
        st.tuples(st.just("remove"), st.sampled_from(WUIDS)),
        st.tuples(st.just("remove_task"), st.sampled_from(TASKS)),
        st.tuples(st.just("remove_job"), st.sampled_from(["j0", "j1", "j2"])),
        st.tuples(st.just("pick"), clients_st, st.sampled_from([None, -1, 0, 6, 11, 21])),
    ),
    max_size=50,
)


class OneEntryPerWorkunit:
    """The reference: every ready workunit its own entry, numbered as it is offered (what the
    index held before ranks were kept as runs), and a pick scans them all."""

    def __init__(self) -> None:
        self.live: dict[str, tuple[ReadyEntry, int]] = {}
        self.seq = 0

    def add(self, offer: ReadyEntry) -> None:
        for first, last in offer.runs:
            for rank in range(first, last + 1):
                self.live[f"{offer.task_id}_{rank}"] = (offer, self.seq)
                self.seq += 1

    def pick(self, who: ClientView, available: int | None) -> str | None:
        def eligible(wuid: str, item: ReadyEntry) -> bool:
            fits = available is None or available < 0 or item.size == 0 or item.size < available
            return (
                who.serves(item.clientgroups, item.cmd_name) and fits and wuid not in who.skip_work
            )

        ready = [
            (-e.priority, e.submittime, seq, w)
            for w, (e, seq) in self.live.items()
            if eligible(w, e)
        ]
        if not ready:
            return None
        wuid = min(ready)[3]
        del self.live[wuid]
        return wuid


@given(steps_st)
@settings(max_examples=400, deadline=None)
def test_every_rank_is_handed_out_once_in_the_order_of_one_entry_per_workunit(
    steps: list[tuple[Any, ...]],
) -> None:
    index, reference = ReadyIndex(), OneEntryPerWorkunit()
    handed_out: list[str] = []
    for step in steps:
        if step[0] == "add":
            index.add(step[1])
            reference.add(step[1])
        elif step[0] == "remove":
            assert index.remove(step[1]) == (reference.live.pop(step[1], None) is not None)
        elif step[0] == "remove_task":
            gone = [w for w in reference.live if w.rpartition("_")[0] == step[1]]
            assert index.remove_task(step[1]) == len(gone)
            for wuid in gone:
                del reference.live[wuid]
        elif step[0] == "remove_job":
            gone = [w for w in reference.live if w.split("_")[0] == step[1]]
            assert index.remove_job(step[1]) == len(gone)
            for wuid in gone:
                del reference.live[wuid]
        else:
            _, who, available = step
            expected = reference.pick(who, available)
            found = index.pick(who, available)
            assert (found.wuid if found else None) == expected
            if found is not None:
                assert found.job_id == found.wuid.split("_")[0]
                handed_out.append(found.wuid)
        assert len(index) == len(reference.live)
        assert sorted(index.wuids()) == sorted(reference.live)
        assert all(w not in index for w in handed_out if w not in reference.live)
