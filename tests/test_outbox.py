"""The transactional outbox: every event a mutation causes is recorded with its write, so
it reaches subscribers even when the server process dies between the commit and the
publish, or when Redis is down while the write happens; each event exactly once, in order.

The crash is the test-only fault `TEST_FAULT=exit_after_commit`: the server process exits
(os._exit) right after a write that recorded an event has committed, before the publish.
See support/live_events.py for how the tests make sure the subscribers are live first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from settings import Settings
from support import live_events
from support.accounts import Session, register
from support.apps import RealServers, app_with
from support.cluster import STARTUP_TIMEOUT, AppProcess, start_process, stop_process, wait_ready
from support.comments import ADD_COMMENT, POST_COMMENTS
from support.graphql import GraphQLClient, data
from support.posts import create_post
from support.servers import RedisHandle, create_database
from support.subscribers import GqlSubscriber, Stream

# A Redis database of its own on the session's server (the cluster uses 7, the metrics
# workers 9, the in-process apps 0), so no other test's app publishes on these topics.
REDIS_DB = 11
# How long an event recorded in the outbox may take to reach a subscriber.
WAIT = 20.0
EXIT_TIMEOUT = 10.0

Row = tuple[str, str, str]


def embedded_env(redis: RedisHandle, data_dir: Path) -> dict[str, str]:
    """A server process on the embedded defaults (the SQLite file and the embedded document
    server in `data_dir`) and the session's Redis: no setting comes from the caller's
    environment (settings are read case-insensitively)."""
    fields = {*Settings.model_fields, "test_fault"}
    return {
        **{key: value for key, value in os.environ.items() if key.lower() not in fields},
        "APP_ENV": "development",
        "DATA_DIR": str(data_dir),
        "REDIS_URL": f"{redis.url.rsplit('/', 1)[0]}/{REDIS_DB}",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }


@contextlib.contextmanager
def logs_on_failure(apps: list[AppProcess]) -> Iterator[None]:
    """Prints the logs of the server processes (captured by pytest, shown with the failure)."""
    try:
        yield
    except BaseException:
        for app in apps:
            print(
                f"--- process {app.name} (pid {app.process.pid}, exit code "
                f"{app.process.poll()}), {app.log_path} ---\n{app.log_tail()}"
            )
        raise


@contextlib.asynccontextmanager
async def server_process(
    name: str, env: dict[str, str], tmp_path: Path, apps: list[AppProcess]
) -> AsyncIterator[AppProcess]:
    """`uvicorn app:app` with `env`, ready for the block, stopped afterwards."""
    app = start_process(name, env, tmp_path / f"{name}.log")
    apps.append(app)
    try:
        await asyncio.to_thread(wait_ready, app, time.monotonic() + STARTUP_TIMEOUT)
        yield app
    finally:
        await asyncio.to_thread(stop_process, app)


def client_of(app: AppProcess) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=app.url, timeout=WAIT)


async def add_comment_raw(
    gql: GraphQLClient, who: Session, post_id: str, body: str
) -> httpx.Response:
    variables = {"input": {"postId": post_id, "body": body}}
    return await gql.raw(ADD_COMMENT, variables, token=who.token)


async def comment_bodies(gql: GraphQLClient, post_id: str) -> list[tuple[str, str]]:
    """(id, body) of the post's top-level comments, oldest first, as a reader lists them."""
    post = (await data(gql, POST_COMMENTS, {"id": post_id, "first": 100}))["post"]
    return [(edge["node"]["id"], edge["node"]["body"]) for edge in post["comments"]["edges"]]


def exit_code_within(process: subprocess.Popen[bytes], seconds: float) -> int | None:
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return None


