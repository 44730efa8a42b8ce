"""Subscriptions: which events a subscriber gets, resolved afresh and authorized per event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from datasources.documents.comments import CommentRecord
from datasources.documents.notifications import NotificationRecord
from datasources.events import CursorExpired, Event, SubscriberTooSlow
from datasources.relational.posts import PostRecord
from domain import PostStatus
from logs import get_logger
from resolvers.context import Context
from resolvers.errors import BadUserInput, CursorTooOld, TooSlow, Unauthenticated
from resolvers.events import (
    Announcement,
    CommentAdded,
    NotificationCreated,
    PostPublished,
    ReactionsChanged,
)
from resolvers.visibility import visible_comment, visible_notification, visible_post
from telemetry import metrics

log = get_logger(__name__)

E = TypeVar("E", bound=Announcement)
R = TypeVar("R")

# Event cursors are short bus ids (a stream id, or a sequence number); page cursors
# have their own, longer limit (resolvers.pagination.MAX_CURSOR_LENGTH).
MAX_SINCE_LENGTH = 128
# Close code for a subscriber cut off for falling behind: "try again later".
TOO_SLOW_CLOSE_CODE = 1013


async def _close_socket(ctx: Context, reason: str) -> None:
    websocket = ctx.request
    try:
        await websocket.close(code=TOO_SLOW_CLOSE_CODE, reason=reason)
    except Exception as error:  # already closing: nothing more to tell the client
        log.debug("closing a slow subscriber failed", error=type(error).__name__)


async def stream(
    ctx: Context, topic: str, since: str | None, *, authenticated: bool = False
) -> AsyncIterator[Event]:
    """Events of `topic` (after `since`), each with fresh loaders bound for its resolution.

    Authenticated streams end with UNAUTHENTICATED when the access token expires or
    its session ends (logout; checked as each event arrives); a
    subscriber that falls behind is disconnected with close code 1013 and can
    resume with `since`.
    """
    if since is not None and (not since or len(since) > MAX_SINCE_LENGTH):
        raise BadUserInput("invalid `since` cursor", argument="since")
    closers: set[asyncio.Task[None]] = set()

    def cut_off(error: Exception) -> None:
        # Runs on the publishing side: this subscriber may be stuck sending to a
        # stalled client, so the socket is closed from here.
        task = asyncio.get_running_loop().create_task(_close_socket(ctx, str(error)[:120]))
        closers.add(task)
        task.add_done_callback(closers.discard)

    events = ctx.stores.events.subscribe(topic, since, on_cut_off=cut_off, audience=ctx.audience)
    try:
        while True:
            try:
                async with asyncio.timeout(_seconds_left(ctx) if authenticated else None):
                    event = await anext(events)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise Unauthenticated(
                    "access token expired; reconnect with a fresh token and resume with `since`",
                    reason="TOKEN_EXPIRED",
                ) from None
            except CursorExpired as error:
                raise CursorTooOld(str(error)) from None
            except ValueError:
                raise BadUserInput("invalid `since` cursor", argument="since") from None
            except SubscriberTooSlow as error:
                raise TooSlow(str(error), reason="TOO_SLOW") from None
            # Logouts and role changes reach open connections too (cached check).
            await ctx.recheck()
            if authenticated and ctx.auth_error:
                raise Unauthenticated(
                    f"{ctx.auth_error}; reconnect with a fresh token", reason="SESSION_ENDED"
                )
            ctx.event_loaders(topic, event.cursor)
            yield event
    finally:
        await events.aclose()  # type: ignore[attr-defined]


def _seconds_left(ctx: Context) -> float:
    expires_at = ctx.viewer_expires_at
    if expires_at is None:
        return 0.0
    return max(0.0, (expires_at - datetime.now(UTC)).total_seconds())


def _require_live_token(ctx: Context) -> int:
    viewer = ctx.require_viewer()
    if _seconds_left(ctx) <= 0:
        raise Unauthenticated("access token expired", reason="TOKEN_EXPIRED")
    return viewer.user_id


def deliver(
    ctx: Context,
    topic: str,
    since: str | None,
    event_type: type[E],
    resolve: Callable[[E], Awaitable[R | None]],
    *,
    check_first: Callable[[], Awaitable[object]] | None = None,
    authenticated: bool = False,
    ends_when_hidden: bool = False,
) -> AsyncIterator[tuple[str, R]]:
    """The one delivery loop: `check_first` (refuses the subscription before anything
    is delivered), then each event of `topic` read as `event_type`, resolved for this
    subscriber (None: not for them, skipped; or the end, with `ends_when_hidden`), and
    yielded with its cursor."""

    async def delivered() -> AsyncIterator[tuple[str, R]]:
        if check_first is not None:
            await check_first()
            ctx.fresh_loaders()  # the check's are not kept while the subscription lasts
        async for event in stream(ctx, topic, since, authenticated=authenticated):
            announced = event_type.read(event.data)
            found = await resolve(announced) if announced is not None else None
            if found is not None:
                audience = ctx.audience() if ctx.audience is not None else 1
                metrics.event_delivered(event_type.__name__, audience)
                yield event.cursor, found
            elif ends_when_hidden:
                return

    return delivered()


async def _existing_post(ctx: Context, post_id: int) -> PostRecord:
    post = await visible_post(ctx, post_id)
    if post is None:
        raise BadUserInput("no such post", argument="postId")
    return post


def posts_published(
    ctx: Context, author_id: int | None, since: str | None
) -> AsyncIterator[tuple[str, PostRecord]]:
    async def resolve(event: PostPublished) -> PostRecord | None:
        if author_id is not None and event.author_id != author_id:
            return None
        post = await visible_post(ctx, event.post_id)
        return post if post is not None and post.status == PostStatus.PUBLISHED else None

    return deliver(ctx, PostPublished.topic(), since, PostPublished, resolve)


def comments_added(
    ctx: Context, post_id: int, since: str | None
) -> AsyncIterator[tuple[str, CommentRecord]]:
    async def resolve(event: CommentAdded) -> CommentRecord | None:
        return await visible_comment(ctx, event.comment_id)

    return deliver(
        ctx,
        CommentAdded.topic(post_id),
        since,
        CommentAdded,
        resolve,
        check_first=lambda: _existing_post(ctx, post_id),
    )


def reactions_changed(
    ctx: Context, post_id: int, since: str | None
) -> AsyncIterator[tuple[str, PostRecord]]:
    """Ends when the post is deleted (or no longer visible): nothing more will come."""

    async def resolve(event: ReactionsChanged) -> PostRecord | None:
        return await visible_post(ctx, post_id)

    return deliver(
        ctx,
        ReactionsChanged.topic(post_id),
        since,
        ReactionsChanged,
        resolve,
        check_first=lambda: _existing_post(ctx, post_id),
        ends_when_hidden=True,
    )


def notifications_received(
    ctx: Context, since: str | None
) -> AsyncIterator[tuple[str, NotificationRecord]]:
    user_id = _require_live_token(ctx)

    async def resolve(event: NotificationCreated) -> NotificationRecord | None:
        return await visible_notification(ctx, event.notification_id)

    topic = NotificationCreated.topic(user_id)
    return deliver(ctx, topic, since, NotificationCreated, resolve, authenticated=True)
