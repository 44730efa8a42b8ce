"""Subscriptions across two real server processes sharing PostgreSQL, SecantusDB and Redis.

Two `uvicorn app:app` subprocesses (A and B) serve the same data. Subscribers use the
npm `graphql-ws` client (tests/js/subscribe.mjs, run by Node) and gql (Python), on
both processes; mutations go through both processes. Checked here:

- every subscriber gets every event exactly once and in order, whichever process the
  mutation went through, with the same cursor for the same event everywhere;
- a subscriber that disconnects and reconnects (to the other process) with
  `since: <last cursor>` gets exactly the events it missed, then live ones;
- when Redis restarts under live subscriptions, mutations keep working during the
  outage and new events reach the subscribers afterwards, without restarting the apps.

A subscription is registered on the server some time after the client sends it, and
nothing tells the client when. So each test first *probes*: it publishes marker events
until every subscriber has received the latest one; everything after that marker is
what the test asserts on. Subscribers started later resume from a marker's cursor.

Needs Node.js 20+ and `npm ci` in tests/js (a skip locally, a failure with CI=true).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import GraphQLClient, free_port, unavailable
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport
from servers import RedisHandle, ServerUnavailable, create_database
from test_content_api import (
    PUBLISH_POST,
    Session,
    add_comment,
    create_post,
    data,
    react,
    register,
)

REPO = Path(__file__).resolve().parent.parent
JS_DIR = REPO / "tests" / "js"
NODE_SCRIPT = JS_DIR / "subscribe.mjs"
# A Redis database of its own on the shared server, so no other test's app (they
# number posts and users from 1 too) publishes on these topics.
REDIS_DB = 7
STARTUP_TIMEOUT = 45.0
EVENT_TIMEOUT = 10.0
# How long to keep listening after the expected events, to catch duplicates.
DRAIN_SECONDS = 0.5
PROBE_ROUNDS = 4  # the author reacts with a different kind each round: 4 kinds

COMMENTS = """subscription($postId: ID!, $since: String) {
  commentAdded(postId: $postId, since: $since) { cursor comment { id body author { handle } } }
}"""
REACTIONS = """subscription($postId: ID!) {
  reactionsChanged(postId: $postId) { cursor post { id } reactions { kind count } }
}"""
PUBLISHED = """subscription($authorId: ID) {
  postPublished(authorId: $authorId) { cursor post { id title status } }
}"""
NOTIFICATIONS = """subscription($since: String) {
  notificationReceived(since: $since) {
    cursor notification { id kind actor { handle } comment { id body } post { id } }
  }
}"""
UNREACT = """mutation($postId: ID!, $kind: ReactionKind!) {
  unreact(postId: $postId, kind: $kind) {
    post { id reactions { kind count } } errors { code message }
  }
}"""

Event = dict[str, Any]


# ---------------------------------------------------------------------------
# Two server processes
# ---------------------------------------------------------------------------


@dataclass
class AppProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def log_tail(self, lines: int = 60) -> str:
        """The end of the server's log, without uvicorn's access lines."""
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError as error:
            return f"(no log: {error})"
        return "\n".join([line for line in text if '" 200' not in line][-lines:])


@dataclass
class Cluster:
    a: AppProcess
    b: AppProcess
    redis: RedisHandle

    def processes(self) -> tuple[AppProcess, AppProcess]:
        return self.a, self.b

    def logs(self) -> str:
        return "\n".join(
            f"--- process {p.name} (pid {p.process.pid}, exit code {p.process.poll()}), "
            f"{p.log_path} ---\n{p.log_tail()}"
            for p in self.processes()
        )

    @contextlib.contextmanager
    def logs_on_failure(self) -> Iterator[None]:
        """Prints both servers' logs (captured by pytest, shown with the failure)."""
        try:
            yield
        except BaseException:
            print(self.logs())
            raise


def start_process(name: str, env: dict[str, str], log_path: Path) -> AppProcess:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    return AppProcess(name, port, process, log_path)


