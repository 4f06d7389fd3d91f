"""The task graph: cycles, ancestors and descendants over `dependsOn` edges."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def find_cycle(parents: Mapping[str, Iterable[str]]) -> list[str] | None:
    """Return one cycle (as a list of nodes, first repeated last) or None.

    Depth-first with an explicit stack, so a chain of any length neither recurses nor costs
    more than one visit per node and edge. Parents outside the graph are not followed.
    """
    grey, black = 1, 2
    colour: dict[str, int] = {}
    for root in parents:
        if root in colour:
            continue
        colour[root] = grey
        path = [root]
        pending = [iter(parents[root])]
        while pending:
            for parent in pending[-1]:
                state = colour.get(parent)
                if state == grey:
                    return path[path.index(parent) :] + [parent]
                if state is None and parent in parents:
                    colour[parent] = grey
                    path.append(parent)
                    pending.append(iter(parents[parent]))
                    break
            else:
                colour[path.pop()] = black
                pending.pop()
    return None


def ancestors(parents: Mapping[str, Iterable[str]], node: str) -> set[str]:
    """Every task `node` depends on, directly or through others."""
    seen: set[str] = set()
    todo = list(parents.get(node, ()))
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(parents.get(current, ()))
    return seen


def descendants(parents: Mapping[str, Iterable[str]], node: str) -> set[str]:
    """Every task that depends on `node` along any path (all parents, not only the first)."""
    children: dict[str, list[str]] = {}
    for child, its_parents in parents.items():
        for parent in its_parents:
            children.setdefault(parent, []).append(child)
    seen: set[str] = set()
    todo = list(children.get(node, ()))
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(children.get(current, ()))
    return seen


def parents_first(parents: Mapping[str, Iterable[str]]) -> list[str]:
    """Every node of an acyclic graph, each after all of its parents (Kahn, no recursion)."""
    children: dict[str, list[str]] = {node: [] for node in parents}
    waiting: dict[str, int] = {}
    for node, its_parents in parents.items():
        known = [p for p in its_parents if p in children]
        waiting[node] = len(known)
        for parent in known:
            children[parent].append(node)
    order = [node for node, count in waiting.items() if count == 0]
    for node in order:  # the list grows while it is walked
        for child in children[node]:
            waiting[child] -= 1
            if waiting[child] == 0:
                order.append(child)
    return order


def upstream(parents: Mapping[str, Iterable[str]], pairs: list[tuple[str, str]]) -> list[bool]:
    """For each (node, ancestor) pair: is `ancestor` upstream of `node`? One pass for all pairs.

    Each distinct ancestor asked about gets one bit; walking parents first, a node's mask is
    the union of its parents' masks and bits. That is (nodes + edges) times k/64 machine words
    for k distinct ancestors, instead of one walk per pair (quadratic for a long chain).
    """
    bits = {a: 1 << i for i, a in enumerate(dict.fromkeys(a for _, a in pairs))}
    masks: dict[str, int] = {}
    for node in parents_first(parents):
        mask = 0
        for parent in parents[node]:
            mask |= masks.get(parent, 0) | bits.get(parent, 0)
        masks[node] = mask
    return [bool(masks.get(node, 0) & bits[ancestor]) for node, ancestor in pairs]
