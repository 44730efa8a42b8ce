"""Posts: who sees which, listings, and the write rules."""

from __future__ import annotations

import re

from datasources.events.outbox import RELATIONAL, OutboxEntry
from datasources.relational.posts import PostRecord
from datasources.relational.users import ShownUsers
from datasources.stores import Datastores
from domain import MAX_BODY, MAX_TAG_LENGTH, MAX_TAGS, MAX_TITLE, TAG_PATTERN
from loaders.base import single
from logs import get_logger
from resolvers.context import Context
from resolvers.errors import FieldError, Forbidden, Outcome, UserErrorCode
from resolvers.events import PostPublished, announce
from resolvers.pagination import Listing, load_listings, page_request
from resolvers.validation import check_text, search_term
from resolvers.visibility import can_read, visible_post

log = get_logger(__name__)

TAG = re.compile(TAG_PATTERN)


async def list_published(
    ctx: Context,
    first: int | None,
    after: str | None,
    *,
    author_id: int | None = None,
    tag: str | None = None,
    search: str | None = None,
    with_authors: bool = False,
) -> Listing[PostRecord]:
    """`with_authors`: the request shows the posts' authors; the listing reads them with
    its posts, and the user loader has them at hand."""
    request = page_request("posts", first, after)
    tag = tag.strip().lower() if tag else None
    term = search_term(search)
    posts = ctx.stores.relational.posts
    authors: ShownUsers | None = {} if with_authors else None
    page = await posts.list_published(
        request, author_id=author_id, tag=tag, search=term, authors=authors
    )
    if authors:
        ctx.loaders.prime_users(authors)

    async def total() -> int:
        if page.total is not None:
            return page.total
        return await posts.count_published(author_id=author_id, tag=tag, search=term)

    return Listing.of("posts", page, total)


async def feed(
    ctx: Context, first: int | None, after: str | None, *, with_authors: bool = False
) -> Listing[PostRecord]:
    """`with_authors`: as for `list_published`."""
    viewer = ctx.require_viewer()
    request = page_request("feed", first, after)
    posts = ctx.stores.relational.posts
    authors: ShownUsers | None = {} if with_authors else None
    page = await posts.feed(viewer.user_id, request, authors=authors)
    if authors:
        ctx.loaders.prime_users(authors)
    return Listing.of("feed", page, lambda: posts.count_feed(viewer.user_id))


async def by_author(
    ctx: Context, author_id: int, first: int | None, after: str | None
) -> Listing[PostRecord]:
    """A user's posts: published ones, and their drafts too when they are the viewer."""
    return single(await by_authors(ctx, [author_id], first, after))


async def by_authors(
    ctx: Context, author_ids: list[int], first: int | None, after: str | None
) -> list[Listing[PostRecord] | BaseException]:
    """`by_author` for many authors at once."""
    reader = ctx.lenient_viewer()
    own = reader.user_id if reader is not None else None
    loaders = ctx.loaders
    sources = [
        (loaders.all_posts if author_id == own else loaders.published_posts, author_id)
        for author_id in author_ids
    ]
    return await load_listings("user-posts", sources, first, after)


def _check_title(title: str) -> FieldError | None:
    return check_text(title, MAX_TITLE, UserErrorCode.INVALID_TITLE, "Title", ("input", "title"))


def _check_body(body: str) -> FieldError | None:
    return check_text(body, MAX_BODY, UserErrorCode.INVALID_BODY, "Body", ("input", "body"))


def _normalise_tags(tags: list[str]) -> tuple[list[str], FieldError | None]:
    cleaned = list(dict.fromkeys(t.strip().lower() for t in tags))
    if len(cleaned) > MAX_TAGS or not all(TAG.fullmatch(t) for t in cleaned):
        return cleaned, FieldError(
            UserErrorCode.INVALID_TAGS,
            f"At most {MAX_TAGS} tags, each 1 to {MAX_TAG_LENGTH} characters of a-z, 0-9, - and _.",
            ("input", "tags"),
        )
    return cleaned, None


def _not_found(*path: str) -> Outcome[PostRecord]:
    return Outcome.refused(UserErrorCode.NOT_FOUND, "No such post.", *path)


async def create(
    ctx: Context, *, title: str, body: str, tags: list[str], publish: bool
) -> Outcome[PostRecord]:
    viewer = ctx.require_viewer()
    cleaned_tags, tag_error = _normalise_tags(tags)
    errors = [e for e in (_check_title(title), _check_body(body), tag_error) if e]
    if errors:
        return Outcome(errors=errors)
    recorded = _Recorded()
    post = await ctx.stores.relational.posts.create(
        viewer.user_id, title.strip(), body, cleaned_tags, publish, recorded.entry
    )
    _remember(ctx, post)
    await recorded.announce(ctx)
    return Outcome(post)


