"""What an order charges: the one price rule that orders, purchase quotes and the catalogue share.

Every product is sold at `price_fen_per_unit` fen for `unit_g` grams, and an order of `grams`
charges `ceil(grams × price_fen_per_unit / unit_g)` fen (never below the price):
- **one-yuan carbon sink** is a fixed price whatever the project: `ONE_YUAN_UNIT_PRICE_FEN` (¥1)
  for each unit of `ONE_YUAN_UNIT_G` grams (10 kg), sold in whole units, from any project of the
  kinds in `ONE_YUAN_KINDS`;
- **credits** of one project are sold by the gram (1 kg at least) at the project's price per
  tonne (or its kind's), the amount rounded up to the fen; a project without a price has none.
"""

from __future__ import annotations

from dataclasses import dataclass

from models import GRAMS_PER_TONNE, Project
from services.sales.order_policy import OrderPolicy

ONE_YUAN = "one_yuan"
CREDITS = "credits"
MIN_CREDITS_G = 1_000


@dataclass(frozen=True)
class Offer:
    """A product as it is sold: the price of one unit and the grams in it."""

    product: str
    unit_g: int
    price_fen_per_unit: int

    def charge_fen(self, grams: int) -> int:
        """What an order of `grams` of this product charges, in fen."""
        return -(-grams * self.price_fen_per_unit // self.unit_g)

    @property
    def price_fen_per_t(self) -> int:
        """The price per tonne an order line records (whole fen)."""
        return self.price_fen_per_unit * GRAMS_PER_TONNE // self.unit_g


def one_yuan(policy: OrderPolicy) -> Offer:
    """The one-yuan carbon sink: a fixed price per unit, whichever project the grams come from."""
    return Offer(ONE_YUAN, policy.unit_g, policy.unit_price_fen)


def credits(price_fen_per_t: int) -> Offer | None:
    """Credits of a project at `price_fen_per_t`; None when it has no price (not for sale)."""
    if price_fen_per_t <= 0:
        return None
    return Offer(CREDITS, GRAMS_PER_TONNE, price_fen_per_t)


def sells_one_yuan(kind_code: str, policy: OrderPolicy) -> bool:
    return kind_code in policy.one_yuan_kinds


def offers(project: Project, policy: OrderPolicy) -> list[Offer]:
    """Every product an order can buy from `project`, priced exactly as that order charges."""
    found = [one_yuan(policy)] if sells_one_yuan(project.kind_code, policy) else []
    credit_offer = credits(project.effective_price_fen_per_t)
    return [*found, credit_offer] if credit_offer is not None else found
