"""The events mutations announce once their writes are committed: each event's topic,
payload, publishing and reading in one class.

An event carries ids only: each subscriber resolves the entity itself, with
fresh loaders and its own authorization, so nothing stale or private is fanned out.
"""

from __future__ import annotations

import asyncio
import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from datasources.stores import Datastores
from logs import get_logger
from telemetry import metrics

log = get_logger(__name__)

# Publishing must not hold a mutation up for long when the event bus is unwell.
PUBLISH_TIMEOUT_SECONDS = 2.0


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


async def announce(stores: Datastores, topic: str, event: Announcement) -> None:
    """Publish after the write committed; a bus failure is logged, never the mutation's."""
    try:
        await asyncio.wait_for(stores.events.publish(topic, event.data()), PUBLISH_TIMEOUT_SECONDS)
        metrics.event_published(type(event).__name__)
    except Exception as error:  # the write stands; live subscribers miss this one event
        log.warning("event not published", topic=topic, error=type(error).__name__)
