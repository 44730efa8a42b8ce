"""Posts, tags, follows and user search in the relational datastore, against the
embedded SQLite file and a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, func, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError

from datasources.paging import PageRequest
from datasources.relational import RelationalStore, UserRecord
from datasources.relational.follows import UnknownUser
from datasources.relational.migrate import alembic_config, upgrade
from datasources.relational.models import Base, Follow, Post, PostTag, User
from datasources.relational.posts import PostRecord


@pytest.fixture
def store(relational_store: RelationalStore) -> RelationalStore:
    return relational_store


async def new_user(store: RelationalStore, handle: str, display_name: str | None = None):
    return await store.users.create(
        handle=handle,
        email=f"{handle}@example.com",
        display_name=display_name or handle.title(),
        password_hash="hash",
    )


async def new_users(store: RelationalStore, *handles: str) -> list[UserRecord]:
    return [await new_user(store, handle) for handle in handles]


async def post(
    store: RelationalStore,
    author: UserRecord,
    title: str = "title",
    *,
    body: str = "body",
    tags: tuple[str, ...] = (),
    publish: bool = True,
) -> PostRecord:
    return await store.posts.create(author.id, title, body, list(tags), publish)


_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@contextmanager
def statements(store: RelationalStore) -> Iterator[list[str]]:
    """The SQL statements (not transaction control) sent to the database meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(_TRANSACTION_CONTROL):
            seen.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)


async def set_sort_at(store: RelationalStore, post_ids: list[int], at: datetime) -> None:
    async with store.write() as session:
        await session.execute(update(Post).where(Post.id.in_(post_ids)).values(sort_at=at))


def ids(records: list[PostRecord]) -> list[int]:
    return [r.id for r in records]


# Schema


async def test_migration_matches_the_models(store: RelationalStore) -> None:
    def inspect_db(connection: Any) -> tuple[set[str], list[Any], set[str]]:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        inspector = inspect(connection)
        indexes = {
            index["name"]
            for table in ("posts", "post_tags", "follows")
            for index in inspector.get_indexes(table)
        }
        return set(inspector.get_table_names()), diff, indexes

    async with store.engine.connect() as connection:
        tables, diff, indexes = await connection.run_sync(inspect_db)
    assert {"posts", "post_tags", "follows"} <= tables
    assert diff == []
    assert {
        "ix_posts_status_sort_at_id",
        "ix_posts_author_id_status_sort_at_id",
        "ix_posts_deleted_at",
        "ix_post_tags_tag_post_id",
        "ix_follows_followee_id_created_at_follower_id",
        "ix_follows_follower_id_created_at_followee_id",
    } <= indexes


async def test_migration_downgrades_and_upgrades_again(store: RelationalStore) -> None:
    def downgrade(connection: Any) -> None:
        command.downgrade(alembic_config(connection), "0001")

    def tables(connection: Any) -> set[str]:
        return set(inspect(connection).get_table_names())

    async with store.engine.begin() as connection:
        await connection.run_sync(downgrade)
        assert not {"posts", "post_tags", "follows"} & await connection.run_sync(tables)
    await upgrade(store)
    async with store.engine.connect() as connection:
        assert {"posts", "post_tags", "follows"} <= await connection.run_sync(tables)


async def test_the_database_refuses_self_follows_and_bad_statuses(store: RelationalStore) -> None:
    (alice,) = await new_users(store, "alice")
    now = datetime.now(UTC)
    with pytest.raises(IntegrityError):
        async with store.write() as session:
            await session.execute(
                insert(Follow).values(follower_id=alice.id, followee_id=alice.id, created_at=now)
            )
    with pytest.raises(IntegrityError):
        async with store.write() as session:
            await session.execute(
                insert(Post).values(
                    author_id=alice.id,
                    title="t",
                    body="b",
                    tags=[],
                    status="ARCHIVED",
                    created_at=now,
                    updated_at=now,
                    sort_at=now,
                )
            )


# Posts: writes


