"""Comments, reactions, notifications and profile updates in the document store, against
the embedded server (NX-27017) and SecantusDB.

PyMongo command monitoring counts the data commands each call sends, so the "one
query" promises of the batch methods are asserted, not assumed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bson import ObjectId
from pymongo import monitoring

import datasources.documents.comments as comments_module
import datasources.documents.notifications as notifications_module
from datasources.documents import DocumentStore, EmbeddedDocumentServer, open_document_store
from datasources.documents.comments import CommentRecord
from datasources.documents.notifications import NotificationRecord
from datasources.documents.profiles import ProfileRecord
from datasources.paging import Page, PageRequest

DATA_COMMANDS = frozenset(
    {"find", "aggregate", "insert", "update", "delete", "getMore", "findAndModify", "count"}
)


class CommandCounter(monitoring.CommandListener):
    """Records the data commands a client sends (not hello, ping, endSessions, ...) and
    how many documents the server sent back in cursor batches."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.documents = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in DATA_COMMANDS:
            self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        cursor = event.reply.get("cursor") or {}
        self.documents += len(cursor.get("firstBatch") or cursor.get("nextBatch") or [])

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def take(self) -> list[str]:
        """The commands sent since the last call."""
        names, self.names = self.names, []
        return names

    def take_documents(self) -> int:
        """The documents received since the last call."""
        documents, self.documents = self.documents, 0
        return documents


@pytest.fixture
def commands() -> CommandCounter:
    return CommandCounter()


@pytest.fixture(params=["embedded", "secantus"])
async def documents(
    request: pytest.FixtureRequest, tmp_path: Path, commands: CommandCounter
) -> AsyncIterator[DocumentStore]:
    database = f"t_{uuid.uuid4().hex[:8]}"
    if request.param == "embedded":
        store = await open_document_store(
            None, database, embedded=EmbeddedDocumentServer(tmp_path), event_listeners=[commands]
        )
    else:
        store = await open_document_store(
            request.getfixturevalue("secantus_url"), database, event_listeners=[commands]
        )
    await store.ensure_indexes()
    commands.take()
    yield store
    await store.close()


class Clock:
    """Stands in for `now_ms` so tests choose timestamps, ties included."""

    base = datetime(2030, 1, 1, tzinfo=UTC)

    def __init__(self) -> None:
        self.now = self.base

    def __call__(self) -> datetime:
        return self.now

    def at(self, ms: int) -> None:
        self.now = self.base + timedelta(milliseconds=ms)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(comments_module, "now_ms", fake)
    monkeypatch.setattr(notifications_module, "now_ms", fake)
    return fake


def ids(page: Page[CommentRecord] | Page[NotificationRecord]) -> list[str]:
    return [item.id for item in page.items]


async def add_comments(
    documents: DocumentStore, post_id: int, count: int, parent_id: str | None = None
) -> list[CommentRecord]:
    return [
        await documents.comments.add(post_id, 10 + i, f"comment {i}", parent_id)
        for i in range(count)
    ]


# Comments


async def test_add_edit_and_get_many(documents: DocumentStore, commands: CommandCounter) -> None:
    top = await documents.comments.add(1, 10, "first", None)
    assert commands.take() == ["insert", "update"]  # the comment, then the post's counts
    reply = await documents.comments.add(1, 11, "a reply", top.id.upper())
    assert reply.parent_id == top.id  # stored in the canonical form
    assert top.parent_id is None and top.edited_at is None
    assert top.created_at.tzinfo is not None and top.created_at.microsecond % 1000 == 0
    commands.take()

    # What add() returned is exactly what a read returns (millisecond timestamps).
    assert await documents.comments.get_many([reply.id, top.id]) == [reply, top]
    assert commands.take() == ["find"]

    edited = await documents.comments.edit(top.id, "first, edited")
    assert commands.take() == ["findAndModify"]
    assert edited is not None
    assert edited.body == "first, edited" and edited.id == top.id
    assert edited.created_at == top.created_at
    assert isinstance(edited.edited_at, datetime) and edited.edited_at.tzinfo is not None
    assert await documents.comments.edit(str(ObjectId()), "nobody") is None
    assert await documents.comments.edit("not-an-id", "nobody") is None

    missing = str(ObjectId())
    commands.take()
    got = await documents.comments.get_many([reply.id, "bogus", missing, top.id, reply.id])
    assert got == [reply, None, None, edited, reply]
    assert commands.take() == ["find"]
    assert await documents.comments.get_many(["bogus", ""]) == [None, None]
    assert await documents.comments.get_many([]) == []
    assert commands.take() == []

    with pytest.raises(ValueError):
        await documents.comments.add(1, 10, "orphan", "not-an-id")


