"""Job records: the changed mark a snapshot relies on to write only what changed."""

from awe.model.job import WorkState, Workunit


def test_a_workunit_is_marked_changed_by_any_assignment_and_cleared_by_the_writer() -> None:
    unit = Workunit.from_doc({"rank": 2, "state": "queued"})
    assert unit.changed  # new to whoever holds it: not yet written
    unit.changed = False
    unit.failed = unit.failed  # even the same value: a cheap, safe over-approximation
    assert unit.changed
    unit.changed = False
    unit.state = WorkState.CHECKOUT
    assert unit.changed and unit.state == "checkout"
    assert "changed" not in unit.to_doc()