async def test_create_update_publish(store: RelationalStore) -> None:
    (alice,) = await new_users(store, "alice")
    draft = await store.posts.create(alice.id, "Draft", "text", ["Python", "sql", "python"], False)
    assert draft.status == "DRAFT" and draft.published_at is None
    assert draft.tags == ("python", "sql")
    assert draft.sort_at == draft.created_at == draft.updated_at
    assert draft.created_at.tzinfo is not None
    assert await store.posts.get_many([draft.id]) == [draft]

    edited = await store.posts.update(draft.id, title="Edited")
    assert edited is not None
    assert (edited.title, edited.body, edited.tags) == ("Edited", "text", ("python", "sql"))
    assert edited.updated_at > draft.updated_at and edited.created_at == draft.created_at
    retagged = await store.posts.update(draft.id, body="new text", tags=["Go", "go", "rust"])
    assert retagged is not None
    assert (retagged.title, retagged.body, retagged.tags) == ("Edited", "new text", ("go", "rust"))
    assert await store.posts.get_many([draft.id]) == [retagged]
    async with store.read() as session:
        rows = await session.scalars(select(PostTag.tag).where(PostTag.post_id == draft.id))
        assert sorted(rows.all()) == ["go", "rust"]

    published = await store.posts.publish(draft.id)
    assert published is not None and published.status == "PUBLISHED"
    assert published.published_at == published.sort_at == published.updated_at
    assert published.sort_at > draft.created_at and published.created_at == draft.created_at
    assert await store.posts.publish(draft.id) == published  # idempotent
    assert await store.posts.get_many([draft.id]) == [published]

    born_published = await post(store, alice, "Live")
    assert born_published.status == "PUBLISHED"
    assert born_published.published_at == born_published.sort_at == born_published.created_at

    assert await store.posts.update(999_999, title="x") is None
    assert await store.posts.publish(999_999) is None
    assert await store.posts.get_many([999_999, born_published.id]) == [None, born_published]
    assert await store.posts.get_many([]) == []


async def test_deleted_posts_are_invisible_everywhere(store: RelationalStore) -> None:
    alice, bob = await new_users(store, "alice", "bob")
    await store.follows.follow(bob.id, alice.id)
    kept = await post(store, alice, "kept needle", tags=("x",))
    gone = await post(store, alice, "gone needle", tags=("x",))
    gone_draft = await post(store, alice, "draft", publish=False)
    first = PageRequest(10)

    assert await store.posts.mark_deleted(gone.id)
    assert await store.posts.mark_deleted(gone_draft.id)
    assert not await store.posts.mark_deleted(gone.id)  # already deleted
    assert not await store.posts.mark_deleted(999_999)

    assert await store.posts.get_many([gone.id, kept.id, gone_draft.id]) == [None, kept, None]
    listings = [
        await store.posts.list_published(first),
        await store.posts.list_published(first, author_id=alice.id),
        await store.posts.list_published(first, tag="x"),
        await store.posts.list_published(first, search="needle"),
        await store.posts.feed(bob.id, first),
        (await store.posts.by_authors([alice.id], first, include_drafts=True))[alice.id],
        (await store.posts.by_authors([alice.id], first, include_drafts=False))[alice.id],
    ]
    for page in listings:
        assert ids(page.items) == [kept.id]
    assert await store.posts.count_published() == 1
    assert await store.posts.count_published(author_id=alice.id, tag="x", search="needle") == 1
    assert await store.posts.count_feed(bob.id) == 1
    assert await store.posts.count_by_authors([alice.id], include_drafts=True) == {alice.id: 1}
    assert await store.posts.count_by_authors([alice.id], include_drafts=False) == {alice.id: 1}
    assert await store.posts.update(gone.id, title="back") is None
    assert await store.posts.publish(gone_draft.id) is None

    assert sorted(await store.posts.pending_deletions()) == sorted([gone.id, gone_draft.id])
    assert await store.posts.pending_deletions(limit=1) in ([gone.id], [gone_draft.id])
    await store.posts.purge(gone.id)
    await store.posts.purge(gone_draft.id)
    assert await store.posts.pending_deletions() == []
    async with store.read() as session:
        assert await session.scalar(select(func.count()).select_from(Post)) == 1
        tag_rows = await session.scalar(
            select(func.count()).select_from(PostTag).where(PostTag.post_id == gone.id)
        )
        assert tag_rows == 0


