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
