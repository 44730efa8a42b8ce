"""Counters of points per key per fixed window: request rate limits and cost budgets.

`open_rate_limiter(None)` counts in this process; `open_rate_limiter("redis://…")`
counts in Redis, shared by every process (one atomic round trip per call).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.maint_notifications import MaintNotificationsConfig

from logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Window:
    """The state of one key's window after a call."""

    allowed: bool
    limit: int
    used: int
    reset_at: float  # epoch seconds when the window starts afresh

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    @property
    def retry_after(self) -> int:
        """Whole seconds until the window resets (at least 1) when refused, else 0."""
        if self.allowed:
            return 0
        return max(math.ceil(self.reset_at - time.time()), 1)


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_seconds: int, cost: int = 1) -> Window:
        """Adds `cost` points to `key` unless that would pass `limit`; a refused hit adds
        nothing. The window starts at the first hit and lasts `window_seconds`."""
        ...

    async def refund(self, key: str, cost: int) -> None:
        """Takes back up to `cost` points from the current window (never below zero)."""
        ...

    async def peek(self, key: str, limit: int, window_seconds: int) -> Window:
        """The window as it stands, without counting anything."""
        ...

    async def close(self) -> None: ...


class InProcessRateLimiter:
    """Counts in this process only (no Redis configured)."""

    # Expired windows are swept once this many keys are held.
    SWEEP_AT = 100_000

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}

    def _current(self, key: str, now: float) -> tuple[int, float] | None:
        entry = self._windows.get(key)
        if entry is not None and entry[1] <= now:
            del self._windows[key]
            return None
        return entry

    def _window(self, key: str, window_seconds: int, now: float) -> tuple[int, float]:
        """Points used in the key's window and when it resets; a fresh window if none is on."""
        entry = self._current(key, now)
        return entry if entry is not None else (0, now + window_seconds)

    async def hit(self, key: str, limit: int, window_seconds: int, cost: int = 1) -> Window:
        now = time.time()
        used, reset_at = self._window(key, window_seconds, now)
        if used + cost > limit:
            return Window(False, limit, used, reset_at)
        if len(self._windows) >= self.SWEEP_AT:
            self._sweep(now)
        self._windows[key] = (used + cost, reset_at)
        return Window(True, limit, used + cost, reset_at)

    async def refund(self, key: str, cost: int) -> None:
        entry = self._current(key, time.time())
        if entry is not None:
            self._windows[key] = (max(entry[0] - cost, 0), entry[1])

    async def peek(self, key: str, limit: int, window_seconds: int) -> Window:
        used, reset_at = self._window(key, window_seconds, time.time())
        return Window(used < limit, limit, used, reset_at)

    def _sweep(self, now: float) -> None:
        for key in [k for k, (_, reset_at) in self._windows.items() if reset_at <= now]:
            del self._windows[key]

    async def close(self) -> None:
        self._windows.clear()


# Each script is one atomic round trip. KEYS[1] holds the points used in the current
# window and expires when the window ends; a missing key is a window not yet started.

# ARGV: limit, window in ms, cost. Returns {allowed (0/1), used, ms until the window resets}.
_HIT = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local pttl = redis.call('PTTL', KEYS[1])
local limit = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
if used + cost > limit then
    if pttl == -1 then
        -- A count without a window would refuse forever: give it one.
        redis.call('PEXPIRE', KEYS[1], window_ms)
    end
    if pttl < 0 then pttl = window_ms end
    return {0, used, pttl}
end
used = redis.call('INCRBY', KEYS[1], cost)
if pttl < 0 then
    redis.call('PEXPIRE', KEYS[1], window_ms)
    pttl = window_ms
end
return {1, used, pttl}
"""

# ARGV: cost. Takes back up to `cost` points; DECRBY keeps the key's TTL.
_REFUND = """
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local used = tonumber(current)
local take = used - math.max(used - tonumber(ARGV[1]), 0)
if take ~= 0 then redis.call('DECRBY', KEYS[1], take) end
return 0
"""

# Returns {used, ms until the window resets, or -1 when no window has started}.
_PEEK = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local pttl = redis.call('PTTL', KEYS[1])
if pttl < 0 then pttl = -1 end
return {used, pttl}
"""


