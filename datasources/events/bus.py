"""The event bus contract: mutations publish, subscriptions receive.

Knows nothing of GraphQL. A *topic* is any string chosen by the caller
(e.g. ``"post:42:comments"``); an event's ``data`` is a JSON-serialisable dict.

Every event carries an opaque ``cursor``. A subscriber that reconnects with
``since=<last cursor it processed>`` first gets every retained event after that
cursor, in order, then live events, with no gap and no duplicate between the
two parts. If the events after the cursor have already left the retention
window, :class:`CursorExpired` is raised before anything is yielded; the caller
must then resynchronise (e.g. refetch state and subscribe without ``since``).

Subscriptions are registered when iteration starts (on the first ``__anext__``
of the iterator ``subscribe()`` returns). Errors about the cursor
(``ValueError``, ``CursorExpired``) are raised from that first ``__anext__``.
A subscriber that falls too far behind is cut off with
:class:`SubscriberTooSlow`, raised from its iterator; it can resubscribe with
``since`` to catch up. ``close()`` ends every open iterator normally
(``StopAsyncIteration``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Event:
    """One published event. ``data`` is shared between local subscribers: treat it as read-only."""

    topic: str
    cursor: str
    data: dict[str, Any]
    # The id it was published with, if any: a subscriber skips an id it already had.
    id: str | None = None


class CursorExpired(Exception):
    """The events following ``since`` are no longer retained (or the cursor is unknown here)."""

    def __init__(self, topic: str, cursor: str, reason: str) -> None:
        self.topic = topic
        self.cursor = cursor
        super().__init__(
            f"cursor {cursor!r} on topic {topic!r} can no longer be resumed: {reason}; "
            "events may have been missed, so resynchronise and subscribe again without `since`"
        )


class SubscriberTooSlow(Exception):
    """The subscriber's queue filled up; it was disconnected so the others are not delayed."""

    def __init__(self, topic: str, queue_size: int) -> None:
        self.topic = topic
        self.queue_size = queue_size
        super().__init__(
            f"subscriber of topic {topic!r} fell {queue_size} events behind and was "
            "disconnected; subscribe again with `since=<last cursor received>` to catch up"
        )


class EventBusClosed(RuntimeError):
    """The bus was used after ``close()``."""

    def __init__(self) -> None:
        super().__init__("the event bus is closed")


# Called from the publishing side when a subscriber is cut off for falling behind.
OnCutOff = Callable[[Exception], None] | None
# How many consumers one subscriber passes its events on to (None: one).
Audience = Callable[[], int] | None


@runtime_checkable
class EventBus(Protocol):
    async def publish(self, topic: str, data: dict[str, Any], event_id: str | None = None) -> str:
        """Publish ``data`` (JSON-serialisable) on ``topic``; return the new event's cursor.

        An ``event_id`` already published (recently: see the implementations) is not
        published again: its first cursor is returned. Publishing is at least once
        (the outbox retries), delivery exactly once.
        """
        ...

    def subscribe(
        self,
        topic: str,
        since: str | None = None,
        on_cut_off: OnCutOff = None,
        audience: Audience = None,
    ) -> AsyncIterator[Event]:
        """Events on ``topic`` published after the subscription starts.

        With ``since``: first every retained event after that cursor, then live
        events, without gap or duplicate. Raises ``CursorExpired`` if the cursor
        is out of the retention window, ``ValueError`` if it is malformed, and
        ``SubscriberTooSlow`` if this subscriber falls too far behind; ``on_cut_off``
        is then also called at once (from the publishing side), so a consumer that
        is blocked elsewhere, e.g. writing to a stalled client, learns of it too.
        ``audience`` says how many consumers this subscriber stands for, in
        ``subscriber_count``.
        """
        ...

    def subscriber_count(self, topic: str | None = None) -> int:
        """Active local subscribers (on ``topic``, or in total), each counted for its
        audience: useful for metrics and tests.

        A subscriber is counted once events published from then on are sure to reach it.
        """
        ...

    async def ping(self) -> None:
        """Return if the backend answers, raise otherwise (used by ``/readyz``)."""
        ...

    async def start(self) -> None:
        """Start background work (idempotent). Does not fail when the backend is down."""
        ...

    async def close(self) -> None:
        """End all subscriptions, stop background tasks, close connections (idempotent)."""
        ...
