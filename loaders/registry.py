"""One object holding a request's loaders, so resolvers reach them as `context.loaders.x`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from functools import cached_property
from typing import TypeVar

from datasources.documents.comments import CommentRecord
from datasources.documents.notifications import NotificationRecord
from datasources.documents.post_counts import PostCounts
from datasources.documents.profiles import ProfileRecord
from datasources.relational.posts import PostRecord
from datasources.relational.records import UserRecord
from datasources.relational.users import ShownUsers
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


class Loaders:
    """A request's loaders, each built when first used: most operations use one or two
    of them, and building all twenty-one took longer than a small query's execution.
    Must be created inside the event loop that serves the request (aiodataloader binds
    to it)."""

    def __init__(self, stores: Datastores) -> None:
        self._stores = stores
        self._users = stores.relational.users
        self._posts = stores.relational.posts
        self._follows = stores.relational.follows
        self._documents = stores.documents

    @cached_property
    def user_by_id(self) -> ListLoader[int, UserRecord | None]:
        follow_counts = self.follow_counts

        async def users_by_id(ids: list[int]) -> list[UserRecord | None]:
            # The users' rows carry their follow counts: a followerCount beside a user
            # costs no query of its own.
            found, counts = await self._users.get_many_with_follow_counts(ids)
            for user_id, value in counts.items():
                follow_counts.prime(user_id, value)
            return found

        return ListLoader(users_by_id)

    def prime_users(self, users: ShownUsers) -> None:
        """Users read beside something else (the authors of a page of posts): loading
        them later in the request reads nothing."""
        user_by_id, follow_counts = self.user_by_id, self.follow_counts
        for user_id, (record, counts) in users.items():
            user_by_id.prime(user_id, record)
            follow_counts.prime(user_id, counts)

    @cached_property
    def profile_by_user_id(self) -> ListLoader[int, ProfileRecord]:
        return ListLoader(self._documents.profiles.get_many)

    @cached_property
    def post_by_id(self) -> ListLoader[int, PostRecord | None]:
        return ListLoader(self._posts.get_many)

    @cached_property
    def comment_by_id(self) -> ListLoader[str, CommentRecord | None]:
        return ListLoader(self._documents.comments.get_many)

    @cached_property
    def notification_by_id(self) -> ListLoader[str, NotificationRecord | None]:
        return ListLoader(self._documents.notifications.get_many)

    @cached_property
    def follow_counts(self) -> MappedLoader[int, tuple[int, int]]:
        """user id -> (followers, following)"""
        return MappedLoader(self._follows.counts, lambda: (0, 0))

    @cached_property
    def published_post_count(self) -> MappedLoader[int, int]:
        """by author id"""
        posts = self._posts
        return MappedLoader(lambda ids: posts.count_by_authors(ids, include_drafts=False), int)

    @cached_property
    def all_post_count(self) -> MappedLoader[int, int]:
        """by author id, drafts included"""
        posts = self._posts
        return MappedLoader(lambda ids: posts.count_by_authors(ids, include_drafts=True), int)

    @cached_property
    def post_counts(self) -> MappedLoader[int, PostCounts]:
        """by post id: comments and reactions. commentCount, comments' totalCount and
        reactions of the same posts share its one query."""
        return MappedLoader(self._documents.post_counts.get_many, PostCounts)

    async def _counted(self, post_ids: list[int]) -> dict[int, PostCounts]:
        return dict(zip(post_ids, await self.post_counts.load_many(post_ids), strict=True))

    @cached_property
    def comment_count(self) -> MappedLoader[int, int]:
        """by post id, replies included"""

        async def comment_counts(post_ids: list[int]) -> dict[int, int]:
            return {i: counts.comments for i, counts in (await self._counted(post_ids)).items()}

        return MappedLoader(comment_counts, int)

    @cached_property
    def top_level_comment_count(self) -> MappedLoader[int, int]:
        """by post id"""

        async def top_level_counts(post_ids: list[int]) -> dict[int, int]:
            counted = await self._counted(post_ids)
            return {i: counts.top_level for i, counts in counted.items()}

        return MappedLoader(top_level_counts, int)

    @cached_property
    def reply_count(self) -> MappedLoader[str, int]:
        """by comment id"""
        return MappedLoader(self._documents.comments.count_replies, int)

    @cached_property
    def reaction_counts(self) -> MappedLoader[int, dict[str, int]]:
        """post id -> {kind: count}"""

        async def reaction_counts(post_ids: list[int]) -> dict[int, dict[str, int]]:
            counted = await self._counted(post_ids)
            return {i: dict(counts.reactions) for i, counts in counted.items()}

        return MappedLoader(reaction_counts, dict)

    @cached_property
    def viewer_reactions(self) -> MappedLoader[tuple[int, int], list[str]]:
        """(viewer id, post id) -> kinds"""
        reactions = self._documents.reactions

        async def viewer_reactions(viewer_id: int, ids: list[int]) -> dict[int, list[str]]:
            return await reactions.kinds_by_user(ids, viewer_id)

        return MappedLoader(_per_viewer(viewer_reactions, list), list)

    @cached_property
    def viewer_follows(self) -> MappedLoader[tuple[int, int], bool]:
        """(viewer id, user id)"""
        follows = self._follows

        async def viewer_follows(viewer_id: int, ids: list[int]) -> dict[int, bool]:
            followed = await follows.follows_among(viewer_id, ids)
            return {i: i in followed for i in ids}

        return MappedLoader(_per_viewer(viewer_follows, bool), bool)

    @cached_property
    def published_posts(self) -> PagedLoader[int, PostRecord]:
        """by author id"""
        posts = self._posts
        return PagedLoader(
            lambda ids, page: posts.by_authors(ids, page, include_drafts=False),
            self.published_post_count.load,
        )

    @cached_property
    def all_posts(self) -> PagedLoader[int, PostRecord]:
        """by author id, drafts included"""
        posts = self._posts
        return PagedLoader(
            lambda ids, page: posts.by_authors(ids, page, include_drafts=True),
            self.all_post_count.load,
        )

    @cached_property
    def followers(self) -> PagedLoader[int, int]:
        """user id -> follower ids"""

        async def follower_count(user_id: int) -> int:
            return (await self.follow_counts.load(user_id))[0]

        return PagedLoader(self._follows.followers, follower_count)

    @cached_property
    def following(self) -> PagedLoader[int, int]:
        """user id -> followed ids"""

        async def following_count(user_id: int) -> int:
            return (await self.follow_counts.load(user_id))[1]

        return PagedLoader(self._follows.following, following_count)

    @cached_property
    def comments(self) -> PagedLoader[int, CommentRecord]:
        """by post id, top level"""
        return PagedLoader(self._documents.comments.top_level, self.top_level_comment_count.load)

    @cached_property
    def replies(self) -> PagedLoader[str, CommentRecord]:
        """by comment id"""
        return PagedLoader(self._documents.comments.replies, self.reply_count.load)


def build_loaders(stores: Datastores) -> Loaders:
    """Must run inside the event loop that serves the request (aiodataloader binds to it)."""
    return Loaders(stores)
