"""Redis Streams event bus: events cross server processes and carry resumable cursors.

Layout in Redis: one stream per topic, ``agora:events:<topic>``, trimmed with
``MAXLEN ~ retention``; each entry has one field, ``data`` (JSON). An event's
cursor is its stream entry id.

Connections per process, whatever the number of subscribers:

* one *reader* connection, used by a single background task that runs
  ``XREAD BLOCK`` over every topic with local subscribers (remembering the last
  id read per topic) and fans each entry out to the local subscribers' bounded
  queues. If Redis goes away, the task logs, backs off, reconnects and goes on
  from the last ids it saw, so established subscriptions lose nothing that
  Redis still retains.
* a small bounded pool for everything else: ``XADD``, ``since`` replays, and
  reading the current end of a stream when a topic gets its first local
  subscriber (those look-ups are batched into one round trip).

Both are named in ``CLIENT LIST`` (``agora-events:reader``, ``agora-events:pool``).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import aclosing
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.typing import KeyT, StreamIdT

from ._base import BusBase
from ._subscriber import Subscriber
from .bus import Audience, CursorExpired, Event, OnCutOff

log = structlog.get_logger(__name__)

KEY_PREFIX = "agora:events:"
# `agora:event-ids:<event id>` holds the cursor an event id was published under, for
# PUBLISHED_TTL_SECONDS: the outbox may publish an event again (a crash between the
# publish and marking it done), and the bus then keeps the first entry only.
PUBLISHED_PREFIX = "agora:event-ids:"
PUBLISHED_TTL_SECONDS = 3600
_PUBLISH_ONCE = """
local cursor = redis.call('GET', KEYS[2])
if cursor then return cursor end
cursor = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'data', ARGV[2], 'id', ARGV[4])
redis.call('SET', KEYS[2], cursor, 'EX', ARGV[3])
return cursor
"""

StreamId = tuple[int, int]

_STREAM_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
_MAX_PART = 2**64 - 1


def parse_stream_id(cursor: str) -> StreamId:
    """``"<ms>-<seq>"`` as a comparable tuple; ValueError if malformed."""
    match = _STREAM_ID.fullmatch(cursor) if isinstance(cursor, str) else None
    if match is None:
        raise ValueError(f"malformed event cursor {cursor!r}")
    ms, seq = int(match[1]), int(match[2])
    if ms > _MAX_PART or seq > _MAX_PART:
        raise ValueError(f"malformed event cursor {cursor!r}")
    return ms, seq


class _Topic:
    """Local state of a topic that has subscribers in this process."""

    __slots__ = ("error", "position", "ready", "subscribers")

    def __init__(self) -> None:
        self.subscribers: set[Subscriber[StreamId]] = set()
        # Last entry id read (or known to exist) on the stream; None until the
        # first look-up of the stream's end is done, and the reader skips it until then.
        self.position: tuple[str, StreamId] | None = None
        self.ready = asyncio.Event()
        self.error: BaseException | None = None


class RedisEventBus(BusBase):
    def __init__(
        self,
        url: str,
        retention: int = 10_000,
        *,
        queue_size: int = 1000,
        block_ms: int = 250,
        read_count: int = 100,
        max_connections: int = 8,
        ping_timeout: float = 2.0,
        max_backoff: float = 2.0,
        client_name: str = "agora-events",
    ) -> None:
        super().__init__(retention, queue_size)
        self._block_ms = block_ms
        # Never hand a subscriber more in one go than its queue holds.
        self._read_count = max(1, min(read_count, queue_size))
        self._ping_timeout = ping_timeout
        self._min_backoff = 0.5
        self._max_backoff = max_backoff
        common: dict[str, Any] = {"decode_responses": True, "socket_connect_timeout": 5}
        # from_pool: the client owns the pool, so aclose() disconnects it.
        self._client = aioredis.Redis.from_pool(
            aioredis.BlockingConnectionPool.from_url(
                url,
                max_connections=max_connections,
                timeout=10,
                socket_timeout=10,
                retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), 2),
                client_name=f"{client_name}:pool",
                **common,
            )
        )
        # The one reading connection. No retries inside redis-py: the reader
        # loop retries itself, with backoff, and logs what happened.
        self._reader = aioredis.Redis.from_url(
            url,
            single_connection_client=True,
            socket_timeout=block_ms / 1000 + 10,
            retry=Retry(NoBackoff(), 0),
            client_name=f"{client_name}:reader",
            **common,
        )
        self._publish_once = self._client.register_script(_PUBLISH_ONCE)
        self._topics: dict[str, _Topic] = {}
        self._pending: dict[str, _Topic] = {}  # topics waiting for the look-up of their end
        self._topics_changed = asyncio.Event()
        self._reader_task: asyncio.Task[None] | None = None
        self._bootstrap_task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        self._ensure_reader()

    async def ping(self) -> None:
        self._check_open()
        async with asyncio.timeout(self._ping_timeout):
            await self._client.ping()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        tasks = [t for t in (self._reader_task, self._bootstrap_task) if t is not None]
        for task in tasks:
            task.cancel()
        self._topics_changed.set()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                if not task.cancelled():  # close() itself was cancelled
                    raise
            except Exception:
                log.exception("event bus task failed")
        for topic in self._topics.values():
            for subscriber in topic.subscribers:
                subscriber.end()
            topic.ready.set()
        self._topics.clear()
        self._pending.clear()
        await self._reader.aclose()
        await self._client.aclose()

    # -- publishing ----------------------------------------------------------

    async def publish(self, topic: str, data: dict[str, Any], event_id: str | None = None) -> str:
        self._check_open()
        self._check_data(data)
        payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        if event_id is not None:
            # One script, so atomic: the entry is added only if the id is new, and the
            # id is remembered only with the entry.
            entry_id = await self._publish_once(
                keys=[KEY_PREFIX + topic, PUBLISHED_PREFIX + event_id],
                args=[self.retention, payload, PUBLISHED_TTL_SECONDS, event_id],
            )
        else:
            entry_id = await self._client.xadd(
                KEY_PREFIX + topic, {"data": payload}, maxlen=self.retention, approximate=True
            )
        # The client decodes responses, so this is a str; redis-py's type allows bytes.
        return entry_id if isinstance(entry_id, str) else entry_id.decode()

    # -- subscribing ---------------------------------------------------------

    async def subscribe(
        self,
        topic: str,
        since: str | None = None,
        on_cut_off: OnCutOff = None,
        audience: Audience = None,
    ) -> AsyncIterator[Event]:
        since_id = parse_stream_id(since) if since is not None else None
        self._check_open()
        self._ensure_reader()
        state = self._topics.get(topic)
        if state is None:
            state = self._topics[topic] = _Topic()
            self._pending[topic] = state
            self._ensure_bootstrap()
        subscriber: Subscriber[StreamId] = Subscriber(topic, self.queue_size, on_cut_off, audience)
        # Registered before the replay: from here on every entry the reader
        # reads on this topic is queued for us, so the replay (read below, and
        # so ending at or after the reader's position) leaves no gap.
        state.subscribers.add(subscriber)
        try:
            if state.position is None:
                await state.ready.wait()
                if self._closed:
                    return
                if state.error is not None:
                    raise state.error
            replay: list[tuple[StreamId, Event]] = []
            if since is not None and since_id is not None:
                replay = await self._replay(topic, since, since_id)
            floor = (0, 0) if since_id is None else since_id
            async with aclosing(subscriber.stream(replay, floor)) as events:
                async for event in events:
                    yield event
        finally:
            self._forget(topic, subscriber)

    def subscriber_count(self, topic: str | None = None) -> int:
        topics = [self._topics.get(topic)] if topic is not None else self._topics.values()
        return sum(
            sum(s.weight for s in state.subscribers)
            for state in topics
            if state is not None and state.position is not None
        )

    def _forget(self, topic: str, subscriber: Subscriber[StreamId]) -> None:
        state = self._topics.get(topic)
        if state is not None and subscriber in state.subscribers:
            state.subscribers.discard(subscriber)
            if not state.subscribers:
                self._drop_topic(topic, state)

    def _drop_topic(self, topic: str, state: _Topic) -> None:
        if self._topics.get(topic) is state:
            del self._topics[topic]
        if self._pending.get(topic) is state:
            del self._pending[topic]

    async def _replay(
        self, topic: str, since: str, since_id: StreamId
    ) -> list[tuple[StreamId, Event]]:
        key = KEY_PREFIX + topic
        async with self._client.pipeline(transaction=True) as pipe:
            # One MULTI: the retention check and the replay see the same stream.
            pipe.xrange(key, "-", "+", count=1)
            pipe.xrevrange(key, "+", "-", count=1)
            pipe.xrange(key, f"({since}", "+")
            first, last, entries = await pipe.execute()
        if not last or since_id > parse_stream_id(last[0][0]):
            raise CursorExpired(topic, since, "no such event on this topic")
        if since_id < parse_stream_id(first[0][0]):
            # Streams are trimmed from the head only, so anything older than the
            # first retained entry may have been dropped. (If `since` was exactly
            # the last trimmed entry nothing was lost, but that cannot be told apart.)
            raise CursorExpired(topic, since, "the events after it are out of the retention window")
        events = []
        for entry_id, fields in entries:
            event = _decode(topic, entry_id, fields)
            if event is not None:
                events.append((parse_stream_id(entry_id), event))
        return events

    # -- finding where a new topic's stream ends (batched) --------------------

    def _ensure_bootstrap(self) -> None:
        if self._bootstrap_task is None or self._bootstrap_task.done():
            self._bootstrap_task = asyncio.create_task(
                self._bootstrap(), name="agora-events-bootstrap"
            )

    async def _bootstrap(self) -> None:
        """Look up the last entry id of every pending topic, one round trip per batch."""
        while self._pending:
            _raise_if_stopping(self._closed)
            batch = list(self._pending.items())
            self._pending.clear()
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for topic, _state in batch:
                        pipe.xrevrange(KEY_PREFIX + topic, "+", "-", count=1)
                    replies = await pipe.execute()
            except Exception as exc:
                log.warning("event bus: cannot subscribe, redis failed", error=_describe(exc))
                for topic, state in batch:
                    state.error = exc  # raised by each waiting subscriber
                    state.ready.set()
                    self._drop_topic(topic, state)
                continue
            _raise_if_stopping(self._closed)
            for (_topic, state), reply in zip(batch, replies, strict=True):
                last_id = reply[0][0] if reply else "0-0"
                state.position = (last_id, parse_stream_id(last_id))
                state.ready.set()
            self._topics_changed.set()

    # -- the reader ----------------------------------------------------------

    def _ensure_reader(self) -> None:
        self._check_open()
        task = self._reader_task
        if task is not None and task.done() and not task.cancelled() and task.exception():
            log.error(
                "event bus reader had stopped; restarting it", error=_describe(task.exception())
            )
        if task is None or task.done():
            self._reader_task = asyncio.create_task(self._read_loop(), name="agora-events-reader")

    async def _read_loop(self) -> None:
        backoff = self._min_backoff
        failing = False
        while True:
            _raise_if_stopping(self._closed)
            streams: dict[KeyT, StreamIdT] = {
                KEY_PREFIX + topic: state.position[0]
                for topic, state in self._topics.items()
                if state.position is not None
            }
            if not streams:
                self._topics_changed.clear()
                await self._topics_changed.wait()
                continue
            try:
                response = await self._reader.xread(
                    streams, count=self._read_count, block=self._block_ms
                )
            except Exception as exc:
                log.warning(
                    "event bus reader: redis read failed, retrying",
                    error=_describe(exc),
                    retry_in=backoff,
                )
                failing = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            if failing:
                log.info("event bus reader: redis reachable again")
                failing = False
                backoff = self._min_backoff
            try:
                self._dispatch(response)
            except Exception:
                log.exception("event bus reader: cannot dispatch entries")

    def _dispatch(self, response: Any) -> None:
        for key, entries in _streams(response):
            topic = key.removeprefix(KEY_PREFIX)
            state = self._topics.get(topic)
            if state is None or state.position is None:
                continue  # the last local subscriber left while the read was in flight
            for entry_id, fields in entries:
                entry_key = parse_stream_id(entry_id)
                if entry_key <= state.position[1]:
                    continue
                state.position = (entry_id, entry_key)
                event = _decode(topic, entry_id, fields)
                if event is None:
                    continue
                for subscriber in list(state.subscribers):
                    if not self._offer(subscriber, entry_key, event):
                        state.subscribers.discard(subscriber)
            if not state.subscribers:
                self._drop_topic(topic, state)


def _describe(exc: BaseException | None) -> str:
    return f"{type(exc).__name__}: {exc}"


def _raise_if_stopping(closed: bool) -> None:
    """Stop a background loop once the bus is closed or its task has been cancelled.

    On Python 3.11, ``asyncio.wait_for`` (which redis-py uses to send commands
    when a socket timeout is set) can swallow a cancellation that arrives just
    as the send completes; the command then returns normally. Checking here
    means such a lost cancellation still stops the loop instead of hanging close().
    """
    task = asyncio.current_task()
    if closed or (task is not None and task.cancelling()):
        raise asyncio.CancelledError


def _streams(response: Any) -> Iterable[tuple[str, list[tuple[str, dict[str, str]]]]]:
    """XREAD's reply as (stream key, entries) pairs, in either RESP2 or RESP3 shape."""
    if not response:
        return []
    if isinstance(response, dict):
        return response.items()
    return ((item[0], item[1]) for item in response)


def _decode(topic: str, entry_id: str, fields: dict[str, str] | None) -> Event | None:
    try:
        data = json.loads((fields or {})["data"])
        if not isinstance(data, dict):
            raise TypeError("data is not a JSON object")
    except (KeyError, TypeError, ValueError) as exc:
        log.error(
            "event bus: skipping malformed stream entry",
            topic=topic,
            id=entry_id,
            error=_describe(exc),
        )
        return None
    event_id = (fields or {}).get("id")
    return Event(topic=topic, cursor=entry_id, data=data, id=event_id or None)
