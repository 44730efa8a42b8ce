"""A local subscriber's bounded queue, and the events it yields, for both buses."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Iterable
from typing import Any, Generic, Protocol, TypeVar

from telemetry import metrics

from .bus import Audience, Event, OnCutOff, SubscriberTooSlow


class _Ordered(Protocol):
    def __gt__(self, other: Any, /) -> bool: ...


K = TypeVar("K", bound=_Ordered)  # the implementation's comparable form of a cursor

_WAKE: Any = object()

# Event ids a subscriber remembers: the bus keeps one entry per id, but it forgets
# (Redis restarted empty, or an hour went by) and the outbox may publish again.
RECENT_IDS = 1000


class _RecentIds:
    """The last RECENT_IDS event ids a subscriber had (kept once the first comes)."""

    __slots__ = ("_ids", "_order")

    def __init__(self) -> None:
        self._ids: set[str] | None = None
        self._order: deque[str] | None = None

    def first(self, event_id: str | None) -> bool:
        """Whether the event is new to this subscriber (no id: always)."""
        if event_id is None:
            return True
        if self._ids is None or self._order is None:
            self._ids, self._order = set(), deque()
        elif event_id in self._ids:
            return False
        self._ids.add(event_id)
        self._order.append(event_id)
        if len(self._order) > RECENT_IDS:
            self._ids.discard(self._order.popleft())
        return True


class Subscriber(Generic[K]):
    """Receives ``(key, event)`` pairs without ever blocking the publisher.

    ``offer`` never waits: when the queue is full the subscriber is cut off with
    ``SubscriberTooSlow`` (its buffered events are dropped) and ``offer`` returns
    False so the caller can forget it.
    """

    __slots__ = ("_audience", "_closed", "_error", "_on_cut_off", "_queue", "queue_size", "topic")

    def __init__(
        self, topic: str, queue_size: int, on_cut_off: OnCutOff = None, audience: Audience = None
    ) -> None:
        self.topic = topic
        self._audience = audience
        self.queue_size = queue_size
        # Tells the consumer at once, even while it is stuck writing to a stalled client.
        self._on_cut_off = on_cut_off
        self._queue: asyncio.Queue[tuple[K, Event]] = asyncio.Queue(queue_size)
        self._error: BaseException | None = None
        self._closed = False

    @property
    def active(self) -> bool:
        return self._error is None and not self._closed

    @property
    def weight(self) -> int:
        """What it counts for in `subscriber_count`: its audience, 0 once inactive."""
        if not self.active:
            return 0
        return 1 if self._audience is None else self._audience()

    def offer(self, key: K, event: Event) -> bool:
        if not self.active:
            return False
        try:
            self._queue.put_nowait((key, event))
        except asyncio.QueueFull:
            metrics.subscriber_cut_off(self._queue.qsize() + 1)  # its buffer, and this event
            error = SubscriberTooSlow(self.topic, self.queue_size)
            self.fail(error)
            if self._on_cut_off is not None:
                self._on_cut_off(error)
            return False
        return True

    def fail(self, error: BaseException) -> None:
        if self.active:
            self._error = error
            self._drop_buffer()
            self._wake()

    def end(self) -> None:
        """End the iteration normally (the bus is closing)."""
        if self.active:
            self._closed = True
            self._drop_buffer()
            self._wake()

    def check(self) -> bool:
        """Raise the subscriber's error if it was cut off; False once it has been ended."""
        if self._error is not None:
            raise self._error
        return not self._closed

    async def stream(
        self, replay: Iterable[tuple[K, Event]], floor: K
    ) -> AsyncGenerator[Event, None]:
        """The replayed events, then the live ones that come after both `floor` and the
        last replayed event (a live event may also have been replayed)."""
        seen = _RecentIds()
        for key, event in replay:
            if not self.check():
                return
            floor = key
            if seen.first(event.id):
                yield event
        while (item := await self.get()) is not None:
            key, event = item
            if key > floor and seen.first(event.id):
                yield event

    async def get(self) -> tuple[K, Event] | None:
        """The next live event, or None once the subscriber has been ended."""
        while True:
            if not self.check():
                return None
            item = await self._queue.get()
            if item is not _WAKE:
                return item

    def _drop_buffer(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    def _wake(self) -> None:
        # Called right after emptying the queue, so there is room for the sentinel.
        self._queue.put_nowait(_WAKE)
