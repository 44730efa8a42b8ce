"""Objects made from records with `schema.instances.made` are what their dataclass
`__init__` would make: every field it takes is set, and nothing else."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from datasources.documents.comments import CommentRecord
from datasources.relational.posts import PostRecord
from datasources.relational.records import UserRecord
from schema.comments import Comment
from schema.posts import Post
from schema.users import User

AT = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)
MADE: list[tuple[type[Any], Any]] = [
    (Post, PostRecord(3, 1, "Title", "Body", ("a", "b"), "DRAFT", AT, AT, None, AT)),
    (User, UserRecord(1, "ann", "ann@example.com", "Ann", "ADMIN", AT)),
    (Comment, CommentRecord("c1", 3, 1, None, "Nice", AT, AT)),
]


@pytest.mark.parametrize(("kind", "record"), MADE, ids=lambda v: getattr(v, "__name__", ""))
def test_made_objects_are_what_init_makes(kind: type[Any], record: Any) -> None:
    made = kind.from_record(record)
    fields = vars(made)
    init_fields = {field.name for field in dataclasses.fields(kind) if field.init}
    assert set(fields) == init_fields
    by_init = kind(**fields)
    assert vars(by_init) == fields
    assert by_init == made
    assert made.record is record