class RedisRateLimiter:
    """Counts in Redis, shared by every server process; one atomic script per call.

    If Redis cannot be reached or fails, a call is answered by an in-process limiter
    instead of raising (limits then hold per process until Redis is back). After a
    connection failure Redis is left alone for `RETRY_AFTER` seconds, so an unreachable
    Redis costs at most one short timeout per that interval rather than one per call.
    """

    KEY_PREFIX = "agora:rl:"
    SOCKET_TIMEOUT = 0.5  # seconds, to connect and for each reply
    # Waiting for a free pooled connection is a burst, not a Redis failure: it gets
    # longer, or a burst would fall back to counting in the process.
    POOL_WAIT = 2.0
    MAX_CONNECTIONS = 64
    RETRY_AFTER = 1.0  # seconds without trying Redis after a connection failure
    WARN_EVERY = 30.0  # seconds between two warnings about Redis failing

    def __init__(self, redis_url: str) -> None:
        # from_pool: the client owns the pool, so aclose() disconnects it. No retries in
        # redis-py: a script that timed out may have run, and retrying would count twice.
        # Maintenance notifications off: while they are on ("auto" by default with RESP3),
        # redis-py 8 skips its check for pooled connections the server has closed, so
        # every pooled connection would fail one call after a Redis restart.
        self._client = aioredis.Redis.from_pool(
            aioredis.BlockingConnectionPool.from_url(
                redis_url,
                max_connections=self.MAX_CONNECTIONS,
                timeout=self.POOL_WAIT,
                socket_connect_timeout=self.SOCKET_TIMEOUT,
                socket_timeout=self.SOCKET_TIMEOUT,
                retry=Retry(NoBackoff(), 0),
                client_name="agora-rate-limits",
                maint_notifications_config=MaintNotificationsConfig(enabled=False),
            )
        )
        self._hit = self._client.register_script(_HIT)
        self._refund = self._client.register_script(_REFUND)
        self._peek = self._client.register_script(_PEEK)
        self._fallback = InProcessRateLimiter()
        self._skip_redis_until = 0.0
        self._last_warning: float | None = None

    def _key(self, key: str) -> str:
        return self.KEY_PREFIX + key

    def _use_redis(self) -> bool:
        return time.monotonic() >= self._skip_redis_until

    def _failed(self, error: Exception) -> None:
        now = time.monotonic()
        if isinstance(error, RedisConnectionError | RedisTimeoutError | OSError):
            self._skip_redis_until = now + self.RETRY_AFTER
        if self._last_warning is None or now - self._last_warning >= self.WARN_EVERY:
            self._last_warning = now
            log.warning(
                "rate limits: redis failed, counting in this process",
                error=f"{type(error).__name__}: {error}",
            )

    async def hit(self, key: str, limit: int, window_seconds: int, cost: int = 1) -> Window:
        if self._use_redis():
            try:
                allowed, used, pttl = await self._hit(
                    keys=[self._key(key)], args=[limit, _ms(window_seconds), cost]
                )
            except (RedisError, OSError) as error:
                self._failed(error)
            else:
                return Window(bool(allowed), limit, int(used), time.time() + int(pttl) / 1000)
        return await self._fallback.hit(key, limit, window_seconds, cost)

    async def refund(self, key: str, cost: int) -> None:
        if self._use_redis():
            try:
                await self._refund(keys=[self._key(key)], args=[cost])
            except (RedisError, OSError) as error:
                self._failed(error)
            else:
                return
        await self._fallback.refund(key, cost)

    async def peek(self, key: str, limit: int, window_seconds: int) -> Window:
        if self._use_redis():
            try:
                used, pttl = await self._peek(keys=[self._key(key)])
            except (RedisError, OSError) as error:
                self._failed(error)
            else:
                pttl = int(pttl) if int(pttl) >= 0 else _ms(window_seconds)
                return Window(int(used) < limit, limit, int(used), time.time() + pttl / 1000)
        return await self._fallback.peek(key, limit, window_seconds)

    async def close(self) -> None:
        await self._client.aclose()
        await self._fallback.close()


def _ms(seconds: float) -> int:
    return max(round(seconds * 1000), 1)


def open_rate_limiter(redis_url: str | None) -> RateLimiter:
    if redis_url is None:
        return InProcessRateLimiter()
    return RedisRateLimiter(redis_url)
