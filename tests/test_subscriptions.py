"""Subscriptions in one process, on both backends: delivery, resume, auth, limits, slow clients."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from gql import Client
from gql import gql as document
from gql.transport.exceptions import TransportQueryError

from auth.tokens import issue_access_token
from support.accounts import register
from support.apps import BACKENDS, RunningApp, app_with
from support.comments import add_comment
from support.graphql import GraphQLClient
from support.ids import key_of
from support.posts import create_post
from support.reactions import react
from support.subscribers import transport

COMMENTS = document(
    "subscription($p: ID!, $since: String) { commentAdded(postId: $p, since: $since) "
    "{ cursor comment { id body author { handle } } } }"
)
NOTIFICATIONS = document(
    "subscription { notificationReceived { cursor notification { kind actor { handle } } } }"
)
PUBLISHED = document(
    "subscription($a: ID) { postPublished(authorId: $a) { cursor post { id title status } } }"
)
REACTIONS = document(
    "subscription($p: ID!) { reactionsChanged(postId: $p) { cursor reactions { kind count } } }"
)


async def collect(
    app: RunningApp,
    query: Any,
    variables: dict[str, Any] | None,
    count: int,
    *,
    token: str | None = None,
    timeout: float = 20,
    sink: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Subscribes and returns the first `count` events (also appended to `sink` as they come)."""
    results: list[dict[str, Any]] = sink if sink is not None else []
    async with asyncio.timeout(timeout), Client(transport=transport(app.ws_url, token)) as client:
        async for result in client.subscribe(query, variable_values=variables):
            results.append(next(iter(result.values())))
            if len(results) == count:
                break
    return results


async def subscribed(bus_owner: RunningApp, topic_count_before: int) -> None:
    """Waits until one more subscriber is registered on the app's event bus."""
    bus = bus_owner.app.state.stores.events
    async with asyncio.timeout(10):
        while bus.subscriber_count() <= topic_count_before:
            await asyncio.sleep(0.02)


async def listen(
    app: RunningApp, query: Any, variables: dict[str, Any] | None, count: int, **options: Any
) -> asyncio.Task[list[dict[str, Any]]]:
    """`collect` in a task of its own, once the subscription is registered on the app;
    `options` are collect's (token, timeout, sink)."""
    before = app.app.state.stores.events.subscriber_count()
    task = asyncio.create_task(collect(app, query, variables, count, **options))
    await subscribed(app, before)
    return task


async def test_comments_arrive_in_order_with_cursors(
    app_server: RunningApp, gql: GraphQLClient
) -> None:
    author, commenter = await register(gql, "sa"), await register(gql, "sc")
    post = await create_post(gql, author)
    task = await listen(app_server, COMMENTS, {"p": post["id"]}, 3)
    sent = [(await add_comment(gql, commenter, post["id"], f"live {i}"))["id"] for i in range(3)]
    events = await task
    assert [e["comment"]["id"] for e in events] == sent
    assert [e["comment"]["author"]["handle"] for e in events] == [commenter.handle] * 3
    assert len({e["cursor"] for e in events}) == 3


async def test_resume_with_since_gets_exactly_the_missed_events(
    app_server: RunningApp, gql: GraphQLClient
) -> None:
    author = await register(gql, "ra")
    post = await create_post(gql, author)
    task = await listen(app_server, COMMENTS, {"p": post["id"]}, 2)
    for i in range(2):
        await add_comment(gql, author, post["id"], f"seen {i}")
    seen = await task  # the client disconnects here
    missed = [(await add_comment(gql, author, post["id"], f"missed {i}"))["id"] for i in range(4)]

    resumed = await listen(app_server, COMMENTS, {"p": post["id"], "since": seen[-1]["cursor"]}, 5)
    live = (await add_comment(gql, author, post["id"], "live"))["id"]
    events = await resumed
    assert [e["comment"]["id"] for e in events] == [*missed, live]


async def test_since_older_than_retention_is_a_clear_error(
    tmp_path: Path, request: pytest.FixtureRequest, gql: GraphQLClient, app_server: RunningApp
) -> None:
    backend = "real" if app_server.settings.redis_url else "embedded"
    async with app_with(request, tmp_path, backend, event_retention=10) as (running, http):
        local = GraphQLClient(http)
        author = await register(local, "rt")
        post = await create_post(local, author)
        first = (await add_comment(local, author, post["id"], "first"))["id"]
        bus = running.app.state.stores.events

        cursors = [
            await bus.publish(f"post:{key_of(post['id'])}:comments", {"comment_id": key_of(first)})
            for _ in range(300)
        ]
        with pytest.raises(TransportQueryError) as caught:
            await collect(running, COMMENTS, {"p": post["id"], "since": cursors[0]}, 1, timeout=10)
        error = caught.value.errors[0]  # type: ignore[index]
        assert error["extensions"]["code"] == "CURSOR_EXPIRED"
        assert "since" in error["message"]


