"""The Strawberry ASGI view: builds each request's context and authenticates WebSockets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import strawberry
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from datasources.stores import Datastores
from resolvers.context import Context, new_context
from settings import Settings
from web.request_id import current_request_id


class AgoraGraphQL(GraphQL[Context, None]):
    def __init__(self, schema: strawberry.Schema, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide=None if settings.is_production else "graphiql",
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=100,
            allowed_origins=settings.allowed_origins,
        )
        self.settings = settings

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
            context.authenticate(request.headers.get("authorization"))
        return context

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        """graphql-transport-ws `connection_init`: `{"authorization": "Bearer …"}`."""
        params = context.connection_params or {}
        authorization = params.get("authorization") or params.get("Authorization")
        if authorization is not None and not isinstance(authorization, str):
            raise ConnectionRejectionError()
        context.authenticate(authorization)
        if context.auth_error:
            # A bad token closes the socket with 4403 instead of acting anonymous.
            raise ConnectionRejectionError({"message": context.auth_error})
        return None