async def test_tag_filter(store: RelationalStore) -> None:
    alice, bob = await new_users(store, "alice", "bob")
    a = await post(store, alice, tags=("Python", "web"))
    b = await post(store, bob, tags=("python",))
    await post(store, bob, tags=("rust",))
    await post(store, alice, tags=("python",), publish=False)  # drafts are not listed

    page = await store.posts.list_published(PageRequest(10), tag="PYTHON")
    assert ids(page.items) == [b.id, a.id]
    assert await store.posts.count_published(tag="python") == 2
    assert ids((await store.posts.list_published(PageRequest(10), tag="web")).items) == [a.id]
    only_bob = await store.posts.list_published(PageRequest(10), tag="python", author_id=bob.id)
    assert ids(only_bob.items) == [b.id]
    assert (await store.posts.list_published(PageRequest(10), tag="go")).items == []
    assert await store.posts.count_published(tag="go") == 0


async def test_search_is_case_insensitive_and_literal(store: RelationalStore) -> None:
    (alice,) = await new_users(store, "alice")
    percent = await post(store, alice, "100% sure")
    await post(store, alice, "100 percent sure")
    underscore = await post(store, alice, "snake_case names")
    await post(store, alice, "snakeXcase names")
    in_body = await post(store, alice, "Greeting", body="Hello WORLD")
    backslash = await post(store, alice, r"a\b path")
    await post(store, alice, "Hello draft", publish=False)

    async def found(search: str) -> list[int]:
        page = await store.posts.list_published(PageRequest(20), search=search)
        assert await store.posts.count_published(search=search) == len(page.items)
        return ids(page.items)

    assert await found("0% S") == [percent.id]
    assert await found("e_c") == [underscore.id]
    assert await found("world") == [in_body.id]
    assert await found("hello") == [in_body.id]
    assert await found("GREET") == [in_body.id]
    assert await found("\\") == [backslash.id]
    assert await found("nothing like it") == []
    assert len(await found("")) == 6  # an empty search filters nothing


# Posts: paging


async def test_keyset_paging_survives_inserts(store: RelationalStore) -> None:
    alice, bob = await new_users(store, "alice", "bob")
    original = [await post(store, alice if i % 2 else bob, f"p{i}") for i in range(7)]
    # Three of them share one older sort_at (with no microseconds): the id breaks the
    # tie, and the second page's cursor falls inside that group.
    tie = datetime(2020, 1, 1, tzinfo=UTC)
    await set_sort_at(store, [original[1].id, original[2].id, original[3].id], tie)
    expected = [p.id for p in (*original[4:][::-1], original[0], *original[1:4][::-1])]

    seen: list[int] = []
    request = PageRequest(3)
    pages = 0
    while True:
        page = await store.posts.list_published(request)
        pages += 1
        assert page.has_previous == (request.after is not None)
        for record, key in zip(page.items, page.keys, strict=True):
            assert key == (record.sort_at.isoformat(timespec="microseconds"), record.id)
            assert datetime.fromisoformat(str(key[0])) == record.sort_at
        seen += ids(page.items)
        # Newer posts arrive between pages; they sort before the cursor.
        await post(store, alice, f"newer {pages}")
        if not page.has_next:
            break
        request = PageRequest(3, page.keys[-1])
    assert seen == expected
    assert pages == 3
    assert tie.isoformat(timespec="microseconds") == "2020-01-01T00:00:00.000000+00:00"

    # The same instant written with another offset selects the same rows.
    first = await store.posts.list_published(PageRequest(2))
    at, last_id = first.keys[-1]
    shifted = datetime.fromisoformat(str(at)).astimezone(timezone(timedelta(hours=5)))
    utc_next = await store.posts.list_published(PageRequest(4, (at, last_id)))
    shifted_next = await store.posts.list_published(PageRequest(4, (shifted.isoformat(), last_id)))
    assert ids(shifted_next.items) == ids(utc_next.items) and len(utc_next.items) == 4


