"""Counters of points per key per fixed window: request rate limits and cost budgets.

`open_rate_limiter(None)` counts in this process; `open_rate_limiter("redis://…")`
counts in Redis, shared by every process (one atomic round trip per call).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol


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

    async def hit(self, key: str, limit: int, window_seconds: int, cost: int = 1) -> Window:
        now = time.time()
        entry = self._current(key, now)
        used, reset_at = entry if entry is not None else (0, now + window_seconds)
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
        now = time.time()
        entry = self._current(key, now)
        used, reset_at = entry if entry is not None else (0, now + window_seconds)
        return Window(used < limit, limit, used, reset_at)

    def _sweep(self, now: float) -> None:
        for key in [k for k, (_, reset_at) in self._windows.items() if reset_at <= now]:
            del self._windows[key]

    async def close(self) -> None:
        self._windows.clear()


def open_rate_limiter(redis_url: str | None) -> RateLimiter:
    if redis_url is None:
        return InProcessRateLimiter()
    from datasources.rate_limits_redis import RedisRateLimiter  # noqa: PLC0415

    return RedisRateLimiter(redis_url)
