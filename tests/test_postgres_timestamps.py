"""PostgreSQL's timestamps are read as text through a cache (datasources/relational/
engine.py): the values must be exactly asyncpg's own (binary) decoding, UTC, whatever
the session's time zone, and values bound as parameters must arrive unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import asyncpg
from sqlalchemy import text

from datasources.relational.engine import create_engine

TEXTS = [
    "2026-11-30 12:00:00+00",
    "2026-11-30 12:00:00.123456+00",
    "2026-11-30 12:00:00.5+05:30",
    "1999-12-31 23:59:59.999999-08",
    "2026-03-29 01:30:00+01",
]
QUERY = "SELECT " + ", ".join(f"'{value}'::timestamptz" for value in TEXTS)


async def test_timestamps_read_as_asyncpg_reads_them_in_utc(postgres_url: str) -> None:
    direct = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        expected = list(await direct.fetchrow(QUERY))
    finally:
        await direct.close()
    engine = create_engine(postgres_url)
    try:
        for zone in ("UTC", "Asia/Kolkata", "America/St_Johns"):
            async with engine.connect() as connection:
                await connection.execute(text(f"SET TIME ZONE '{zone}'"))
                for _ in range(2):  # as read first, and from the cache
                    found = list((await connection.execute(text(QUERY))).one())
                    assert found == expected, zone
                    assert all(value.tzinfo is UTC for value in found), zone
                    assert [v.isoformat() for v in found] == [v.isoformat() for v in expected]
                await connection.execute(text("RESET TIME ZONE"))
    finally:
        await engine.dispose()


async def test_bound_timestamps_arrive_unchanged(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    values = [
        datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 11, 30, 12, 0, 0, 1, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
        datetime(2026, 11, 30, 12, 0, 0),  # naive: UTC, as every value Agora stores
    ]
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SET TIME ZONE 'Asia/Kolkata'"))
            for value in values:
                back = (
                    await connection.execute(
                        text("SELECT CAST(:at AS timestamptz) = :at, CAST(:at AS timestamptz)"),
                        {"at": value},
                    )
                ).one()
                assert back[0] is True
                assert back[1] == (value if value.tzinfo else value.replace(tzinfo=UTC))
                assert back[1].tzinfo is UTC
    finally:
        await engine.dispose()
