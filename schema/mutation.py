"""The root Mutation type, merged from the per-domain mutation classes."""

from __future__ import annotations

from strawberry.tools import merge_types

from schema.accounts import AccountMutations
from schema.comments import CommentMutations
from schema.follows import FollowMutations
from schema.notifications import NotificationMutations
from schema.posts import PostMutations
from schema.profiles import ProfileMutations
from schema.reactions import ReactionMutations

Mutation = merge_types(
    "Mutation",
    (
        AccountMutations,
        ProfileMutations,
        PostMutations,
        CommentMutations,
        ReactionMutations,
        FollowMutations,
        NotificationMutations,
    ),
)
