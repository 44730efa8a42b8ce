"""The lane of GraphQL over HTTP (`web.graphql_lane`) changes no answer: each request
goes once through the app and once through the same app without the lane (Starlette's
exception middleware and router, as before), and the two responses must match in
status, headers and body. Requests the lane must leave to the router (another method,
another path, an app under a root path) are among them, and so are the ones it takes."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from app import create_app
from support.apps import backend_settings
from web.graphql_http import GRAPHQL_RESPONSE
from web.graphql_lane import GraphQLLane

# Differ between any two requests: the request id, the time, the rate limit's count.
VARYING_HEADERS = {"x-request-id", "date", "ratelimit-remaining", "ratelimit-reset"}
VARYING_BODY = re.compile(rb'"(remaining|resetAt|requestId)":("[^"]*"|\d+)')

JSON = {"content-type": "application/json"}
LOGOUT = 'mutation { logout(refreshToken: "x") { success } }'
QUERY = {"query": "{ __typename posts(first: 2) { edges { node { title } } } }"}
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/graphql", {"json": QUERY}),
    ("POST", "/graphql", {"json": {"query": "{ nope }"}}),
    ("POST", "/graphql", {"json": {"query": "{ viewer { "}}),
    ("POST", "/graphql", {"json": ["not", "an", "object"]}),
    ("POST", "/graphql", {"content": b"{not json", "headers": JSON}),
    ("POST", "/graphql", {"content": b"query", "headers": {"content-type": "text/plain"}}),
    ("POST", "/graphql", {"json": QUERY, "headers": {"accept": GRAPHQL_RESPONSE}}),
    ("POST", "/graphql", {"json": QUERY, "headers": {"accept": "text/csv"}}),
    ("POST", "/graphql", {"json": QUERY, "headers": {"authorization": "Bearer nonsense"}}),
    ("POST", "/graphql", {"json": QUERY, "headers": {"origin": "https://elsewhere.example"}}),
    ("GET", "/graphql", {"params": {"query": "{ __typename }"}}),
    ("GET", "/graphql", {"params": {"query": LOGOUT}}),
    ("GET", "/graphql", {"headers": {"accept": "text/html"}}),
    ("PUT", "/graphql", {"json": QUERY}),
    ("DELETE", "/graphql", {}),
    ("HEAD", "/graphql", {"params": {"query": "{ __typename }"}}),
    ("POST", "/graphql/", {"json": QUERY}),
    ("POST", "/graphq", {"json": QUERY}),
    ("GET", "/healthz", {}),
]


def _without_lane(app: Starlette) -> ASGIApp:
    """The app's own middleware stack with every middleware but the lane."""
    kept = app.user_middleware
    app.user_middleware = [m for m in kept if m.cls is not GraphQLLane]
    try:
        stack = app.build_middleware_stack()
    finally:
        app.user_middleware = kept

    async def routed(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app  # as Starlette.__call__ sets it
        await stack(scope, receive, send)

    return routed


@contextlib.asynccontextmanager
async def _client(app: ASGIApp, root_path: str = "") -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, root_path=root_path)
    async with httpx.AsyncClient(transport=transport, base_url="http://agora.test") as client:
        yield client


@pytest.fixture(scope="module")
async def apps(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[ASGIApp, ASGIApp]]:
    settings = backend_settings("embedded", tmp_path_factory.mktemp("lane"), request)
    app = create_app(settings)
    assert any(m.cls is GraphQLLane for m in app.user_middleware)
    async with app.router.lifespan_context(app):
        yield app, _without_lane(app)


def _comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in VARYING_HEADERS]
    return response.status_code, headers, VARYING_BODY.sub(rb'"\1":_', response.content)


@pytest.mark.parametrize("root_path", ["", "/api"])
@pytest.mark.parametrize(("method", "path", "options"), CASES)
async def test_the_lane_answers_as_the_router(
    apps: tuple[ASGIApp, ASGIApp],
    root_path: str,
    method: str,
    path: str,
    options: dict[str, Any],
) -> None:
    laned, routed = apps
    async with _client(laned, root_path) as client:
        through_lane = await client.request(method, root_path + path, **options)
    async with _client(routed, root_path) as client:
        through_router = await client.request(method, root_path + path, **options)
    assert _comparable(through_lane) == _comparable(through_router)
    assert through_lane.status_code < 500, through_lane.text


async def test_an_app_under_root_path_graphql_is_routed(apps: tuple[ASGIApp, ASGIApp]) -> None:
    """Under the root path /graphql, the path /graphql is the app's root, where the
    router has no route: not the lane's."""
    laned, routed = apps
    answers = []
    for app in (laned, routed):
        async with _client(app, "/graphql") as client:
            answers.append(_comparable(await client.post("/graphql", json=QUERY)))
    assert answers[0] == answers[1]
    assert answers[0][0] == 404


async def test_the_lane_takes_graphql_requests_only(apps: tuple[ASGIApp, ASGIApp]) -> None:
    """The lane is taken (the router never sees the request) for GET and POST on
    /graphql at the root, and for nothing else."""
    laned, _ = apps
    taken: list[str] = []
    lane = _lane_of(laned)
    original = lane.graphql_http

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        taken.append(f"{scope['method']} {scope['path']}")
        await original(scope, receive, send)

    lane.graphql_http = recording
    try:
        async with _client(laned) as client:
            for method, path, options in CASES:
                await client.request(method, path, **options)
        async with _client(laned, "/api") as client:
            await client.post("/api/graphql", json=QUERY)
    finally:
        lane.graphql_http = original
    expected = [f"{m} {p}" for m, p, _ in CASES if p == "/graphql" and m in {"GET", "POST"}]
    assert taken == expected


def _lane_of(app: ASGIApp) -> GraphQLLane:
    assert isinstance(app, Starlette)
    layer: Any = app.middleware_stack
    while layer is not None and not isinstance(layer, GraphQLLane):
        layer = getattr(layer, "app", None)
    assert isinstance(layer, GraphQLLane), "the lane is not in the app's middleware stack"
    return layer
