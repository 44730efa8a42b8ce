"""The Strawberry ASGI view: builds each request's context and authenticates WebSockets."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import strawberry
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from datasources.stores import Datastores
from resolvers.context import Context, new_context
from settings import Settings
from web.request_id import current_request_id


class AgoraGraphQL(GraphQL[Context, None]):
    def __init__(self, schema: strawberry.Schema, settings: Settings) -> None:
        protocols = (GRAPHQL_TRANSPORT_WS_PROTOCOL,)
        if settings.ws_legacy_protocol:
            protocols += (GRAPHQL_WS_PROTOCOL,)
        super().__init__(
            schema,
            graphql_ide=None if settings.is_production else "graphiql",
            allow_queries_via_get=True,
            subscription_protocols=protocols,
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=settings.ws_max_subscriptions_per_connection,
            allowed_origins=settings.allowed_origins,
        )
        self.settings = settings
        # Open authenticated WebSocket connections per user, in this process.
        self._connections: Counter[int] = Counter()

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        stores: Datastores = request.app.state.stores
        context = new_context(
            self.settings,
            stores,
            current_request_id(),
            request=request,
            response=response,
        )
        if isinstance(request, Request):
            await context.authenticate(request.headers.get("authorization"))
        return context

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        """graphql-transport-ws `connection_init`: `{"authorization": "Bearer …"}`."""
        params = context.connection_params or {}
        authorization = params.get("authorization") or params.get("Authorization")
        if authorization is not None and not isinstance(authorization, str):
            raise ConnectionRejectionError()
        await context.authenticate(authorization)
        if context.auth_error:
            # A bad token closes the socket with 4403 instead of acting anonymous.
            raise ConnectionRejectionError({"message": context.auth_error})
        if context.viewer is not None:
            user_id = context.viewer.user_id
            if self._connections[user_id] >= self.settings.ws_max_connections_per_user:
                raise ConnectionRejectionError({"message": "too many connections for this user"})
            self._connections[user_id] += 1
            context.request.state.counted_user = user_id
        return None

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        if not isinstance(request, WebSocket):
            return await super().run(request)
        try:
            return await super().run(request)
        finally:
            user_id = getattr(request.state, "counted_user", None)
            if user_id is not None:
                self._connections[user_id] -= 1
                if self._connections[user_id] <= 0:
                    del self._connections[user_id]
