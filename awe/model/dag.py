"""The task graph: cycles, ancestors and descendants over `dependsOn` edges."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def find_cycle(parents: Mapping[str, Iterable[str]]) -> list[str] | None:
    """Return one cycle (as a list of nodes, first repeated last) or None."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(parents, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        stack.append(node)
        for parent in parents.get(node, ()):
            if colour.get(parent, black) == grey:
                return stack[stack.index(parent) :] + [parent]
            if colour.get(parent) == white:
                found = visit(parent)
                if found:
                    return found
        stack.pop()
        colour[node] = black
        return None

    for node in parents:
        if colour[node] == white:
            found = visit(node)
            if found:
                return found
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
