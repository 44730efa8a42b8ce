"""Live events across processes: making sure subscribers are live, then checking what they got.

A subscription is registered on the server some time after the client sends it, and
nothing tells the client when. So a test first *probes*: it publishes marker events
until every subscriber has received the latest one; everything after that marker is
what the test asserts on. Subscribers started later resume from a marker's cursor.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable

from support.accounts import Session
from support.comments import add_comment
from support.graphql import GraphQLClient
from support.subscribers import Event, Stream

# How long to keep listening after the expected events, to catch duplicates.
DRAIN_SECONDS = 0.5
PROBE_ROUNDS = 4  # the author reacts with a different kind each round: 4 kinds

COMMENTS = """subscription($postId: ID!, $since: String) {
  commentAdded(postId: $postId, since: $since) { cursor comment { id body author { handle } } }
}"""
REACTIONS = """subscription($postId: ID!) {
  reactionsChanged(postId: $postId) { cursor post { id } reactions { kind count } }
}"""
PUBLISHED = """subscription($authorId: ID) {
  postPublished(authorId: $authorId) { cursor post { id title status } }
}"""
NOTIFICATIONS = """subscription($since: String) {
  notificationReceived(since: $since) {
    cursor notification { id kind actor { handle } comment { id body } post { id } }
  }
}"""

IsProbe = Callable[[Event, int], bool]


async def probe_until_live(
    probe: Callable[[int], Awaitable[None]],
    streams: list[tuple[Stream, IsProbe]],
    *,
    rounds: int = PROBE_ROUNDS,
    wait: float = 3.0,
) -> dict[Stream, int]:
    """Runs `probe(k)` for k = 1, 2, ... until every stream has the event of the latest round.

    Returns each stream's *offset*: the number of events up to that one. Events are
    delivered in order, so everything published afterwards comes after the offset.
    """
    await asyncio.sleep(0.1)  # the subscribe messages are on their way
    for k in range(1, rounds + 1):
        await probe(k)
        live = True
        deadline = time.monotonic() + wait
        for stream, is_probe in streams:
            remaining = max(0.0, deadline - time.monotonic())
            if not await stream.wait_for(
                lambda events, k=k, is_probe=is_probe: any(is_probe(e, k) for e in events),
                remaining,
            ):
                live = False
                break
        if live:
            return {
                stream: max(i for i, e in enumerate(stream.events) if is_probe(e, k)) + 1
                for stream, is_probe in streams
            }
    state = {stream.name: stream.events for stream, _ in streams}
    raise AssertionError(f"subscribers not live after {rounds} probe rounds: {state}")


async def probe_comments_until_live(
    gql: GraphQLClient, who: Session, post_id: str, streams: list[Stream]
) -> dict[Stream, int]:
    """`probe_until_live` for streams of `commentAdded` on a post: the probes are comments
    "probe 1", "probe 2", ... that `who` adds to it."""

    async def probe(k: int) -> None:
        await add_comment(gql, who, post_id, f"probe {k}")

    return await probe_until_live(probe, [(stream, is_probe_comment) for stream in streams])


def cursor_key(cursor: str) -> tuple[int, ...]:
    """Cursors are opaque to clients; these are Redis stream ids, compared as such here."""
    return tuple(int(part) for part in cursor.split("-"))


def assert_cursors_increase(name: str, events: list[Event], after: str | None = None) -> None:
    keys = [cursor_key(e["cursor"]) for e in events]
    if after is not None:
        keys.insert(0, cursor_key(after))
    assert all(x < y for x, y in itertools.pairwise(keys)), (name, keys)


async def settled(stream: Stream, count: int) -> list[Event]:
    """Exactly `count` events: waits for them, then a little longer for any extra."""
    await stream.expect_count(count)
    await asyncio.sleep(DRAIN_SECONDS)
    stream.check()
    assert len(stream.events) == count, (stream.name, count, stream.events)
    return stream.events


async def settled_after(stream: Stream, offset: int, count: int) -> list[Event]:
    """The events after the first `offset`, which must be exactly `count` (see `settled`)."""
    return (await settled(stream, offset + count))[offset:]


def comment_rows(events: list[Event]) -> list[tuple[str, str, str]]:
    return [
        (e["comment"]["id"], e["comment"]["body"], e["comment"]["author"]["handle"]) for e in events
    ]


def note_rows(events: list[Event]) -> list[tuple[str, str, str | None]]:
    return [
        (
            e["notification"]["kind"],
            e["notification"]["actor"]["handle"],
            (e["notification"]["comment"] or {}).get("id"),
        )
        for e in events
    ]


def total_reactions(event: Event) -> int:
    return sum(r["count"] for r in event["reactions"])


def is_probe_comment(event: Event, k: int) -> bool:
    return event["comment"]["body"] == f"probe {k}"


def is_probe_note(event: Event, k: int) -> bool:
    return (event["notification"]["comment"] or {}).get("body") == f"probe {k}"


async def comment(
    gql: GraphQLClient, who: Session, post_id: str, body: str
) -> tuple[str, str, str]:
    created = await add_comment(gql, who, post_id, body)
    return created["id"], body, who.handle
