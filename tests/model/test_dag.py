"""The task graph: cycles, ancestors and descendants along every parent path."""

from __future__ import annotations

from awe.model.dag import ancestors, descendants, find_cycle, parents_first, upstream

# a → b, a → c, (b, c) → d; e stands alone. d's *second* parent is c.
DIAMOND = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "e": []}


def test_a_dag_has_no_cycle() -> None:
    assert find_cycle(DIAMOND) is None
    assert find_cycle({}) is None


def test_a_self_dependency_is_a_cycle() -> None:
    assert find_cycle({"a": [], "b": ["b"]}) == ["b", "b"]


def test_a_found_cycle_starts_and_ends_on_the_same_task_along_real_edges() -> None:
    parents = {**DIAMOND, "a": ["d"]}
    cycle = find_cycle(parents)
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert len(cycle) >= 3
    for child, parent in zip(cycle, cycle[1:], strict=False):
        assert parent in parents[child]


def test_a_cycle_away_from_the_first_task_is_found() -> None:
    parents = {"r": [], "s": ["r"], "x": ["z"], "y": ["x"], "z": ["y"]}
    cycle = find_cycle(parents)
    assert cycle is not None
    assert set(cycle) == {"x", "y", "z"}


def test_a_parent_outside_the_graph_is_not_a_cycle() -> None:
    assert find_cycle({"a": ["ghost"]}) is None


def test_ancestors_follow_every_parent() -> None:
    assert ancestors(DIAMOND, "d") == {"a", "b", "c"}
    assert ancestors(DIAMOND, "b") == {"a"}
    assert ancestors(DIAMOND, "a") == set()
    assert ancestors(DIAMOND, "e") == set()


def test_descendants_follow_every_parent_path() -> None:
    assert descendants(DIAMOND, "a") == {"b", "c", "d"}
    assert descendants(DIAMOND, "b") == {"d"}
    assert descendants(DIAMOND, "c") == {"d"}  # d reached through its second parent
    assert descendants(DIAMOND, "d") == set()
    assert descendants(DIAMOND, "e") == set()


def test_descendants_reach_past_a_fan_in() -> None:
    parents = {**DIAMOND, "f": ["d"], "g": ["f", "e"]}
    assert descendants(parents, "c") == {"d", "f", "g"}
    assert descendants(parents, "e") == {"g"}


def test_a_long_chain_in_either_order_is_walked_without_recursion() -> None:
    count = 100_000
    chain = {f"t{i}": [f"t{i - 1}"] if i else [] for i in range(count)}
    reverse = {f"t{i}": [f"t{i + 1}"] if i < count - 1 else [] for i in range(count)}
    assert find_cycle(chain) is None
    assert find_cycle(reverse) is None
    closed = {**chain, "t0": [f"t{count - 1}"]}
    cycle = find_cycle(closed)
    assert cycle is not None and len(cycle) == count + 1


def test_parents_come_first() -> None:
    order = parents_first(DIAMOND)
    assert sorted(order) == sorted(DIAMOND)
    for node, its_parents in DIAMOND.items():
        assert all(order.index(p) < order.index(node) for p in its_parents)


def test_upstream_answers_every_pair_as_ancestors_would() -> None:
    pairs = [(node, other) for node in DIAMOND for other in DIAMOND]
    expected = [other in ancestors(DIAMOND, node) for node, other in pairs]
    assert upstream(DIAMOND, pairs) == expected


def test_upstream_over_a_long_chain_with_a_question_per_task() -> None:
    count = 20_000
    chain = {f"t{i}": [f"t{i - 1}"] if i else [] for i in range(count)}
    pairs = [(f"t{i}", f"t{i // 2}") for i in range(1, count)]  # far, and all different
    assert all(upstream(chain, pairs))
    assert upstream(chain, [("t5", "t9"), ("t0", "t0")]) == [False, False]