@pytest.mark.parametrize(
    "after",
    [
        ("2026-01-01T00:00:00+00:00",),
        ("2026-01-01T00:00:00+00:00", 1, 2),
        ("not a time", 1),
        (1, 2),
        ("2026-01-01T00:00:00+00:00", "3"),
        ("2026-01-01T00:00:00+00:00", True),
        ("2026-01-01T00:00:00", 1),  # no time zone
        "2026-01-01T00:00:00+00:00",
    ],
)
async def test_malformed_time_keys_are_refused(store: RelationalStore, after: Any) -> None:
    (alice,) = await new_users(store, "alice")
    request = PageRequest(5, after)
    with pytest.raises(ValueError):
        await store.posts.list_published(request)
    with pytest.raises(ValueError):
        await store.posts.feed(alice.id, request)
    with pytest.raises(ValueError):
        await store.posts.by_authors([alice.id], request, include_drafts=False)
    with pytest.raises(ValueError):
        await store.follows.followers([alice.id], request)
    with pytest.raises(ValueError):
        await store.follows.following([alice.id], request)


# Posts: per author and feed


async def test_by_authors_top_n_per_author(store: RelationalStore) -> None:
    ann, ben, cal = await new_users(store, "ann", "ben", "cal")
    ann_posts = [await post(store, ann, f"ann {i}") for i in range(5)]
    ben_posts = [await post(store, ben, f"ben {i}") for i in range(2)]
    ann_draft = await post(store, ann, "ann draft", publish=False)
    newest_first = [p.id for p in ann_posts[::-1]]

    with statements(store) as sql:
        pages = await store.posts.by_authors(
            [ann.id, ben.id, cal.id, 999_999, ann.id], PageRequest(3), include_drafts=False
        )
    assert len(sql) == 1
    assert set(pages) == {ann.id, ben.id, cal.id, 999_999}
    assert ids(pages[ann.id].items) == newest_first[:3]
    assert pages[ann.id].has_next and not pages[ann.id].has_previous
    assert ids(pages[ben.id].items) == [p.id for p in ben_posts[::-1]]
    assert not pages[ben.id].has_next
    assert pages[cal.id].items == [] and not pages[cal.id].has_next
    assert pages[999_999].items == []

    rest = await store.posts.by_authors(
        [ann.id], PageRequest(3, pages[ann.id].keys[-1]), include_drafts=False
    )
    assert ids(rest[ann.id].items) == newest_first[3:]
    assert not rest[ann.id].has_next and rest[ann.id].has_previous

    exact = await store.posts.by_authors([ben.id], PageRequest(2), include_drafts=False)
    assert len(exact[ben.id].items) == 2 and not exact[ben.id].has_next

    with_drafts = await store.posts.by_authors([ann.id], PageRequest(3), include_drafts=True)
    assert ids(with_drafts[ann.id].items) == [ann_draft.id, *newest_first[:2]]
    assert await store.posts.by_authors([], PageRequest(3), include_drafts=False) == {}

    with statements(store) as sql:
        published = await store.posts.count_by_authors(
            [ann.id, ben.id, cal.id], include_drafts=False
        )
        everything = await store.posts.count_by_authors([ann.id, cal.id], include_drafts=True)
    assert len(sql) == 2
    assert published == {ann.id: 5, ben.id: 2, cal.id: 0}
    assert everything == {ann.id: 6, cal.id: 0}


async def test_listings_by_author_hide_drafts(store: RelationalStore) -> None:
    alice, bob = await new_users(store, "alice", "bob")
    live = await post(store, alice, "live")
    await post(store, alice, "draft", publish=False)
    by_alice = await store.posts.list_published(PageRequest(10), author_id=alice.id)
    assert ids(by_alice.items) == [live.id]
    assert await store.posts.count_published(author_id=alice.id) == 1
    assert await store.posts.count_published(author_id=bob.id) == 0


async def test_feed(store: RelationalStore) -> None:
    viewer, followed, also_followed, stranger = await new_users(store, "vi", "fo", "al", "st")
    await store.follows.follow(viewer.id, followed.id)
    await store.follows.follow(viewer.id, also_followed.id)
    await store.follows.follow(stranger.id, viewer.id)
    expected = []
    for i in range(3):
        expected.append(await post(store, followed, f"f{i}"))
        expected.append(await post(store, also_followed, f"a{i}"))
        await post(store, stranger, f"s{i}")
        await post(store, viewer, f"own {i}")
        await post(store, followed, f"draft {i}", publish=False)
    expected_ids = [p.id for p in expected[::-1]]

    with statements(store) as sql:
        first = await store.posts.feed(viewer.id, PageRequest(4))
    assert len(sql) == 1
    assert ids(first.items) == expected_ids[:4] and first.has_next
    second = await store.posts.feed(viewer.id, PageRequest(4, first.keys[-1]))
    assert ids(second.items) == expected_ids[4:] and not second.has_next
    assert await store.posts.count_feed(viewer.id) == 6
    assert await store.posts.count_feed(stranger.id) == 3  # the viewer's own posts
    assert (await store.posts.feed(followed.id, PageRequest(4))).items == []
    assert await store.posts.count_feed(followed.id) == 0

    await store.follows.unfollow(viewer.id, also_followed.id)
    page = await store.posts.feed(viewer.id, PageRequest(10))
    assert {p.author_id for p in page.items} == {followed.id}


