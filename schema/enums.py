"""The GraphQL enums: the domain's own enums (domain.py), registered with Strawberry,
so the API and every other layer share one definition."""

from __future__ import annotations

import strawberry

from domain import NotificationKind, PostStatus, ReactionKind, Role

strawberry.enum(Role, description="What a user may do beyond their own content.")
strawberry.enum(PostStatus)
strawberry.enum(ReactionKind)
strawberry.enum(NotificationKind)

__all__ = ["NotificationKind", "PostStatus", "ReactionKind", "Role"]
