"""Where the embedded SQLite file's statements run: an indexed read on the event loop
(no thread hops), everything that may wait for a lock or read a whole table on
aiosqlite's worker thread (datasources/relational/engine.py, `_ReadsOnTheLoop`)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from datasources.relational import open_relational_store


async def test_reads_run_on_the_loop_and_writes_and_searches_on_the_worker(
    tmp_path: Path,
) -> None:
    store = open_relational_store(f"sqlite+aiosqlite:///{tmp_path / 'threads.db'}")

    @event.listens_for(store.engine.sync_engine, "connect")
    def _thread_id(dbapi_connection: Any, _: Any) -> None:
        # The thread that runs the statement, as SQLite sees it.
        dbapi_connection.create_function("thread_id", 0, threading.get_ident)

    try:
        loop_thread = threading.get_ident()
        async with store.write() as session:
            await session.execute(text("CREATE TABLE t (x INTEGER, s TEXT)"))
            await session.execute(text("INSERT INTO t VALUES (thread_id(), 'abc')"))
        read = text("SELECT thread_id() FROM t")
        search = text("SELECT thread_id() FROM t WHERE s LIKE '%b%'")
        written = text("SELECT x FROM t")
        assert (await store.rows(read))[0][0] == loop_thread
        assert (await store.rows(search))[0][0] != loop_thread
        assert (await store.rows(written))[0][0] != loop_thread
    finally:
        await store.close()