async def test_top_level_pages_for_several_posts(
    documents: DocumentStore, commands: CommandCounter
) -> None:
    # Interleaved in time across posts; post 3 has none; replies never count as top level.
    p1 = [await documents.comments.add(1, 10, "p1 c0", None)]
    p2 = [await documents.comments.add(2, 10, "p2 c0", None)]
    p1.append(await documents.comments.add(1, 10, "p1 c1", None))
    p2.append(await documents.comments.add(2, 10, "p2 c1", None))
    p1 += await add_comments(documents, 1, 3)
    await add_comments(documents, 1, 2, parent_id=p1[0].id)
    await add_comments(documents, 9, 2)
    commands.take()
    commands.take_documents()

    pages = await documents.comments.top_level([1, 2, 3], PageRequest(first=2))
    assert commands.take() == ["aggregate"]
    assert commands.take_documents() == 3 + 2  # at most first + 1 rows per post
    assert set(pages) == {1, 2, 3}
    assert ids(pages[1]) == [c.id for c in p1[:2]] and pages[1].has_next
    assert ids(pages[2]) == [c.id for c in p2] and not pages[2].has_next
    assert pages[3].items == [] and not pages[3].has_next
    assert not pages[1].has_previous
    assert pages[1].items == p1[:2]  # whole records, equal to what add() returned
    assert pages[1].keys == [(c.created_at.isoformat(), c.id) for c in p1[:2]]

    # `after` applies to every post of the call.
    after = pages[1].keys[-1]
    pages = await documents.comments.top_level([1, 2], PageRequest(first=2, after=after))
    assert commands.take() == ["aggregate"]
    assert ids(pages[1]) == [c.id for c in p1[2:4]] and pages[1].has_next
    assert pages[1].has_previous
    assert ids(pages[2]) == [p2[1].id] and not pages[2].has_next

    pages = await documents.comments.top_level([1], PageRequest(first=2, after=pages[1].keys[-1]))
    assert ids(pages[1]) == [p1[4].id] and not pages[1].has_next

    pages = await documents.comments.top_level([1], PageRequest(first=5))
    assert ids(pages[1]) == [c.id for c in p1] and not pages[1].has_next

    commands.take()
    assert await documents.comments.top_level([], PageRequest(first=2)) == {}
    assert commands.take() == []


async def test_replies_pages_for_several_comments(
    documents: DocumentStore, commands: CommandCounter
) -> None:
    a, b, c = await add_comments(documents, 1, 3)
    a_replies = await add_comments(documents, 1, 3, parent_id=a.id)
    b_replies = await add_comments(documents, 1, 1, parent_id=b.id)
    await add_comments(documents, 1, 2, parent_id=a_replies[0].id)  # not direct replies of a
    commands.take()
    commands.take_documents()

    pages = await documents.comments.replies([a.id, b.id, c.id, "bogus"], PageRequest(first=2))
    assert commands.take() == ["aggregate"]
    assert commands.take_documents() == 3 + 1
    assert set(pages) == {a.id, b.id, c.id, "bogus"}
    assert pages[a.id].items == a_replies[:2] and pages[a.id].has_next
    assert pages[b.id].items == b_replies and not pages[b.id].has_next
    assert pages[c.id].items == [] and pages["bogus"].items == []

    after = pages[a.id].keys[-1]
    pages = await documents.comments.replies([a.id], PageRequest(first=2, after=after))
    assert pages[a.id].items == a_replies[2:] and not pages[a.id].has_next

    nested = await documents.comments.replies([a_replies[0].id], PageRequest(first=5))
    assert len(nested[a_replies[0].id].items) == 2


