"""Issue 10: every right of the table × eight kinds of caller, against one real server process.

The expected answer of each cell comes from the rights table (`awe.model.rightsgrid`), the same
one the README shows; the server must give exactly that answer, and a right that acts only on
the caller's own jobs or only for the lease holder must leave everything else as it was.
"""

from __future__ import annotations

import time

from awe.model.rights import RIGHTS
from awe.model.rightsgrid import IDENTITIES, cell, expected
from tests.e2e.matrix_world import World


def test_every_cell_of_the_access_matrix(tmp_path) -> None:
    world = World(tmp_path)
    try:
        started = time.monotonic()
        unexpected, cells = [], 0
        for right in RIGHTS:
            for identity in IDENTITIES:
                want = cell(expected(right, identity))
                try:
                    got = world.exercise(right, identity)
                except Exception as err:  # noqa: BLE001 - one cell's failure, listed with all
                    got = f"{type(err).__name__}: {err}"
                cells += 1
                if got != want:
                    unexpected.append(f"{right.method} {right.route} {right.op} as "
                                      f"{identity.name}: expected {want!r}, got {got!r}")  # fmt: skip
        print(f"access matrix: {cells} cells, {len(unexpected)} unexpected, "
              f"{time.monotonic() - started:.1f} s")  # fmt: skip
        assert cells == len(RIGHTS) * len(IDENTITIES) >= 240
        assert unexpected == [], "\n".join(unexpected)
    finally:
        world.stop()