async def test_notifications_need_auth_and_are_the_viewers_own(
    app_server: RunningApp, gql: GraphQLClient
) -> None:
    with pytest.raises(TransportQueryError) as caught:
        await collect(app_server, NOTIFICATIONS, None, 1, timeout=10)
    assert caught.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"  # type: ignore[index]

    owner, other, actor = [await register(gql, n) for n in ("no", "nx", "na")]
    theirs = await create_post(gql, other)
    mine = await create_post(gql, owner)
    task = await listen(app_server, NOTIFICATIONS, None, 2, token=owner.token)
    await add_comment(gql, actor, theirs["id"], "not for owner")
    await add_comment(gql, actor, mine["id"], "for owner")
    await react(gql, actor, mine["id"], "LIKE")
    events = await task
    assert [e["notification"]["kind"] for e in events] == ["COMMENTED", "REACTED"]
    assert {e["notification"]["actor"]["handle"] for e in events} == {actor.handle}


async def test_drafts_never_go_out(app_server: RunningApp, gql: GraphQLClient) -> None:
    author, other = await register(gql, "da"), await register(gql, "do")
    task = await listen(app_server, PUBLISHED, {"a": author.id}, 2)
    draft = await create_post(gql, author, title="secret draft", publish=False)
    await create_post(gql, other, title="someone else's")
    await create_post(gql, author, title="public one")
    published = await gql(
        "mutation($id: ID!) { publishPost(id: $id) { post { status } errors { code } } }",
        {"id": draft["id"]},
        token=author.token,
    )
    assert published["data"]["publishPost"]["errors"] == []
    events = await task
    assert [e["post"]["title"] for e in events] == ["public one", "secret draft"]
    assert {e["post"]["status"] for e in events} == {"PUBLISHED"}


async def test_reactions_changed_carries_current_counts(
    app_server: RunningApp, gql: GraphQLClient
) -> None:
    author, fan = await register(gql, "rx"), await register(gql, "rf")
    post = await create_post(gql, author)
    events: list[dict[str, Any]] = []
    task = await listen(app_server, REACTIONS, {"p": post["id"]}, 2, sink=events)
    await react(gql, fan, post["id"], "LIKE")
    async with asyncio.timeout(10):  # counts are read when the event is delivered
        while not events:
            await asyncio.sleep(0.01)
    await react(gql, author, post["id"], "LIKE")
    await task
    assert events[0]["reactions"] == [{"kind": "LIKE", "count": 1}]
    assert events[1]["reactions"] == [{"kind": "LIKE", "count": 2}]


async def test_expiring_token_ends_authenticated_subscriptions(
    app_server: RunningApp, gql: GraphQLClient
) -> None:
    user = await register(gql, "ex")
    short = issue_access_token(
        app_server.settings.jwt_key(), int(key_of(user.id)), "USER", ttl_seconds=2
    ).token
    with pytest.raises(TransportQueryError) as caught:
        await collect(app_server, NOTIFICATIONS, None, 1, token=short, timeout=15)
    error = caught.value.errors[0]  # type: ignore[index]
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": "TOKEN_EXPIRED"}


async def test_logout_ends_open_authenticated_subscriptions(
    app_server: RunningApp, gql: GraphQLClient
) -> None:
    owner, actor = await register(gql, "lo"), await register(gql, "la")
    mine = await create_post(gql, owner)
    task = await listen(app_server, NOTIFICATIONS, None, 2, token=owner.token)
    await add_comment(gql, actor, mine["id"], "before logout")
    await asyncio.sleep(0.3)  # the first notification is on its way
    logout = await gql(
        "mutation($t: String!) { logout(refreshToken: $t) { success } }",
        {"t": owner.refresh_token},
    )
    assert logout["data"]["logout"]["success"] is True
    await add_comment(gql, actor, mine["id"], "after logout")
    with pytest.raises(TransportQueryError) as caught:
        await task
    error = caught.value.errors[0]  # type: ignore[index]
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": "SESSION_ENDED"}


async def raw_socket(app: RunningApp, token: str | None = None) -> Any:
    connection = await websockets.connect(app.ws_url, subprotocols=["graphql-transport-ws"])
    payload = {"authorization": f"Bearer {token}"} if token else {}
    await connection.send(json.dumps({"type": "connection_init", "payload": payload}))
    assert json.loads(await connection.recv())["type"] == "connection_ack"
    return connection


async def test_subscriptions_per_connection_are_limited(
    app_server: RunningApp, gql: GraphQLClient
) -> None:
    author = await register(gql, "lim")
    post = await create_post(gql, author)
    limit = app_server.settings.ws_max_subscriptions_per_connection
    connection = await raw_socket(app_server)
    try:
        for n in range(limit + 1):
            await connection.send(json.dumps({
                "id": str(n), "type": "subscribe",
                "payload": {"query": "subscription($p: ID!) { commentAdded(postId: $p) "
                                     "{ cursor } }", "variables": {"p": post["id"]}},
            }))  # fmt: skip
        async with asyncio.timeout(10):
            refusal = json.loads(await connection.recv())
        assert refusal["type"] == "error" and refusal["id"] == str(limit)
        assert refusal["payload"][0]["message"] == "Subscription limit reached"
    finally:
        await connection.close()