async def test_order_is_created_at_then_id(documents: DocumentStore, clock: Clock) -> None:
    # ObjectIds grow with each add(); created_at is chosen so that it, not the id, decides.
    clock.at(10)
    late_a = await documents.comments.add(1, 10, "late a", None)
    clock.at(5)
    early_a = await documents.comments.add(1, 10, "early a", None)
    early_b = await documents.comments.add(1, 10, "early b", None)  # same ms: id decides
    clock.at(10)
    late_b = await documents.comments.add(1, 10, "late b", None)
    expected = [early_a, early_b, late_a, late_b]

    pages = await documents.comments.top_level([1], PageRequest(first=10))
    assert pages[1].items == expected

    seen: list[CommentRecord] = []
    after = None
    for _ in range(len(expected) + 1):
        page = (await documents.comments.top_level([1], PageRequest(first=1, after=after)))[1]
        seen += page.items
        if not page.has_next:
            break
        after = page.keys[-1]
    assert seen == expected

    clock.at(3)
    reply_late = await documents.comments.add(1, 10, "r late", late_a.id)
    clock.at(1)
    reply_early = await documents.comments.add(1, 10, "r early", late_a.id)
    replies = await documents.comments.replies([late_a.id], PageRequest(first=10))
    assert replies[late_a.id].items == [reply_early, reply_late]


async def test_walk_while_comments_are_added(documents: DocumentStore) -> None:
    comments = await add_comments(documents, 1, 7)
    seen: list[str] = []
    after = None
    for round_ in range(20):
        page = (await documents.comments.top_level([1], PageRequest(first=3, after=after)))[1]
        seen += ids(page)
        if round_ < 2:  # new comments between pages, on this post and another
            comments += await add_comments(documents, 1, 2)
            await add_comments(documents, 2, 1)
        if not page.has_next:
            break
        after = page.keys[-1]
    assert len(seen) == len(set(seen))
    assert seen == [c.id for c in comments]  # no gaps: the new ones come at the end


async def test_big_batches_are_still_one_round_trip(
    documents: DocumentStore, commands: CommandCounter
) -> None:
    # More rows than a default first batch (101 documents).
    posts = list(range(1, 41))
    await documents.comments.collection.insert_many(
        [
            {
                "_id": (object_id := ObjectId()),
                "post_id": post_id,
                "author_id": 1,
                "parent_id": None,
                "body": "x",
                "created_at": Clock.base,
                "edited_at": None,
                "sort_key": comments_module.sort_key(Clock.base, object_id),
            }
            for post_id in posts
            for _ in range(3)
        ]
    )
    commands.take()
    commands.take_documents()
    pages = await documents.comments.top_level(posts, PageRequest(first=3))
    assert commands.take() == ["aggregate"]
    assert commands.take_documents() == 120
    assert all(len(pages[p].items) == 3 and not pages[p].has_next for p in posts)
    firsts = await documents.comments.top_level(posts, PageRequest(first=1))
    assert commands.take() == ["aggregate"]
    assert commands.take_documents() == 80
    assert all(len(firsts[p].items) == 1 and firsts[p].has_next for p in posts)

    every = [c.id for p in posts for c in pages[p].items]
    found = await documents.comments.get_many(every)
    assert commands.take() == ["find"]
    assert [c.id for c in found if c] == every


GOOD_TIME = datetime.now(UTC).isoformat()
GOOD_ID = str(ObjectId())


@pytest.mark.parametrize(
    "bad",
    [
        ("yesterday", GOOD_ID),
        (GOOD_TIME, "zz"),
        ("2030-01-01T00:00:00", GOOD_ID),  # no time zone
        (1, 2),
        (GOOD_TIME,),
        (GOOD_TIME, GOOD_ID, "extra"),
    ],
    ids=["bad time", "bad id", "no time zone", "numbers", "too short", "too long"],
)
async def test_malformed_keys_raise(
    documents: DocumentStore, commands: CommandCounter, bad: tuple[object, ...]
) -> None:
    with pytest.raises(ValueError):
        await documents.comments.top_level([1], PageRequest(first=2, after=bad))
    with pytest.raises(ValueError):
        await documents.comments.replies([GOOD_ID], PageRequest(first=2, after=bad))
    with pytest.raises(ValueError):
        await documents.notifications.list_for_user(
            1, PageRequest(first=2, after=bad), unread_only=False
        )
    assert commands.take() == []


