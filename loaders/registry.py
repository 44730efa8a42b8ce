"""One object holding a request's loaders, so resolvers reach them as `context.loaders.x`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from datasources.documents.comments import CommentRecord
from datasources.documents.notifications import NotificationRecord
from datasources.documents.post_counts import PostCounts
from datasources.documents.profiles import ProfileRecord
from datasources.relational.posts import PostRecord
from datasources.relational.records import UserRecord
from datasources.stores import Datastores
from loaders.base import ListLoader, MappedLoader, PagedLoader

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _per_viewer(
    fetch: Callable[[int, list[K]], Awaitable[Mapping[K, V]]], default: Callable[[], V]
) -> Callable[[list[tuple[int, K]]], Awaitable[dict[tuple[int, K], V]]]:
    """Adapts a fetch for one viewer to keys of (viewer id, id)."""

    async def load(keys: list[tuple[int, K]]) -> dict[tuple[int, K], V]:
        by_viewer: dict[int, list[K]] = defaultdict(list)
        for viewer_id, key in keys:
            by_viewer[viewer_id].append(key)
        found: dict[tuple[int, K], V] = {}
        for viewer_id, ids in by_viewer.items():
            values = await fetch(viewer_id, ids)
            for key in ids:
                found[(viewer_id, key)] = values[key] if key in values else default()
        return found

    return load


@dataclass(frozen=True)
class Loaders:
    user_by_id: ListLoader[int, UserRecord | None]
    profile_by_user_id: ListLoader[int, ProfileRecord]
    post_by_id: ListLoader[int, PostRecord | None]
    comment_by_id: ListLoader[str, CommentRecord | None]
    notification_by_id: ListLoader[str, NotificationRecord | None]
    follow_counts: MappedLoader[int, tuple[int, int]]  # user id -> (followers, following)
    published_post_count: MappedLoader[int, int]  # by author id
    all_post_count: MappedLoader[int, int]  # by author id, drafts included
    post_counts: MappedLoader[int, PostCounts]  # by post id: comments and reactions
    comment_count: MappedLoader[int, int]  # by post id, replies included
    top_level_comment_count: MappedLoader[int, int]  # by post id
    reply_count: MappedLoader[str, int]  # by comment id
    reaction_counts: MappedLoader[int, dict[str, int]]  # post id -> {kind: count}
    viewer_reactions: MappedLoader[tuple[int, int], list[str]]  # (viewer id, post id) -> kinds
    viewer_follows: MappedLoader[tuple[int, int], bool]  # (viewer id, user id)
    published_posts: PagedLoader[int, PostRecord]  # by author id
    all_posts: PagedLoader[int, PostRecord]  # by author id, drafts included
    followers: PagedLoader[int, int]  # user id -> follower ids
    following: PagedLoader[int, int]  # user id -> followed ids
    comments: PagedLoader[int, CommentRecord]  # by post id, top level
    replies: PagedLoader[str, CommentRecord]  # by comment id


def build_loaders(stores: Datastores) -> Loaders:
    """Must run inside the event loop that serves the request (aiodataloader binds to it)."""
    users = stores.relational.users
    posts = stores.relational.posts
    follows = stores.relational.follows
    profiles = stores.documents.profiles
    comments = stores.documents.comments
    reactions = stores.documents.reactions
    notifications = stores.documents.notifications

    async def viewer_follows(viewer_id: int, ids: list[int]) -> dict[int, bool]:
        followed = await follows.follows_among(viewer_id, ids)
        return {i: i in followed for i in ids}

    async def viewer_reactions(viewer_id: int, ids: list[int]) -> dict[int, list[str]]:
        return await reactions.kinds_by_user(ids, viewer_id)

    follow_counts = MappedLoader(follows.counts, lambda: (0, 0))

    async def users_by_id(ids: list[int]) -> list[UserRecord | None]:
        # The users' rows carry their follow counts: a followerCount beside a user
        # costs no query of its own.
        found, counts = await users.get_many_with_follow_counts(ids)
        for user_id, value in counts.items():
            follow_counts.prime(user_id, value)
        return found

    # commentCount, comments' totalCount and reactions of the same posts: one query.
    post_counts = MappedLoader(stores.documents.post_counts.get_many, PostCounts)

    async def counted(post_ids: list[int]) -> dict[int, PostCounts]:
        return dict(zip(post_ids, await post_counts.load_many(post_ids), strict=True))

    async def comment_counts(post_ids: list[int]) -> dict[int, int]:
        return {i: counts.comments for i, counts in (await counted(post_ids)).items()}

    async def top_level_counts(post_ids: list[int]) -> dict[int, int]:
        return {i: counts.top_level for i, counts in (await counted(post_ids)).items()}

    async def reaction_counts(post_ids: list[int]) -> dict[int, dict[str, int]]:
        return {i: dict(counts.reactions) for i, counts in (await counted(post_ids)).items()}

    published_post_count = MappedLoader(
        lambda ids: posts.count_by_authors(ids, include_drafts=False), int
    )
    all_post_count = MappedLoader(lambda ids: posts.count_by_authors(ids, include_drafts=True), int)
    top_level_comment_count = MappedLoader(top_level_counts, int)
    reply_count = MappedLoader(comments.count_replies, int)

    async def follower_count(user_id: int) -> int:
        return (await follow_counts.load(user_id))[0]

    async def following_count(user_id: int) -> int:
        return (await follow_counts.load(user_id))[1]

    return Loaders(
        user_by_id=ListLoader(users_by_id),
        profile_by_user_id=ListLoader(profiles.get_many),
        post_by_id=ListLoader(posts.get_many),
        comment_by_id=ListLoader(comments.get_many),
        notification_by_id=ListLoader(notifications.get_many),
        follow_counts=follow_counts,
        published_post_count=published_post_count,
        all_post_count=all_post_count,
        post_counts=post_counts,
        comment_count=MappedLoader(comment_counts, int),
        top_level_comment_count=top_level_comment_count,
        reply_count=reply_count,
        reaction_counts=MappedLoader(reaction_counts, dict),
        viewer_reactions=MappedLoader(_per_viewer(viewer_reactions, list), list),
        viewer_follows=MappedLoader(_per_viewer(viewer_follows, bool), bool),
        published_posts=PagedLoader(
            lambda ids, page: posts.by_authors(ids, page, include_drafts=False),
            published_post_count.load,
        ),
        all_posts=PagedLoader(
            lambda ids, page: posts.by_authors(ids, page, include_drafts=True),
            all_post_count.load,
        ),
        followers=PagedLoader(follows.followers, follower_count),
        following=PagedLoader(follows.following, following_count),
        comments=PagedLoader(comments.top_level, top_level_comment_count.load),
        replies=PagedLoader(comments.replies, reply_count.load),
    )