def wait_ready(app: AppProcess, deadline: float) -> None:
    last = "no answer"
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            raise RuntimeError(
                f"server {app.name} exited with {app.process.returncode} during start-up:\n"
                + app.log_tail()
            )
        try:
            response = httpx.get(f"{app.url}/readyz", timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text}"
        except httpx.HTTPError as error:
            last = repr(error)
        time.sleep(0.1)
    raise RuntimeError(f"server {app.name} not ready ({last}):\n{app.log_tail()}")


def stop_process(app: AppProcess) -> None:
    if app.process.poll() is None:
        app.process.send_signal(signal.SIGTERM)
        try:
            app.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            app.process.kill()
            app.process.wait(timeout=5)


@pytest.fixture(scope="module")
def node() -> str:
    """The Node.js binary, once tests/js has its npm packages."""
    try:
        binary = shutil.which("node")
        if binary is None:
            raise ServerUnavailable("node not found; install Node.js 20+ (Debian package nodejs)")
        if not (JS_DIR / "node_modules" / "graphql-ws" / "package.json").is_file():
            raise ServerUnavailable(
                "tests/js has no node_modules: run `(cd tests/js && npm ci --no-audit --no-fund)`"
            )
    except ServerUnavailable as error:
        unavailable(error)
    return binary


