"""Client cards: what a handler may know of a client without asking the registry."""

from __future__ import annotations

from awe.model import registry as reg
from awe.model.client import ClientStatus, client_from_profile
from awe.model.clientbook import ClientBook, card_of
from awe.model.effects import Effects
from awe.model.times import parse_time

T0 = "2024-05-01T10:00:00.000000Z"


def client(**profile):  # noqa: ANN201, ANN003
    return client_from_profile({"id": "c1", "group": "g", "apps": ["a"], **profile}, T0)


def test_a_card_says_what_a_checkout_and_a_heartbeat_need() -> None:
    card = card_of(client())
    assert card.known == ("g", False) and card.active and not card.instructions
    assert card.view.group == "g" and card.view.apps == frozenset({"a"})


def test_work_to_discard_or_a_deletion_leaves_the_heartbeat_to_the_registry() -> None:
    c = client()
    c.pending_discard.append("j_0_0")
    assert card_of(c).instructions
    c.pending_discard.clear()
    reg.delete(c, Effects())
    assert card_of(c).instructions and card_of(c).status == ClientStatus.DELETED


def test_publish_replaces_a_card_only_when_it_changed() -> None:
    book = ClientBook()
    c = client()
    book.publish(c)
    first = book.cards["c1"]
    book.publish(c)
    assert book.cards["c1"] is first
    c.skip_work.append("j_0_0")
    book.publish(c)
    assert book.cards["c1"].view.skip_work == frozenset({"j_0_0"})


def test_a_client_seen_by_a_handler_is_not_lost() -> None:
    registry = reg.Registry()
    c = client()
    registry.clients["c1"] = c
    late = "2024-05-01T10:01:00.000000Z"
    assert reg.lost(registry, late, 40) == [c]
    seen = {"c1": parse_time("2024-05-01T10:00:50.000000Z").timestamp()}
    assert reg.lost(registry, late, 40, seen) == []
    reg.heard_from(c, seen)
    assert c.last_heartbeat == "2024-05-01T10:00:50.000000Z"


def test_forget_and_prune_drop_what_the_registry_no_longer_has() -> None:
    book = ClientBook()
    book.publish(client())
    book.saw("c1", 1.0)
    book.saw("ghost", 2.0)
    book.prune({"c1": object()})
    assert book.seen == {"c1": 1.0}
    book.forget("c1")
    assert book.cards == {} and book.seen == {}
