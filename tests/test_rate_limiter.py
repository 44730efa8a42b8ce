"""Rate limits and cost budgets, in this process and in a real redis-server."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

import pytest
import redis.asyncio as aioredis
from structlog.testing import capture_logs

import datasources.rate_limits
from datasources.rate_limits import (
    InProcessRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    Window,
    open_rate_limiter,
)
from support.servers import RedisHandle
from support.time_travel import TimeTravel

pytestmark = pytest.mark.filterwarnings("error::ResourceWarning")

T = TypeVar("T")

UNREACHABLE = "redis://127.0.0.1:1/0"
FALLBACK_WARNING = "rate limits: redis failed, counting in this process"


def new_key() -> str:
    return f"test:{uuid.uuid4().hex}"


@pytest.fixture(params=["in-process", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "redis":
        redis: RedisHandle = request.getfixturevalue("redis")
        made: RateLimiter = RedisRateLimiter(redis.url)
    else:
        made = InProcessRateLimiter()
    yield made
    await made.close()


async def within(seconds: float, call: Awaitable[T]) -> T:
    """The call's result; fails the test if it takes longer than `seconds`."""
    started = time.monotonic()
    result = await asyncio.wait_for(call, timeout=seconds + 5)
    elapsed = time.monotonic() - started
    assert elapsed < seconds, f"took {elapsed:.2f}s"
    return result


def assert_window_ends_in(window: Window, seconds: float) -> None:
    assert window.reset_at - time.time() == pytest.approx(seconds, abs=0.5)


async def wait_out(limiter: RateLimiter, time_travel: TimeTravel, seconds: float) -> None:
    """Lets `seconds` pass for the limiter: at once for one counting in this process
    (its clock travels); Redis keeps its own time, so that one is waited for."""
    if isinstance(limiter, InProcessRateLimiter):
        time_travel.forward(seconds)
    else:
        await asyncio.sleep(seconds)


# -- both limiters -------------------------------------------------------------------


async def test_limit_reached_is_refused_with_retry_after(limiter: RateLimiter) -> None:
    key = new_key()
    for used in (1, 2, 3):
        window = await limiter.hit(key, limit=3, window_seconds=60)
        assert (window.allowed, window.used, window.remaining) == (True, used, 3 - used)
        assert window.retry_after == 0
        assert_window_ends_in(window, 60)

    refused = await limiter.hit(key, limit=3, window_seconds=60)
    assert not refused.allowed
    assert refused.remaining == 0
    assert 1 <= refused.retry_after <= 60
    assert_window_ends_in(refused, 60)


async def test_refused_hit_adds_nothing(limiter: RateLimiter) -> None:
    key = new_key()
    assert (await limiter.hit(key, 5, 60, cost=3)).used == 3
    refused = await limiter.hit(key, 5, 60, cost=3)
    assert (refused.allowed, refused.used, refused.remaining) == (False, 3, 2)
    # The two points left are still there to spend.
    last = await limiter.hit(key, 5, 60, cost=2)
    assert (last.allowed, last.used, last.remaining) == (True, 5, 0)
    assert (await limiter.peek(key, 5, 60)).used == 5


async def test_cost_is_spent_from_a_budget(limiter: RateLimiter) -> None:
    key = new_key()
    assert [(await limiter.hit(key, 10, 60, cost=4)).used for _ in range(2)] == [4, 8]
    too_costly = await limiter.hit(key, 10, 60, cost=4)
    assert (too_costly.allowed, too_costly.used) == (False, 8)
    fits = await limiter.hit(key, 10, 60, cost=2)
    assert (fits.allowed, fits.used, fits.remaining) == (True, 10, 0)

    # A cost above the whole budget is refused even on a fresh key, and counts nothing.
    fresh = new_key()
    huge = await limiter.hit(fresh, 10, 60, cost=11)
    assert (huge.allowed, huge.used, huge.remaining) == (False, 0, 10)
    assert (await limiter.peek(fresh, 10, 60)).used == 0


async def test_refund_gives_points_back_but_never_below_zero(limiter: RateLimiter) -> None:
    key = new_key()
    spent = await limiter.hit(key, 5, 60, cost=5)
    assert not (await limiter.hit(key, 5, 60)).allowed

    await limiter.refund(key, 2)
    after_refund = await limiter.peek(key, 5, 60)
    assert (after_refund.used, after_refund.remaining) == (3, 2)
    # A refund does not move the end of the window.
    assert after_refund.reset_at == pytest.approx(spent.reset_at, abs=0.1)
    assert (await limiter.hit(key, 5, 60, cost=2)).allowed

    await limiter.refund(key, 100)
    assert (await limiter.peek(key, 5, 60)).used == 0
    assert (await limiter.hit(key, 5, 60)).used == 1

    # Refunding a key that has no window does nothing.
    untouched = new_key()
    await limiter.refund(untouched, 3)
    assert (await limiter.peek(untouched, 5, 60)).used == 0
    assert (await limiter.hit(untouched, 5, 60)).used == 1


async def test_peek_counts_nothing(limiter: RateLimiter) -> None:
    key = new_key()
    fresh = await limiter.peek(key, 2, 60)
    assert (fresh.allowed, fresh.used, fresh.remaining) == (True, 0, 2)
    assert_window_ends_in(fresh, 60)
    await limiter.hit(key, 2, 60)
    await limiter.hit(key, 2, 60)
    for _ in range(3):
        full = await limiter.peek(key, 2, 60)
        assert (full.allowed, full.used, full.remaining) == (False, 2, 0)
        assert full.retry_after >= 1


