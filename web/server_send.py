"""Keeps the server's own `send` of each WebSocket connection in its scope, so frames
shared by many subscribers (web.frames) skip the middlewares' per-message wrappers:
none of them changes a WebSocket message."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

SCOPE_KEY = "agora.server_send"


class KeepServerSend:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[SCOPE_KEY] = send
        await self.app(scope, receive, send)
