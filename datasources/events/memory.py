"""In-process event bus: used when no REDIS_URL is configured (one server process only)."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import aclosing
from itertools import islice
from typing import Any

from ._base import BusBase
from ._subscriber import Subscriber
from .bus import Audience, CursorExpired, Event, OnCutOff

# "<epoch>.<seq>": the epoch is random per bus instance, so a cursor handed out
# before a restart is recognised as unknown instead of pointing at unrelated events.
_CURSOR = re.compile(r"([0-9a-f]{8})\.([0-9]{1,20})")


class _TopicLog:
    __slots__ = ("events", "seq")

    def __init__(self, retention: int) -> None:
        self.events: deque[tuple[int, Event]] = deque(maxlen=retention)
        self.seq = 0  # seq of the last event published on the topic


class InMemoryEventBus(BusBase):
    """Per-topic ring buffer of the last ``retention`` events, fanned out to bounded queues."""

    def __init__(self, retention: int = 10_000, *, queue_size: int = 1000) -> None:
        super().__init__(retention, queue_size)
        self._epoch = secrets.token_hex(4)
        self._logs: dict[str, _TopicLog] = {}
        self._subscribers: dict[str, set[Subscriber[int]]] = {}
        # The ids of the last `retention` events published, and their cursors.
        self._published: OrderedDict[str, str] = OrderedDict()

    async def start(self) -> None:
        self._check_open()

    async def ping(self) -> None:
        self._check_open()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                subscriber.end()
        self._subscribers.clear()
        self._logs.clear()

    async def publish(self, topic: str, data: dict[str, Any], event_id: str | None = None) -> str:
        self._check_open()
        self._check_data(data)
        if event_id is not None and (cursor := self._published.get(event_id)) is not None:
            return cursor
        # Same contract as the Redis bus: JSON only, and a snapshot the caller cannot mutate.
        payload = json.loads(json.dumps(data, allow_nan=False))
        topic_log = self._logs.get(topic)
        if topic_log is None:
            topic_log = self._logs[topic] = _TopicLog(self.retention)
        topic_log.seq += 1
        seq = topic_log.seq
        event = Event(topic=topic, cursor=f"{self._epoch}.{seq}", data=payload, id=event_id)
        topic_log.events.append((seq, event))
        if event_id is not None:
            self._published[event_id] = event.cursor
            while len(self._published) > self.retention:
                self._published.popitem(last=False)
        subscribers = self._subscribers.get(topic)
        if subscribers:
            for subscriber in list(subscribers):
                if not self._offer(subscriber, seq, event):
                    self._forget(topic, subscriber)
        # A real suspension point, as with Redis: lets subscribers drain between publishes.
        await asyncio.sleep(0)
        return event.cursor

    async def subscribe(
        self,
        topic: str,
        since: str | None = None,
        on_cut_off: OnCutOff = None,
        audience: Audience = None,
    ) -> AsyncIterator[Event]:
        since_seq = self._parse_cursor(topic, since) if since is not None else None
        self._check_open()
        # No await from here to the registration: the replay snapshot and the
        # live registration happen at the same instant, so nothing falls between.
        replay = []
        if since is not None and since_seq is not None:
            replay = self._replay(topic, since, since_seq)
        subscriber: Subscriber[int] = Subscriber(topic, self.queue_size, on_cut_off, audience)
        self._subscribers.setdefault(topic, set()).add(subscriber)
        try:
            async with aclosing(subscriber.stream(replay, since_seq or 0)) as events:
                async for event in events:
                    yield event
        finally:
            self._forget(topic, subscriber)

    def subscriber_count(self, topic: str | None = None) -> int:
        if topic is not None:
            return sum(s.weight for s in self._subscribers.get(topic, ()))
        return sum(s.weight for subscribers in self._subscribers.values() for s in subscribers)

    def _forget(self, topic: str, subscriber: Subscriber[int]) -> None:
        subscribers = self._subscribers.get(topic)
        if subscribers is not None:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._subscribers[topic]

    def _parse_cursor(self, topic: str, cursor: str) -> int:
        match = _CURSOR.fullmatch(cursor) if isinstance(cursor, str) else None
        if match is None:
            raise ValueError(f"malformed event cursor {cursor!r}")
        epoch, seq = match.groups()
        if epoch != self._epoch:
            raise CursorExpired(
                topic,
                cursor,
                "it was issued before the server restarted (events are kept in memory)",
            )
        return int(seq)

    def _replay(self, topic: str, cursor: str, since_seq: int) -> list[tuple[int, Event]]:
        topic_log = self._logs.get(topic)
        last_seq = topic_log.seq if topic_log is not None else 0
        if since_seq > last_seq:
            raise CursorExpired(topic, cursor, "no such event on this topic")
        if topic_log is None or not topic_log.events:
            return []
        first_seq = topic_log.events[0][0]
        if since_seq < first_seq - 1:
            raise CursorExpired(
                topic, cursor, "the events after it are out of the retention window"
            )
        # Sequence numbers in the buffer are contiguous, so the cut point is an index.
        return list(islice(topic_log.events, since_seq - first_seq + 1, None))
