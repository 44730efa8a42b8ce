"""What both event buses share: their limits, the closed state, `async with`, and
handing an event to this process's subscribers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Self

import structlog

from ._subscriber import K, Subscriber
from .bus import Event, EventBusClosed

log = structlog.get_logger(__name__)


class BusBase(ABC):
    def __init__(self, retention: int, queue_size: int) -> None:
        if retention < 1:
            raise ValueError("retention must be at least 1")
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.retention = retention
        self.queue_size = queue_size
        self._closed = False

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise EventBusClosed()

    @staticmethod
    def _check_data(data: dict[str, Any]) -> None:
        if not isinstance(data, dict):
            raise TypeError(f"event data must be a dict, not {type(data).__name__}")

    def _offer(self, subscriber: Subscriber[K], key: K, event: Event) -> bool:
        """Queues the event for the subscriber; False (logged) when the subscriber was
        cut off for being too slow, or already had been, so the caller forgets it."""
        if subscriber.offer(key, event):
            return True
        log.warning(
            "event subscriber too slow, disconnected",
            topic=subscriber.topic,
            queue_size=self.queue_size,
        )
        return False