async def test_counts(documents: DocumentStore, commands: CommandCounter) -> None:
    a, b = await add_comments(documents, 1, 2)
    a_replies = await add_comments(documents, 1, 3, parent_id=a.id)
    await add_comments(documents, 1, 1, parent_id=a_replies[0].id)
    await add_comments(documents, 2, 1)
    commands.take()

    assert await documents.comments.count_for_posts([1, 2, 3]) == {1: 6, 2: 1, 3: 0}
    assert commands.take() == ["find"]  # the kept counts, by post id
    assert await documents.comments.count_top_level([1, 2, 3]) == {1: 2, 2: 1, 3: 0}
    assert commands.take() == ["find"]
    assert await documents.comments.count_replies([a.id, b.id, a_replies[0].id, "bogus"]) == {
        a.id: 3,
        b.id: 0,
        a_replies[0].id: 1,
        "bogus": 0,
    }
    assert commands.take() == ["aggregate"]
    assert await documents.comments.count_for_posts([]) == {}
    assert await documents.comments.count_replies(["bogus"]) == {"bogus": 0}
    assert commands.take() == []


async def test_delete_subtree_removes_every_depth(documents: DocumentStore) -> None:
    root, sibling = await add_comments(documents, 1, 2)
    [depth1, depth1b] = await add_comments(documents, 1, 2, parent_id=root.id)
    [depth2] = await add_comments(documents, 1, 1, parent_id=depth1.id)
    [depth3] = await add_comments(documents, 1, 1, parent_id=depth2.id)
    [kept_reply] = await add_comments(documents, 1, 1, parent_id=sibling.id)

    deleted = await documents.comments.delete_subtree(root.id)
    assert deleted[0] == root.id
    assert sorted(deleted) == sorted([root.id, depth1.id, depth1b.id, depth2.id, depth3.id])
    everything = [root, depth1, depth1b, depth2, depth3, sibling, kept_reply]
    found = await documents.comments.get_many([c.id for c in everything])
    assert found == [None] * 5 + [sibling, kept_reply]
    assert await documents.comments.count_for_posts([1]) == {1: 2}

    assert await documents.comments.delete_subtree(root.id) == []
    assert await documents.comments.delete_subtree("bogus") == []

    # A middle node takes only its own descendants.
    [mid] = await add_comments(documents, 1, 1, parent_id=kept_reply.id)
    [leaf] = await add_comments(documents, 1, 1, parent_id=mid.id)
    assert sorted(await documents.comments.delete_subtree(mid.id)) == sorted([mid.id, leaf.id])
    assert await documents.comments.get_many([sibling.id, kept_reply.id]) == [sibling, kept_reply]


async def test_delete_comments_for_post(documents: DocumentStore) -> None:
    [top] = await add_comments(documents, 1, 1)
    await add_comments(documents, 1, 2, parent_id=top.id)
    [other] = await add_comments(documents, 2, 1)
    assert await documents.comments.delete_for_post(1) == 3
    assert await documents.comments.count_for_posts([1, 2]) == {1: 0, 2: 1}
    assert await documents.comments.get_many([other.id]) == [other]
    assert await documents.comments.delete_for_post(1) == 0


# Reactions


