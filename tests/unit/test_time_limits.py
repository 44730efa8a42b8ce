"""`web.time_limits.time_limit` behaves as `asyncio.timeout` does: a block over its
limit is cancelled and raises TimeoutError, a block within it is left alone, a
cancellation from elsewhere stays a cancellation, and an idle event loop keeps no
timer."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref

import pytest

from web import time_limits
from web.time_limits import TICK_SECONDS, time_limit


async def test_a_block_over_its_limit_raises_timeout_error() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        async with time_limit(0.1):
            await asyncio.sleep(5)
    took = loop.time() - started
    assert 0.1 <= took < 0.1 + TICK_SECONDS + 0.5


async def test_a_block_within_its_limit_is_left_alone() -> None:
    async with time_limit(0.3):
        await asyncio.sleep(0.01)
    # Past the limit: nothing cancels the task any more.
    await asyncio.sleep(0.3 + 2 * TICK_SECONDS)
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


async def test_no_limit_never_ends() -> None:
    async with time_limit(None):
        await asyncio.sleep(2 * TICK_SECONDS)


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    entered = asyncio.Event()

    async def limited() -> None:
        async with time_limit(30):
            entered.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(limited())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_outer_cancellation_during_the_timeout_is_not_swallowed() -> None:
    """As asyncio.timeout: when the task is also cancelled from elsewhere while the
    limit ends, the block ends with that cancellation, not a TimeoutError."""
    seen: list[str] = []

    async def limited() -> None:
        try:
            async with time_limit(0.05):
                try:
                    await asyncio.sleep(30)
                except asyncio.CancelledError:
                    asyncio.current_task().cancel()  # type: ignore[union-attr]
                    raise
        except TimeoutError:
            seen.append("timeout")
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    task = asyncio.create_task(limited())
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == ["cancelled"]


async def test_limits_end_each_on_their_own() -> None:
    async def limited(seconds: float, sleep: float) -> str:
        try:
            async with time_limit(seconds):
                await asyncio.sleep(sleep)
        except TimeoutError:
            return "timed out"
        return "done"

    outcomes = await asyncio.gather(
        limited(0.1, 5), limited(5, 0.3), limited(0.2, 5), limited(5, 0.01)
    )
    assert outcomes == ["timed out", "done", "timed out", "done"]


async def test_an_idle_loop_keeps_no_timer() -> None:
    async with time_limit(5):
        pass
    clock = time_limits._clocks[asyncio.get_running_loop()]
    assert clock.running == set()
    await asyncio.sleep(3 * TICK_SECONDS)
    assert not clock.ticking


async def test_nested_limits_end_as_asyncio_timeouts_do() -> None:
    """The inner limit's end is the inner block's TimeoutError; the outer's is the
    outer block's, and the task is left with no cancellation."""
    outcomes = []
    try:
        async with time_limit(0.3):
            try:
                async with time_limit(0.05):
                    await asyncio.sleep(5)
            except TimeoutError:
                outcomes.append("inner")
            await asyncio.sleep(5)
    except TimeoutError:
        outcomes.append("outer")
    assert outcomes == ["inner", "outer"]
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


async def test_a_limit_is_entered_once() -> None:
    limit = time_limit(5)
    async with limit:
        pass
    with pytest.raises(RuntimeError):
        async with limit:
            pass


def test_a_loop_that_is_gone_takes_its_clock_with_it() -> None:
    async def limited() -> asyncio.AbstractEventLoop:
        async with time_limit(5):
            await asyncio.sleep(0)
        return asyncio.get_running_loop()

    def run() -> None:
        loop = asyncio.new_event_loop()
        try:
            seen.append(weakref.ref(loop.run_until_complete(limited())))
        finally:
            loop.close()

    seen: list[weakref.ref[asyncio.AbstractEventLoop]] = []
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    gc.collect()
    assert seen and seen[0]() is None
