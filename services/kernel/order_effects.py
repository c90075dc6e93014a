"""What other contexts do when an order is fulfilled or refunded: a table of handlers.

Settlement fulfils and refunds orders; issuing or fixing the certificate, awarding or reversing
points, moving an event to `offset` and posting to the rankings belong to other contexts. Each of
them registers a handler for the fact (`Fulfilled`, `Refunded`) with `on`; the composition root
(`bootstrap`) does the wiring, so settlement imports none of them.

A handler runs inside the unit of work that records the fact, so its writes commit or roll back
with the order. What must wait for the commit (an increment of a Redis board) it returns as a
callable; `announce_in` collects those into an `AfterCommit`, which the caller runs once the
transaction has committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from models import Order, Refund


@dataclass(frozen=True)
class Fulfilled:
    """An order's grams are sold to its buyer (inside the fulfilling unit of work)."""

    order: Order
    policy: Any  # the sales context's OrderPolicy


@dataclass(frozen=True)
class Refunded:
    """A refund of `order` went back to the buyer; `full` when nothing of the order is left."""

    order: Order
    refund: Refund
    policy: Any
    full: bool


Fact = Fulfilled | Refunded
Handler = Callable[[Session, Any], Callable[[], None] | None]


@dataclass
class AfterCommit:
    """What handlers left to do once the transaction has committed."""

    steps: list[Callable[[], None]] = field(default_factory=list)

    def run(self) -> None:
        for step in self.steps:
            step()


_handlers: dict[type, list[tuple[str, Handler]]] = {Fulfilled: [], Refunded: []}


def on(fact: type, name: str, handler: Handler) -> None:
    """Register `handler` for `fact` under `name` (registering a name again replaces it, in place)."""
    table = _handlers[fact]
    for index, (known, _) in enumerate(table):
        if known == name:
            table[index] = (name, handler)
            return
    table.append((name, handler))


def handlers(fact: type) -> list[str]:
    """The names of the handlers of `fact`, in the order they run."""
    return [name for name, _ in _handlers[fact]]


def announce_in(session: Session, fact: Fact) -> AfterCommit:
    """Run every handler of `fact` inside `session`; what they left for after the commit."""
    table = _handlers[type(fact)]
    if not table:
        raise RuntimeError("No order effects are wired; start the service through bootstrap.start().")
    after = AfterCommit()
    for _name, handler in table:
        if (step := handler(session, fact)) is not None:
            after.steps.append(step)
    return after
