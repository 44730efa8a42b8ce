"""The Strawberry ASGI view for WebSocket (graphql-transport-ws); GraphiQL is web.graphiql.

Each connection gets a context (its client address, and the viewer once
`connection_init` authenticates). Anonymous clients are held to a number of
connections, and of operations across them, per address; every client to a rate of
new connections per address; and no message may be larger than
WS_MAX_MESSAGE_BYTES (the socket is closed with 1009).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import Any, cast

import strawberry
from graphql import GraphQLError
from starlette.requests import Request
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage

from datasources.stores import Datastores
from resolvers.context import Context, new_context
from settings import Settings
from telemetry import metrics
from web.client_address import ClientAddresses
from web.cohorts import Cohorts, Member
from web.frames import FrameWriter
from web.request_id import current_request_id

MESSAGE_TOO_BIG = 1009


class SizeLimitedWebSocket(ASGIWebSocketAdapter):
    """Refuses messages over the view's limit before decoding them."""

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object]:
        limit = self.view.settings.ws_max_message_bytes  # type: ignore[attr-defined]
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                if len(text) > limit:
                    await self.ws.close(MESSAGE_TOO_BIG, f"message larger than {limit} bytes")
                    return
                try:
                    yield self.view.decode_json(text)
                except ValueError as error:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from error
        except KeyError as error:
            raise NonTextMessageReceived from error
        except WebSocketDisconnect:
            pass


class SharedOperation(Operation[Context, None]):
    """A subscription served by its cohort (web.cohorts): no task of its own."""

    __slots__ = ("member",)
    member: Member


class TransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with a cap on anonymous operations per client address, and
    subscriptions that share their results (web.cohorts)."""

    view: AgoraGraphQL
    _frames: FrameWriter | None = None

    @property
    def socket(self) -> WebSocket:
        return cast(ASGIWebSocketAdapter, self.websocket).ws

    @property
    def frames(self) -> FrameWriter:
        """The connection's queue of shared frames; it may hold a subscriber buffer's
        worth of frames per operation."""
        if self._frames is None:
            buffer = self.view.settings.event_subscriber_buffer
            self._frames = FrameWriter(self.socket, lambda: buffer * max(1, len(self.operations)))
        return self._frames

    async def handle(self) -> None:
        self.view.open_handlers[self.context.client_address].add(self)
        try:
            await super().handle()
        finally:
            if self._frames is not None:
                self._frames.stop()
            handlers = self.view.open_handlers[self.context.client_address]
            handlers.discard(self)
            if not handlers:
                del self.view.open_handlers[self.context.client_address]

    async def cleanup_operation(self, operation_id: str) -> None:
        operation = self.operations.get(operation_id)
        if isinstance(operation, SharedOperation):
            del self.operations[operation_id]
            operation.member.cohort.leave(operation.member)
            return
        await super().cleanup_operation(operation_id)

    def _join_cohort(self, message: SubscribeMessage) -> bool:
        """Serves the subscription from its cohort; False when it must run on its own
        (or the base handler has a refusal to send)."""
        limit = self.max_subscriptions_per_connection
        if (
            not self.connection_acknowledged
            or message["id"] in self.operations
            or (limit is not None and len(self.operations) >= limit)
        ):
            return False
        member = self.view.cohorts.join(self, dict(message))
        if member is None:
            return False
        payload = message["payload"]
        operation = SharedOperation(
            self,
            message["id"],
            payload["query"],
            payload.get("variables"),
            payload.get("operationName"),
        )
        operation.member = member
        self.operations[message["id"]] = operation
        return True

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and self.context.viewer is None:
            cap = self.view.settings.ws_max_anonymous_subscriptions_per_address
            handlers = self.view.open_handlers[self.context.client_address]
            if sum(len(h.operations) for h in handlers if h.context.viewer is None) >= cap:
                error = GraphQLError(
                    f"at most {cap} subscriptions per address without signing in",
                    extensions={"code": "RATE_LIMITED"},
                )
                metrics.refused("websocket", "RATE_LIMITED")
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [error.formatted]}
                )
                return
        if not self._join_cohort(message):
            await super().handle_subscribe(message)


class AgoraGraphQL(GraphQL[Context, None]):
    websocket_adapter_class = SizeLimitedWebSocket
    graphql_transport_ws_handler_class = TransportWS

    def __init__(self, schema: strawberry.Schema, settings: Settings) -> None:
        protocols: tuple[str, ...] = (GRAPHQL_TRANSPORT_WS_PROTOCOL,)
        if settings.ws_legacy_protocol:
            protocols += (GRAPHQL_WS_PROTOCOL,)
        super().__init__(
            schema,
            graphql_ide=None,
            allow_queries_via_get=True,
            subscription_protocols=protocols,
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=settings.ws_max_subscriptions_per_connection,
            allowed_origins=settings.allowed_origins,
        )
        self.settings = settings
        self.addresses = ClientAddresses(settings.trusted_proxies)
        # Open authenticated WebSocket connections per user, in this process.
        self._connections: Counter[int] = Counter()
        # Open anonymous connections per address, in this process.
        self._anonymous: Counter[str] = Counter()
        self.open_handlers: defaultdict[str, set[TransportWS]] = defaultdict(set)
        self.cohorts = Cohorts(schema)  # type: ignore[arg-type]

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        stores: Datastores = request.app.state.stores
        peer = request.client.host if request.client else None
        return new_context(
            self.settings,
            stores,
            current_request_id(),
            request=request,
            response=response,
            client_address=self.addresses.of(peer, request.headers),
        )

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
        window = await context.stores.limits.hit(
            f"ws:address:{context.client_address}",
            self.settings.ws_connections_per_minute_per_address,
            60,
        )
        if not window.allowed:
            raise ConnectionRejectionError(
                {"message": "too many connections from this address; try again later"}
            )
        state = context.request.state
        if context.viewer is None:
            address = context.client_address
            if self._anonymous[address] >= self.settings.ws_max_anonymous_connections_per_address:
                raise ConnectionRejectionError(
                    {"message": "too many connections from this address without signing in"}
                )
            self._anonymous[address] += 1
            state.counted_address = address
            return None
        user_id = context.viewer.user_id
        if self._connections[user_id] >= self.settings.ws_max_connections_per_user:
            raise ConnectionRejectionError({"message": "too many connections for this user"})
        self._connections[user_id] += 1
        state.counted_user = user_id
        return None

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        if not isinstance(request, WebSocket):
            return await super().run(request)
        metrics.websocket_opened()
        try:
            return await super().run(request)
        finally:
            metrics.websocket_closed()
            _release(self._connections, getattr(request.state, "counted_user", None))
            _release(self._anonymous, getattr(request.state, "counted_address", None))


def _release(counter: Counter[Any], key: Any) -> None:
    if key is None:
        return
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]
