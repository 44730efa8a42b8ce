"""What a seed run produces: the data set, and the summary of a run that wrote it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from datasources.documents.comments import CommentRecord
from datasources.documents.notifications import NotificationRecord
from datasources.documents.profiles import ProfileRecord
from datasources.relational.posts import PostRecord
from datasources.relational.records import UserRecord
from domain import PostStatus


@dataclass
class DemoData:
    """Everything one seed run writes, in the repositories' own record types."""

    users: list[UserRecord] = field(default_factory=list)
    profiles: list[ProfileRecord] = field(default_factory=list)
    follows: list[tuple[int, int, datetime]] = field(default_factory=list)
    posts: list[PostRecord] = field(default_factory=list)
    comments: list[CommentRecord] = field(default_factory=list)
    reactions: list[tuple[int, int, str, datetime]] = field(default_factory=list)
    notifications: list[NotificationRecord] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        published = sum(post.status == PostStatus.PUBLISHED for post in self.posts)
        replies = sum(comment.parent_id is not None for comment in self.comments)
        return {
            "users": len(self.users),
            "profiles": len(self.profiles),
            "follows": len(self.follows),
            "posts": len(self.posts),
            "published posts": published,
            "drafts": len(self.posts) - published,
            "comments": len(self.comments),
            "replies": replies,
            "reactions": len(self.reactions),
            "notifications": len(self.notifications),
        }


@dataclass(frozen=True)
class SeedSummary:
    counts: dict[str, int]
    seconds: float
