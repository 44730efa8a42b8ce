"""Objects made from records with `schema.instances.made` are what their dataclass
`__init__` would make: every field it takes is set, from the right value of the
record, and nothing else."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from datasources.documents.comments import CommentRecord
from datasources.relational.posts import PostRecord
from datasources.relational.records import UserRecord
from domain import PostStatus, Role
from schema.comments import Comment
from schema.node import global_id
from schema.posts import Post
from schema.users import User

# Every timestamp differs, so fields that swapped their values would show.
AT = [datetime(2026, 5, 1, 8, 30, tzinfo=UTC) + timedelta(minutes=i) for i in range(4)]
POST = PostRecord(3, 1, "Title", "Body", ("a", "b"), "DRAFT", AT[0], AT[1], AT[2], AT[3])
USER = UserRecord(1, "ann", "ann@example.com", "Ann", "ADMIN", AT[0])
COMMENT = CommentRecord("c1", 3, 1, None, "Nice", AT[0], AT[1])

MADE: list[tuple[type[Any], Any, dict[str, Any]]] = [
    (
        Post,
        POST,
        {
            "id": global_id("Post", 3),
            "record": POST,
            "title": "Title",
            "body": "Body",
            "tags": ["a", "b"],
            "status": PostStatus.DRAFT,
            "created_at": AT[0],
            "updated_at": AT[1],
            "published_at": AT[2],
        },
    ),
    (
        User,
        USER,
        {
            "id": global_id("User", 1),
            "record": USER,
            "handle": "ann",
            "display_name": "Ann",
            "created_at": AT[0],
            "role": Role.ADMIN,
        },
    ),
    (
        Comment,
        COMMENT,
        {
            "id": global_id("Comment", "c1"),
            "record": COMMENT,
            "body": "Nice",
            "created_at": AT[0],
            "edited_at": AT[1],
        },
    ),
]


@pytest.mark.parametrize(("kind", "record", "expected"), MADE, ids=["Post", "User", "Comment"])
def test_made_objects_are_what_init_makes(
    kind: type[Any], record: Any, expected: dict[str, Any]
) -> None:
    made = kind.from_record(record)
    assert {field.name for field in dataclasses.fields(kind) if field.init} == set(expected)
    assert vars(made) == expected
    assert made == kind(**expected)
    assert made.record is record
