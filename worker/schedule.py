"""Which job runs how often. Both the RQ cron scheduler and the in-process runner read this list."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

QUEUE = "carbon"


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: str  # dotted path of the RQ task in worker.tasks
    interval_s: int


SCHEDULE: tuple[PeriodicJob, ...] = (
    PeriodicJob("expire-orders", "worker.tasks.expire_orders", 60),
    PeriodicJob("sync-orders", "worker.tasks.sync_orders", 120),
    PeriodicJob("finish-refunds", "worker.tasks.finish_refunds", 300),
    PeriodicJob("release-points", "worker.tasks.release_points", 3600),
    PeriodicJob("expire-points", "worker.tasks.expire_points", 86400),
    PeriodicJob("account-deletions", "worker.tasks.carry_out_account_deletions", 3600),
    PeriodicJob("sign-ledger-head", "worker.tasks.sign_ledger_head", 60),
    PeriodicJob("compact-rollups", "worker.tasks.compact_rollups", 60),
    PeriodicJob("recheck-texts", "worker.tasks.recheck_texts", 120),
    PeriodicJob("subscribe-messages", "worker.tasks.send_subscribe_messages", 60),
)


def resolve(task: str) -> Callable[[], Any]:
    module, _, name = task.rpartition(".")
    return getattr(importlib.import_module(module), name)