async def _own_post(ctx: Context, post_id: int) -> PostRecord | None:
    """The post if the viewer may edit it; None when it is not visible; FORBIDDEN otherwise."""
    viewer = ctx.require_viewer()
    post = await visible_post(ctx, post_id)
    if post is None:
        return None
    if post.author_id != viewer.user_id:
        raise Forbidden("only the author may change this post")
    return post


async def update(
    ctx: Context,
    post_id: int,
    *,
    title: str | None,
    body: str | None,
    tags: list[str] | None,
) -> Outcome[PostRecord]:
    if await _own_post(ctx, post_id) is None:
        return _not_found("input", "id")
    cleaned_tags, tag_error = _normalise_tags(tags) if tags is not None else (None, None)
    errors = [
        e
        for e in (
            _check_title(title) if title is not None else None,
            _check_body(body) if body is not None else None,
            tag_error,
        )
        if e
    ]
    if errors:
        return Outcome(errors=errors)
    post = await ctx.stores.relational.posts.update(
        post_id, title=title.strip() if title is not None else None, body=body, tags=cleaned_tags
    )
    if post is None:
        return _not_found("input", "id")
    _remember(ctx, post)
    return Outcome(post)


async def publish(ctx: Context, post_id: int) -> Outcome[PostRecord]:
    before = await _own_post(ctx, post_id)
    if before is None:
        return _not_found("id")
    recorded = _Recorded()
    post = await ctx.stores.relational.posts.publish(post_id, recorded.entry)
    if post is None:
        return _not_found("id")
    _remember(ctx, post)
    await recorded.announce(ctx)
    return Outcome(post)


class _Recorded:
    """The PostPublished event a post write records (only when it publishes the post),
    announced once the write committed."""

    def __init__(self) -> None:
        self.events: list[tuple[PostPublished, OutboxEntry]] = []

    def entry(self, post: PostRecord) -> OutboxEntry:
        event = PostPublished(post.id, post.author_id)
        entry = event.recorded(PostPublished.topic(), RELATIONAL)
        self.events.append((event, entry))
        return entry

    async def announce(self, ctx: Context) -> None:
        for event, entry in self.events:
            await announce(ctx, event, entry)


async def delete(ctx: Context, post_id: int) -> Outcome[int]:
    """The author, a moderator or an admin removes a post with everything hanging off it."""
    viewer = ctx.require_viewer()
    [post] = await ctx.stores.relational.posts.get_many([post_id])
    if post is None or not (can_read(viewer, post) or viewer.is_staff):
        return Outcome.refused(UserErrorCode.NOT_FOUND, "No such post.", "id")
    if post.author_id != viewer.user_id and not viewer.is_staff:
        raise Forbidden("only the author, a moderator or an admin may delete this post")
    await delete_everywhere(ctx.stores, post_id)
    _remember(ctx, post)
    ctx.loaders.post_by_id.clear(post_id).prime(post_id, None)
    return Outcome(post_id)


async def delete_everywhere(stores: Datastores, post_id: int) -> None:
    """The stores share no transaction, so the post is first tombstoned (every read
    then ignores it), then its documents go, then the row. If this is interrupted,
    `finish_deletions` completes it at the next start."""
    posts = stores.relational.posts
    await posts.mark_deleted(post_id)
    await stores.documents.notifications.delete_for_post(post_id)
    await stores.documents.reactions.delete_for_post(post_id)
    await stores.documents.comments.delete_for_post(post_id)
    await stores.documents.post_counts.delete_for_post(post_id)
    await posts.purge(post_id)


async def still_there(ctx: Context, post_id: int) -> bool:
    """Whether the post survived until now (no tombstone). A document written for a post
    must be checked after the write: a deletion tombstones first and removes documents
    second, so a write that sees no tombstone afterwards will be removed by it, or stays."""
    [post] = await ctx.stores.relational.posts.get_many([post_id])
    return post is not None


async def finish_deletions(stores: Datastores) -> int:
    done = 0
    while pending := await stores.relational.posts.pending_deletions():
        for post_id in pending:
            await delete_everywhere(stores, post_id)
            done += 1
    if done:
        log.info("finished interrupted post deletions", count=done)
    return done


def _remember(ctx: Context, post: PostRecord) -> None:
    """A mutation's payload must see its own write, not an earlier cached read."""
    loaders = ctx.loaders
    loaders.post_by_id.clear(post.id).prime(post.id, post)
    loaders.all_post_count.clear(post.author_id)
    loaders.published_post_count.clear(post.author_id)
    loaders.all_posts.clear_all()
    loaders.published_posts.clear_all()
