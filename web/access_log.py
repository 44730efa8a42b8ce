"""One log line per HTTP request: method, path, status, duration, and for GraphQL the
operation's type and name (`schema.access_log`). It runs inside RequestIdMiddleware,
so the line carries the request id. Health probes and metric scrapes are logged at
DEBUG: they come every few seconds."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from logs import get_logger

log = get_logger("agora.access")
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app fails before responding

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            state = scope.get("state", {})
            operation = state.get("operation")
            fields = {
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            }
            if operation is not None:
                fields["operation_type"], fields["operation_name"] = operation
            stats = state.get("query_stats")
            if stats is not None:
                fields["sql"], fields["mongo"] = stats["sql"], stats["mongo"]
            write = log.debug if scope["path"] in PROBES else log.info
            write("request", **fields)
