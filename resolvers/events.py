"""The events mutations announce once their writes are committed: each event's topic,
payload, publishing and reading in one class.

Each event is recorded with the write that causes it (the outbox,
datasources/outbox_relay.py), so none is lost once the write commits.

An event carries ids only: each subscriber resolves the entity itself, with
fresh loaders and its own authorization, so nothing stale or private is fanned out.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

from datasources.events.outbox import OutboxEntry, new_event_id
from logs import get_logger
from telemetry import metrics

if TYPE_CHECKING:
    from resolvers.context import Context

log = get_logger(__name__)

# Publishing must not hold a mutation up for long when the event bus is unwell.
PUBLISH_TIMEOUT_SECONDS = 2.0
# The exit status of the test fault `exit_after_commit` (settings.test_fault).
FAULT_EXIT_CODE = 70


class Announcement:
    """Base of the events: frozen dataclasses of int and str ids. `TOPIC` is the topic
    template, filled by `topic(*key)`; the payload on the bus is the dataclass as a
    dict, and `read` turns it back, or gives None when a field is missing or of the
    wrong type (nothing trusts the bus blindly)."""

    TOPIC: ClassVar[str]

    @classmethod
    def topic(cls, *key: int) -> str:
        return cls.TOPIC.format(*key)

    def data(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def recorded(self, topic: str, where: str, event_id: str | None = None) -> OutboxEntry:
        """The event as its write records it in the store `where`."""
        return OutboxEntry(event_id or new_event_id(), topic, self.data(), where)

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> Self | None:
        values = {}
        for name, kind in _fields(cls):
            value = data.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                return None
            values[name] = value
        return cls(**values)


_FIELDS: dict[type[Announcement], tuple[tuple[str, type], ...]] = {}


def _fields(event_type: type[Announcement]) -> tuple[tuple[str, type], ...]:
    """Each payload field's name and type, worked out once per event type."""
    found = _FIELDS.get(event_type)
    if found is None:
        hints = typing.get_type_hints(event_type)
        fields = dataclasses.fields(event_type)  # type: ignore[arg-type]
        found = _FIELDS[event_type] = tuple((f.name, hints[f.name]) for f in fields)
    return found


@dataclass(frozen=True)
class PostPublished(Announcement):
    """A post became visible to everyone (created published, or a draft published)."""

    TOPIC = "posts:published"
    post_id: int
    author_id: int


@dataclass(frozen=True)
class CommentAdded(Announcement):
    """A comment or a reply was added under the post `topic(post_id)` names."""

    TOPIC = "post:{}:comments"
    comment_id: str


@dataclass(frozen=True)
class ReactionsChanged(Announcement):
    """Someone reacted to a post, or took a reaction back."""

    TOPIC = "post:{}:reactions"
    post_id: int


@dataclass(frozen=True)
class NotificationCreated(Announcement):
    """A notification was written for the user `topic(user_id)` names."""

    TOPIC = "user:{}:notifications"
    notification_id: str


async def announce(ctx: Context, event: Announcement, entry: OutboxEntry) -> None:
    """Publishes `event`, recorded as `entry` with its write, once the write committed,
    and marks it done; on failure the outbox relay publishes it later. Never fails the
    mutation: the write stands."""
    stores = ctx.stores
    if ctx.settings.test_fault == "exit_after_commit":
        log.warning("test fault: exiting between a commit and its event's publish")
        os._exit(FAULT_EXIT_CODE)
    relay = stores.relay
    if relay.behind:  # the relay has older events to publish first
        relay.wake()
        return
    try:
        publish = stores.events.publish(entry.topic, entry.data, event_id=entry.id)
        await asyncio.wait_for(publish, PUBLISH_TIMEOUT_SECONDS)
        metrics.event_published(type(event).__name__)
    except Exception as error:
        log.warning("event not published yet: the outbox relay will", error=type(error).__name__)
        relay.fell_behind()
        return
    relay.published(entry)
