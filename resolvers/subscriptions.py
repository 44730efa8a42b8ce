"""Subscriptions: which events a subscriber gets, resolved afresh and authorized per event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from datasources.documents.comments import CommentRecord
from datasources.documents.notifications import NotificationRecord
from datasources.events import CursorExpired, Event, SubscriberTooSlow
from datasources.relational.posts import PostRecord
from logs import get_logger
from resolvers import comments as comment_rules
from resolvers import notifications as notification_rules
from resolvers import posts as post_rules
from resolvers.context import Context
from resolvers.errors import AppError, BadUserInput, Unauthenticated
from resolvers.events import (
    POSTS_PUBLISHED,
    comments_topic,
    notifications_topic,
    reactions_topic,
)

log = get_logger(__name__)

MAX_CURSOR_LENGTH = 128
# Close code for a subscriber cut off for falling behind: "try again later".
TOO_SLOW_CLOSE_CODE = 1013


class CursorTooOld(AppError):
    code = "CURSOR_EXPIRED"


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
    if since is not None and (not since or len(since) > MAX_CURSOR_LENGTH):
        raise BadUserInput("invalid `since` cursor", argument="since")
    closers: set[asyncio.Task[None]] = set()

    def cut_off(error: Exception) -> None:
        # Runs on the publishing side: this subscriber may be stuck sending to a
        # stalled client, so the socket is closed from here.
        task = asyncio.get_running_loop().create_task(_close_socket(ctx, str(error)[:120]))
        closers.add(task)
        task.add_done_callback(closers.discard)

    events = ctx.stores.events.subscribe(topic, since, on_cut_off=cut_off)
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
                raise AppError(str(error), reason="TOO_SLOW") from None
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


async def posts_published(
    ctx: Context, author_id: int | None, since: str | None
) -> AsyncIterator[tuple[str, PostRecord]]:
    async for event in stream(ctx, POSTS_PUBLISHED, since):
        if author_id is not None and event.data.get("author_id") != author_id:
            continue
        post = await post_rules.visible(ctx, _int(event.data, "post_id"))
        if post is not None and post.status == "PUBLISHED":
            yield event.cursor, post


async def _visible_post(ctx: Context, post_id: int) -> PostRecord:
    post = await post_rules.visible(ctx, post_id)
    if post is None:
        raise BadUserInput("no such post", argument="postId")
    return post


async def comments_added(
    ctx: Context, post_id: int, since: str | None
) -> AsyncIterator[tuple[str, CommentRecord]]:
    await _visible_post(ctx, post_id)
    async for event in stream(ctx, comments_topic(post_id), since):
        comment = await comment_rules.visible(ctx, str(event.data.get("comment_id")))
        if comment is not None:
            yield event.cursor, comment


async def reactions_changed(
    ctx: Context, post_id: int, since: str | None
) -> AsyncIterator[tuple[str, PostRecord]]:
    await _visible_post(ctx, post_id)
    async for event in stream(ctx, reactions_topic(post_id), since):
        post = await post_rules.visible(ctx, post_id)
        if post is None:
            return  # deleted (or no longer visible): nothing more will come
        yield event.cursor, post


async def notifications_received(
    ctx: Context, since: str | None
) -> AsyncIterator[tuple[str, NotificationRecord]]:
    user_id = _require_live_token(ctx)
    topic = notifications_topic(user_id)
    async for event in stream(ctx, topic, since, authenticated=True):
        note = await notification_rules.visible(ctx, str(event.data.get("notification_id")))
        if note is not None:
            yield event.cursor, note


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    return value if isinstance(value, int) else -1
