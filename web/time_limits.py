"""Time limits on a request's stages, as `asyncio.timeout` sets them, at a fraction of
the cost.

`asyncio.timeout` schedules a timer for each limit and cancels it after: about 7 µs on
uvloop, and a request has two limits (its body, its execution), a twentieth of the
time of a small query over HTTP. Here one timer per event loop looks at every running
limit a few times a second: a limit costs a set entry, and ends at most `TICK_SECONDS`
after it is due. The limits this serves are seconds long.

What a limit does when it ends is `asyncio.timeout`'s: the task is cancelled, and the
block raises TimeoutError, unless the task was also cancelled by something else (then
the cancellation goes on).
"""

from __future__ import annotations

import asyncio
import weakref
from types import TracebackType

TICK_SECONDS = 0.05


class _Clock:
    """One event loop's running limits, and whether its timer is set. It holds no
    reference to its loop (the loop's timer holds the clock): a loop that is gone takes
    its clock with it."""

    def __init__(self) -> None:
        self.running: set[time_limit] = set()
        self.ticking = False

    def add(self, limit: time_limit, loop: asyncio.AbstractEventLoop) -> None:
        self.running.add(limit)
        if not self.ticking:
            self.ticking = True
            loop.call_later(TICK_SECONDS, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            now = loop.time()
            for limit in [limit for limit in self.running if limit.due_at <= now]:
                self.running.discard(limit)
                try:
                    limit.end()
                except Exception as error:  # one limit's failure must not stop the others
                    loop.call_exception_handler(
                        {"message": "a time limit could not end its task", "exception": error}
                    )
        finally:
            # Kept ticking only while limits run: an idle loop has no timer.
            self.ticking = bool(self.running)
            if self.ticking:
                loop.call_later(TICK_SECONDS, self._tick, loop)


_clocks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Clock] = weakref.WeakKeyDictionary()


def _clock_of(loop: asyncio.AbstractEventLoop) -> _Clock:
    clock = _clocks.get(loop)
    if clock is None:
        clock = _clocks[loop] = _Clock()
    return clock


class time_limit:
    """`async with time_limit(seconds):` the block is cancelled once `seconds` have
    passed (up to `TICK_SECONDS` later), and raises TimeoutError; None: no limit."""

    __slots__ = ("_cancelling", "_clock", "_ended", "_entered", "_seconds", "_task", "due_at")

    def __init__(self, seconds: float | None) -> None:
        self._seconds = seconds
        self._entered = False
        self._ended = False
        self._clock: _Clock | None = None

    async def __aenter__(self) -> time_limit:
        if self._entered:
            raise RuntimeError("a time limit is entered once")
        self._entered = True
        if self._seconds is None:
            return self
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("time_limit should be used inside a task")
        loop = asyncio.get_running_loop()
        self._task = task
        self._cancelling = task.cancelling()
        self.due_at = loop.time() + self._seconds
        self._clock = _clock_of(loop)
        self._clock.add(self, loop)
        return self

    def end(self) -> None:
        """Called by the clock when the limit is due."""
        self._ended = True
        self._task.cancel()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._clock is None:
            return
        self._clock.running.discard(self)
        self._clock = None
        # As asyncio.timeout: the cancellation was ours alone, so it becomes the timeout.
        if (
            self._ended
            and self._task.uncancel() <= self._cancelling
            and kind is asyncio.CancelledError
        ):
            raise TimeoutError from error
