"""Per-account back-off for admin password logins, kept in Redis.

The rate limit on the login endpoints counts tries per client address; this counts failed tries per
username, so that guessing one account's password from many addresses is slowed down as well. After
`failures_before_lock` failures the account refuses every try, even with the right password, for
`lock_s` seconds; each further failure doubles that, up to `max_lock_s`. A success clears the count.

Unknown usernames are counted exactly like real ones, so the answers do not tell which exist. Keys
hold a hash of the username, never the username. When Redis cannot be reached the back-off is
skipped (the per-address rate limit still applies) rather than locking every admin out.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from services.kernel.errors import RateLimited
from services.kernel.redis_store import get_redis

log = logging.getLogger(__name__)

KEY_PREFIX = "admin_login:failures:"
# Failures are forgotten this long after the last one (plus any lock still running).
FAILURE_WINDOW_S = 15 * 60
MAX_LOCK_S = 3600
_COUNT, _UNTIL = "count", "until"

# Seconds since the epoch; tests replace it to move past a lock without sleeping.
clock: Callable[[], float] = time.time


@dataclass(frozen=True)
class BackoffPolicy:
    failures_before_lock: int = 5
    lock_s: int = 60
    max_lock_s: int = MAX_LOCK_S

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BackoffPolicy:
        return cls(
            failures_before_lock=int(config["ADMIN_LOGIN_FAILURES_BEFORE_LOCK"]),
            lock_s=int(config["ADMIN_LOGIN_LOCK_S"]),
        )

    def lock_for(self, failures: int) -> int:
        """Seconds to lock the account after its `failures`-th failure (0: not locked yet)."""
        beyond = failures - self.failures_before_lock
        if beyond < 0:
            return 0
        return min(self.lock_s * 2 ** min(beyond, 32), max(self.max_lock_s, self.lock_s))


def failures_key(username: str) -> str:
    """The Redis key counting failures of `username`: a hash prefix, so no free text lands in keys."""
    return KEY_PREFIX + hashlib.sha256(username.encode()).hexdigest()[:32]


def _unavailable(exc: redis.RedisError) -> None:
    # Never the username: the log must not become a list of tried (or mistyped) account names.
    log.warning("admin login back-off skipped: Redis unavailable (%s)", type(exc).__name__)


def _as_float(value: Any) -> float:
    return float(value.decode() if isinstance(value, bytes) else value)


def ensure_not_locked(username: str) -> None:
    """Raise `RateLimited` (with `retry_after`) while `username` is locked after too many failures."""
    try:
        until = get_redis().hget(failures_key(username), _UNTIL)
    except redis.RedisError as exc:
        _unavailable(exc)
        return
    if until is None:
        return
    left = _as_float(until) - clock()
    if left > 0:
        seconds = max(1, math.ceil(left))
        raise RateLimited(
            f"Too many failed logins for this account; try again in {seconds} s.", retry_after=seconds
        )


def record_failure(username: str, policy: BackoffPolicy) -> None:
    """Count a failed try for `username`, and lock the account once it has failed too often."""
    key = failures_key(username)
    try:
        client = get_redis()
        failures, _ = client.pipeline().hincrby(key, _COUNT, 1).expire(key, FAILURE_WINDOW_S).execute()
        lock_s = policy.lock_for(int(failures))
        if lock_s:
            # The count outlives the lock, so that the next failure after it doubles the lock.
            client.pipeline().hset(key, _UNTIL, repr(clock() + lock_s)).expire(
                key, FAILURE_WINDOW_S + lock_s
            ).execute()
    except redis.RedisError as exc:
        _unavailable(exc)


def clear(username: str) -> None:
    """Forget the failures of `username` (after a successful login)."""
    try:
        get_redis().delete(failures_key(username))
    except redis.RedisError as exc:
        _unavailable(exc)
