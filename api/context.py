"""Per-app objects the views hand to services: the payment provider, the order and tier policies."""

from __future__ import annotations

from flask import Flask, current_app

from payments.gateway import build_provider
from payments.interface import PaymentProvider
from services.points.tiers import TierPolicy
from services.sales.order_policy import OrderPolicy


def init_app(app: Flask) -> None:
    app.extensions["carbon.order_policy"] = OrderPolicy.from_settings(app.config)
    app.extensions["carbon.payment_provider"] = build_provider(app.config)
    app.extensions["carbon.tier_policy"] = TierPolicy.from_settings(app.config)


def order_policy() -> OrderPolicy:
    return current_app.extensions["carbon.order_policy"]


def payment_provider() -> PaymentProvider:
    return current_app.extensions["carbon.payment_provider"]


def tier_policy() -> TierPolicy:
    return current_app.extensions["carbon.tier_policy"]
