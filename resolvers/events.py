"""What mutations announce, on which topic, once their writes are committed.

An event carries ids only: each subscriber resolves the entity itself, with
fresh loaders and its own authorization, so nothing stale or private is fanned out.
"""

from __future__ import annotations

import asyncio
from typing import Any

from datasources.stores import Datastores
from logs import get_logger

log = get_logger(__name__)

POSTS_PUBLISHED = "posts:published"
# Publishing must not hold a mutation up for long when the event bus is unwell.
PUBLISH_TIMEOUT_SECONDS = 2.0


def comments_topic(post_id: int) -> str:
    return f"post:{post_id}:comments"


def reactions_topic(post_id: int) -> str:
    return f"post:{post_id}:reactions"


def notifications_topic(user_id: int) -> str:
    return f"user:{user_id}:notifications"


async def announce(stores: Datastores, topic: str, data: dict[str, Any]) -> None:
    """Publish after the write committed; a bus failure is logged, never the mutation's."""
    try:
        await asyncio.wait_for(stores.events.publish(topic, data), PUBLISH_TIMEOUT_SECONDS)
    except Exception as error:  # the write stands; live subscribers miss this one event
        log.warning("event not published", topic=topic, error=type(error).__name__)