# Reads that each take one SQL statement, from the store, alice, bob (who follows alice)
# and the ids of alice's three posts.
ONE_QUERY_READS: dict[str, Callable[..., Awaitable[object]]] = {
    "posts.get_many": lambda store, alice, bob, wanted: store.posts.get_many([*wanted, 999_999]),
    "posts.list_published": lambda store, alice, bob, wanted: store.posts.list_published(
        PageRequest(2), tag="t", search="p"
    ),
    "posts.count_published": lambda store, alice, bob, wanted: store.posts.count_published(
        tag="t", search="p", author_id=alice.id
    ),
    "posts.count_feed": lambda store, alice, bob, wanted: store.posts.count_feed(bob.id),
    "follows.follows_among": lambda store, alice, bob, wanted: store.follows.follows_among(
        bob.id, [alice.id, 999_999]
    ),
    "follows.counts": lambda store, alice, bob, wanted: store.follows.counts([alice.id, bob.id]),
    "follows.followers": lambda store, alice, bob, wanted: store.follows.followers(
        [alice.id, bob.id], PageRequest(2)
    ),
    "follows.following": lambda store, alice, bob, wanted: store.follows.following(
        [alice.id, bob.id], PageRequest(2)
    ),
    "users.search": lambda store, alice, bob, wanted: store.users.search(PageRequest(2), "a"),
}


@pytest.mark.parametrize("read", list(ONE_QUERY_READS))
async def test_one_query_reads(store: RelationalStore, read: str) -> None:
    alice, bob = await new_users(store, "alice", "bob")
    posts = [await post(store, alice, f"p{i}", tags=("t",)) for i in range(3)]
    await store.follows.follow(bob.id, alice.id)
    wanted = [p.id for p in posts]
    with statements(store) as sql:
        await ONE_QUERY_READS[read](store, alice, bob, wanted)
    assert len(sql) == 1, sql


# Follows


async def test_follow_and_unfollow(store: RelationalStore) -> None:
    alice, bob = await new_users(store, "alice", "bob")
    assert await store.follows.follow(alice.id, bob.id)
    assert not await store.follows.follow(alice.id, bob.id)
    assert await store.follows.counts([alice.id, bob.id]) == {alice.id: (0, 1), bob.id: (1, 0)}

    with statements(store) as sql, pytest.raises(ValueError):
        await store.follows.follow(alice.id, alice.id)
    assert sql == []  # refused before reaching the database
    with pytest.raises(UnknownUser):
        await store.follows.follow(alice.id, 999_999)

    assert await store.follows.unfollow(alice.id, bob.id)
    assert not await store.follows.unfollow(alice.id, bob.id)
    assert not await store.follows.unfollow(bob.id, alice.id)
    assert await store.follows.counts([alice.id, bob.id]) == {alice.id: (0, 0), bob.id: (0, 0)}


async def test_concurrent_follows_create_one_edge(store: RelationalStore) -> None:
    alice, bob = await new_users(store, "alice", "bob")
    created = await asyncio.gather(*(store.follows.follow(alice.id, bob.id) for _ in range(6)))
    assert sorted(created) == [False] * 5 + [True]
    assert await store.follows.counts([bob.id]) == {bob.id: (1, 0)}