async def test_window_resets_after_window_seconds(
    limiter: RateLimiter, time_travel: TimeTravel
) -> None:
    time_travel.install(datasources.rate_limits)
    key = new_key()
    first = await limiter.hit(key, 2, 1)
    assert_window_ends_in(first, 1)
    await limiter.hit(key, 2, 1)
    full = await limiter.peek(key, 2, 1)
    assert not full.allowed
    assert full.retry_after == 1

    await wait_out(limiter, time_travel, 1.1)
    again = await limiter.hit(key, 2, 1)
    assert (again.allowed, again.used) == (True, 1)
    # A new window starts with this hit.
    assert again.reset_at > first.reset_at + 0.9


async def test_concurrent_hits_allow_exactly_the_limit(limiter: RateLimiter) -> None:
    key = new_key()
    windows = await asyncio.gather(*(limiter.hit(key, 10, 60) for _ in range(50)))
    assert sum(window.allowed for window in windows) == 10
    assert sorted(window.used for window in windows if window.allowed) == list(range(1, 11))
    assert (await limiter.peek(key, 10, 60)).used == 10


def test_open_rate_limiter_picks_by_url() -> None:
    assert isinstance(open_rate_limiter(None), InProcessRateLimiter)
    assert isinstance(open_rate_limiter(UNREACHABLE), RedisRateLimiter)


# -- Redis: shared between processes ------------------------------------------------


@pytest.fixture
async def two_processes(redis: RedisHandle) -> AsyncIterator[tuple[RateLimiter, RateLimiter]]:
    """Two limiters on one Redis, as two server processes have."""
    first, second = RedisRateLimiter(redis.url), RedisRateLimiter(redis.url)
    yield first, second
    await first.close()
    await second.close()


async def test_two_redis_limiters_share_counts(
    two_processes: tuple[RateLimiter, RateLimiter],
) -> None:
    first, second = two_processes
    key = new_key()
    await first.hit(key, 3, 60)
    await first.hit(key, 3, 60)
    assert (await second.hit(key, 3, 60)).used == 3
    assert not (await first.hit(key, 3, 60)).allowed

    await second.refund(key, 1)
    assert (await first.peek(key, 3, 60)).used == 2
    assert (await first.hit(key, 3, 60)).allowed
    assert not (await second.hit(key, 3, 60)).allowed


async def test_concurrent_hits_from_two_processes_allow_exactly_the_limit(
    two_processes: tuple[RateLimiter, RateLimiter],
) -> None:
    key = new_key()
    windows = await asyncio.gather(*(two_processes[n % 2].hit(key, 10, 60) for n in range(50)))
    assert sum(window.allowed for window in windows) == 10


async def test_redis_keys_are_namespaced_and_expire(redis: RedisHandle) -> None:
    key = new_key()
    limiter = RedisRateLimiter(redis.url)
    try:
        await limiter.hit(key, 10, 60, cost=4)
    finally:
        await limiter.close()
    async with aioredis.Redis.from_url(redis.url, decode_responses=True) as admin:
        assert await admin.get(f"agora:rl:{key}") == "4"
        assert 59_000 < await admin.pttl(f"agora:rl:{key}") <= 60_000
        assert await admin.exists(key) == 0


# -- Redis unreachable: answered in this process, quickly, without raising -----------


async def test_unreachable_redis_falls_back_to_counting_in_process() -> None:
    limiter = RedisRateLimiter(UNREACHABLE)
    limiter.RETRY_AFTER = 0  # every call tries Redis and fails
    key = new_key()
    try:
        with capture_logs() as logs:
            first = await within(1.0, limiter.hit(key, 2, 60))
            assert (first.allowed, first.used) == (True, 1)
            assert (await within(1.0, limiter.hit(key, 2, 60))).used == 2
            assert not (await within(1.0, limiter.hit(key, 2, 60))).allowed
            await within(1.0, limiter.refund(key, 1))
            assert (await within(1.0, limiter.peek(key, 2, 60))).used == 1
        # Many failed calls, one warning.
        warnings = [entry for entry in logs if entry["event"] == FALLBACK_WARNING]
        assert len(warnings) == 1
        assert warnings[0]["log_level"] == "warning"
    finally:
        await limiter.close()


async def test_unresponsive_redis_times_out_quickly() -> None:
    """A server that accepts connections and never answers (a hung Redis)."""
    connections: list[asyncio.StreamWriter] = []

    async def never_answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{port}/0")
    try:
        window = await within(1.5, limiter.hit(new_key(), 5, 60))
        assert (window.allowed, window.used) == (True, 1)
    finally:
        await limiter.close()
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_stopped_redis_falls_back_then_recovers(
    own_redis: RedisHandle, time_travel: TimeTravel
) -> None:
    time_travel.install(datasources.rate_limits)
    limiter = RedisRateLimiter(own_redis.url)
    other_process = RedisRateLimiter(own_redis.url)
    key = new_key()
    try:
        assert (await limiter.hit(key, 3, 60)).used == 1
        assert (await other_process.peek(key, 3, 60)).used == 1

        own_redis.stop()
        fallback = await within(1.0, limiter.hit(key, 3, 60))
        # Redis's count is out of reach: this process counts afresh.
        assert (fallback.allowed, fallback.used) == (True, 1)
        await within(1.0, limiter.refund(key, 1))
        assert (await within(1.0, limiter.peek(key, 3, 60))).used == 0

        own_redis.start()  # same port, empty (no persistence)
        time_travel.forward(RedisRateLimiter.RETRY_AFTER + 0.1)  # Redis is tried again
        assert (await limiter.hit(key, 3, 60)).used == 1
        assert (await other_process.hit(key, 3, 60)).used == 2
    finally:
        await limiter.close()
        await other_process.close()
