"""Events datasource: what mutations publish and subscriptions receive.

``open_event_bus(None)`` gives the in-process bus (one server process only);
``open_event_bus("redis://...")`` gives the Redis Streams bus shared by every
process. Call ``await bus.start()`` at startup and ``await bus.close()`` at
shutdown (or use the bus as an async context manager).
"""

from .bus import CursorExpired, Event, EventBus, EventBusClosed, SubscriberTooSlow
from .memory import InMemoryEventBus
from .redis import RedisEventBus

__all__ = [
    "CursorExpired",
    "Event",
    "EventBus",
    "EventBusClosed",
    "InMemoryEventBus",
    "RedisEventBus",
    "SubscriberTooSlow",
    "open_event_bus",
]


def open_event_bus(
    redis_url: str | None, *, retention: int = 10_000, queue_size: int = 1000
) -> EventBus:
    """The Redis bus when ``redis_url`` is set, else the in-memory one. Not started yet."""
    if redis_url is None:
        return InMemoryEventBus(retention=retention, queue_size=queue_size)
    return RedisEventBus(redis_url, retention=retention, queue_size=queue_size)
