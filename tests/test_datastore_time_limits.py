"""Datastore time limits against real servers: a runaway SQL statement is stopped, a
frozen or stopped MongoDB-wire server fails requests quickly, and `classify` names
both failures so the error policy can answer TIMEOUT or "unavailable".

Elapsed times are asserted loosely (the machine is shared): the point is that
nothing waits for the old defaults (5 s server selection, no statement limit, no
operation limit), not how fast the limits are.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path

import pytest
from pymongo.errors import DuplicateKeyError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import datasources.documents.client
from datasources.documents import DocumentStore, EmbeddedDocumentServer, open_document_store
from datasources.documents.client import DocumentStoreUnavailable
from datasources.failures import Failure, classify
from datasources.relational import RelationalStore, open_relational_store
from datasources.relational.engine import UnstorableText
from support.apps import empty_relational_url
from support.servers import available, find_secantus, free_port, secantus_command
from support.time_travel import TimeTravel

LIMIT_SECONDS = 0.3
# Far longer than any limit here: a few seconds to minutes of work without a limit.
SLOW_SQL = {
    "postgresql": "SELECT pg_sleep(5)",
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    "WHERE x < 50000000) SELECT count(*) FROM c",
}
STOPPED_WITHIN = 3.0  # seconds; the limit is 0.3 s, the old behaviour never stopped
FAIL_FAST_WITHIN = 0.5  # seconds; an open circuit breaker answers at once

MONGO_TIMEOUT_MS = 500
MONGO_SERVER_SELECTION_TIMEOUT_MS = 300
COOLDOWN_SECONDS = 1.0


@dataclass
class Outcome:
    error: BaseException
    elapsed: float

    @property
    def failure(self) -> Failure | None:
        return classify(self.error)


async def failing(operation: Awaitable[object]) -> Outcome:
    """Run `operation`, which must fail; how it failed and how long that took."""
    started = time.monotonic()
    try:
        await operation
    except Exception as error:
        return Outcome(error, time.monotonic() - started)
    raise AssertionError("the operation succeeded")


# SQL


@pytest.fixture(params=["sqlite", "postgresql"])
async def limited_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[RelationalStore]:
    url = empty_relational_url(request.param, tmp_path, request)
    store = open_relational_store(url, statement_timeout_seconds=LIMIT_SECONDS)
    yield store
    await store.close()


async def test_slow_statement_is_stopped_and_the_store_still_answers(
    limited_store: RelationalStore,
) -> None:
    dialect = limited_store.engine.dialect.name
    async with limited_store.engine.connect() as connection:
        outcome = await failing(connection.execute(text(SLOW_SQL[dialect])))
        assert outcome.failure is Failure.TIMEOUT, repr(outcome.error)
        assert outcome.elapsed < STOPPED_WITHIN
        # The database itself stopped it: PostgreSQL's statement_timeout (not only
        # asyncpg's client-side limit behind it), SQLite's progress handler.
        assert isinstance(outcome.error, DBAPIError), repr(outcome.error)
        if dialect == "postgresql":
            assert getattr(outcome.error.orig, "sqlstate", None) == "57014"
        else:
            assert getattr(outcome.error.orig, "sqlite_errorname", None) == "SQLITE_INTERRUPT"
        # The same connection runs the next statement, unhurried by the old deadline.
        await connection.rollback()
        assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    async with limited_store.read() as session:
        assert (await session.execute(text("SELECT 2"))).scalar() == 2
    await limited_store.ping()


async def test_postgres_client_side_limit_backs_up_the_server_side_one(
    fresh_postgres: str,
) -> None:
    """A server that ignores statement_timeout (here: switched off for the session)
    is still cut off by asyncpg a little after the limit."""
    store = open_relational_store(fresh_postgres, statement_timeout_seconds=LIMIT_SECONDS)
    try:
        async with store.engine.connect() as connection:
            await connection.execute(text("SET statement_timeout = 0"))
            outcome = await failing(connection.execute(text(SLOW_SQL["postgresql"])))
            assert outcome.failure is Failure.TIMEOUT, repr(outcome.error)
            assert outcome.elapsed < STOPPED_WITHIN
        async with store.read() as session:
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await store.close()


async def test_sqlite_limit_keeps_pragmas_and_nul_refusal(tmp_path: Path) -> None:
    store = open_relational_store(
        f"sqlite+aiosqlite:///{tmp_path / 'agora.db'}", statement_timeout_seconds=LIMIT_SECONDS
    )
    try:
        async with store.engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            with pytest.raises(UnstorableText):
                await connection.execute(text("SELECT :value"), {"value": "a\x00b"})
    finally:
        await store.close()


# MongoDB wire protocol


@dataclass
class WireServer:
    """A MongoDB-wire server process of the test's own, to freeze or kill."""

    url: str
    process: asyncio.subprocess.Process

    @property
    def pid(self) -> int:
        return self.process.pid

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def _start_secantus(root: Path) -> WireServer:
    available(find_secantus)
    port = free_port()
    command = await asyncio.to_thread(secantus_command, root, port)
    with (root / "server.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log
        )
    server = WireServer(f"mongodb://127.0.0.1:{port}/", process)
    try:
        async with asyncio.timeout(30):
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"secantusd exited with {process.returncode}")
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                await writer.wait_closed()
                return server
    except BaseException:
        await server.kill()
        raise


