"""The composition root: settings → database → Redis → payment provider → policies, and the wiring.

The app factory (`api.create_app`), the background worker (`worker.tasks`) and, through the app,
the command line and the benchmarks all start the service here, so each process runs on the same
wiring, and the worker needs no Flask app to find its payment provider.

The wiring is what no context may do for itself without an import cycle: the handlers of an order
fulfilled or refunded (`services.kernel.order_effects`), and the audit checks other contexts add to
the pool audit (`services.pool.pool_audit.register_check`), among them the ledger's, which the pool
cannot import since it writes the ledger.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy.orm import Session

from config import load_settings
from models import database
from payments.gateway import build_provider
from payments.interface import PaymentProvider
from services.accounts import content_check, phone_numbers, tokens
from services.accounts.content_check import ContentCheckSettings
from services.certificates import certificate_frame, certificates, pdf_font, share_code
from services.certificates.share_code import ShareCodeSettings
from services.forestry import adoption_effects, forestry_audit
from services.kernel import order_effects, redis_store
from services.kernel.order_effects import Fulfilled, Refunded
from services.ledger import keys as ledger_keys
from services.ledger import ledger_audit, recording
from services.neutralisation import events
from services.notifications import message_settings
from services.notifications.message_settings import SubscribeSettings
from services.points import points_hooks, rankings
from services.points.tiers import TierPolicy
from services.pool import pool_audit
from services.reductions import proceeds, reduction_audit, reduction_policy
from services.reductions.reduction_policy import ReductionPolicy
from services.registry import payout_audit, retirement_audit
from services.reporting import sales_rollups
from services.sales import order_audit
from services.sales.order_policy import OrderPolicy

# In the order they run, inside the unit of work that fulfils or refunds the order.
ORDER_EFFECTS = (
    (Fulfilled, "certificate", certificates.on_order_fulfilled),
    # Before "points": it takes every contributor's and the buyer's points lock in one order.
    (Fulfilled, "reduction proceeds", proceeds.on_order_fulfilled),
    (Fulfilled, "points", points_hooks.on_order_fulfilled),
    (Fulfilled, "event offset", events.on_order_fulfilled),
    (Fulfilled, "rankings", rankings.on_order_fulfilled),
    (Fulfilled, "adoption", adoption_effects.on_order_fulfilled),
    # One append-only delta row per fact (no shared row: buyers never wait on one another).
    (Fulfilled, "sales rollups", sales_rollups.on_order_fulfilled),
    # Last: what the certificate handler did goes into the public ledger (written at the commit).
    (Fulfilled, "ledger", recording.on_order_fulfilled),
    (Refunded, "certificate", certificates.on_order_refunded),
    (Refunded, "reduction proceeds", proceeds.on_order_refunded),
    (Refunded, "points", points_hooks.on_order_refunded),
    (Refunded, "event offset", events.on_order_refunded),
    (Refunded, "rankings", rankings.on_order_refunded),
    (Refunded, "adoption", adoption_effects.on_order_refunded),
    (Refunded, "sales rollups", sales_rollups.on_order_refunded),
    (Refunded, "ledger", recording.on_order_refunded),
)
# Modules whose `register_check` calls add their checks to every pool audit run.
AUDIT_CHECKS = (order_audit, payout_audit, retirement_audit, reduction_audit, forestry_audit)


@pool_audit.register_check
def ledger_agrees_with_the_pool(session: Session) -> Iterator[pool_audit.Violation]:
    """The ledger's check (`services.ledger.ledger_audit`), as pool audit violations."""
    for rule, subject, message in ledger_audit.check(session):
        yield pool_audit.Violation(rule, subject, message)


@dataclass(frozen=True)
class Runtime:
    """What a process of the service runs on, once `start` has connected it."""

    settings: Mapping[str, Any]
    redis: redis.Redis
    payment_provider: PaymentProvider
    order_policy: OrderPolicy
    tier_policy: TierPolicy


def wire() -> None:
    """Register the order effects (the audit checks registered themselves when imported above)."""
    for fact, name, handler in ORDER_EFFECTS:
        order_effects.on(fact, name, handler)


def start(profile: str | None = None, overrides: Mapping[str, Any] | None = None) -> Runtime:
    """Read the settings of `profile` (default: $CARBON_PROFILE) and connect this process to its stores."""
    settings = load_settings(profile, overrides=dict(overrides or {}))
    wire()
    database.configure(settings["DATABASE_URL"], settings["DATABASE_POOL_SIZE"])
    client = redis_store.configure(settings)
    tokens.configure_local_cache(settings["PRINCIPAL_LOCAL_CACHE_S"] if settings["REDIS_URL"] else 0)
    pdf_font.configure(settings["CERTIFICATE_FONT_PATH"])
    certificate_frame.configure(settings["CERTIFICATE_ISSUER_NAME"], settings["CERTIFICATE_SEAL_PATH"])
    share_code.configure(ShareCodeSettings.from_config(settings))
    message_settings.configure(SubscribeSettings.from_config(settings))
    content_check.configure(ContentCheckSettings.from_config(settings))
    phone_numbers.configure(settings["PHONE_ENCRYPTION_KEY"], settings["SECRET_KEY"])
    reduction_policy.configure(ReductionPolicy.from_settings(settings))
    ledger_keys.configure(
        settings["LEDGER_SIGNING_KEY"], settings["LEDGER_HOLDER_KEY"], settings["SECRET_KEY"]
    )
    return Runtime(
        settings=settings,
        redis=client,
        payment_provider=build_provider(settings),
        order_policy=OrderPolicy.from_settings(settings),
        tier_policy=TierPolicy.from_settings(settings),
    )