async def test_reactions(documents: DocumentStore, commands: CommandCounter) -> None:
    reactions = documents.reactions
    assert await reactions.add(1, 10, "LIKE") is True
    assert await reactions.add(1, 10, "LIKE") is False  # unique per (post, user, kind)
    assert await reactions.add(1, 10, "FUNNY") is True
    assert await reactions.add(1, 11, "LIKE") is True
    assert await reactions.add(2, 10, "LOVE") is True
    # Racing duplicates: exactly one wins.
    raced = await asyncio.gather(*(reactions.add(2, 12, "INSIGHTFUL") for _ in range(5)))
    assert sorted(raced) == [False] * 4 + [True]
    with pytest.raises(ValueError):
        await reactions.add(1, 10, "ANGRY")
    commands.take()

    assert await reactions.counts([1, 2, 3]) == {
        1: {"LIKE": 2, "FUNNY": 1},
        2: {"LOVE": 1, "INSIGHTFUL": 1},
        3: {},
    }
    assert commands.take() == ["find"]  # the kept counts, by post id
    assert await reactions.kinds_by_user([1, 2, 3], 10) == {
        1: ["LIKE", "FUNNY"],
        2: ["LOVE"],
        3: [],
    }
    assert commands.take() == ["aggregate"]

    assert await reactions.remove(1, 10, "LIKE") is True
    assert await reactions.remove(1, 10, "LIKE") is False
    assert await reactions.counts([1]) == {1: {"LIKE": 1, "FUNNY": 1}}
    assert await reactions.kinds_by_user([1], 10) == {1: ["FUNNY"]}
    assert await reactions.add(1, 10, "LIKE") is True  # can react again after removing

    assert await reactions.delete_for_post(1) == 3
    assert await reactions.counts([1, 2]) == {1: {}, 2: {"LOVE": 1, "INSIGHTFUL": 1}}
    commands.take()
    assert await reactions.counts([]) == {} and await reactions.kinds_by_user([], 10) == {}
    assert commands.take() == []


# Notifications


async def test_notifications_never_notify_the_actor(
    documents: DocumentStore, commands: CommandCounter
) -> None:
    assert await documents.notifications.create(1, "FOLLOWED", actor_id=1) is None
    assert commands.take() == []
    assert await documents.notifications.count_for_user(1, unread_only=False) == 0
    with pytest.raises(ValueError):
        await documents.notifications.create(1, "POKED", actor_id=2)

    created = await documents.notifications.create(
        1, "REPLIED", actor_id=2, post_id=7, comment_id=str(ObjectId())
    )
    assert commands.take() == ["aggregate", "insert"]
    assert created is not None and created.read is False
    assert await documents.notifications.get_many([created.id, "bogus"]) == [created, None]


async def test_notification_listing(
    documents: DocumentStore, commands: CommandCounter, clock: Clock
) -> None:
    notifications = documents.notifications
    created: list[NotificationRecord] = []
    for ms, actor in [(1, 2), (2, 3), (2, 4), (5, 2), (3, 5)]:
        clock.at(ms)
        record = await notifications.create(1, "COMMENTED", actor_id=actor, post_id=ms)
        assert record is not None
        created.append(record)
    clock.at(4)
    await notifications.create(2, "FOLLOWED", actor_id=1)
    newest_first = [created[3], created[4], created[2], created[1], created[0]]
    await notifications.mark_read(1, [created[4].id, created[1].id])
    commands.take()

    commands.take_documents()
    page = await notifications.list_for_user(1, PageRequest(first=2), unread_only=False)
    assert commands.take() == ["find"]
    assert commands.take_documents() == 3
    assert ids(page) == [n.id for n in newest_first[:2]] and page.has_next
    assert page.items[0] == created[3]
    assert page.items[1].read is True

    seen: list[NotificationRecord] = []
    after = None
    for _ in range(len(newest_first) + 1):
        page = await notifications.list_for_user(
            1, PageRequest(first=2, after=after), unread_only=False
        )
        seen += page.items
        if not page.has_next:
            break
        after = page.keys[-1]
    assert [n.id for n in seen] == [n.id for n in newest_first]

    unread = await notifications.list_for_user(1, PageRequest(first=10), unread_only=True)
    assert ids(unread) == [created[3].id, created[2].id, created[0].id]
    assert not unread.has_next
    after = unread.keys[0]
    rest = await notifications.list_for_user(1, PageRequest(first=1, after=after), unread_only=True)
    assert ids(rest) == [created[2].id] and rest.has_next

    commands.take()
    assert await notifications.count_for_user(1, unread_only=False) == 5
    assert commands.take() == ["aggregate"]
    assert await notifications.count_for_user(1, unread_only=True) == 3
    assert await notifications.count_for_user(3, unread_only=False) == 0


