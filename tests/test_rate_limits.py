"""Request rate limits, cost budgets, the mutation cap and WebSocket caps, seen by clients.

Each test starts its own app with small limits (the shared test apps are unlimited,
since every test client comes from 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio
import websockets

import datasources.rate_limits
from support.accounts import register
from support.apps import BACKENDS, app_with, backend_settings, start_app
from support.graphql import GraphQLClient
from support.time_travel import TimeTravel


async def new_token(http: httpx.AsyncClient) -> str:
    """The access token of a user registered for the test."""
    return (await register(GraphQLClient(http), "rl")).token


VIEWER = {"query": "{ viewer { id } }"}


async def forget_address(request: pytest.FixtureRequest, address: str) -> None:
    """Drops an address's request window from the session's Redis."""
    client = redis.asyncio.from_url(request.getfixturevalue("redis").url)
    await client.delete(f"agora:rl:requests:address:{address}")
    await client.aclose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_requests_per_address_are_limited(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    if backend == "real":  # the session's Redis may hold this address's window
        await forget_address(request, "127.0.0.1")
    async with app_with(request, tmp_path, backend, rate_limit_per_address=5) as (_, http):
        statuses = []
        for _ in range(7):
            response = await http.post("/graphql", json=VIEWER)
            statuses.append(response.status_code)
        assert statuses == [200] * 5 + [429] * 2
        assert response.headers["ratelimit-limit"] == "5"
        assert response.headers["ratelimit-remaining"] == "0"
        assert 1 <= int(response.headers["retry-after"]) <= 60
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        # A spoofed X-Forwarded-For from an untrusted peer changes nothing.
        spoofed = await http.post(
            "/graphql", json=VIEWER, headers={"x-forwarded-for": "203.0.113.9"}
        )
        assert spoofed.status_code == 429


async def test_trusted_proxy_forwards_the_client_address(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with app_with(
        request, tmp_path, rate_limit_per_address=2, trusted_proxies=["127.0.0.1"]
    ) as (_, http):
        for client in ("198.51.100.1", "198.51.100.2"):
            headers = {"x-forwarded-for": f"203.0.113.50, {client}"}
            codes = [
                (await http.post("/graphql", json=VIEWER, headers=headers)).status_code
                for _ in range(3)
            ]
            assert codes == [200, 200, 429], client


async def test_signed_in_accounts_have_their_own_limit(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with app_with(request, tmp_path, rate_limit_per_address=3, rate_limit_per_account=3) as (
        _,
        http,
    ):
        token = await new_token(http)  # an anonymous request: 2 left for the address
        headers = {"authorization": f"Bearer {token}"}
        codes = [
            (await http.post("/graphql", json=VIEWER, headers=headers)).status_code
            for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        # The account's requests did not use the address's allowance, nor the reverse.
        anonymous = [(await http.post("/graphql", json=VIEWER)).status_code for _ in range(3)]
        assert anonymous == [200, 200, 429]


@pytest.mark.usefixtures("real_servers")
async def test_two_processes_share_limits_through_redis(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    settings = backend_settings(
        "real", tmp_path, request, rate_limit_per_address=4, trusted_proxies=["127.0.0.1"]
    )
    first, second = await start_app(settings), await start_app(settings)
    client = {"x-forwarded-for": f"198.51.100.{uuid.uuid4().int % 250 + 1}"}
    await forget_address(request, client["x-forwarded-for"])
    try:
        async with httpx.AsyncClient() as http:
            codes = []
            for i in range(6):
                target = (first, second)[i % 2]
                response = await http.post(target.graphql_url, json=VIEWER, headers=client)
                codes.append(response.status_code)
        assert codes == [200, 200, 200, 200, 429, 429]
    finally:
        await first.stop()
        await second.stop()


async def test_mutations_per_operation_are_capped(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with app_with(request, tmp_path, max_mutations_per_operation=5) as (_, http):
        token = await new_token(http)
        headers = {"authorization": f"Bearer {token}"}
        fields = " ".join(
            f'p{i}: createPost(input: {{title: "t{i}", body: "b", tags: []}}) {{ post {{ id }} }}'
            for i in range(30)
        )
        refused = (
            await http.post("/graphql", json={"query": f"mutation {{ {fields} }}"}, headers=headers)
        ).json()
        assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert "data" not in refused
        mine = (
            await http.post(
                "/graphql",
                json={"query": "{ viewer { posts { totalCount } } }"},
                headers=headers,
            )
        ).json()
        assert mine["data"]["viewer"]["posts"]["totalCount"] == 0  # nothing was written


COSTLY = "{ posts(first: 50) { edges { node { id title } } } }"
RATE = "{ rateLimit { cost limit remaining resetAt } }"


async def test_cost_is_reported_refunded_and_reset(
    request: pytest.FixtureRequest, tmp_path: Path, time_travel: TimeTravel
) -> None:
    time_travel.install(datasources.rate_limits)  # the app counts in this process
    async with app_with(
        request, tmp_path, cost_budget_points=400, cost_budget_window_seconds=2
    ) as (_, http):
        # No posts exist: 50 edges were asked for, none came back.
        first = (await http.post("/graphql", json={"query": COSTLY})).json()
        cost = first["extensions"]["cost"]
        assert cost["requested"] == 2 + 50 * (1 + 2)  # posts, edges, 50 x (node + id, title)
        assert cost["actual"] == 2  # posts and its empty edges list
        assert cost["limit"] == 400
        assert cost["remaining"] == 400 - 2  # the unused 150 points were refunded
        reset_at = datetime.fromisoformat(cost["resetAt"].replace("Z", "+00:00"))
        assert 0 <= (reset_at - datetime.now(UTC)).total_seconds() <= 3

        # rateLimit costs nothing and reports the budget.
        budget = (await http.post("/graphql", json={"query": RATE})).json()
        assert budget["data"]["rateLimit"]["cost"] == 0
        assert budget["data"]["rateLimit"]["remaining"] == 398
        assert budget["data"]["rateLimit"]["limit"] == 400

        # A budget too small for the requested cost refuses before execution.
        big = "{ posts(first: 100) { edges { node { id title body } } } }"
        refused = await http.post("/graphql", json={"query": big})
        assert refused.status_code == 429
        error = refused.json()["errors"][0]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["retryAfter"] >= 1
        assert "data" not in refused.json()

        time_travel.forward(2.2)  # past the window
        after_reset = (await http.post("/graphql", json={"query": COSTLY})).json()
        assert after_reset["extensions"]["cost"]["remaining"] == 398


async def test_too_costly_operations_are_refused_with_their_cost(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with app_with(request, tmp_path, max_operation_cost=100) as (_, http):
        body = (await http.post("/graphql", json={"query": COSTLY})).json()
        error = body["errors"][0]
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert error["extensions"]["cost"] == 152
        assert error["extensions"]["limit"] == 100


async def ws_connect(url: str, token: str | None = None) -> Any:
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"])
    payload = {"authorization": f"Bearer {token}"} if token else {}
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    return ws


async def test_anonymous_websockets_are_capped_per_address(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with app_with(
        request,
        tmp_path,
        ws_max_anonymous_connections_per_address=3,
        ws_max_anonymous_subscriptions_per_address=4,
    ) as (running, http):
        sockets = [await ws_connect(running.ws_url) for _ in range(4)]
        try:
            acks = []
            for ws in sockets:
                try:
                    acks.append("connection_ack" in await asyncio.wait_for(ws.recv(), 5))
                except websockets.ConnectionClosed as closed:
                    acks.append(closed.rcvd.code if closed.rcvd else None)
            assert acks == [True, True, True, 4403]
            # Subscriptions across the open anonymous connections: at most 4.
            answers = []
            for i in range(5):
                ws = sockets[i % 3]
                await ws.send(
                    json.dumps(
                        {
                            "id": f"s{i}",
                            "type": "subscribe",
                            "payload": {"query": "subscription { postPublished { cursor } }"},
                        }
                    )
                )
            await asyncio.sleep(0.5)
            for ws in sockets[:3]:
                with contextlib.suppress(TimeoutError):
                    while True:
                        answers.append(await asyncio.wait_for(ws.recv(), 0.3))
            refusals = [a for a in answers if '"type":"error"' in a.replace(" ", "")]
            assert len(refusals) == 1, answers
            assert "RATE_LIMITED" in refusals[0]
            # A signed-in client is not held to the anonymous cap.
            token = await new_token(http)
            signed_in = await ws_connect(running.ws_url, token)
            assert "connection_ack" in await asyncio.wait_for(signed_in.recv(), 5)
            await signed_in.close()
        finally:
            for ws in sockets:
                await ws.close()
        # Closed connections free their places.
        again = await ws_connect(running.ws_url)
        assert "connection_ack" in await asyncio.wait_for(again.recv(), 5)
        await again.close()


def test_retry_after_is_whole_seconds() -> None:
    from datasources.rate_limits import Window

    refused = Window(False, 10, 10, time.time() + 0.2)
    assert refused.retry_after == 1
    assert Window(True, 10, 3, time.time() + 30).retry_after == 0