@pytest.fixture(params=["embedded", "secantus"])
async def wire_server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[WireServer]:
    embedded: EmbeddedDocumentServer | None = None
    if request.param == "embedded":
        embedded = EmbeddedDocumentServer(tmp_path)
        url = await embedded.start()
        assert embedded._process is not None
        server = WireServer(url, embedded._process)
    else:
        server = await _start_secantus(tmp_path / "secantus")
    try:
        yield server
    finally:
        if server.process.returncode is None:
            os.kill(server.pid, signal.SIGCONT)  # a stopped process cannot stop cleanly
        if embedded is not None:
            await embedded.stop()
        await server.kill()


@pytest.fixture
async def documents(wire_server: WireServer) -> AsyncIterator[DocumentStore]:
    store = await open_document_store(
        wire_server.url,
        f"t_{uuid.uuid4().hex[:8]}",
        timeout_ms=MONGO_TIMEOUT_MS,
        server_selection_timeout_ms=MONGO_SERVER_SELECTION_TIMEOUT_MS,
        unavailable_cooldown_seconds=COOLDOWN_SECONDS,
    )
    await store.db.things.insert_one({"n": 1})
    yield store
    await store.close()


def _all_threads_stopped(pid: int) -> bool:
    states = []
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        # "<tid> (<name>) <state> ...": the name may hold spaces and parentheses.
        states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
    return bool(states) and all(state in "tT" for state in states)


async def freeze(pid: int) -> None:
    """SIGSTOP the process and wait until every thread of it has stopped: the
    signal is delivered asynchronously, and a last reply could still slip out."""
    os.kill(pid, signal.SIGSTOP)
    async with asyncio.timeout(5):
        while not _all_threads_stopped(pid):
            await asyncio.sleep(0.01)


async def answers(store: DocumentStore, within: float = 10.0) -> None:
    """Wait until a query succeeds again."""
    async with asyncio.timeout(within):
        while True:
            try:
                if await store.db.things.find_one({}) is not None:
                    return
            except Exception as error:
                assert classify(error) is not None, repr(error)
            await asyncio.sleep(0.1)


async def test_the_configured_mongodb_limits_are_applied(documents: DocumentStore) -> None:
    options = documents.client.options
    assert options.timeout == MONGO_TIMEOUT_MS / 1000
    assert options.server_selection_timeout == MONGO_SERVER_SELECTION_TIMEOUT_MS / 1000


async def test_frozen_server_fails_requests_quickly_and_recovers(
    wire_server: WireServer, documents: DocumentStore
) -> None:
    try:
        await freeze(wire_server.pid)
        first = await failing(documents.db.things.find_one({}))
        assert first.failure in {Failure.TIMEOUT, Failure.UNAVAILABLE}, repr(first.error)
        assert first.elapsed < STOPPED_WITHIN  # about timeout_ms; it used to be 11-20 s
        # Seen unavailable: the next requests do not wait again.
        for operation in (lambda: documents.db.things.find_one({}), documents.ping):
            again = await failing(operation())
            assert again.failure is Failure.UNAVAILABLE, repr(again.error)
            assert again.elapsed < FAIL_FAST_WITHIN
    finally:
        os.kill(wire_server.pid, signal.SIGCONT)
    await answers(documents)
    assert documents.breaker is not None and not documents.breaker.is_open


async def test_stopped_server_fails_requests_at_once(
    wire_server: WireServer, documents: DocumentStore, time_travel: TimeTravel
) -> None:
    time_travel.install(datasources.documents.client)  # the circuit breaker's clock
    await documents.ping()
    await wire_server.kill()
    first = await failing(documents.db.things.find_one({}))
    assert first.failure is Failure.UNAVAILABLE, repr(first.error)
    assert first.elapsed < STOPPED_WITHIN
    for _ in range(3):
        again = await failing(documents.db.things.find_one({}))
        assert isinstance(again.error, DocumentStoreUnavailable), repr(again.error)
        assert again.failure is Failure.UNAVAILABLE
        assert again.elapsed < FAIL_FAST_WITHIN
    # After the cool-down one request tries again, within the server selection timeout
    # rather than the old 5 s, and the breaker opens again.
    time_travel.forward(COOLDOWN_SECONDS + 0.1)
    retried = await failing(documents.db.things.find_one({}))
    assert retried.failure is Failure.UNAVAILABLE, repr(retried.error)
    assert retried.elapsed < STOPPED_WITHIN
    after = await failing(documents.ping())
    assert after.failure is Failure.UNAVAILABLE
    assert after.elapsed < FAIL_FAST_WITHIN


# classify


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad"),
        KeyError("k"),
        FileNotFoundError(2, "missing"),
        DuplicateKeyError("E11000 duplicate key", 11000),
        UnstorableText(),
    ],
    ids=repr,
)
def test_classify_leaves_other_errors_alone(error: Exception) -> None:
    assert classify(error) is None, repr(error)


async def test_classify_looks_through_explicit_chains(tmp_path: Path) -> None:
    store = open_relational_store(
        f"sqlite+aiosqlite:///{tmp_path / 'agora.db'}", statement_timeout_seconds=LIMIT_SECONDS
    )
    try:
        async with store.engine.connect() as connection:
            outcome = await failing(connection.execute(text(SLOW_SQL["sqlite"])))
    finally:
        await store.close()
    try:
        raise RuntimeError("loading posts failed") from outcome.error
    except RuntimeError as wrapped:
        assert classify(wrapped) is Failure.TIMEOUT
    group = ExceptionGroup("loaders", [outcome.error, DocumentStoreUnavailable("down")])
    assert classify(group) is Failure.TIMEOUT
    assert classify(ExceptionGroup("loaders", [outcome.error, ValueError()])) is None
