"""The order effects: wired by the composition root, run in order, refused when not wired."""

import pytest

import bootstrap
from services.kernel import order_effects
from services.kernel.order_effects import Fulfilled, Refunded


def test_the_composition_root_wires_every_effect_in_order(app):
    expected = [
        "certificate",
        "reduction proceeds",
        "points",
        "event offset",
        "rankings",
        "adoption",
        "sales rollups",
        "ledger",
    ]
    assert order_effects.handlers(Fulfilled) == expected
    assert order_effects.handlers(Refunded) == expected


def test_wiring_twice_keeps_one_handler_each(app):
    bootstrap.wire()
    assert len(order_effects.handlers(Fulfilled)) == len(bootstrap.ORDER_EFFECTS) // 2


def test_an_announcement_runs_handlers_in_order_and_defers_their_after_commit_steps(monkeypatch):
    ran: list[str] = []
    monkeypatch.setattr(order_effects, "_handlers", {Fulfilled: [], Refunded: []})
    order_effects.on(Fulfilled, "first", lambda session, fact: ran.append("first"))
    order_effects.on(Fulfilled, "second", lambda session, fact: lambda: ran.append("after"))

    after = order_effects.announce_in(None, Fulfilled(order=None, policy=None))

    assert ran == ["first"]
    after.run()
    assert ran == ["first", "after"]


def test_an_unwired_process_refuses_to_fulfil(monkeypatch):
    monkeypatch.setattr(order_effects, "_handlers", {Fulfilled: [], Refunded: []})
    with pytest.raises(RuntimeError, match="bootstrap"):
        order_effects.announce_in(None, Fulfilled(order=None, policy=None))