async def test_followers_and_following_pages(store: RelationalStore) -> None:
    star, *fans = await new_users(store, "star", "f1", "f2", "f3", "f4")
    loner = await new_user(store, "loner")
    for fan in fans:
        await store.follows.follow(fan.id, star.id)
    await store.follows.follow(star.id, fans[0].id)
    await store.follows.follow(star.id, fans[1].id)
    fan_ids = [f.id for f in fans]

    with statements(store) as sql:
        followers = await store.follows.followers([star.id, fans[0].id, loner.id], PageRequest(2))
    assert len(sql) == 1
    assert followers[star.id].items == fan_ids[::-1][:2] and followers[star.id].has_next
    assert followers[fans[0].id].items == [star.id] and not followers[fans[0].id].has_next
    assert followers[loner.id].items == [] and not followers[loner.id].has_next
    rest = await store.follows.followers([star.id], PageRequest(2, followers[star.id].keys[-1]))
    assert rest[star.id].items == fan_ids[::-1][2:] and not rest[star.id].has_next
    assert rest[star.id].has_previous

    async with store.read() as session:
        created = await session.scalar(
            select(Follow.created_at).where(
                Follow.follower_id == fans[3].id, Follow.followee_id == star.id
            )
        )
    assert created is not None
    expected_key = (created.replace(tzinfo=UTC).isoformat(timespec="microseconds"), fans[3].id)
    assert followers[star.id].keys[0] == expected_key

    following = await store.follows.following([star.id, fans[2].id, loner.id], PageRequest(5))
    assert following[star.id].items == [fans[1].id, fans[0].id]
    assert following[fans[2].id].items == [star.id]
    assert following[loner.id].items == []
    assert await store.follows.followers([], PageRequest(2)) == {}

    with statements(store) as sql:
        counts = await store.follows.counts([star.id, fans[0].id, fans[3].id, loner.id])
    assert len(sql) <= 2
    assert counts == {star.id: (4, 2), fans[0].id: (1, 1), fans[3].id: (0, 1), loner.id: (0, 0)}
    assert await store.follows.counts([]) == {}

    assert await store.follows.follows_among(star.id, [*fan_ids, loner.id]) == set(fan_ids[:2])
    assert await store.follows.follows_among(loner.id, fan_ids) == set()
    assert await store.follows.follows_among(star.id, []) == set()


async def test_deleting_a_user_removes_their_follows_and_posts(store: RelationalStore) -> None:
    alice, bob = await new_users(store, "alice", "bob")
    await store.follows.follow(alice.id, bob.id)
    await post(store, bob, tags=("x",))
    async with store.write() as session:
        await session.execute(User.__table__.delete().where(User.id == bob.id))
    assert await store.follows.counts([alice.id]) == {alice.id: (0, 0)}
    assert await store.posts.count_published() == 0
    async with store.read() as session:
        assert await session.scalar(select(func.count()).select_from(PostTag)) == 0


# Users


async def test_user_search(store: RelationalStore) -> None:
    await new_user(store, "ada", "Ada Lovelace")
    await new_user(store, "bob_smith", "Robert")
    await new_user(store, "bobx", "Bobby Tables")
    await new_user(store, "carol", "Carol BOBBINS")
    await new_user(store, "dave", "Dave")

    async def handles(search: str | None, first: int = 10, after: Any = None) -> list[str]:
        page = await store.users.search(PageRequest(first, after), search)
        return [u.handle for u in page.items]

    assert await handles(None) == ["ada", "bob_smith", "bobx", "carol", "dave"]
    assert await handles("BOB") == ["bob_smith", "bobx", "carol"]
    assert await handles("b_s") == ["bob_smith"]  # _ is literal
    assert await handles("%") == []
    assert await handles("lovelace") == ["ada"]
    assert await store.users.count(None) == 5
    assert await store.users.count("bob") == 3
    assert await store.users.count("zzz") == 0

    first = await store.users.search(PageRequest(2), "bob")
    assert [u.handle for u in first.items] == ["bob_smith", "bobx"]
    assert first.keys == [("bob_smith",), ("bobx",)] and first.has_next
    second = await store.users.search(PageRequest(2, first.keys[-1]), "bob")
    assert [u.handle for u in second.items] == ["carol"]
    assert not second.has_next and second.has_previous
    await new_user(store, "bobby")  # inserted before the cursor: not seen by later pages
    assert await handles("bob", 2, ("bobx",)) == ["carol"]

    for bad in [(1,), ("a", "b"), "ada", ()]:
        with pytest.raises(ValueError):
            await store.users.search(PageRequest(2, bad), None)  # type: ignore[arg-type]