async def test_connections_per_user_are_limited(app_server: RunningApp, gql: GraphQLClient) -> None:
    user = await register(gql, "conn")
    limit = app_server.settings.ws_max_connections_per_user
    open_ones = [await raw_socket(app_server, user.token) for _ in range(limit)]
    try:
        extra = await websockets.connect(app_server.ws_url, subprotocols=["graphql-transport-ws"])
        await extra.send(
            json.dumps(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {user.token}"}}
            )
        )
        with pytest.raises(websockets.ConnectionClosed) as caught:
            await asyncio.wait_for(extra.recv(), 10)
        assert caught.value.rcvd is not None and caught.value.rcvd.code == 4403
    finally:
        for connection in open_ones:
            await connection.close()
    # Closing frees the slots.
    again = await raw_socket(app_server, user.token)
    await again.close()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_stalled_subscriber_is_cut_off_and_others_get_everything(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with app_with(request, tmp_path, backend, event_subscriber_buffer=50) as (running, http):
        gql = GraphQLClient(http)
        author = await register(gql, "st")
        post = await create_post(gql, author)
        big = await add_comment(gql, author, post["id"], "x" * 9_000)
        events, batch = 800, 20

        stalled = await stalled_subscriber(running, post["id"])
        sinks: list[list[dict[str, Any]]] = [[] for _ in range(6)]
        healthy = [
            await listen(running, COMMENTS, {"p": post["id"]}, events, sink=sink, timeout=120)
            for sink in sinks
        ]
        bus = running.app.state.stores.events
        topic = f"post:{key_of(post['id'])}:comments"
        for sent in range(0, events, batch):
            for _ in range(batch):
                await bus.publish(topic, {"comment_id": key_of(big["id"])})
            # Healthy clients keep up (they are never more than a batch behind);
            # the stalled one only falls further behind.
            async with asyncio.timeout(30):
                while min(len(sink) for sink in sinks) < sent + batch:
                    await asyncio.sleep(0.005)
        results = await asyncio.gather(*healthy)
        assert [len(r) for r in results] == [events] * len(sinks)
        assert all(len({e["cursor"] for e in r}) == events for r in results)

        code, reason = await drain_until_closed(stalled)
        assert code == 1013
        assert "since" in reason


class StalledClient:
    """A graphql-transport-ws client on a raw socket with a tiny receive buffer that,
    once subscribed, stops reading, as a client on a frozen network would."""

    def __init__(self, app: RunningApp) -> None:
        host, port = app.url.removeprefix("http://").split(":")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
            ).encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(4096)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def send(self, message: dict[str, Any]) -> None:
        payload = json.dumps(message).encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        else:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """Reads frames until the connection ends."""
        while True:
            while (length := self._frame_length()) is None or len(self.buffer) < length[1]:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                self.buffer += chunk
            header, total = length
            opcode, payload = self.buffer[0] & 0x0F, self.buffer[header:total]
            self.buffer = self.buffer[total:]
            yield opcode, payload

    def _frame_length(self) -> tuple[int, int] | None:
        """(header length, frame length) of the next (unmasked) server frame, or None
        while too few bytes have arrived to tell."""
        if len(self.buffer) < 2:
            return None
        size = self.buffer[1] & 0x7F
        if size == 126:
            if len(self.buffer) < 4:
                return None
            return 4, 4 + struct.unpack("!H", self.buffer[2:4])[0]
        if size == 127:
            if len(self.buffer) < 10:
                return None
            return 10, 10 + struct.unpack("!Q", self.buffer[2:10])[0]
        return 2, 2 + size


async def stalled_subscriber(app: RunningApp, post_id: str) -> StalledClient:
    before = app.app.state.stores.events.subscriber_count()
    client = await asyncio.to_thread(StalledClient, app)
    client.send({"type": "connection_init", "payload": {}})
    client.send({
        "id": "1", "type": "subscribe",
        "payload": {"query": "subscription($p: ID!) { commentAdded(postId: $p) "
                             "{ cursor comment { body } } }", "variables": {"p": post_id}},
    })  # fmt: skip
    await subscribed(app, before)
    return client


async def drain_until_closed(client: StalledClient) -> tuple[int, str]:
    """Reads what the server sent; returns the close frame's code and reason."""

    def read() -> tuple[int, str]:
        for opcode, payload in client.frames():
            if opcode == 0x8:
                if len(payload) < 2:
                    return 1005, ""  # a close frame without a status
                return struct.unpack("!H", payload[:2])[0], payload[2:].decode()
        return 1006, "connection ended without a close frame"

    return await asyncio.to_thread(read)
