"""Posts: drafts and published posts, their tags, listings, the feed and per-author pages.

Every listing orders by (sort_at DESC, id DESC) and pages by keyset (see keyset.py);
the key of a post is `(sort_at, id)`. A post whose `deleted_at` is set is a tombstone:
no read method returns or counts it, and `purge` removes it later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    bindparam,
    delete,
    func,
    insert,
    or_,
    outerjoin,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from datasources.events.outbox import OutboxEntry
from datasources.paging import Key, Page, PageRequest, key_of, page_from_rows
from datasources.relational import outbox
from datasources.relational.direct_reads import DirectRead
from datasources.relational.id_lists import by_ids
from datasources.relational.keyset import before_key, newest_per_group, parse_time_key, time_key
from datasources.relational.models import PUBLISHED_POSTS, Counter, Follow, Post, PostTag, User
from datasources.relational.records import new_record, utc
from datasources.relational.sessions import Sessions, advance_id_sequence, rowcount
from datasources.relational.text_search import contains_ci
from datasources.relational.users import SHOWN_WITH_COUNTS, ShownUsers, shown_with_counts
from domain import MAX_TAG_LENGTH, MAX_TITLE, PostStatus

Ts = TypeVarTuple("Ts")
# The event to record in the transaction that publishes a post.
Announce = Callable[["PostRecord"], OutboxEntry]

DRAFT = PostStatus.DRAFT.value
PUBLISHED = PostStatus.PUBLISHED.value


class PostRecord(NamedTuple):
    """Immutable: a tuple rather than a frozen dataclass, which takes ten times as long
    to build (a page of 100 posts builds 100 of them)."""

    id: int
    author_id: int
    title: str
    body: str
    tags: tuple[str, ...]
    status: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    sort_at: datetime

    @classmethod
    def from_row(cls, row: Post | Row[*tuple[Any, ...]]) -> PostRecord:
        """From a Post, or a row holding at least the columns of one."""
        return cls.from_columns(tuple(getattr(row, column.key) for column in _COLUMNS))

    @classmethod
    def from_columns(cls, row: Row[*tuple[Any, ...]] | tuple[Any, ...]) -> PostRecord:
        """From a row whose first columns are `_COLUMNS`, in their order: read by
        position, a tenth of the time of reading ten columns by name."""
        (id_, author_id, title, body, tags, status, created, updated, published, sort_at) = row[:10]
        return new_record(
            cls,
            (
                id_,
                author_id,
                title,
                body,
                tuple(tags or ()),
                status,
                utc(created),
                utc(updated),
                utc(published) if published is not None else None,
                utc(sort_at),
            ),
        )

    @property
    def key(self) -> Key:
        return time_key(self.sort_at, self.id)


def normalise_tags(tags: Sequence[str]) -> list[str]:
    """Lower-cased, duplicates dropped, first occurrence's order kept."""
    seen: dict[str, None] = {}
    for tag in tags:
        seen.setdefault(tag.lower(), None)
    out = list(seen)
    if any(not tag or len(tag) > MAX_TAG_LENGTH for tag in out):
        # PostgreSQL would refuse it, SQLite would store it: refuse on both.
        raise ValueError(f"tags must be 1..{MAX_TAG_LENGTH} characters")
    return out


def _check_title(title: str) -> None:
    if len(title) > MAX_TITLE:
        raise ValueError(f"title longer than {MAX_TITLE} characters")


_COLUMNS = (
    Post.id,
    Post.author_id,
    Post.title,
    Post.body,
    Post.tags,
    Post.status,
    Post.created_at,
    Post.updated_at,
    Post.published_at,
    Post.sort_at,
)
_NEWEST_FIRST = (Post.sort_at.desc(), Post.id.desc())


def _visible() -> ColumnElement[bool]:
    return Post.deleted_at.is_(None)


# The hottest reads, built once: posts by id (a loader's batch), the first page of
# every published post, and the kept count of published posts.
_BY_ID = by_ids(select(*_COLUMNS).where(_visible()), Post.id)
_PUBLISHED_COUNT = select(Counter.value).where(Counter.name == PUBLISHED_POSTS)
# A listing of every published post reads the kept count beside its rows, after
# `_COLUMNS`: a totalCount asked with the page costs no round trip of its own.
_WITH_PUBLISHED_COUNT = (*_COLUMNS, _PUBLISHED_COUNT.scalar_subquery())
_EVERY_PUBLISHED = select(*_WITH_PUBLISHED_COUNT).where(Post.status == PUBLISHED, _visible())
# The same with each post's author (shown to others, with follow counts) after the
# count: a listing that shows its authors reads them in the same round trip, not in a
# second one once the posts are known.
_WITH_AUTHORS = outerjoin(Post, User, User.id == Post.author_id)
_EVERY_PUBLISHED_WITH_AUTHORS = (
    select(*_WITH_PUBLISHED_COUNT, *SHOWN_WITH_COUNTS)
    .select_from(_WITH_AUTHORS)
    .where(Post.status == PUBLISHED, _visible())
)
# The next pages of a listing: after the key (`at`, `id`) of the last post of a page.
_AFTER_KEY = (bindparam("at", type_=Post.sort_at.type), bindparam("id", type_=Post.id.type))


