"""WebSocket (graphql-transport-ws) authentication with a real client (gql)."""

from __future__ import annotations

from pathlib import Path

import pytest
import websockets
from gql import Client
from gql import gql as document
from gql.transport.exceptions import TransportError, TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from websockets.exceptions import ConnectionClosed

import resolvers.context
from auth.tokens import issue_access_token
from support.accounts import register, unique_handle
from support.apps import RunningApp, backend_settings, serving
from support.graphql import GraphQLClient
from support.ids import key_of
from support.time_travel import TimeTravel

VIEWER = document("query { viewer { handle } }")


def transport(app_server: RunningApp, payload: dict[str, object]) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=app_server.ws_url,
        init_payload=payload,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        connect_timeout=10,
        close_timeout=5,
    )


async def test_connection_init_authenticates(app_server: RunningApp, gql: GraphQLClient) -> None:
    handle = unique_handle()
    session = await register(gql, handle=handle)
    ws = transport(app_server, {"authorization": f"Bearer {session.token}"})
    async with Client(transport=ws) as client:
        result = await client.execute(VIEWER)
    assert result == {"viewer": {"handle": handle}}


async def test_anonymous_connection_is_allowed(app_server: RunningApp) -> None:
    async with Client(transport=transport(app_server, {})) as client:
        assert await client.execute(VIEWER) == {"viewer": None}


@pytest.mark.parametrize("authorization", ["Bearer not-a-jwt", "Basic abc", 42])
async def test_bad_token_closes_with_4403(app_server: RunningApp, authorization: object) -> None:
    ws = transport(app_server, {"authorization": authorization})
    with pytest.raises(TransportError) as caught:
        async with Client(transport=ws) as client:
            await client.execute(VIEWER)
    assert close_code(caught.value) == 4403


def close_code(error: BaseException | None) -> int | None:
    while error is not None:
        if isinstance(error, ConnectionClosed) and error.rcvd is not None:
            return error.rcvd.code
        error = error.__cause__ or error.__context__
    return None


async def test_foreign_origin_is_refused(app_server: RunningApp) -> None:
    with pytest.raises(websockets.exceptions.InvalidStatus) as caught:
        async with websockets.connect(
            app_server.ws_url,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            origin="https://evil.example",  # type: ignore[arg-type]
        ):
            pass
    assert caught.value.response.status_code == 403


async def test_a_connection_outliving_its_token_is_refused(
    app_server: RunningApp, gql: GraphQLClient, time_travel: TimeTravel
) -> None:
    time_travel.install(resolvers.context)  # where the connection checks the token's expiry
    session = await register(gql)
    user_id = int(key_of(session.id))
    token = issue_access_token(app_server.settings.jwt_key(), user_id, "USER", 2).token
    async with Client(transport=transport(app_server, {"authorization": f"Bearer {token}"})) as c:
        assert (await c.execute(VIEWER))["viewer"]["handle"] == session.handle
        time_travel.forward(2.5)
        with pytest.raises(TransportQueryError) as caught:
            await c.execute(VIEWER)
    assert caught.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"  # type: ignore[index]
    assert "expired" in caught.value.errors[0]["message"]  # type: ignore[index]


async def test_legacy_protocol_only_when_enabled(
    app_server: RunningApp, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async def legacy_handshake(app: RunningApp) -> tuple[str | None, int | None]:
        try:
            async with websockets.connect(app.ws_url, subprotocols=["graphql-ws"]) as ws:
                await ws.send('{"type": "connection_init", "payload": {}}')
                await ws.recv()  # connection_ack
                return ws.subprotocol, None
        except websockets.ConnectionClosed as closed:
            return None, closed.rcvd.code if closed.rcvd else None

    assert await legacy_handshake(app_server) == (None, 4406)
    settings = backend_settings("embedded", tmp_path, request, ws_legacy_protocol=True)
    async with serving(settings) as enabled:
        assert await legacy_handshake(enabled) == ("graphql-ws", None)
