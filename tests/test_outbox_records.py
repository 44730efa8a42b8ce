"""The outbox's records: an event is written with the write that causes it, in the store
that takes the write, and the relay publishes what is recorded, oldest first, once."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

from datasources.documents import DocumentStore
from datasources.events import InMemoryEventBus
from datasources.events.outbox import RELATIONAL, OutboxEntry, new_event_id
from datasources.outbox_relay import Outbox, OutboxRelay
from datasources.relational import RelationalStore


def entry(topic: str, where: str, n: int) -> OutboxEntry:
    return OutboxEntry(new_event_id(), topic, {"n": n}, where, at=n)


async def stores_and_author(
    relational: RelationalStore, documents: DocumentStore, handle: str
) -> tuple[Outbox, int]:
    user = await relational.users.create(
        handle=handle, email=f"{handle}@example.com", display_name=handle, password_hash="x" * 60
    )
    return Outbox(relational.outbox, documents.outbox), user.id


async def test_each_write_records_its_event_and_only_that_write(
    relational_store: RelationalStore, documents: DocumentStore
) -> None:
    outbox, author_id = await stores_and_author(relational_store, documents, "ob")
    post = await relational_store.posts.create(
        author_id, "t", "b", [], True, lambda p: entry("posts:published", RELATIONAL, 1)
    )
    draft = await relational_store.posts.create(
        author_id, "d", "b", [], False, lambda p: entry("posts:published", RELATIONAL, 9)
    )
    comment = await documents.comments.add(
        post.id, author_id, "c", None, event=entry("post:comments", "comments", 2)
    )
    await documents.reactions.add(post.id, author_id, "LIKE", entry("post:r", "post_counts", 3))
    await documents.comments.add(post.id, author_id, "no event", None)

    pending = await outbox.pending()
    # The draft's event is not recorded: creating a draft publishes nothing.
    assert [(e.where, e.data["n"]) for e in pending] == [
        (RELATIONAL, 1),
        ("comments", 2),
        ("post_counts", 3),
    ]
    # Marking done removes the event, not what carried it.
    await outbox.done(pending[:2])
    assert [e.data["n"] for e in await outbox.pending()] == [3]
    [kept] = await documents.comments.get_many([comment.id])
    assert kept == comment
    [published] = await relational_store.posts.get_many([post.id])
    assert published is not None and published.id == post.id
    assert draft.id != post.id


async def test_the_relay_publishes_what_is_recorded_oldest_first_and_once(
    relational_store: RelationalStore, documents: DocumentStore
) -> None:
    outbox, author_id = await stores_and_author(relational_store, documents, "or")
    post = await relational_store.posts.create(author_id, "t", "b", [], False)
    bus = InMemoryEventBus()
    topic = "post:comments"
    received = []

    async def listen() -> None:
        async with aclosing(bus.subscribe(topic)) as events:
            async for event in events:
                received.append(event.data["n"])

    listener = asyncio.create_task(listen())
    while bus.subscriber_count(topic) == 0:
        await asyncio.sleep(0.01)
    # Recorded out of order across stores: the relay sorts by when they were written.
    await documents.comments.add(post.id, author_id, "b", None, event=entry(topic, "comments", 2))
    await relational_store.posts.publish(post.id, lambda p: entry(topic, RELATIONAL, 1))
    relay = OutboxRelay(outbox, bus)
    assert await relay.drain() == 2
    assert await relay.drain() == 0  # marked done
    await asyncio.sleep(0.05)
    assert received == [1, 2]
    listener.cancel()
    await bus.close()
