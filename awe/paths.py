"""The one check every path built from a job goes through: it must stay inside its root.

Datastore folders, work dirs, input and output names all come from job scripts, which are
user input. `inside` resolves the joined path (symlinks included) and refuses anything that
ends up outside the root, so `..`, absolute parts and links cannot reach another job's files
or the server's own.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


class PathEscape(ValueError):
    """A path built from input would leave its root."""


def inside(root: str | os.PathLike[str], *parts: str) -> Path:
    """`root/parts...`, resolved; raises PathEscape unless it is `root` or below it."""
    base = Path(root).resolve()
    for part in parts:
        if not isinstance(part, str) or "\x00" in part:
            raise PathEscape(f"invalid path component: {part!r}")
    target = base.joinpath(*parts).resolve()
    if target != base and base not in target.parents:
        raise PathEscape(f"{'/'.join(parts)!r} leaves {base}")
    return target


def within(path: str | os.PathLike[str], roots: Iterable[str | os.PathLike[str]]) -> Path:
    """`path` resolved, if it lies in one of `roots`; raises PathEscape naming the path otherwise."""
    target = Path(path).resolve()
    for root in roots:
        base = Path(root).resolve()
        if target == base or base in target.parents:
            return target
    raise PathEscape(f"{path} is outside the allowed roots")
