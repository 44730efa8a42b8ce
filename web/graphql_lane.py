"""The lane of GraphQL over HTTP: GET and POST on /graphql go from the middlewares
straight to `web.graphql_http`.

Starlette puts its exception middleware and then its router between the last
middleware and a route: a wrapper of `send` and a frame each, a path pattern and a
method check, on nearly every request. `GraphQLOverHTTP` answers every exception
itself and needs no path parameters, so its requests skip both; every other request
(another path or method, a WebSocket, an app mounted under a root path) takes them
as before.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from web.graphql_http import GRAPHQL_METHODS, GRAPHQL_PATH


class GraphQLLane:
    def __init__(self, app: ASGIApp, *, graphql_http: ASGIApp) -> None:
        self.app = app
        self.graphql_http = graphql_http

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == GRAPHQL_PATH
            and scope["method"] in GRAPHQL_METHODS
            and not scope.get("root_path")
        ):
            await self.graphql_http(scope, receive, send)
        else:
            await self.app(scope, receive, send)