def _pages(every: Select[*Ts]) -> tuple[DirectRead[*Ts], DirectRead[*Ts]]:
    """The first page of `every` post, newest first, and its pages after a key."""
    first = every.order_by(*_NEWEST_FIRST).limit(bindparam("limit"))
    after = every.where(before_key(Post.sort_at, Post.id, _AFTER_KEY))
    return DirectRead(first), DirectRead(after.order_by(*_NEWEST_FIRST).limit(bindparam("limit")))


_PUBLISHED_PAGES = _pages(_EVERY_PUBLISHED)
_PUBLISHED_PAGES_WITH_AUTHORS = _pages(_EVERY_PUBLISHED_WITH_AUTHORS)


def _published_not_by_index(is_sqlite: bool) -> ColumnElement[bool]:
    """`status = 'PUBLISHED'`, for statements where a narrower condition (a tag, the
    followed authors) picks the rows. SQLite chooses indexes by rules, not statistics,
    and would walk every published post in order through the status index to skip
    the sort; written `status || ''` it cannot. PostgreSQL chooses by its statistics."""
    if is_sqlite:
        return Post.status.concat("") == PUBLISHED
    return Post.status == PUBLISHED


def _selected(authors: ShownUsers | None) -> Select[*tuple[Any, ...]]:
    """The columns a filtered listing reads: a post's, then its author's when `authors`
    is to receive them."""
    if authors is None:
        return select(*_COLUMNS)
    return select(*_COLUMNS, *SHOWN_WITH_COUNTS).select_from(_WITH_AUTHORS)


