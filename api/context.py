"""Per-app objects the views hand to services: the payment provider, the order and tier policies.

They are the process's `bootstrap.Runtime`, kept on the app by the factory.
"""

from __future__ import annotations

from flask import Flask, current_app

from bootstrap import Runtime
from payments.interface import PaymentProvider
from services.points.tiers import TierPolicy
from services.sales.order_policy import OrderPolicy

RUNTIME_KEY = "carbon.runtime"


def init_app(app: Flask, runtime: Runtime) -> None:
    app.extensions[RUNTIME_KEY] = runtime


def runtime() -> Runtime:
    return current_app.extensions[RUNTIME_KEY]


def order_policy() -> OrderPolicy:
    return runtime().order_policy


def payment_provider() -> PaymentProvider:
    return runtime().payment_provider


def tier_policy() -> TierPolicy:
    return runtime().tier_policy
