"""Resolved bearer tokens kept in this process, dropped the moment Redis says a token or a user changed.

Logout, revocation and membership or role changes publish on a channel (`auth:invalidate:<db>`: Redis
channels ignore database numbers); every process listens in a daemon thread and drops what a message names. The cache answers only while it knows that listening
works: the listener pings Redis every `PING_EVERY_S` and the cache serves nothing once it has heard
nothing for `SILENCE_S` (Redis down, a partition, a Sentinel failover); a lost subscription also
empties it at once. An entry a request resolved before an invalidation arrived is refused (the
epoch moved meanwhile), so a stale principal cannot slip back in after its drop.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "auth:invalidate"
PING_EVERY_S = 0.5
SILENCE_S = 2.0
_RETRY_S = 1.0


class PrincipalCache:
    """Token hash → (principal, monotonic expiry), at most `max_entries`, for at most `ttl_s` each."""

    def __init__(
        self,
        redis_client: Callable[[], Any],
        ttl_s: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        channel: str | None = None,
    ) -> None:
        self._redis = redis_client
        if channel is None:
            db = redis_client().connection_pool.connection_kwargs.get("db", 0)
            channel = f"{CHANNEL_PREFIX}:{db}"
        self.channel = channel
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[Any, int, float]] = OrderedDict()
        self._epoch = 0
        self._heard_at = float("-inf")  # when Redis last answered the listener
        self._subscribed = False
        self._pid: int | None = None
        self._closed = threading.Event()
        self.listener: threading.Thread | None = None

    # -- requests --

    def epoch(self) -> int:
        """Take before resolving a token; hand to `put`."""
        self._ensure_listener()
        return self._epoch

    def get(self, token_hash: str) -> Any | None:
        if not self._live():
            return None
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        principal, _user_id, expires = entry
        if self._clock() >= expires:
            with self._lock:
                self._entries.pop(token_hash, None)
            return None
        return principal

    def put(self, token_hash: str, principal: Any, user_id: int, epoch: int, ttl_s: float) -> None:
        """Keep a principal resolved since `epoch` was taken, for at most `ttl_s` (and `self.ttl_s`)."""
        ttl = min(self.ttl_s, ttl_s)
        if ttl <= 0:
            return
        with self._lock:
            if epoch != self._epoch or not self._live():
                return  # something was invalidated meanwhile: it may have been this
            self._entries[token_hash] = (principal, user_id, self._clock() + ttl)
            self._entries.move_to_end(token_hash)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    # -- invalidation --

    def publish(self, *, tokens: Iterable[str] = (), user_id: int | None = None) -> None:
        """Tell every process to drop these tokens, or all of this user's. Raises RedisError."""
        message: dict[str, Any] = {"tokens": list(tokens)}
        if user_id is not None:
            message["user"] = user_id
        self.drop(message)
        self._redis().publish(self.channel, json.dumps(message))

    def drop(self, message: dict[str, Any]) -> None:
        tokens, user_id = set(message.get("tokens") or ()), message.get("user")
        with self._lock:
            self._epoch += 1
            for token_hash in [
                key for key, (_, owner, _) in self._entries.items() if key in tokens or owner == user_id
            ]:
                del self._entries[token_hash]

    def _clear(self) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.clear()
            self._subscribed = False

    def _live(self) -> bool:
        return self._subscribed and self._clock() - self._heard_at <= SILENCE_S

    def close(self) -> None:
        """Stop listening (within `PING_EVERY_S`) and serve nothing more."""
        self._closed.set()
        self._clear()

    # -- the listener --

    def _ensure_listener(self) -> None:
        pid = os.getpid()
        if self._pid == pid or self._closed.is_set():
            return
        with self._lock:
            if self._pid == pid:
                return
            self._pid = pid  # a forked worker starts its own listener and forgets the parent's entries
            self._entries.clear()
            self._subscribed = False
            self.listener = threading.Thread(target=self._listen, name="principal-cache", daemon=True)
            self.listener.start()

    def _listen(self) -> None:
        while not self._closed.is_set():
            try:
                self._listen_once()
            except Exception as exc:  # any failure: serve nothing until subscribed again
                log.info("principal cache listener stopped (%s); retrying", exc)
            self._clear()
            self._closed.wait(_RETRY_S)

    def _listen_once(self) -> None:
        pubsub = self._redis().pubsub()
        try:
            pubsub.subscribe(self.channel)
            pinged_at = float("-inf")
            while not self._closed.is_set():
                if self._clock() - pinged_at >= PING_EVERY_S:
                    pubsub.ping()
                    pinged_at = self._clock()
                message = pubsub.get_message(timeout=PING_EVERY_S)
                if message is None:
                    continue
                self._heard_at = self._clock()
                if message["type"] == "subscribe":
                    with self._lock:
                        self._epoch += 1
                        self._entries.clear()
                        self._subscribed = True
                elif message["type"] == "message":
                    self.drop(json.loads(message["data"]))
        finally:
            pubsub.close()
