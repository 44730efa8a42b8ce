"""Direct reads (datasources/relational/direct_reads.py) give exactly the rows that
SQLAlchemy gives for the same statement, on the embedded SQLite file and on a real
PostgreSQL, and keep the safeguards of SQLAlchemy's events: the statement count, the
refusal of NUL characters and SQLite's time limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, column, func, literal_column, select, table, text, true

from datasources.failures import Failure, classify
from datasources.instrumentation import instrument_engine, start_counting, stop_counting
from datasources.relational import RelationalStore, open_relational_store
from datasources.relational.direct_reads import DirectRead
from datasources.relational.engine import UnstorableText
from datasources.relational.models import User
from datasources.relational.posts import _BY_ID, _FIRST_PUBLISHED, _PUBLISHED_AFTER, PostRecord
from datasources.relational.records import UserRecord
from datasources.relational.users import _SHOWN_BY_ID

START = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


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
    # Pages after the key of each post: ties on the timestamp are ordered by id.
    for row in await store.direct_rows(_FIRST_PUBLISHED, {"limit": 101}):
        key = {"limit": 7, "at": row[9], "id": row[0]}
        after = await _both(store, _PUBLISHED_AFTER, key)
        assert all((later[9], later[0]) < (row[9], row[0]) for later in after)
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


async def test_a_missing_parameter_is_refused(relational_store: RelationalStore) -> None:
    with pytest.raises(KeyError, match="limit"):
        await relational_store.direct_rows(_FIRST_PUBLISHED, {})


async def test_nul_characters_are_refused(relational_store: RelationalStore) -> None:
    read = DirectRead(select(User.id).where(User.handle == bindparam("handle")))
    with pytest.raises(UnstorableText):
        await relational_store.direct_rows(read, {"handle": "a\x00b"})
    assert await relational_store.direct_rows(read, {"handle": "nobody"}) == []


async def test_sqlite_time_limit_stops_a_direct_read(tmp_path: Path) -> None:
    store = open_relational_store(
        f"sqlite+aiosqlite:///{tmp_path / 'agora.db'}", statement_timeout_seconds=0.2
    )
    try:
        async with store.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(
                text("INSERT INTO t VALUES (:x)"), [{"x": i} for i in range(1000)]
            )
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
        # The deadline is cleared: the next direct read on the connection runs.
        read = DirectRead(select(literal_column("1")))
        assert await store.direct_rows(read, {}) == [(1,)]
    finally:
        await store.close()
