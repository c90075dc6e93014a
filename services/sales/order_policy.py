"""The settings that shape orders, read once from the service settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from config import listed


@dataclass(frozen=True)
class OrderPolicy:
    unit_g: int = 10_000
    unit_price_fen: int = 100
    max_units: int = 1_000
    one_yuan_kinds: tuple[str, ...] = ("FFCER", "SMCER")
    max_order_g: int = 100_000 * 1_000_000
    reservation_ttl_s: int = 15 * 60
    # What one person's unpaid orders may hold at once (organisation purchases are not counted).
    max_open_orders_per_user: int = 5
    max_reserved_g_per_user: int = 10 * 1_000_000
    # How long after its payment window an expired or cancelled order's trade is still asked about.
    ended_sync_days: int = 7
    refund_window_days: int = 7
    public_base_url: str = "http://127.0.0.1:5000"
    points_per_kg: int = 1
    points_pending_days: int = 7
    points_expiry_days: int = 365
    # Who earns the points of an organisation's purchase: "organisation" (its own account) or "none".
    organisation_points: str = "organisation"

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> OrderPolicy:
        return cls(
            unit_g=settings["ONE_YUAN_UNIT_G"],
            unit_price_fen=settings["ONE_YUAN_UNIT_PRICE_FEN"],
            max_units=settings["ONE_YUAN_MAX_UNITS"],
            one_yuan_kinds=listed(settings["ONE_YUAN_KINDS"]),
            max_order_g=settings["ORDER_MAX_TONNES"] * 1_000_000,
            reservation_ttl_s=settings["RESERVATION_TTL_S"],
            max_open_orders_per_user=settings["MAX_OPEN_ORDERS_PER_USER"],
            max_reserved_g_per_user=settings["MAX_RESERVED_GRAMS_PER_USER"],
            ended_sync_days=settings["ORDER_SYNC_ENDED_DAYS"],
            refund_window_days=settings["REFUND_WINDOW_DAYS"],
            public_base_url=settings["PUBLIC_BASE_URL"].rstrip("/"),
            points_per_kg=settings["POINTS_PER_KG_OFFSET"],
            points_pending_days=settings["POINTS_PENDING_DAYS"],
            points_expiry_days=settings["POINTS_EXPIRY_DAYS"],
            organisation_points=settings["ORGANISATION_POINTS"],
        )
