"""Direct reads (datasources/relational/direct_reads.py) give exactly the rows that
SQLAlchemy gives for the same statement, on the embedded SQLite file and on a real
PostgreSQL, and keep the safeguards of SQLAlchemy's events: the statement count, the
refusal of NUL characters and SQLite's time limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, column, func, literal_column, select, table, text, true

from datasources.failures import Failure, classify
from datasources.instrumentation import instrument_engine, start_counting, stop_counting
from datasources.relational import RelationalStore, open_relational_store
from datasources.relational.direct_reads import DirectRead
from datasources.relational.engine import _DEADLINE_KEY, UnstorableText
from datasources.relational.models import User
from datasources.relational.posts import (
    _BY_ID,
    _PUBLISHED_PAGES,
    _PUBLISHED_PAGES_WITH_AUTHORS,
    PostRecord,
)
from datasources.relational.records import UserRecord
from datasources.relational.users import _SHOWN_BY_ID

START = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
_FIRST_PUBLISHED, _PUBLISHED_AFTER = _PUBLISHED_PAGES
_FIRST_PUBLISHED_WITH_AUTHORS, _PUBLISHED_AFTER_WITH_AUTHORS = _PUBLISHED_PAGES_WITH_AUTHORS


async def _seed(store: RelationalStore) -> tuple[list[int], list[int]]:
    """Users and posts with what a page can hold: drafts, a deleted post, no tags,
    several tags, text outside ASCII, equal timestamps."""
    users = [
        UserRecord(i, f"user{i}", f"user{i}@example.com", f"Ünïcode {i} 🎉", "USER", START)
        for i in range(1, 8)
    ]
    await store.users.insert_many(users, password_hash="secret-hash")
    posts = []
    for i in range(1, 41):
        published = i % 5 != 0
        at = START + timedelta(minutes=i // 2)  # pairs share a timestamp: ties on id
        posts.append(
            PostRecord(
                id=i,
                author_id=1 + i % 7,
                title=f"Post {i} — “quoted”",
                body="body\nwith lines " * (i % 3),
                tags=("a", "b", "c")[: i % 4],
                status="PUBLISHED" if published else "DRAFT",
                created_at=at,
                updated_at=at + timedelta(seconds=i),
                published_at=at if published else None,
                sort_at=at,
            )
        )
    await store.posts.insert_many(posts)
    assert await store.posts.mark_deleted(7)
    return [u.id for u in users], [p.id for p in posts]


def _exact(rows: Any) -> list[str]:
    """Rows as the text of each value with its type: equal values of different types
    (a list and a tuple, naive and aware datetimes) differ."""
    return [repr([(type(value).__name__, value) for value in row]) for row in rows]


async def _both(store: RelationalStore, read: DirectRead[Any], parameters: dict[str, Any]) -> Any:
    direct = await store.direct_rows(read, parameters)
    through_sqlalchemy = [tuple(row) for row in await store.rows(read.statement, parameters)]
    assert _exact(direct) == _exact(through_sqlalchemy)
    return direct


async def test_direct_reads_give_sqlalchemys_rows(relational_store: RelationalStore) -> None:
    store = relational_store
    user_ids, post_ids = await _seed(store)
    is_sqlite = store.is_sqlite
    for limit in (1, 2, 11, 33, 101):
        rows = await _both(store, _FIRST_PUBLISHED, {"limit": limit})
        assert 0 < len(rows) <= limit
        with_authors = await _both(store, _FIRST_PUBLISHED_WITH_AUTHORS, {"limit": limit})
        assert [row[: len(rows[0])] for row in with_authors] == rows
        assert all(row[len(rows[0])] == row[1] for row in with_authors)  # each post's author
    # Pages after the key of each post: ties on the timestamp are ordered by id.
    for row in await store.direct_rows(_FIRST_PUBLISHED, {"limit": 101}):
        key = {"limit": 7, "at": row[9], "id": row[0]}
        after = await _both(store, _PUBLISHED_AFTER, key)
        assert all((later[9], later[0]) < (row[9], row[0]) for later in after)
        with_authors = await _both(store, _PUBLISHED_AFTER_WITH_AUTHORS, key)
        assert [later[: len(row)] for later in with_authors] == after
    id_lists = [
        [1],
        [999_999],
        post_ids,
        [7, 5, 3, 3, 1_000_000],  # deleted, a draft, a duplicate, a missing one
        list(reversed(post_ids))[:17],
    ]
    for ids in id_lists:
        await _both(store, _BY_ID.read(is_sqlite), {"ids": ids})
        await _both(store, _SHOWN_BY_ID.read(is_sqlite), {"ids": ids[:5] + user_ids[:3]})
    # Every length of list the loaders' batches may have, each its own SQLite text.
    for length in range(1, 45, 4):
        rows = await _both(store, _BY_ID.read(is_sqlite), {"ids": list(range(1, length + 1))})
        assert {row[0] for row in rows} == set(range(1, length + 1)) & set(post_ids) - {7}


async def test_an_empty_list_reads_nothing(relational_store: RelationalStore) -> None:
    await _seed(relational_store)
    read = _BY_ID.read(relational_store.is_sqlite)
    assert await _both(relational_store, read, {"ids": []}) == []


async def test_a_direct_read_is_counted_as_one_statement(
    relational_store: RelationalStore,
) -> None:
    await _seed(relational_store)
    instrument_engine(relational_store.engine)  # as the app's stores are
    stats, token = start_counting()
    try:
        await relational_store.direct_rows(_FIRST_PUBLISHED, {"limit": 5})
        await relational_store.direct_rows(
            _SHOWN_BY_ID.read(relational_store.is_sqlite), {"ids": [1, 2, 3]}
        )
    finally:
        stop_counting(token)
    assert stats.sql == 2


async def test_a_list_parameter_is_expanded_on_sqlite_and_refused_elsewhere(
    relational_store: RelationalStore,
) -> None:
    await _seed(relational_store)
    listed = DirectRead(select(User.id, User.handle).where(User.id.in_([2, 5, 99])))
    if relational_store.is_sqlite:
        assert [row[0] for row in await _both(relational_store, listed, {})] == [2, 5]
    else:  # PostgreSQL reads a list as one array (`= ANY`), as `by_ids` does
        with pytest.raises(ValueError, match="list parameter"):
            await relational_store.direct_rows(listed, {})


async def test_a_missing_parameter_is_refused(relational_store: RelationalStore) -> None:
    with pytest.raises(KeyError, match="limit"):
        await relational_store.direct_rows(_FIRST_PUBLISHED, {})


async def test_nul_characters_are_refused(relational_store: RelationalStore) -> None:
    read = DirectRead(select(User.id).where(User.handle == bindparam("handle")))
    with pytest.raises(UnstorableText):
        await relational_store.direct_rows(read, {"handle": "a\x00b"})
    assert await relational_store.direct_rows(read, {"handle": "nobody"}) == []


async def _deadlines_cleared(store: RelationalStore) -> None:
    """No pooled SQLite connection is left with a statement deadline running."""
    idle = store.engine.sync_engine.pool.checkedin()  # type: ignore[attr-defined]
    held = [await store.engine.raw_connection() for _ in range(idle)]
    try:
        deadlines = [connection.info[_DEADLINE_KEY] for connection in held]
        assert deadlines and all(deadline.at is None for deadline in deadlines)
    finally:
        for connection in held:
            connection.close()


@pytest.fixture
async def limited_sqlite(tmp_path: Path) -> AsyncIterator[RelationalStore]:
    store = open_relational_store(
        f"sqlite+aiosqlite:///{tmp_path / 'agora.db'}", statement_timeout_seconds=0.2
    )
    yield store
    await store.close()


async def test_sqlite_time_limit_stops_a_direct_read(limited_sqlite: RelationalStore) -> None:
    store = limited_sqlite
    async with store.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (x INTEGER)"))
        rows = [{"x": i} for i in range(1000)]
        await connection.execute(text("INSERT INTO t VALUES (:x)"), rows)
    # A read that runs for minutes without a limit: a billion combinations of rows.
    t = table("t", column("x"))
    a, b, c = t.alias("a"), t.alias("b"), t.alias("c")
    combinations = select(func.count()).select_from(a).join(b, true()).join(c, true())
    try:
        await store.direct_rows(DirectRead(combinations), {})
    except Exception as error:
        assert classify(error) is Failure.TIMEOUT, repr(error)
    else:
        raise AssertionError("the read was not stopped")
    await _deadlines_cleared(store)
    assert await store.direct_rows(DirectRead(select(literal_column("1"))), {}) == [(1,)]


async def test_a_refused_read_leaves_no_deadline_running(limited_sqlite: RelationalStore) -> None:
    read = DirectRead(select(literal_column("1")).where(literal_column("'x'") == bindparam("v")))
    assert await limited_sqlite.direct_rows(read, {"v": "y"}) == []
    with pytest.raises(UnstorableText):
        await limited_sqlite.direct_rows(read, {"v": "a\x00b"})
    await _deadlines_cleared(limited_sqlite)
