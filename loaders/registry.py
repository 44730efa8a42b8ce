"""One object holding a request's loaders, so resolvers reach them as `context.loaders.x`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from datasources.stores import Datastores
from loaders.base import MappedLoader, PagedLoader


def _per_viewer(
    fetch: Callable[[int, list[Any]], Awaitable[dict[Any, Any]]], default: Any
) -> Callable[[list[tuple[int, Any]]], Awaitable[dict[tuple[int, Any], Any]]]:
    """Adapts a fetch for one viewer to keys of (viewer id, id)."""

    async def load(keys: list[tuple[int, Any]]) -> dict[tuple[int, Any], Any]:
        by_viewer: dict[int, list[Any]] = defaultdict(list)
        for viewer_id, key in keys:
            by_viewer[viewer_id].append(key)
        found: dict[tuple[int, Any], Any] = {}
        for viewer_id, ids in by_viewer.items():
            values = await fetch(viewer_id, ids)
            for key in ids:
                found[(viewer_id, key)] = values.get(key, default)
        return found

    return load


@dataclass(frozen=True)
class Loaders:
    user_by_id: MappedLoader
    profile_by_user_id: MappedLoader
    post_by_id: MappedLoader
    comment_by_id: MappedLoader
    notification_by_id: MappedLoader
    follow_counts: MappedLoader  # user id -> (followers, following)
    published_post_count: MappedLoader  # author id -> int
    all_post_count: MappedLoader  # author id -> int, drafts included
    comment_count: MappedLoader  # post id -> int, replies included
    top_level_comment_count: MappedLoader  # post id -> int
    reply_count: MappedLoader  # comment id -> int
    reaction_counts: MappedLoader  # post id -> {kind: count}
    viewer_reactions: MappedLoader  # (viewer id, post id) -> [kind]
    viewer_follows: MappedLoader  # (viewer id, user id) -> bool
    published_posts: PagedLoader  # author id -> Page[PostRecord]
    all_posts: PagedLoader  # author id -> Page[PostRecord], drafts included
    followers: PagedLoader  # user id -> Page[int]
    following: PagedLoader  # user id -> Page[int]
    comments: PagedLoader  # post id -> Page[CommentRecord], top level
    replies: PagedLoader  # comment id -> Page[CommentRecord]


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

    return Loaders(
        user_by_id=MappedLoader(users.get_many),
        profile_by_user_id=MappedLoader(profiles.get_many),
        post_by_id=MappedLoader(posts.get_many),
        comment_by_id=MappedLoader(comments.get_many),
        notification_by_id=MappedLoader(notifications.get_many),
        follow_counts=MappedLoader(follows.counts, lambda: (0, 0)),
        published_post_count=MappedLoader(
            lambda ids: posts.count_by_authors(ids, include_drafts=False), int
        ),
        all_post_count=MappedLoader(
            lambda ids: posts.count_by_authors(ids, include_drafts=True), int
        ),
        comment_count=MappedLoader(comments.count_for_posts, int),
        top_level_comment_count=MappedLoader(comments.count_top_level, int),
        reply_count=MappedLoader(comments.count_replies, int),
        reaction_counts=MappedLoader(reactions.counts, dict),
        viewer_reactions=MappedLoader(_per_viewer(viewer_reactions, []), list),
        viewer_follows=MappedLoader(_per_viewer(viewer_follows, False), bool),
        published_posts=PagedLoader(
            lambda ids, page: posts.by_authors(ids, page, include_drafts=False)
        ),
        all_posts=PagedLoader(lambda ids, page: posts.by_authors(ids, page, include_drafts=True)),
        followers=PagedLoader(follows.followers),
        following=PagedLoader(follows.following),
        comments=PagedLoader(comments.top_level),
        replies=PagedLoader(comments.replies),
    )
