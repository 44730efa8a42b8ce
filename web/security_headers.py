"""Security headers on every HTTP response.

API responses forbid everything a browser could do with them (no framing, no
sniffing, no scripts). A response that sets its own Content-Security-Policy keeps it: the
GraphiQL page (development only, `web.graphiql`) allows its own origin's scripts and
styles. Every other response, HTML included, gets the API's `default-src 'none'`.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
DEFAULT_CSP = {"content-security-policy": "default-src 'none'; frame-ancestors 'none'"}
PRODUCTION = {"strict-transport-security": "max-age=31536000; includeSubDomains"}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                extra = {**COMMON, **DEFAULT_CSP}
                if self.production:
                    extra.update(PRODUCTION)
                for name, value in extra.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
