"""The edge: what every request passes on its way in and out, in one frame.

An HTTP request gets, on its way in: its id (`web.request_id`), bound while it runs;
a count if it is GraphQL over HTTP (`web.metrics`); a CORS preflight answered
(Starlette's CORS rules); its body read whole under the size and time limits
(`web.body_limit`). Its response gets, on the way out: the CORS headers, the security
headers (`web.security_headers`), the request id; then the access log line
(`web.access_log`). Six middlewares did this, each with a frame, a wrapper of `send`
and a copy of the headers of its own: about a quarter of the CPU of the smallest
request. One wrapper of `send` now adds every response header, in the order the
middlewares added them.

A WebSocket connection gets its id; the lifespan tells the metrics when this process
starts and stops serving.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.access_log import log_request
from web.body_limit import (
    BODY_READ,
    METHODS,
    Refusal,
    declared_too_large,
    read_body,
    refuse,
    replaying,
    too_large,
)
from web.metrics import RequestCount, counts, reporting_lifespan
from web.request_id import RAW_HEADER, bound, request_id_for
from web.security_headers import add_missing, security_headers

CORS_HEADERS = ["authorization", "content-type", "x-request-id"]
CORS_EXPOSED = [
    "x-request-id",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "retry-after",
]
CORS_MAX_AGE = 600


class Edge:
    def __init__(
        self,
        app: ASGIApp,
        *,
        production: bool,
        allowed_origins: Sequence[str] = (),
        max_body_bytes: int = 1_000_000,
        body_timeout_seconds: float = 10.0,
    ) -> None:
        self.app = app
        # Starlette's middleware, used for its rules only (preflight answers, response
        # headers for a request with an Origin): it never runs `app`.
        self.cors = CORSMiddleware(
            app,
            allow_origins=allowed_origins,
            allow_methods=["GET", "POST"],
            allow_headers=CORS_HEADERS,
            expose_headers=CORS_EXPOSED,
            max_age=CORS_MAX_AGE,
        )
        self.security = security_headers(production=production)
        self.max_body_bytes = max_body_bytes
        self.body_timeout_seconds = body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            with bound(request_id_for(dict(scope["headers"]).get(RAW_HEADER, b""))):
                await self.app(scope, receive, send)
        elif kind == "lifespan":
            await self.app(scope, receive, reporting_lifespan(send))
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        incoming = b""
        content_length = None
        origin = None
        preflight = False
        for name, value in scope["headers"]:
            if name == RAW_HEADER:
                incoming = value
            elif name == b"content-length":
                content_length = value
            elif name == b"origin":
                origin = value if origin is None else origin
            elif name == b"access-control-request-method":
                preflight = True
        request_id = request_id_for(incoming)
        raw_id = request_id.encode()
        count = RequestCount() if counts(scope) else None
        request_headers = Headers(scope=scope) if origin is not None else None
        method = scope["method"]
        status = 500  # what the server answers if the app fails before responding
        # A preflight's answer is CORS's own: it gets no CORS headers on top.
        answers_preflight = request_headers is not None and method == "OPTIONS" and preflight

        async def edge_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                if request_headers is None:
                    raw = message["headers"] = list(message.get("headers", ()))
                    _set(raw, b"vary", b"Origin", join=True)
                else:
                    if not answers_preflight:
                        await self.cors.send(message, _kept, request_headers)
                    raw = message["headers"] = list(message.get("headers", ()))
                add_missing(raw, self.security)
                status = message["status"]
                _set(raw, RAW_HEADER, raw_id)
            if count is not None:
                count.sent(message)
            await send(message)

        with bound(request_id):
            try:
                if answers_preflight:
                    assert request_headers is not None
                    answer = self.cors.preflight_response(request_headers=request_headers)
                    await answer(scope, receive, edge_send)
                    return
                if method in METHODS:
                    if declared_too_large(content_length, self.max_body_bytes):
                        await refuse(edge_send, too_large(self.max_body_bytes))
                        return
                    body = await read_body(receive, self.max_body_bytes, self.body_timeout_seconds)
                    if body is None:
                        return  # the client left
                    if isinstance(body, Refusal):
                        await refuse(edge_send, body)
                        return
                    scope[BODY_READ] = body
                    receive = replaying(body, receive)
                await self.app(scope, receive, edge_send)
            except BaseException:
                if count is not None:
                    count.failed()
                raise
            finally:
                if count is not None:
                    count.end()
                log_request(scope, status, started)


async def _kept(message: Message) -> None:
    """The `send` Starlette's CORS rules pass a response start to: it stays with the edge."""


def _set(raw: list[tuple[bytes, bytes]], name: bytes, value: bytes, *, join: bool = False) -> None:
    """Sets a response header as Starlette's MutableHeaders does (the first of its
    lines replaced, the others dropped); with `join`, after the values it had."""
    if name not in [line[0] for line in raw]:  # one frame, not one resumption a header
        raw.append((name, value))
        return
    headers = MutableHeaders(raw=raw)
    text = name.decode("latin-1")
    previous = headers.getlist(text) if join else []
    headers[text] = ", ".join([*previous, value.decode("latin-1")])
