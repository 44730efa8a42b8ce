"""The edge (`web.edge`) gives every HTTP response the headers the separate
middlewares gave: CORS exactly as Starlette's CORSMiddleware answers (preflights
included), the security headers unless the response sets its own, the request id.

Each case sends one request through the edge and through Starlette's CORSMiddleware
wrapping the same tiny app, and compares status, body and CORS headers.
"""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from web.edge import CORS_EXPOSED, CORS_HEADERS, CORS_MAX_AGE, Edge

ALLOWED = "https://app.example"


async def plain(_: Request) -> Response:
    return PlainTextResponse("plain")


async def varied(_: Request) -> Response:
    return PlainTextResponse("varied", headers={"vary": "Accept-Encoding"})


async def echo(request: Request) -> Response:
    return PlainTextResponse(await request.body())


def _inner() -> Starlette:
    return Starlette(
        routes=[
            Route("/plain", plain, methods=["GET", "POST"]),
            Route("/varied", varied),
            Route("/echo", echo, methods=["POST"]),
        ]
    )


def _starlette_cors(app: ASGIApp) -> ASGIApp:
    return CORSMiddleware(
        app,
        allow_origins=[ALLOWED],
        allow_methods=["GET", "POST"],
        allow_headers=CORS_HEADERS,
        expose_headers=CORS_EXPOSED,
        max_age=CORS_MAX_AGE,
    )


async def _send(app: ASGIApp, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path, headers=headers, content=b"body")


def _cors_part(response: httpx.Response) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.startswith("access-control-") or name == "vary"
    ]


CASES = [
    ("GET", "/plain", {}),
    ("GET", "/varied", {}),
    ("GET", "/plain", {"origin": ALLOWED}),
    ("GET", "/varied", {"origin": ALLOWED}),
    ("GET", "/plain", {"origin": "https://elsewhere.example"}),
    ("POST", "/echo", {"origin": ALLOWED, "content-type": "text/plain"}),
    ("OPTIONS", "/plain", {"origin": ALLOWED, "access-control-request-method": "POST"}),
    (
        "OPTIONS",
        "/plain",
        {
            "origin": ALLOWED,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, x-secret",
        },
    ),
    (
        "OPTIONS",
        "/plain",
        {"origin": "https://elsewhere.example", "access-control-request-method": "GET"},
    ),
    ("OPTIONS", "/plain", {"access-control-request-method": "GET"}),
]


@pytest.mark.parametrize(("method", "path", "headers"), CASES)
async def test_cors_as_starlette_answers(method: str, path: str, headers: dict[str, str]) -> None:
    edge = Edge(_inner(), production=True, allowed_origins=[ALLOWED])
    expected = await _send(_starlette_cors(_inner()), method, path, headers)
    got = await _send(edge, method, path, headers)
    assert (got.status_code, got.content) == (expected.status_code, expected.content)
    assert _cors_part(got) == _cors_part(expected)


async def test_every_response_gets_the_security_headers_and_an_id() -> None:
    edge = Edge(_inner(), production=True)
    for method, path, headers in CASES:
        response = await _send(edge, method, path, headers)
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["strict-transport-security"].startswith("max-age=")
        assert len(response.headers.get_list("x-request-id")) == 1


async def test_a_body_too_large_is_refused_with_every_header() -> None:
    edge = Edge(_inner(), production=False, allowed_origins=[ALLOWED], max_body_bytes=1_000)
    transport = httpx.ASGITransport(app=edge)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/echo", content=b"x" * 1_001, headers={"origin": ALLOWED})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert "strict-transport-security" not in response.headers
    assert response.headers["x-request-id"]