async def test_an_event_committed_before_a_crash_is_published_after_the_restart(
    redis: RedisHandle, tmp_path: Path
) -> None:
    env = embedded_env(redis, tmp_path / "data")  # one DATA_DIR, kept across the restarts
    apps: list[AppProcess] = []
    with logs_on_failure(apps):
        # 1. A normal server: a subscriber receives "before"; its cursor is kept.
        async with server_process("first", env, tmp_path, apps) as first, client_of(first) as h:
            gql = GraphQLClient(h)
            author, reader = await register(gql, "oba"), await register(gql, "obr")
            post = await create_post(gql, author)
            subscriber = GqlSubscriber(
                first.ws_url, {"c": (live_events.COMMENTS, {"postId": post["id"]})}
            ).start()
            try:
                offsets = await live_events.probe_comments_until_live(
                    gql, author, post["id"], [subscriber["c"]]
                )
                before = await live_events.comment(gql, reader, post["id"], "before")
                events = await live_events.settled_after(
                    subscriber["c"], offsets[subscriber["c"]], 1
                )
                assert live_events.comment_rows(events) == [before]
                before_cursor = events[0]["cursor"]
            finally:
                await subscriber.close()

        # 2. The server dies right after the comment "lost?" is committed, before publishing.
        faulted_env = {**env, "TEST_FAULT": "exit_after_commit"}
        async with server_process("faulted", faulted_env, tmp_path, apps) as faulted:
            async with client_of(faulted) as h:
                try:
                    response = await add_comment_raw(GraphQLClient(h), reader, post["id"], "lost?")
                except httpx.TransportError as error:  # the connection dropped: no answer
                    answer = repr(error)
                else:
                    answer = f"{response.status_code} {response.text}"
                    assert response.status_code >= 500, (
                        f"the server with TEST_FAULT=exit_after_commit answered addComment "
                        f"instead of exiting after the commit: {answer}"
                    )
            code = await asyncio.to_thread(exit_code_within, faulted.process, EXIT_TIMEOUT)
            assert code is not None, (
                f"the server with TEST_FAULT=exit_after_commit still runs {EXIT_TIMEOUT}s "
                f"after addComment (which got: {answer})"
            )

        # 3. Restarted normally on the same data and Redis: the comment was committed, and
        # its event reaches a subscriber resuming after "before", once, before new ones.
        async with (
            server_process("restarted", env, tmp_path, apps) as restarted,
            client_of(restarted) as h,
        ):
            gql = GraphQLClient(h)
            listed = await comment_bodies(gql, post["id"])
            lost_ids = [comment_id for comment_id, body in listed if body == "lost?"]
            assert len(lost_ids) == 1, f"the comment committed before the crash: {listed}"
            lost = (lost_ids[0], "lost?", reader.handle)

            resumed = GqlSubscriber(
                restarted.ws_url,
                {"c": (live_events.COMMENTS, {"postId": post["id"], "since": before_cursor})},
            ).start()
            stream = resumed["c"]
            try:
                arrived = await stream.wait_for(lambda events: len(events) >= 1, WAIT)
                stream.check()
                assert arrived, (
                    f"no event within {WAIT}s for a subscriber resuming after {before_cursor!r}: "
                    f"the comment {lost} committed before the crash was never published"
                )
                after = await live_events.comment(gql, reader, post["id"], "after")
                events = await live_events.settled(stream, 2)
            finally:
                await resumed.close()
            assert live_events.comment_rows(events) == [lost, after]
            live_events.assert_cursors_increase(stream.name, events, after=before_cursor)


async def test_events_written_while_redis_is_down_reach_live_subscribers_once_it_is_back(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    real_servers: RealServers,
    own_redis: RedisHandle,
) -> None:
    # Two processes' worth of apps (A and B) on one PostgreSQL and one SecantusDB database
    # of their own and a Redis of this test's own, which it stops and starts.
    name = f"outbox_{uuid.uuid4().hex[:10]}"
    shared = {
        "database_url": create_database(real_servers.postgres_url, name),
        "mongodb_database": name,
        "redis_url": own_redis.url,
        "jwt_secret": secrets.token_urlsafe(48),
    }
    async with (
        app_with(request, tmp_path / "a", "real", **shared) as (a, http_a),
        app_with(request, tmp_path / "b", "real", **shared) as (b, http_b),
    ):
        via_a, via_b = GraphQLClient(http_a), GraphQLClient(http_b)
        author, reader = await register(via_a, "oda"), await register(via_b, "odr")
        post = await create_post(via_a, author)
        variables = {"postId": post["id"]}
        on_a = GqlSubscriber(a.ws_url, {"c": (live_events.COMMENTS, variables)}).start()
        on_b = GqlSubscriber(b.ws_url, {"c": (live_events.COMMENTS, variables)}).start()
        streams: list[Stream] = [on_a["c"], on_b["c"]]
        try:
            offsets = await live_events.probe_comments_until_live(
                via_b, author, post["id"], streams
            )

            await asyncio.to_thread(own_redis.stop)
            try:
                during: list[Row] = []
                for i, gql in enumerate((via_a, via_b, via_a)):
                    body = f"during {i} (via {'A' if gql is via_a else 'B'})"
                    response = await add_comment_raw(gql, reader, post["id"], body)
                    assert response.status_code == 200, response.text
                    payload = response.json()
                    assert "errors" not in payload, payload
                    added = payload["data"]["addComment"]
                    assert added["errors"] == [], payload
                    during.append((added["comment"]["id"], body, reader.handle))
            finally:
                await asyncio.to_thread(own_redis.start)  # empty: it keeps nothing on disk

            # The relays publish what was recorded during the outage, once Redis is back.
            deadline = time.monotonic() + WAIT
            for stream in streams:
                expected = offsets[stream] + len(during)
                arrived = await stream.wait_for(
                    lambda events, n=expected: len(events) >= n,
                    max(0.0, deadline - time.monotonic()),
                )
                stream.check()
                got = live_events.comment_rows(stream.events[offsets[stream] :])
                assert arrived, (
                    f"{stream.name}: {WAIT}s after Redis came back, of the comments written "
                    f"while it was down {during}, the subscriber got {got}"
                )

            after = await live_events.comment(via_b, author, post["id"], "after")
            for stream in streams:
                events = await live_events.settled_after(stream, offsets[stream], len(during) + 1)
                assert live_events.comment_rows(events) == [*during, after], stream.name
                live_events.assert_cursors_increase(stream.name, events)
        finally:
            await on_a.close()
            await on_b.close()