@pytest.fixture(scope="module")
def cluster(
    postgres_url: str,
    secantus_url: str,
    redis: RedisHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("multiprocess")
    suffix = uuid.uuid4().hex[:10]
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": create_database(postgres_url, f"mp_{suffix}"),
        "MONGODB_URL": secantus_url,
        "MONGODB_DATABASE": f"mp_{suffix}",
        "REDIS_URL": f"{redis.url.rsplit('/', 1)[0]}/{REDIS_DB}",
        "JWT_SECRET": secrets.token_urlsafe(48),  # the same key: tokens work on both
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    # Migrate once, so the two processes never race to create the schema.
    migrated = subprocess.run(
        [sys.executable, "-m", "cli", "migrate"],
        cwd=REPO,
        env={**env, "DATA_DIR": str(tmp / "migrate")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    apps: list[AppProcess] = []
    try:
        for name in ("A", "B"):
            (tmp / name).mkdir()
            apps.append(
                start_process(name, {**env, "DATA_DIR": str(tmp / name)}, tmp / f"{name}.log")
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        for app in apps:
            wait_ready(app, deadline)
        yield Cluster(apps[0], apps[1], redis)
    finally:
        for app in apps:
            stop_process(app)
        if not redis.running:  # never leave the shared server down for the next tests
            redis.start()


@contextlib.asynccontextmanager
async def http_clients(cluster: Cluster) -> AsyncIterator[tuple[GraphQLClient, GraphQLClient]]:
    async with (
        httpx.AsyncClient(base_url=cluster.a.url, timeout=30) as a,
        httpx.AsyncClient(base_url=cluster.b.url, timeout=30) as b,
    ):
        yield GraphQLClient(a), GraphQLClient(b)


# ---------------------------------------------------------------------------
# Subscribers
# ---------------------------------------------------------------------------


class Stream:
    """The events of one subscription, as they arrive."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events: list[Event] = []
        self.error: BaseException | None = None
        self._changed = asyncio.Event()

    def add(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    def fail(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error
        self._changed.set()

    def check(self) -> None:
        if self.error is not None:
            raise AssertionError(f"{self.name} failed: {self.error!r}") from self.error

    async def wait_for(self, predicate: Callable[[list[Event]], bool], within: float) -> bool:
        """True once `predicate(events)` holds, False after `within` seconds."""
        try:
            async with asyncio.timeout(within):
                while True:
                    self.check()
                    if predicate(self.events):
                        return True
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            return False

    async def expect_count(self, count: int, within: float = EVENT_TIMEOUT) -> None:
        if not await self.wait_for(lambda events: len(events) >= count, within):
            raise AssertionError(
                f"{self.name}: {len(self.events)} of {count} events after {within}s: {self.events}"
            )


def transport(ws_url: str, token: str | None) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=ws_url,
        init_payload={"authorization": f"Bearer {token}"} if token else {},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        connect_timeout=10,
        close_timeout=2,
    )


class GqlSubscriber:
    """Several subscriptions over one gql WebSocket connection (Python)."""

    def __init__(
        self,
        ws_url: str,
        subscriptions: dict[str, tuple[str, dict[str, Any]]],
        token: str | None = None,
    ) -> None:
        self.ws_url = ws_url
        self.token = token
        self.requests = {
            name: GraphQLRequest(query, variable_values=variables)
            for name, (query, variables) in subscriptions.items()
        }
        self.streams = {name: Stream(f"gql {name} @ {ws_url}") for name in subscriptions}
        self._task: asyncio.Task[None] | None = None

    def __getitem__(self, name: str) -> Stream:
        return self.streams[name]

    def start(self) -> GqlSubscriber:
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        try:
            async with Client(transport=transport(self.ws_url, self.token)) as session:
                await asyncio.gather(
                    *(
                        self._one(session, request, self.streams[name])
                        for name, request in self.requests.items()
                    )
                )
        except Exception as error:
            for stream in self.streams.values():
                stream.fail(error)

    @staticmethod
    async def _one(session: Any, request: GraphQLRequest, stream: Stream) -> None:
        async for result in session.subscribe(request):
            stream.add(next(iter(result.values())))
        stream.fail(RuntimeError("the server completed the subscription"))

    async def close(self) -> None:
        """Disconnects (the server forgets the subscriptions)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class NodeSubscriber:
    """One subscription through the npm graphql-ws client, in a Node.js process."""

    def __init__(
        self,
        node: str,
        ws_url: str,
        query: str,
        variables: dict[str, Any],
        *,
        token: str | None = None,
        count: int | None = None,
        timeout: float = 40.0,
        name: str = "subscription",
    ) -> None:
        self.spec = {
            "url": ws_url,
            "query": query,
            "variables": variables,
            "token": token,
            "count": count,
            "timeoutMs": int(timeout * 1000),
        }
        self.node = node
        self.stream = Stream(f"graphql-ws {name} @ {ws_url}")
        self.stderr = b""
        self.process: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> NodeSubscriber:
        self.process = await asyncio.create_subprocess_exec(
            self.node,
            str(NODE_SCRIPT),
            json.dumps(self.spec),
            cwd=JS_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._errors())]
        return self

    async def _errors(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        async for line in self.process.stderr:
            self.stderr += line

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for line in self.process.stdout:
            payload = json.loads(line)
            if payload.get("errors"):
                self.stream.fail(AssertionError(f"payload with errors: {payload}"))
            else:
                self.stream.add(next(iter(payload["data"].values())))
        code = await self.process.wait()
        await asyncio.gather(*self._tasks[1:])
        if code != 0:
            self.stream.fail(
                AssertionError(f"node exited with {code}: {self.stderr.decode(errors='replace')}")
            )

    async def finish(self, within: float = 10.0) -> int:
        """Waits for the script to exit (closing its stdin first, which ends an unbounded one)."""
        assert self.process is not None
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        async with asyncio.timeout(within):
            await asyncio.gather(*self._tasks)
        assert self.process.returncode is not None
        return self.process.returncode

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


# ---------------------------------------------------------------------------
# Probing until subscribers are live, and checking what they got
# ---------------------------------------------------------------------------

IsProbe = Callable[[Event, int], bool]


async def probe_until_live(
    probe: Callable[[int], Awaitable[None]],
    streams: list[tuple[Stream, IsProbe]],
    *,
    rounds: int = PROBE_ROUNDS,
    wait: float = 3.0,
) -> dict[Stream, int]:
    """Runs `probe(k)` for k = 1, 2, ... until every stream has the event of the latest round.

    Returns each stream's *offset*: the number of events up to that one. Events are
    delivered in order, so everything published afterwards comes after the offset.
    """
    await asyncio.sleep(0.1)  # the subscribe messages are on their way
    for k in range(1, rounds + 1):
        await probe(k)
        live = True
        deadline = time.monotonic() + wait
        for stream, is_probe in streams:
            remaining = max(0.0, deadline - time.monotonic())
            if not await stream.wait_for(
                lambda events, k=k, is_probe=is_probe: any(is_probe(e, k) for e in events),
                remaining,
            ):
                live = False
                break
        if live:
            return {
                stream: max(i for i, e in enumerate(stream.events) if is_probe(e, k)) + 1
                for stream, is_probe in streams
            }
    state = {stream.name: stream.events for stream, _ in streams}
    raise AssertionError(f"subscribers not live after {rounds} probe rounds: {state}")


def cursor_key(cursor: str) -> tuple[int, ...]:
    """Cursors are opaque to clients; these are Redis stream ids, compared as such here."""
    return tuple(int(part) for part in cursor.split("-"))


def assert_cursors_increase(name: str, events: list[Event], after: str | None = None) -> None:
    keys = [cursor_key(e["cursor"]) for e in events]
    if after is not None:
        keys.insert(0, cursor_key(after))
    assert all(x < y for x, y in itertools.pairwise(keys)), (name, keys)


async def settled(stream: Stream, count: int) -> list[Event]:
    """Exactly `count` events: waits for them, then a little longer for any extra."""
    await stream.expect_count(count)
    await asyncio.sleep(DRAIN_SECONDS)
    stream.check()
    assert len(stream.events) == count, (stream.name, count, stream.events)
    return stream.events


def comment_rows(events: list[Event]) -> list[tuple[str, str, str]]:
    return [
        (e["comment"]["id"], e["comment"]["body"], e["comment"]["author"]["handle"]) for e in events
    ]


def note_rows(events: list[Event]) -> list[tuple[str, str, str | None]]:
    return [
        (
            e["notification"]["kind"],
            e["notification"]["actor"]["handle"],
            (e["notification"]["comment"] or {}).get("id"),
        )
        for e in events
    ]


def total_reactions(event: Event) -> int:
    return sum(r["count"] for r in event["reactions"])


def is_probe_comment(event: Event, k: int) -> bool:
    return event["comment"]["body"] == f"probe {k}"


def is_probe_note(event: Event, k: int) -> bool:
    return (event["notification"]["comment"] or {}).get("body") == f"probe {k}"


async def comment(
    gql: GraphQLClient, who: Session, post_id: str, body: str
) -> tuple[str, str, str]:
    created = await add_comment(gql, who, post_id, body)
    return created["id"], body, who.handle


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------


async def test_every_subscriber_gets_every_event_once_in_order(cluster: Cluster, node: str) -> None:
    with cluster.logs_on_failure():
        async with http_clients(cluster) as (via_a, via_b):
            await fan_out_scenario(cluster, node, via_a, via_b)


async def fan_out_scenario(
    cluster: Cluster, node: str, via_a: GraphQLClient, via_b: GraphQLClient
) -> None:
    author = await register(via_a, "mpa")
    commenters = [await register(via_b, "mpv"), await register(via_a, "mpw")]
    post = await create_post(via_a, author, title="Across processes")

    # On B, with gql: four subscriptions on one authenticated connection.
    on_b = GqlSubscriber(
        cluster.b.ws_url,
        {
            "comments": (COMMENTS, {"postId": post["id"]}),
            "reactions": (REACTIONS, {"postId": post["id"]}),
            "published": (PUBLISHED, {"authorId": author.id}),
            "notifications": (NOTIFICATIONS, {}),
        },
        token=author.token,
    ).start()
    node_subscribers: list[NodeSubscriber] = []
    try:
        kinds = ["LIKE", "LOVE", "INSIGHTFUL", "FUNNY"]

        async def probe(k: int) -> None:
            await create_post(via_b, author, title=f"probe {k}")  # postPublished only
            await react(via_a, author, post["id"], kinds[k - 1])  # own post: no notification
            # A comment and the author's COMMENTED notification, last of the round.
            await add_comment(via_b, commenters[0], post["id"], f"probe {k}")

        offsets = await probe_until_live(
            probe,
            [
                (on_b["comments"], is_probe_comment),
                (on_b["notifications"], is_probe_note),
                (on_b["reactions"], lambda e, k: total_reactions(e) == k),
                (on_b["published"], lambda e, k: e["post"]["title"] == f"probe {k}"),
            ],
        )
        probe_reactions = total_reactions(on_b["reactions"].events[offsets[on_b["reactions"]] - 1])
        comment_anchor = on_b["comments"].events[offsets[on_b["comments"]] - 1]["cursor"]
        note_anchor = on_b["notifications"].events[offsets[on_b["notifications"]] - 1]["cursor"]

        v, w = commenters
        draft = await create_post(via_b, author, title="Published later", publish=False)
        expected_comments: list[tuple[str, str, str]] = []
        expected_notes: list[tuple[str, str, str | None]] = []
        reaction_ops = 0
        last_reactions: list[dict[str, Any]] = []

        async def add(gql: GraphQLClient, who: Session, body: str) -> None:
            row = await comment(gql, who, post["id"], body)
            expected_comments.append(row)
            expected_notes.append(("COMMENTED", who.handle, row[0]))

        async def add_reaction(gql: GraphQLClient, who: Session, kind: str) -> None:
            nonlocal reaction_ops, last_reactions
            payload = await react(gql, who, post["id"], kind)
            reaction_ops += 1
            last_reactions = payload["post"]["reactions"]
            expected_notes.append(("REACTED", who.handle, None))

        async def remove_reaction(gql: GraphQLClient, who: Session, kind: str) -> None:
            nonlocal reaction_ops, last_reactions
            body = await data(gql, UNREACT, {"postId": post["id"], "kind": kind}, who.token)
            assert body["unreact"]["errors"] == [], body
            reaction_ops += 1  # no notification for taking a reaction back
            last_reactions = body["unreact"]["post"]["reactions"]

        # On A, with the npm graphql-ws client, resuming right after the probes: they
        # get exactly the events below, whenever their subscription is registered.
        n_comments, n_notes = 8, 11  # the mutations below: 8 comments + 3 reactions notify
        node_subscribers = [
            await NodeSubscriber(
                node, cluster.a.ws_url, COMMENTS,
                {"postId": post["id"], "since": comment_anchor}, count=n_comments,
                name="commentAdded",
            ).start(),
            await NodeSubscriber(
                node, cluster.a.ws_url, NOTIFICATIONS,
                {"since": note_anchor}, token=author.token, count=n_notes,
                name="notificationReceived",
            ).start(),
        ]  # fmt: skip
        node_comments, node_notes = (s.stream for s in node_subscribers)

        # First half, alternating processes.
        await add(via_a, v, "one (via A)")
        await add(via_b, w, "two (via B)")
        await add_reaction(via_b, v, "LIKE")
        await add(via_a, w, "three (via A)")
        await add_reaction(via_a, w, "LOVE")
        await add(via_b, v, "four (via B)")
        # Both Node subscribers are now surely registered: the rest reaches them live.
        await node_comments.expect_count(4)
        await node_notes.expect_count(6)
        published = await data(via_a, PUBLISH_POST, {"id": draft["id"]}, author.token)
        assert published["publishPost"]["errors"] == [], published
        await add(via_a, v, "five (via A)")
        await remove_reaction(via_b, v, "LIKE")
        await add(via_b, w, "six (via B)")
        await add_reaction(via_a, v, "FUNNY")
        await add(via_a, w, "seven (via A)")
        await add(via_b, v, "eight (via B)")
        assert (len(expected_comments), len(expected_notes)) == (n_comments, n_notes)

        # gql on B: everything after the probes, once, in order.
        b_comments = (await settled(on_b["comments"], offsets[on_b["comments"]] + n_comments))[
            offsets[on_b["comments"]] :
        ]
        assert comment_rows(b_comments) == expected_comments
        assert_cursors_increase("gql comments", b_comments, after=comment_anchor)

        b_notes = (await settled(on_b["notifications"], offsets[on_b["notifications"]] + n_notes))[
            offsets[on_b["notifications"]] :
        ]
        assert note_rows(b_notes) == expected_notes
        assert_cursors_increase("gql notifications", b_notes, after=note_anchor)

        b_reactions = (await settled(on_b["reactions"], offsets[on_b["reactions"]] + reaction_ops))[
            offsets[on_b["reactions"]] :
        ]
        assert_cursors_increase("gql reactions", b_reactions)
        assert {e["post"]["id"] for e in b_reactions} == {post["id"]}
        # Each event is resolved when delivered, so only the last counts are certain.
        assert b_reactions[-1]["reactions"] == last_reactions
        assert total_reactions(b_reactions[-1]) == probe_reactions + 2

        b_published = (await settled(on_b["published"], offsets[on_b["published"]] + 1))[
            offsets[on_b["published"]] :
        ]
        assert [(e["post"]["id"], e["post"]["status"]) for e in b_published] == [
            (draft["id"], "PUBLISHED")
        ]

        # graphql-ws on A: the same events, in the same order, with the same cursors.
        for subscriber in node_subscribers:
            assert await subscriber.finish() == 0, subscriber.stderr.decode()
        assert comment_rows(node_comments.events) == expected_comments
        assert [e["cursor"] for e in node_comments.events] == [e["cursor"] for e in b_comments]
        assert note_rows(node_notes.events) == expected_notes
        assert [e["cursor"] for e in node_notes.events] == [e["cursor"] for e in b_notes]
    finally:
        await on_b.close()
        for subscriber in node_subscribers:
            await subscriber.kill()


async def test_resume_on_the_other_process_gets_exactly_the_missed_events(
    cluster: Cluster,
) -> None:
    with cluster.logs_on_failure():
        async with http_clients(cluster) as (via_a, via_b):
            author, reader = await register(via_a, "mpr"), await register(via_b, "mps")
            post = await create_post(via_b, author)

            first = GqlSubscriber(cluster.a.ws_url, {"c": (COMMENTS, {"postId": post["id"]})})
            first.start()
            try:

                async def probe(k: int) -> None:
                    await add_comment(via_a, author, post["id"], f"probe {k}")

                offsets = await probe_until_live(probe, [(first["c"], is_probe_comment)])
                seen = [await comment(via_b, reader, post["id"], f"seen {i}") for i in range(3)]
                events = await settled(first["c"], offsets[first["c"]] + 3)
                assert comment_rows(events[offsets[first["c"]] :]) == seen
                last_cursor = events[-1]["cursor"]
            finally:
                await first.close()

            # Offline: comments through both processes.
            missed = [
                await comment(via_b if i % 2 == 0 else via_a, reader, post["id"], f"missed {i}")
                for i in range(4)
            ]
            # Reconnects to the other process, resuming after the last event seen.
            second = GqlSubscriber(
                cluster.b.ws_url, {"c": (COMMENTS, {"postId": post["id"], "since": last_cursor})}
            ).start()
            try:
                await second["c"].expect_count(4)
                live = [await comment(via_a, author, post["id"], f"live {i}") for i in range(3)]
                events = await settled(second["c"], 7)
            finally:
                await second.close()
            assert comment_rows(events) == missed + live
            assert_cursors_increase("resumed", events, after=last_cursor)


async def test_redis_restart_under_live_subscriptions(cluster: Cluster, node: str) -> None:
    with cluster.logs_on_failure():
        async with http_clients(cluster) as (via_a, via_b):
            await redis_restart_scenario(cluster, node, via_a, via_b)


async def redis_restart_scenario(
    cluster: Cluster, node: str, via_a: GraphQLClient, via_b: GraphQLClient
) -> None:
    author, other = await register(via_a, "mpx"), await register(via_b, "mpy")
    post = await create_post(via_a, author)
    variables = {"postId": post["id"]}
    pids = [p.process.pid for p in cluster.processes()]

    on_a = GqlSubscriber(cluster.a.ws_url, {"c": (COMMENTS, variables)}).start()
    on_b = GqlSubscriber(cluster.b.ws_url, {"c": (COMMENTS, variables)}).start()
    node_b = await NodeSubscriber(
        node, cluster.b.ws_url, COMMENTS, variables, timeout=60, name="commentAdded"
    ).start()
    streams = [on_a["c"], on_b["c"], node_b.stream]
    try:

        async def probe(k: int) -> None:
            await add_comment(via_b, author, post["id"], f"probe {k}")

        offsets = await probe_until_live(probe, [(s, is_probe_comment) for s in streams])
        before = [
            await comment(via_a, other, post["id"], "before (via A)"),
            await comment(via_b, other, post["id"], "before (via B)"),
        ]
        for stream in streams:
            events = await settled(stream, offsets[stream] + 2)
            assert comment_rows(events[offsets[stream] :]) == before

        await asyncio.to_thread(cluster.redis.stop)
        try:
            # Mutations still succeed while Redis is down (their events may be lost).
            for gql, body in ((via_a, "during (via A)"), (via_b, "during (via B)")):
                response = await gql.raw(
                    "mutation($input: AddCommentInput!) { addComment(input: $input) "
                    "{ comment { id } errors { code } } }",
                    {"input": {"postId": post["id"], "body": body}},
                    token=other.token,
                )
                assert response.status_code == 200, response.text
                payload = response.json()
                assert "errors" not in payload, payload
                assert payload["data"]["addComment"]["errors"] == [], payload
        finally:
            await asyncio.to_thread(cluster.redis.start)

        # Redis is back (empty: it keeps nothing on disk). New events reach every
        # subscriber again, through either process, without restarting anything.
        after: list[tuple[str, str, str]] = []
        deadline = time.monotonic() + 20
        while True:
            gql = via_a if len(after) % 2 == 0 else via_b
            after.append(await comment(gql, other, post["id"], f"after {len(after)}"))
            ids = {row[0] for row in after}
            reached = [
                await stream.wait_for(
                    lambda events, ids=ids: any(e["comment"]["id"] in ids for e in events), 0.5
                )
                for stream in streams
            ]
            if all(reached):
                break
            assert time.monotonic() < deadline, (
                f"no event after the Redis restart within 20 s: "
                f"{[(s.name, comment_rows(s.events)) for s in streams]}"
            )
        # From then on, every event once and in order on every subscriber.
        await asyncio.sleep(0.5)  # what was still in flight from the probing
        counts = {stream: len(stream.events) for stream in streams}
        final = [
            await comment(via_b if i % 2 == 0 else via_a, author, post["id"], f"final {i}")
            for i in range(4)
        ]
        for stream in streams:
            events = await settled(stream, counts[stream] + len(final))
            assert comment_rows(events[counts[stream] :]) == final, stream.name
            ids = [e["comment"]["id"] for e in events]
            assert len(ids) == len(set(ids)), (stream.name, "duplicates", ids)
            assert_cursors_increase(stream.name, events)
            # Redis kept every event published after its restart: none was lost.
            assert [row for row in comment_rows(events) if row in after] == after, stream.name
        assert [p.process.pid for p in cluster.processes()] == pids
        assert all(p.process.poll() is None for p in cluster.processes())
        assert await node_b.finish() == 0, node_b.stderr.decode()
    finally:
        await on_a.close()
        await on_b.close()
        await node_b.kill()
