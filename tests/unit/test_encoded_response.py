"""GraphQL over HTTP's responses (`web.graphql_http._response`) are what Starlette's
Response makes of the same body, status, media type and headers, byte for byte."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from starlette.responses import Response
from starlette.types import Message

from web.graphql_http import GRAPHQL_RESPONSE, JSON, _response

PAYLOADS: list[dict[str, Any]] = [
    {"data": {"__typename": "Query"}},
    {"errors": [{"message": "née", "extensions": {"code": "BAD_USER_INPUT"}}]},
    {},
]
HEADERS: list[dict[str, str]] = [
    {},
    {"ratelimit-limit": "100", "ratelimit-remaining": "0", "ratelimit-reset": "7"},
    {"retry-after": "1", "allow": "POST"},
]


async def _sent(response: Response) -> list[Message]:
    messages: list[Message] = []

    async def send(message: Message) -> None:
        messages.append(message)

    async def receive() -> Message:
        raise AssertionError("a response does not read")

    await response({"type": "http"}, receive, send)
    return messages


@pytest.mark.parametrize("media_type", [JSON, GRAPHQL_RESPONSE])
@pytest.mark.parametrize("status", [200, 400, 429, 503])
@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("headers", HEADERS)
async def test_a_response_is_starlettes(
    media_type: str, status: int, payload: dict[str, Any], headers: dict[str, str]
) -> None:
    ours = await _sent(_response(payload, status, media_type, dict(headers)))
    starlettes = await _sent(
        Response(
            orjson.dumps(payload),
            status_code=status,
            media_type=f"{media_type}; charset=utf-8",
            headers=dict(headers),
        )
    )
    assert ours == starlettes