async def test_notification_walk_while_new_ones_arrive(documents: DocumentStore) -> None:
    original = [
        await documents.notifications.create(1, "FOLLOWED", actor_id=a) for a in range(2, 9)
    ]
    seen: list[str] = []
    after = None
    for _ in range(len(original) + 1):
        page = await documents.notifications.list_for_user(
            1, PageRequest(first=3, after=after), unread_only=False
        )
        seen += ids(page)
        await documents.notifications.create(1, "REACTED", actor_id=99, post_id=1)
        if not page.has_next:
            break
        after = page.keys[-1]
    # Newer ones land before the first page, so the walk shows exactly the original set.
    assert seen == [n.id for n in reversed(original) if n]


async def test_mark_read_touches_only_the_owner(
    documents: DocumentStore, commands: CommandCounter
) -> None:
    notifications = documents.notifications
    mine = [await notifications.create(1, "FOLLOWED", actor_id=a) for a in (2, 3, 4)]
    theirs = await notifications.create(2, "FOLLOWED", actor_id=1)
    mine_ids = [n.id for n in mine if n]
    assert theirs is not None and len(mine_ids) == 3
    commands.take()

    assert await notifications.mark_read(1, [mine_ids[0], theirs.id, "bogus"]) == 1
    assert commands.take() == ["update"]
    assert await notifications.mark_read(1, [mine_ids[0]]) == 0  # already read
    assert await notifications.mark_read(1, []) == 0
    assert await notifications.get_many([theirs.id]) == [theirs]  # still unread
    assert await notifications.mark_read(1, None) == 2
    assert await notifications.count_for_user(1, unread_only=True) == 0
    assert await notifications.count_for_user(2, unread_only=True) == 1
    stored = await notifications.get_many(mine_ids)
    assert [n.read for n in stored if n] == [True, True, True]
    assert await notifications.mark_read(2, None) == 1


async def test_notification_deletes(documents: DocumentStore) -> None:
    notifications = documents.notifications
    c1, c2, c3 = (str(ObjectId()) for _ in range(3))
    await notifications.create(1, "COMMENTED", actor_id=2, post_id=5, comment_id=c1)
    await notifications.create(1, "REPLIED", actor_id=3, post_id=5, comment_id=c2)
    await notifications.create(1, "REACTED", actor_id=3, post_id=5)
    await notifications.create(1, "COMMENTED", actor_id=2, post_id=6, comment_id=c3)
    kept = await notifications.create(1, "FOLLOWED", actor_id=4)

    assert await notifications.delete_for_comments([c1, c3, "bogus"]) == 2
    assert await notifications.delete_for_comments(["bogus"]) == 0
    assert await notifications.delete_for_post(5) == 2
    assert await notifications.delete_for_post(5) == 0
    page = await notifications.list_for_user(1, PageRequest(first=10), unread_only=False)
    assert page.items == [kept]


# Profiles


async def test_profile_update(documents: DocumentStore, commands: CommandCounter) -> None:
    profiles = documents.profiles
    created = await profiles.update(5, bio="hello")
    assert commands.take() == ["findAndModify"]
    assert created == ProfileRecord(user_id=5, bio="hello")
    assert await profiles.get_many([5]) == [created]

    updated = await profiles.update(
        5, avatar_url="https://img.example/a.png", location="Oslo", links=["https://a.example"]
    )
    assert updated == ProfileRecord(
        user_id=5,
        bio="hello",
        avatar_url="https://img.example/a.png",
        location="Oslo",
        links=["https://a.example"],
    )
    assert await profiles.update(5) == updated  # nothing given: nothing changes
    assert await profiles.update(5, location="") == ProfileRecord(
        user_id=5,
        bio="hello",
        avatar_url="https://img.example/a.png",
        links=["https://a.example"],
    )
    cleared = await profiles.update(5, avatar_url="", bio="", links=[])
    assert cleared == ProfileRecord(user_id=5)
    assert await profiles.get_many([5]) == [cleared]
    assert await profiles.collection.count_documents({"user_id": 5}) == 1

    await profiles.create_empty(6)
    assert await profiles.update(6, links=["https://b.example"]) == ProfileRecord(
        user_id=6, links=["https://b.example"]
    )
    assert await profiles.update(7) == ProfileRecord(user_id=7)
