"""Each event's contract (resolvers/events.py): its topic, the payload it publishes, and
reading a payload back, which trusts nothing on the bus."""

from __future__ import annotations

from typing import Any

import pytest

from resolvers.events import CommentAdded, NotificationCreated, PostPublished, ReactionsChanged


def test_topics_are_filled_from_their_key() -> None:
    assert PostPublished.topic() == "posts:published"
    assert CommentAdded.topic(7) == "post:7:comments"
    assert ReactionsChanged.topic(7) == "post:7:reactions"
    assert NotificationCreated.topic(3) == "user:3:notifications"


def test_a_payload_reads_back_as_the_event_it_was() -> None:
    for event in (
        PostPublished(post_id=1, author_id=2),
        CommentAdded(comment_id="a" * 24),
        ReactionsChanged(post_id=1),
        NotificationCreated(notification_id="b" * 24),
    ):
        assert type(event).read(event.data()) == event


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"post_id": 1},
        {"post_id": "1", "author_id": 2},
        {"post_id": 1, "author_id": None},
        {"post_id": True, "author_id": 2},
        {"post_id": 1.0, "author_id": 2},
        {"post_id": [1], "author_id": 2},
    ],
    ids=["empty", "missing field", "string id", "null", "bool", "float", "list"],
)
def test_a_payload_of_the_wrong_shape_reads_as_nothing(payload: dict[str, Any]) -> None:
    assert PostPublished.read(payload) is None


def test_unknown_keys_are_ignored() -> None:
    assert CommentAdded.read({"comment_id": "c", "extra": {"$where": "1"}}) == CommentAdded("c")
    assert CommentAdded.read({"comment_id": 5}) is None
