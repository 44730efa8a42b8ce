"""The domain's vocabulary and limits, defined once for every layer.

Statuses, kinds and roles are `StrEnum`s: records keep the plain strings the
datastores hold, and compare equal to these members. The GraphQL enums are these
very classes (`schema/` registers them with Strawberry), so a new member appears
in the API, the storage checks and the seed at once. Declaration order is the
order clients see (reaction kinds are listed LIKE, LOVE, INSIGHTFUL, FUNNY).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    USER = "USER"
    MODERATOR = "MODERATOR"
    ADMIN = "ADMIN"


STAFF_ROLES = frozenset({Role.MODERATOR, Role.ADMIN})


class PostStatus(StrEnum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"


class ReactionKind(StrEnum):
    LIKE = "LIKE"
    LOVE = "LOVE"
    INSIGHTFUL = "INSIGHTFUL"
    FUNNY = "FUNNY"


class NotificationKind(StrEnum):
    FOLLOWED = "FOLLOWED"
    COMMENTED = "COMMENTED"
    REPLIED = "REPLIED"
    REACTED = "REACTED"


# Posts
MAX_TITLE = 200
MAX_BODY = 50_000
MAX_TAGS = 10
MAX_TAG_LENGTH = 50
TAG_PATTERN = rf"^[a-z0-9][a-z0-9_-]{{0,{MAX_TAG_LENGTH - 1}}}$"

# Comments
MAX_COMMENT = 10_000

# Profiles
MAX_BIO = 500
MAX_LOCATION = 100
MAX_URL = 500
MAX_LINKS = 5

# Accounts
MIN_HANDLE = 3
MAX_HANDLE = 30
HANDLE_PATTERN = rf"^[a-z0-9_]{{{MIN_HANDLE},{MAX_HANDLE}}}$"
MIN_PASSWORD = 10
# Argon2 copes with long input, but there is no reason to hash a megabyte.
MAX_PASSWORD = 1024
MAX_DISPLAY_NAME = 80


@dataclass(frozen=True)
class Action:
    """Something a user (the actor) did that may concern others."""

    actor_id: int


@dataclass(frozen=True)
class Followed(Action):
    followed_id: int


@dataclass(frozen=True)
class Commented(Action):
    post_author_id: int
    # The author of the comment replied to; None for a top-level comment.
    parent_author_id: int | None = None


@dataclass(frozen=True)
class Reacted(Action):
    post_author_id: int


@dataclass(frozen=True)
class Notice:
    """One notification an action causes: who receives it, and of which kind."""

    recipient_id: int
    kind: NotificationKind


def notices(action: Action) -> list[Notice]:
    """Who is notified of what: the one rule, used by the mutations and by `seed`.

    - following someone notifies them (FOLLOWED);
    - a reply notifies the author of the comment replied to (REPLIED), and a comment
      notifies the post's author (COMMENTED) unless they were just told of the reply;
    - a reaction notifies the post's author (REACTED);
    - nobody is notified of their own action.
    """
    found: list[Notice] = []
    if isinstance(action, Followed):
        found.append(Notice(action.followed_id, NotificationKind.FOLLOWED))
    elif isinstance(action, Commented):
        if action.parent_author_id is not None:
            found.append(Notice(action.parent_author_id, NotificationKind.REPLIED))
        if action.parent_author_id != action.post_author_id:
            found.append(Notice(action.post_author_id, NotificationKind.COMMENTED))
    elif isinstance(action, Reacted):
        found.append(Notice(action.post_author_id, NotificationKind.REACTED))
    return [notice for notice in found if notice.recipient_id != action.actor_id]