class PostRepository:
    def __init__(self, store: Sessions) -> None:
        self._store = store

    # Writes

    async def create(
        self,
        author_id: int,
        title: str,
        body: str,
        tags: Sequence[str],
        publish: bool,
        announce: Announce | None = None,
    ) -> PostRecord:
        """A new post; `announce` gives the event to record with it (if published)."""
        _check_title(title)
        tag_list = normalise_tags(tags)
        now = datetime.now(UTC)
        post = Post(
            author_id=author_id,
            title=title,
            body=body,
            tags=tag_list,
            status=PUBLISHED if publish else DRAFT,
            created_at=now,
            updated_at=now,
            published_at=now if publish else None,
            sort_at=now,
        )
        async with self._store.write() as session:
            session.add(post)
            await session.flush()
            await self._write_tags(session, post.id, tag_list)
            record = PostRecord.from_row(post)
            if publish and announce is not None:
                outbox.record(session, announce(record))
            return record

    async def update(
        self,
        post_id: int,
        *,
        title: str | None = None,
        body: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> PostRecord | None:
        """Changes the given fields (None: unchanged) and bumps updated_at."""
        if title is not None:
            _check_title(title)
        tag_list = normalise_tags(tags) if tags is not None else None
        async with self._store.write() as session:
            post = await self._lock_visible(session, post_id)
            if post is None:
                return None
            if title is not None:
                post.title = title
            if body is not None:
                post.body = body
            if tag_list is not None:
                post.tags = tag_list
                await session.execute(delete(PostTag).where(PostTag.post_id == post_id))
                await self._write_tags(session, post_id, tag_list)
            post.updated_at = datetime.now(UTC)
            await session.flush()
            return PostRecord.from_row(post)

    async def publish(self, post_id: int, announce: Announce | None = None) -> PostRecord | None:
        """Publishes a draft (it then sorts by its publication time), recording the
        event `announce` gives; a published post is returned unchanged. None when the
        post is missing or deleted."""
        async with self._store.write() as session:
            post = await self._lock_visible(session, post_id)
            if post is None:
                return None
            if post.status != PUBLISHED:
                now = datetime.now(UTC)
                post.status = PUBLISHED
                post.published_at = now
                post.sort_at = now
                post.updated_at = now
                await session.flush()
                if announce is not None:
                    outbox.record(session, announce(PostRecord.from_row(post)))
            return PostRecord.from_row(post)

    async def mark_deleted(self, post_id: int) -> bool:
        """Tombstones the post; False when it is missing or already deleted."""
        async with self._store.write() as session:
            changed = await rowcount(
                session,
                update(Post)
                .where(Post.id == post_id, _visible())
                .values(deleted_at=datetime.now(UTC)),
            )
        return changed == 1

    async def purge(self, post_id: int) -> None:
        """Deletes the post for good (its post_tags rows go with it)."""
        async with self._store.write() as session:
            await session.execute(delete(Post).where(Post.id == post_id))

    async def pending_deletions(self, limit: int = 100) -> list[int]:
        """Ids of tombstoned posts, oldest deletion first."""
        async with self._store.read() as session:
            rows = await session.scalars(
                select(Post.id)
                .where(Post.deleted_at.is_not(None))
                .order_by(Post.deleted_at, Post.id)
                .limit(limit)
            )
            return list(rows.all())

    async def insert_many(self, posts: Sequence[PostRecord]) -> int:
        """Bulk insert (seeding): the posts exactly as given, ids and timestamps included,
        with their post_tags rows, in one transaction. Titles and tags follow the rules of
        `create` (tags lower-cased, duplicates dropped); `sort_at` is always derived as
        `create` and `publish` set it: published_at for a published post, else created_at.
        On PostgreSQL the id sequence is moved past the largest id. Returns the post count."""
        if not posts:
            return 0
        rows: list[dict[str, Any]] = []
        tag_rows: list[dict[str, Any]] = []
        for post in posts:
            _check_title(post.title)
            if post.status not in (DRAFT, PUBLISHED):
                raise ValueError(f"unknown post status {post.status!r}")
            if (post.status == PUBLISHED) != (post.published_at is not None):
                raise ValueError("published_at must be set exactly when a post is published")
            tag_list = normalise_tags(post.tags)
            rows.append(
                {
                    "id": post.id,
                    "author_id": post.author_id,
                    "title": post.title,
                    "body": post.body,
                    "tags": tag_list,
                    "status": post.status,
                    "created_at": post.created_at,
                    "updated_at": post.updated_at,
                    "published_at": post.published_at,
                    "sort_at": post.published_at or post.created_at,
                    "deleted_at": None,
                }
            )
            tag_rows.extend({"post_id": post.id, "tag": tag} for tag in tag_list)
        async with self._store.write() as session:
            await session.execute(insert(Post.__table__), rows)
            if tag_rows:
                await session.execute(insert(PostTag.__table__), tag_rows)
            await advance_id_sequence(session, "posts")
        return len(rows)

    # Reads

    async def get_many(self, ids: Sequence[int]) -> list[PostRecord | None]:
        """In the order asked; missing or deleted posts are None. One query."""
        if not ids:
            return []
        rows = await self._store.direct_rows(
            _BY_ID.read(self._store.is_sqlite), {"ids": list(set(ids))}
        )
        by_id = {row[0]: PostRecord.from_columns(row) for row in rows}
        return [by_id.get(i) for i in ids]

    async def list_published(
        self,
        page: PageRequest,
        *,
        author_id: int | None = None,
        tag: str | None = None,
        search: str | None = None,
        authors: ShownUsers | None = None,
    ) -> Page[PostRecord]:
        """Published posts, newest first, optionally of one author, with one tag, or
        containing `search` (case-insensitively) in the title or body. `authors`, when
        given, receives the posts' authors, read in the same statement."""
        every = author_id is None and tag is None and not search
        after = parse_time_key(page.after)
        if every:
            parameters: dict[str, Any] = {"limit": page.first + 1}
            if after is not None:
                parameters["at"], parameters["id"] = after
            first, later = _PUBLISHED_PAGES if authors is None else _PUBLISHED_PAGES_WITH_AUTHORS
            read = first if after is None else later
            return await self._page(read, page, parameters, with_count=True, authors=authors)
        query = self._filtered(_selected(authors), author_id=author_id, tag=tag, search=search)
        query = query.where(before_key(Post.sort_at, Post.id, after))
        query = query.order_by(*_NEWEST_FIRST).limit(page.first + 1)
        return await self._page(query, page, authors=authors)

    async def count_published(
        self, *, author_id: int | None = None, tag: str | None = None, search: str | None = None
    ) -> int:
        if author_id is None and tag is None and search is None:
            # Kept by triggers (migration 0003): one row, not a count of the posts.
            return int(await self._store.scalar(_PUBLISHED_COUNT) or 0)
        query = self._filtered(
            select(func.count()).select_from(Post), author_id=author_id, tag=tag, search=search
        )
        return int(await self._store.scalar(query) or 0)

    async def feed(
        self, viewer_id: int, page: PageRequest, *, authors: ShownUsers | None = None
    ) -> Page[PostRecord]:
        """Published posts of the people the viewer follows, newest first. One query.
        `authors`, when given, receives the posts' authors, read in the same statement."""
        after = parse_time_key(page.after)
        query = (
            self._feed(_selected(authors), viewer_id)
            .where(before_key(Post.sort_at, Post.id, after))
            .order_by(*_NEWEST_FIRST)
            .limit(page.first + 1)
        )
        return await self._page(query, page, authors=authors)

    async def count_feed(self, viewer_id: int) -> int:
        query = self._feed(select(func.count()).select_from(Post), viewer_id)
        return int(await self._store.scalar(query) or 0)

    async def by_authors(
        self, author_ids: Sequence[int], page: PageRequest, *, include_drafts: bool
    ) -> dict[int, Page[PostRecord]]:
        """For each author, their newest `page.first` posts after `page.after` (published
        ones only unless include_drafts). One query: ROW_NUMBER() per author."""
        after = parse_time_key(page.after)
        wanted = list(dict.fromkeys(author_ids))
        if not wanted:
            return {}
        posts = select(*_COLUMNS).where(Post.author_id.in_(wanted), _visible())
        if not include_drafts:
            posts = posts.where(Post.status == PUBLISHED)
        query = newest_per_group(posts, Post.author_id, Post.sort_at, Post.id, after, page.first)
        grouped: dict[int, list[PostRecord]] = {i: [] for i in wanted}
        for row in await self._store.rows(query):
            grouped[row.owner].append(PostRecord.from_columns(row))
        return {i: page_from_rows(rows, page, key_of) for i, rows in grouped.items()}

    async def count_by_authors(
        self, author_ids: Sequence[int], *, include_drafts: bool
    ) -> dict[int, int]:
        wanted = list(dict.fromkeys(author_ids))
        if not wanted:
            return {}
        query = (
            select(Post.author_id, func.count())
            .where(Post.author_id.in_(wanted), _visible())
            .group_by(Post.author_id)
        )
        if not include_drafts:
            query = query.where(Post.status == PUBLISHED)
        counts = {row[0]: int(row[1]) for row in await self._store.rows(query)}
        return {i: counts.get(i, 0) for i in wanted}

    # Helpers

    def _filtered(
        self, query: Select[*Ts], *, author_id: int | None, tag: str | None, search: str | None
    ) -> Select[*Ts]:
        if tag is not None:
            # From the tag's index entries, not a walk of every published post.
            tagged = select(PostTag.post_id).where(PostTag.tag == tag.lower())
            query = query.where(_published_not_by_index(self._store.is_sqlite), Post.id.in_(tagged))
        else:
            query = query.where(Post.status == PUBLISHED)
        query = query.where(_visible())
        if author_id is not None:
            query = query.where(Post.author_id == author_id)
        if search:
            query = query.where(
                or_(contains_ci(Post.title, search), contains_ci(Post.body, search))
            )
        return query

    def _feed(self, query: Select[*Ts], viewer_id: int) -> Select[*Ts]:
        # Each followed author's posts from the (author, status) index, not a walk of
        # every published post testing each for a follow.
        followed = select(Follow.followee_id).where(Follow.follower_id == viewer_id)
        return query.where(
            Post.author_id.in_(followed),
            _published_not_by_index(self._store.is_sqlite),
            _visible(),
        )

    async def _page(
        self,
        query: Select[*Ts] | DirectRead[*Ts],
        page: PageRequest,
        parameters: dict[str, Any] | None = None,
        *,
        with_count: bool = False,
        authors: ShownUsers | None = None,
    ) -> Page[PostRecord]:
        """`with_count`: the query's column after `_COLUMNS` is the listing's count.
        `authors`: the columns after those are the post's author's (SHOWN_WITH_COUNTS),
        given to `authors`."""
        rows: Sequence[Any]
        if isinstance(query, DirectRead):
            rows = await self._store.direct_rows(query, parameters or {})
        else:
            rows = await self._store.rows(query, parameters)
        if authors is not None:
            start = len(_COLUMNS) + with_count
            for row in rows:
                if row[start] is not None:  # the author's row is there
                    author = shown_with_counts(row[start:])
                    authors[author[0].id] = author
        total = None
        if with_count and rows:
            counted: Any = rows[0][len(_COLUMNS)]
            total = int(counted or 0)
        return page_from_rows([PostRecord.from_columns(r) for r in rows], page, key_of, total)

    @staticmethod
    async def _lock_visible(session: AsyncSession, post_id: int) -> Post | None:
        return await session.scalar(
            select(Post).where(Post.id == post_id, _visible()).with_for_update()
        )

    @staticmethod
    async def _write_tags(session: AsyncSession, post_id: int, tags: list[str]) -> None:
        if tags:
            await session.execute(
                insert(PostTag), [{"post_id": post_id, "tag": tag} for tag in tags]
            )
