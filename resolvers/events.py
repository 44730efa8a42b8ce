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
from typing import Any, Self

from datasources.stores import Datastores
from logs import get_logger

log = get_logger(__name__)

# Publishing must not hold a mutation up for long when the event bus is unwell.
PUBLISH_TIMEOUT_SECONDS = 2.0


class Announcement:
    """Base of the event payloads: frozen dataclasses of int and str ids. The payload
    on the bus is the dataclass as a dict; `read` turns it back, or gives None when a
    field is missing or of the wrong type (nothing trusts the bus blindly)."""

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

    post_id: int
    author_id: int

    @staticmethod
    def topic() -> str:
        return "posts:published"


@dataclass(frozen=True)
class CommentAdded(Announcement):
    """A comment or a reply was added under a post."""

    comment_id: str

    @staticmethod
    def topic(post_id: int) -> str:
        return f"post:{post_id}:comments"


@dataclass(frozen=True)
class ReactionsChanged(Announcement):
    """Someone reacted to a post, or took a reaction back."""

    post_id: int

    @staticmethod
    def topic(post_id: int) -> str:
        return f"post:{post_id}:reactions"


@dataclass(frozen=True)
class NotificationCreated(Announcement):
    """A notification was written for the topic's user."""

    notification_id: str

    @staticmethod
    def topic(user_id: int) -> str:
        return f"user:{user_id}:notifications"


async def announce(stores: Datastores, topic: str, event: Announcement) -> None:
    """Publish after the write committed; a bus failure is logged, never the mutation's."""
    try:
        await asyncio.wait_for(stores.events.publish(topic, event.data()), PUBLISH_TIMEOUT_SECONDS)
    except Exception as error:  # the write stands; live subscribers miss this one event
        log.warning("event not published", topic=topic, error=type(error).__name__)
