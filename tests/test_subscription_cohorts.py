"""Subscribers that would get the same result share one execution (web/cohorts.py):
each event is executed once per cohort, every member gets the same bytes in a frame
of its own id, and no viewer ever gets another's view."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import websockets
from prometheus_client import REGISTRY

from support.accounts import register
from support.apps import BACKENDS, RunningApp, app_with
from support.comments import add_comment
from support.graphql import GraphQLClient
from support.ids import key_of
from support.posts import create_post
from support.reactions import react

COMMENTS = (
    "subscription($p: ID!, $since: String) { commentAdded(postId: $p, since: $since) "
    "{ cursor comment { id body author { handle } } } }"
)
COMMENT_IDS = "subscription($p: ID!) { commentAdded(postId: $p) { comment { id } } }"
# Fields whose values depend on who is asking: the author's email is theirs alone,
# viewerReactions are each viewer's own.
REACTIONS = (
    "subscription($p: ID!) { reactionsChanged(postId: $p) "
    "{ post { id viewerReactions author { handle email } } reactions { kind count } } }"
)


class Socket:
    """A graphql-transport-ws client that keeps every frame as the text it arrived as."""

    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, app: RunningApp, token: str | None = None) -> Socket:
        connection = await websockets.connect(app.ws_url, subprotocols=["graphql-transport-ws"])
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await connection.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(connection.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        return cls(connection)

    async def subscribe(self, op_id: str, query: str, variables: dict[str, Any]) -> None:
        message = {"query": query, "variables": variables}
        await self.connection.send(
            json.dumps({"id": op_id, "type": "subscribe", "payload": message})
        )

    async def frames(self, count: int) -> list[str]:
        """The next `count` frames of operations, as text."""
        received: list[str] = []
        async with asyncio.timeout(15):
            while len(received) < count:
                text = await self.connection.recv()
                assert isinstance(text, str)
                if json.loads(text).get("type") in {"ping", "pong"}:
                    continue
                received.append(text)
        return received

    def compressed(self) -> bool:
        assert self.connection.response is not None
        extensions = self.connection.response.headers.get("sec-websocket-extensions", "")
        return "permessage-deflate" in extensions

    async def close(self) -> None:
        await self.connection.close()


def by_id(frames: list[str]) -> dict[str, str]:
    return {json.loads(frame)["id"]: frame for frame in frames}


def without_id(frame: str) -> str:
    """The frame after its id: what every member of a cohort shares."""
    message = json.loads(frame)
    prefix = '{"id":' + json.dumps(message["id"])
    assert frame.startswith(prefix)
    return frame[len(prefix) :]


def counted(name: str, event: str) -> float:
    return REGISTRY.get_sample_value(name, {"event": event}) or 0.0


async def live(app: RunningApp, total: int) -> None:
    """Until the app's bus reaches `total` subscribers (a cohort counts its members)."""
    bus = app.app.state.stores.events
    async with asyncio.timeout(10):
        while bus.subscriber_count() != total:
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("deflate", [False, True], ids=["plain", "deflate"])
async def test_a_cohort_executes_once_and_sends_what_a_lone_subscriber_gets(
    deflate: bool, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # In production: development adds each subscriber's round-trip counts to its frames.
    production = {"app_env": "production", "jwt_secret": "c" * 40}
    settings = {**production, "ws_per_message_deflate": deflate}
    async with app_with(request, tmp_path, **settings) as (running, http):
        gql = GraphQLClient(http)
        author = await register(gql, "co")
        post = await create_post(gql, author)
        variables = {"p": post["id"]}
        first, second = await Socket.open(running), await Socket.open(running)
        sockets = [first, second]
        # The client offers permessage-deflate; the server takes it when configured to.
        assert first.compressed() == deflate
        try:
            for op_id in ("a1", "a2", "a3"):
                await first.subscribe(op_id, COMMENTS, variables)
            await second.subscribe("b1", COMMENTS, variables)
            await second.subscribe("c1", COMMENT_IDS, variables)  # another document
            await live(running, 5)
            await add_comment(gql, author, post["id"], "one")
            seen = by_id(await first.frames(3)) | by_id(await second.frames(2))
            cursor = json.loads(seen["a1"])["payload"]["data"]["commentAdded"]["cursor"]

            # Resuming: not shared (its replay is its own), so it runs alone.
            alone = await Socket.open(running)
            sockets.append(alone)
            await alone.subscribe("r1", COMMENTS, {**variables, "since": cursor})
            await live(running, 6)
            executions = counted("agora_subscription_executions_total", "CommentAdded")
            delivered = counted("agora_events_delivered_total", "CommentAdded")
            comment = await add_comment(gql, author, post["id"], "two")
            frames = by_id(await first.frames(3)) | by_id(await second.frames(2))
            frames |= by_id(await alone.frames(1))

            # Two cohorts and one subscriber alone: three executions for six deliveries.
            assert counted("agora_subscription_executions_total", "CommentAdded") == executions + 3
            assert counted("agora_events_delivered_total", "CommentAdded") == delivered + 6
            shared = {without_id(frames[i]) for i in ("a1", "a2", "a3", "b1")}
            assert shared == {without_id(frames["r1"])}, "not the bytes a lone subscriber gets"
            payload = json.loads(frames["a1"])["payload"]
            assert payload["data"]["commentAdded"]["comment"]["id"] == comment["id"]
            assert json.loads(frames["c1"])["payload"] == {
                "data": {"commentAdded": {"comment": {"id": comment["id"]}}}
            }
        finally:
            for socket in sockets:
                await socket.close()
        # The last member gone, the cohorts leave the bus.
        await live(running, 0)


async def test_a_member_that_leaves_stops_getting_frames_and_the_others_go_on(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with app_with(request, tmp_path) as (running, http):
        gql = GraphQLClient(http)
        author = await register(gql, "cl")
        post = await create_post(gql, author)
        socket = await Socket.open(running)
        try:
            for op_id in ("x", "y"):
                await socket.subscribe(op_id, COMMENT_IDS, {"p": post["id"]})
            await live(running, 2)
            await socket.connection.send(json.dumps({"id": "x", "type": "complete"}))
            await live(running, 1)
            comment = await add_comment(gql, author, post["id"], "after x left")
            (frame,) = await socket.frames(1)
            assert json.loads(frame)["id"] == "y"
            assert json.loads(frame)["payload"]["data"]["commentAdded"]["comment"] == {
                "id": comment["id"]
            }
            # The id is free again: subscribing with it joins the cohort anew.
            await socket.subscribe("x", COMMENT_IDS, {"p": post["id"]})
            await live(running, 2)
        finally:
            await socket.close()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_each_viewer_gets_only_their_own_view(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with app_with(request, tmp_path, backend) as (running, http):
        gql = GraphQLClient(http)
        owner, other = await register(gql, "vo"), await register(gql, "vx")
        post = await create_post(gql, owner)
        variables = {"p": post["id"]}
        sockets = {
            "owner": await Socket.open(running, owner.token),
            "owner again": await Socket.open(running, owner.token),
            "other": await Socket.open(running, other.token),
            "anonymous": await Socket.open(running),
        }
        try:
            for name, socket in sockets.items():
                await socket.subscribe(name, REACTIONS, variables)
            await live(running, 4)
            executions = counted("agora_subscription_executions_total", "ReactionsChanged")
            views: dict[str, list[dict[str, Any]]] = {name: [] for name in sockets}
            # One reaction at a time: an event shows the counts when it is executed.
            for who, kind in ((owner, "LIKE"), (other, "LOVE")):
                await react(gql, who, post["id"], kind)
                for name, socket in sockets.items():
                    (frame,) = await socket.frames(1)
                    views[name].append(json.loads(frame)["payload"]["data"]["reactionsChanged"])
            executed = counted("agora_subscription_executions_total", "ReactionsChanged")
            executed -= executions
        finally:
            for socket in sockets.values():
                await socket.close()

    def seen(name: str, field: str) -> list[Any]:
        return [view["post"][field] for view in views[name]]

    assert seen("owner", "viewerReactions") == [["LIKE"], ["LIKE"]]
    assert seen("owner again", "viewerReactions") == [["LIKE"], ["LIKE"]]
    assert seen("other", "viewerReactions") == [[], ["LOVE"]]
    assert seen("anonymous", "viewerReactions") == [[], []]
    emails = {name: {view["post"]["author"]["email"] for view in views[name]} for name in views}
    assert emails["owner"] == emails["owner again"] == {f"{owner.handle}@example.com"}
    assert emails["other"] == emails["anonymous"] == {None}
    counts = [{r["kind"]: r["count"] for r in view["reactions"]} for view in views["anonymous"]]
    assert counts == [{"LIKE": 1}, {"LIKE": 1, "LOVE": 1}]
    assert key_of(views["other"][0]["post"]["id"]) == key_of(post["id"])
    # The owner's two connections share; the other viewer and the anonymous one have
    # cohorts of their own: three executions per event.
    assert executed == 6
