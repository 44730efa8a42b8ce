"""Datetimes read back from the embedded SQLite file are aware UTC values, equal to
the UTC values written (Agora writes no other), whatever form of text holds them
(datasources/relational/models.py, `UTCDateTime`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text

from datasources.relational import open_relational_store
from datasources.relational.models import UTCDateTime


async def test_sqlite_datetimes_read_back_aware_and_equal(tmp_path: Path) -> None:
    store = open_relational_store(f"sqlite+aiosqlite:///{tmp_path / 'dates.db'}")
    table = Table("t", MetaData(), Column("id", Integer), Column("at", UTCDateTime()))
    written = {
        1: datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        2: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),  # no fraction
    }
    # Text SQLAlchemy does not write but SQLite may hold: CURRENT_TIMESTAMP's form,
    # and ISO 8601 with an offset of its own.
    raw = {4: "2026-01-02 03:04:05", 5: "2026-01-02T03:04:05.5Z"}
    try:
        async with store.write() as session:
            await session.run_sync(lambda s: table.create(s.connection()))
            await session.execute(insert(table), [{"id": i, "at": v} for i, v in written.items()])
            for i, value in raw.items():
                await session.execute(
                    text("INSERT INTO t (id, at) VALUES (:i, :v)"), {"i": i, "v": value}
                )
            await session.execute(insert(table), [{"id": 6, "at": None}])
        read = dict(await store.rows(select(table.c.id, table.c.at)))
    finally:
        await store.close()
    assert all(v is None or v.utcoffset() == timedelta(0) for v in read.values()), read
    assert {i: read[i] for i in written} == written
    assert read[4] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert read[5] == datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)
    assert read[6] is None
