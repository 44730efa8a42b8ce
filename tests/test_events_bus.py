"""The events datasource, against both implementations and a real redis-server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from datasources.events import (
    CursorExpired,
    Event,
    EventBus,
    EventBusClosed,
    InMemoryEventBus,
    RedisEventBus,
    SubscriberTooSlow,
    open_event_bus,
)
from support.servers import RedisHandle

pytestmark = pytest.mark.filterwarnings("error::ResourceWarning")

TIMEOUT = 15  # seconds; every test body runs under asyncio.timeout(TIMEOUT)


# -- the shared redis-server (tests/conftest.py) -------------------------------


@pytest.fixture
def redis_url(redis: RedisHandle) -> str:
    return redis.url


# -- buses ----------------------------------------------------------------------

BusFactory = Callable[..., Awaitable[Any]]


@pytest.fixture(params=["memory", "redis"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def backend_url(kind: str, request: pytest.FixtureRequest) -> str | None:
    # Only the Redis variant needs (or skips for lack of) a server.
    return request.getfixturevalue("redis_url") if kind == "redis" else None


@pytest.fixture
async def make_bus(kind: str, backend_url: str | None) -> AsyncIterator[BusFactory]:
    buses: list[Any] = []
    # Apps started by other tests in this session run buses of their own.
    before = {t for t in asyncio.all_tasks() if t.get_name().startswith("agora-events")}

    async def make(**options: Any) -> Any:
        if kind == "memory":
            bus: Any = InMemoryEventBus(**options)
        else:
            assert backend_url is not None
            bus = RedisEventBus(backend_url, **options)
        await bus.start()
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.close()
    leftovers = [
        t
        for t in asyncio.all_tasks()
        if t.get_name().startswith("agora-events") and t not in before
    ]
    assert not leftovers, f"bus tasks still running after close(): {leftovers}"


@pytest.fixture
async def bus(make_bus: BusFactory) -> Any:
    return await make_bus()


@pytest.fixture
def topic() -> str:
    return f"test:{uuid.uuid4().hex}"


# -- helpers --------------------------------------------------------------------


class Sub:
    """A subscription whose iteration (hence registration) starts right away."""

    def __init__(self, bus: EventBus, topic: str, since: str | None = None) -> None:
        self.iterator = bus.subscribe(topic, since)
        self._first: asyncio.Task[Event] | None = asyncio.create_task(self._next())

    async def _next(self) -> Event:
        return await anext(self.iterator)

    async def next(self) -> Event:
        if self._first is not None:
            first, self._first = self._first, None
            return await first
        return await self._next()

    async def take(self, n: int) -> list[Event]:
        return [await self.next() for _ in range(n)]

    async def close(self) -> None:
        if self._first is not None:
            self._first.cancel()
            await asyncio.gather(self._first, return_exceptions=True)
            self._first = None
        await self.iterator.aclose()  # type: ignore[attr-defined]


async def subscribed(bus: Any, topic: str, since: str | None = None, *, total: int = 1) -> Sub:
    """Subscribe, and return once the bus counts ``total`` subscribers on the topic."""
    sub = Sub(bus, topic, since)
    await until(lambda: bus.subscriber_count(topic) >= total)
    return sub


async def until(condition: Callable[[], bool]) -> None:
    """Poll a condition on the bus (e.g. a subscriber count); callers bound it with a timeout."""
    while not condition():
        await asyncio.sleep(0.01)


async def publish_many(bus: EventBus, topic: str, numbers: range) -> list[str]:
    return [await bus.publish(topic, {"n": n}) for n in numbers]


def numbers(events: list[Event]) -> list[int]:
    return [e.data["n"] for e in events]


# -- both implementations -----------------------------------------------------------


async def test_publish_subscribe_delivers_in_order(bus: Any, topic: str) -> None:
    async with asyncio.timeout(TIMEOUT):
        sub = await subscribed(bus, topic)
        other = await subscribed(bus, topic + ":other")
        cursors = await publish_many(bus, topic, range(50))
        events = await sub.take(50)
        assert numbers(events) == list(range(50))
        assert [e.cursor for e in events] == cursors
        assert {e.topic for e in events} == {topic}
        assert len(set(cursors)) == 50
        # Topics are isolated: the other subscriber's first event is its own.
        await bus.publish(topic + ":other", {"n": -1})
        assert numbers([await other.next()]) == [-1]
        await sub.close()
        await other.close()
        assert bus.subscriber_count() == 0


async def test_two_subscribers_each_get_every_event_exactly_once(bus: Any, topic: str) -> None:
    async with asyncio.timeout(TIMEOUT):
        first = await subscribed(bus, topic)
        second = await subscribed(bus, topic, total=2)
        await publish_many(bus, topic, range(30))
        await bus.publish(topic, {"n": "end"})
        for sub in (first, second):
            # Exactly once: the 31st event is the marker, not a repeat.
            assert numbers(await sub.take(31)) == [*range(30), "end"]
            await sub.close()


async def test_since_replays_missed_events_then_continues_live(bus: Any, topic: str) -> None:
    async with asyncio.timeout(TIMEOUT):
        cursors = await publish_many(bus, topic, range(5))
        sub = await subscribed(bus, topic, since=cursors[1])
        replayed = await sub.take(3)
        assert numbers(replayed) == [2, 3, 4]
        assert [e.cursor for e in replayed] == cursors[2:]
        more = await publish_many(bus, topic, range(5, 8))
        assert numbers(await sub.take(3)) == [5, 6, 7]
        await sub.close()

        # Resuming from the newest cursor replays nothing and goes live.
        latest = await subscribed(bus, topic, since=more[-1])
        await bus.publish(topic, {"n": 8})
        assert numbers(await latest.take(1)) == [8]
        await latest.close()


async def test_since_has_no_gap_or_duplicate_while_publishing(bus: Any, topic: str) -> None:
    total, resume_after = 300, 49
    async with asyncio.timeout(TIMEOUT):
        cursors: list[str] = []

        async def publisher() -> None:
            for n in range(total):
                cursors.append(await bus.publish(topic, {"n": n}))

        task = asyncio.create_task(publisher())
        await until(lambda: len(cursors) >= 100)
        # Subscribe while events keep coming: the replay/live switch happens mid-stream.
        sub = Sub(bus, topic, since=cursors[resume_after])
        events = await sub.take(total - resume_after - 1)
        await task
        assert numbers(events) == list(range(resume_after + 1, total))
        assert [e.cursor for e in events] == cursors[resume_after + 1 :]
        await bus.publish(topic, {"n": "end"})
        assert numbers([await sub.next()]) == ["end"]
        await sub.close()


async def test_expired_since_raises_before_yielding(make_bus: BusFactory, kind: str) -> None:
    topic = f"test:{uuid.uuid4().hex}"
    async with asyncio.timeout(TIMEOUT):
        bus = await make_bus(retention=5)
        # Redis trims `MAXLEN ~ 5` by whole stream nodes (100 entries): publish
        # enough that the oldest events are certainly gone, for both buses.
        cursors = await publish_many(bus, topic, range(250))
        with pytest.raises(CursorExpired, match="retention"):
            await anext(bus.subscribe(topic, since=cursors[0]))
        assert bus.subscriber_count(topic) == 0
        # The newest 5 events are retained by both: resuming just before them works.
        sub = await subscribed(bus, topic, since=cursors[-6])
        assert numbers(await sub.take(5)) == list(range(245, 250))
        await sub.close()
        if kind == "memory":  # exact retention: one further back is one too far
            with pytest.raises(CursorExpired):
                await anext(bus.subscribe(topic, since=cursors[-7]))


async def test_cursor_unknown_on_topic_raises(bus: Any, topic: str) -> None:
    async with asyncio.timeout(TIMEOUT):
        cursor = await bus.publish(topic, {"n": 0})
        # A well-formed cursor that this topic never issued.
        with pytest.raises(CursorExpired):
            await anext(bus.subscribe(topic + ":empty", since=cursor))
        assert bus.subscriber_count() == 0


@pytest.mark.parametrize(
    "cursor", ["", "nope", "1-2-3", "-1", "12-", "0-x", " 1-0", "1-0\n", "abcd1234.", "a.b"]
)
async def test_malformed_cursor_raises_value_error(bus: Any, topic: str, cursor: str) -> None:
    async with asyncio.timeout(TIMEOUT):
        await bus.publish(topic, {"n": 0})
        with pytest.raises(ValueError, match="malformed"):
            await anext(bus.subscribe(topic, since=cursor))
        assert bus.subscriber_count() == 0


async def test_other_implementations_cursor_is_malformed(bus: Any, topic: str) -> None:
    async with asyncio.timeout(TIMEOUT):
        await bus.publish(topic, {"n": 0})
        foreign = "1700000000000-0" if isinstance(bus, InMemoryEventBus) else "0123abcd.1"
        with pytest.raises(ValueError, match="malformed"):
            await anext(bus.subscribe(topic, since=foreign))
        if isinstance(bus, RedisEventBus):
            with pytest.raises(ValueError, match="malformed"):
                await anext(bus.subscribe(topic, since=f"{2**64}-0"))


async def test_slow_subscriber_is_cut_off_others_unaffected(
    make_bus: BusFactory, topic: str
) -> None:
    async with asyncio.timeout(TIMEOUT):
        bus = await make_bus(queue_size=10)
        received: list[Event] = []

        async def fast() -> None:
            async with aclosing(bus.subscribe(topic)) as events:
                async for event in events:
                    received.append(event)
                    if len(received) == 40:
                        return

        fast_task = asyncio.create_task(fast())
        await until(lambda: bus.subscriber_count(topic) == 1)
        slow = await subscribed(bus, topic, total=2)  # takes one event, then never reads
        await publish_many(bus, topic, range(40))
        await fast_task
        assert numbers(received) == list(range(40))
        assert numbers([await slow.next()]) == [0]
        with pytest.raises(SubscriberTooSlow):
            await slow.next()
        assert bus.subscriber_count(topic) == 0


async def test_publish_requires_json_object(bus: Any, topic: str) -> None:
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(TypeError):
            await bus.publish(topic, {"when": object()})
        with pytest.raises(TypeError):
            await bus.publish(topic, ["not", "a", "dict"])
        with pytest.raises(ValueError):
            await bus.publish(topic, {"x": float("nan")})  # not JSON
        sub = await subscribed(bus, topic)
        await bus.publish(topic, {"nested": {"a": [1, 2.5, None, True, "é"]}})
        assert (await sub.next()).data == {"nested": {"a": [1, 2.5, None, True, "é"]}}
        await sub.close()


async def test_close_ends_subscriptions(make_bus: BusFactory, topic: str) -> None:
    async with asyncio.timeout(TIMEOUT):
        # Apps started by other tests in this session run buses of their own.
        before = {t for t in asyncio.all_tasks() if t.get_name().startswith("agora-events")}
        bus = await make_bus()
        await bus.ping()
        cursor = await bus.publish(topic, {"n": 0})
        live = await subscribed(bus, topic)
        resumed = await subscribed(bus, topic, since=cursor, total=2)
        await bus.close()
        for sub in (live, resumed):
            with pytest.raises(StopAsyncIteration):
                await sub.next()
        assert not [
            t
            for t in asyncio.all_tasks()
            if t.get_name().startswith("agora-events") and t not in before
        ]
        with pytest.raises(EventBusClosed):
            await bus.publish(topic, {"n": 1})
        with pytest.raises(EventBusClosed):
            await anext(bus.subscribe(topic))
        with pytest.raises(EventBusClosed):
            await bus.ping()
        await bus.close()  # idempotent


async def test_open_event_bus_picks_by_url(kind: str, backend_url: str | None) -> None:
    """No URL: in memory; a Redis URL: Redis."""
    opened = open_event_bus(backend_url, retention=7)
    assert isinstance(opened, InMemoryEventBus if kind == "memory" else RedisEventBus)
    assert isinstance(opened, EventBus)
    assert opened.retention == 7
    await opened.start()
    await opened.ping()
    await opened.close()


# -- Redis only -------------------------------------------------------------------


async def _clients(admin: aioredis.Redis, name: str) -> list[dict[str, Any]]:
    return [c for c in await admin.client_list() if c.get("name", "").startswith(name)]


async def test_redis_one_reading_connection_for_all_subscribers(redis_url: str) -> None:
    name = f"evt-{uuid.uuid4().hex[:8]}"
    async with (
        asyncio.timeout(TIMEOUT),
        aioredis.Redis.from_url(redis_url, decode_responses=True) as admin,
        RedisEventBus(redis_url, client_name=name) as bus,
    ):
        await bus.publish(f"{name}:warmup", {"n": 0})
        await bus.ping()
        before = len(await _clients(admin, name))

        topics = [f"{name}:{i}" for i in range(40)]
        subs = [Sub(bus, t) for t in topics[:20]]  # all at once
        await until(lambda: bus.subscriber_count() == 20)
        for t in topics[:20]:
            await bus.publish(t, {"n": t})
        for t, sub in zip(topics[:20], subs, strict=True):
            assert (await sub.next()).data == {"n": t}
        middle = await _clients(admin, name)

        subs += [Sub(bus, t) for t in topics[20:]]
        await until(lambda: bus.subscriber_count() == 40)
        for t in topics[20:]:
            await bus.publish(t, {"n": t})
        for t, sub in zip(topics[20:], subs[20:], strict=True):
            assert (await sub.next()).data == {"n": t}
        after = await _clients(admin, name)

        assert len(middle) - before <= 2, middle
        assert len(after) - before <= 2, after
        readers = [c for c in after if c["name"] == f"{name}:reader"]
        assert len(readers) == 1, after
        for sub in subs:
            await sub.close()


async def test_redis_events_reach_subscribers_of_another_process(redis_url: str) -> None:
    topic = f"test:{uuid.uuid4().hex}"
    async with (
        asyncio.timeout(TIMEOUT),
        RedisEventBus(redis_url) as process_a,
        RedisEventBus(redis_url) as process_b,
    ):
        on_a = await subscribed(process_a, topic)
        on_b = await subscribed(process_b, topic)
        await process_a.publish(topic, {"n": 1})
        await process_b.publish(topic, {"n": 2})
        for sub in (on_a, on_b):
            assert numbers(await sub.take(2)) == [1, 2]
        # A reconnecting client may resume on another process with its cursor.
        first = await process_a.publish(topic, {"n": 3})
        await process_a.publish(topic, {"n": 4})
        resumed = await subscribed(process_b, topic, since=first, total=2)
        assert numbers(await resumed.take(1)) == [4]
        for sub in (on_a, on_b, resumed):
            await sub.close()


async def test_redis_reader_recovers_from_a_killed_connection(redis_url: str) -> None:
    name = f"evt-{uuid.uuid4().hex[:8]}"
    topic = f"test:{uuid.uuid4().hex}"
    async with (
        asyncio.timeout(TIMEOUT),
        aioredis.Redis.from_url(redis_url, decode_responses=True) as admin,
        RedisEventBus(redis_url, client_name=name) as bus,
    ):
        sub = await subscribed(bus, topic)
        await bus.publish(topic, {"n": 0})
        assert numbers(await sub.take(1)) == [0]
        [reader] = [c for c in await _clients(admin, name) if c["name"] == f"{name}:reader"]
        assert await admin.client_kill_filter(_id=reader["id"]) == 1
        # Published while the reader is down: delivered after it reconnects, none lost.
        await publish_many(bus, topic, range(1, 6))
        assert numbers(await sub.take(5)) == [1, 2, 3, 4, 5]
        [new_reader] = [c for c in await _clients(admin, name) if c["name"] == f"{name}:reader"]
        assert new_reader["id"] != reader["id"]
        await sub.close()


async def test_redis_ping_fails_when_redis_stops_and_reader_recovers(
    own_redis: RedisHandle,
) -> None:
    server = own_redis
    topic = f"test:{uuid.uuid4().hex}"
    async with asyncio.timeout(TIMEOUT), RedisEventBus(server.url) as bus:
        await bus.ping()
        sub = await subscribed(bus, topic)
        await bus.publish(topic, {"n": 1})
        assert numbers(await sub.take(1)) == [1]

        server.stop()
        with pytest.raises((RedisError, OSError, TimeoutError)):
            await bus.ping()

        server.start()  # same port; its data is gone (no persistence)
        await until_ok(bus.ping)
        await bus.publish(topic, {"n": 2})
        assert numbers(await sub.take(1)) == [2]
        await sub.close()


async def until_ok(probe: Callable[[], Awaitable[None]]) -> None:
    while True:
        try:
            await probe()
            return
        except (RedisError, OSError, TimeoutError):
            await asyncio.sleep(0.05)


async def test_in_memory_ping_needs_no_server() -> None:
    bus = InMemoryEventBus()
    await bus.start()
    await bus.ping()
    await bus.close()
    with pytest.raises(EventBusClosed):
        await bus.ping()


async def test_cut_off_callback_fires_at_once(make_bus: BusFactory, topic: str) -> None:
    async with asyncio.timeout(TIMEOUT):
        bus = await make_bus(queue_size=3)
        fired: list[Exception] = []
        stalled = bus.subscribe(topic, on_cut_off=fired.append)
        first = asyncio.create_task(anext(stalled))
        while bus.subscriber_count(topic) == 0:
            await asyncio.sleep(0.01)
        for n in range(10):
            await bus.publish(topic, {"n": n})
        await first  # the one event it took; it never reads again
        async with asyncio.timeout(5):
            while not fired:
                await asyncio.sleep(0.01)
        assert isinstance(fired[0], SubscriberTooSlow)
        await stalled.aclose()


async def test_an_event_id_is_published_once(bus: Any, topic: str) -> None:
    """The outbox may publish an event again (a sweep racing the mutation, a crash
    before the event was marked done): the bus keeps the first, and says where it is."""
    sub = await subscribed(bus, topic)
    try:
        first = await bus.publish(topic, {"n": 1}, event_id=f"{topic}-1")
        again = await bus.publish(topic, {"n": 1}, event_id=f"{topic}-1")
        other = await bus.publish(topic, {"n": 2}, event_id=f"{topic}-2")
        assert again == first and other != first
        events = await sub.take(2)
        assert [e.data for e in events] == [{"n": 1}, {"n": 2}]
        assert [e.cursor for e in events] == [first, other]
    finally:
        await sub.close()


async def test_a_subscriber_skips_an_event_id_it_already_had(
    bus: Any, topic: str, kind: str, backend_url: str | None
) -> None:
    """When the bus has forgotten an id (Redis restarted empty, the hour went by) and the
    outbox publishes the event again, the stream holds it twice: subscribers, live or
    replaying, still get it once."""
    sub = await subscribed(bus, topic)
    try:
        before = await bus.publish(topic, {"n": 0}, event_id=f"{topic}-0")
        first = await bus.publish(topic, {"n": 1}, event_id=f"{topic}-1")
        if kind == "redis":
            assert backend_url is not None
            raw = aioredis.from_url(backend_url)
            await raw.delete(f"agora:event-ids:{topic}-1")
            await raw.aclose()
        else:
            bus._published.clear()
        again = await bus.publish(topic, {"n": 1}, event_id=f"{topic}-1")
        assert again != first  # the stream holds it twice
        await bus.publish(topic, {"n": 2}, event_id=f"{topic}-2")
        assert [e.data for e in await sub.take(3)] == [{"n": 0}, {"n": 1}, {"n": 2}]
        resumed = await subscribed(bus, topic, since=before, total=2)
        try:
            # A replay skips the copy too.
            assert [e.data for e in await resumed.take(2)] == [{"n": 1}, {"n": 2}]
        finally:
            await resumed.close()
    finally:
        await sub.close()
