"""GET /metrics (Prometheus' text format) and the middleware that counts GraphQL requests
over HTTP.

/metrics is open in development. In production it answers 404 unless METRICS_TOKEN is
set, and then only to `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise).

`RequestCount` counts every GET and POST to /graphql except the GraphiQL page: by
operation type and name (what `schema.operation_metrics` learnt of it; "(none)" when
no operation was validated), by outcome (ok, errors, refused: 4xx, failed: 5xx), its
latency, and the code of each error its response carries. The error codes of a
response made outside the schema (a request error, a timeout) are read from its body,
which is then small.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Scope, Send

from settings import Settings
from telemetry import metrics
from web.graphql_http import GRAPHQL_METHODS, GRAPHQL_PATH, wants_ide

TRANSPORT = "http"
# Bodies of responses made outside the schema are read only up to this size.
MAX_ERROR_BODY_BYTES = 64 * 1024


def metrics_endpoint(settings: Settings) -> Callable[[Request], Response]:
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    expected = f"Bearer {token}".encode() if token else None

    # Sync, so Starlette runs it in a thread: with several workers a scrape reads every
    # worker's files.
    def serve_metrics(request: Request) -> Response:
        if settings.is_production:
            if expected is None:
                return Response(status_code=404)
            given = request.headers.get("authorization", "").encode("latin-1", "replace")
            if not hmac.compare_digest(given, expected):
                return Response(
                    "a bearer token is required",
                    status_code=401,
                    media_type="text/plain",
                    headers={"www-authenticate": 'Bearer realm="metrics"'},
                )
        body, media_type = metrics.exposition()
        return Response(body, media_type=media_type)

    return serve_metrics


def _error_codes(body: bytes) -> list[object]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list):
        return []
    codes: list[object] = []
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        codes.append(extensions.get("code") if isinstance(extensions, dict) else None)
    return codes


def counts(scope: Scope) -> bool:
    """Whether an HTTP request is one `RequestCount` counts: GraphQL over HTTP, not the
    GraphiQL page."""
    method = scope["method"]
    return (
        scope["path"] == GRAPHQL_PATH
        and method in GRAPHQL_METHODS
        and not (method == "GET" and wants_ide(Request(scope)))
    )


def reporting_lifespan(send: Send) -> Send:
    """Records when this process starts serving, and when it stops."""

    async def send_lifespan(message: Message) -> None:
        if message["type"] == "lifespan.startup.complete":
            metrics.worker_started()
        elif message["type"] == "lifespan.shutdown.complete":
            metrics.worker_stopped()
        await send(message)

    return send_lifespan


class RequestCount:
    """One HTTP request to /graphql, counted just before the last of its response is sent
    (so a client that has the response sees it counted). `web.edge` shows it each
    response message (`sent`), tells it of a failure (`failed`) and ends it (`end`)."""

    def __init__(self) -> None:
        self.started_at = time.perf_counter()
        self.status: int | None = None
        self.read_body = False
        self.body = bytearray()
        self.counted = False
        self.record, self.token = metrics.begin_request()

    def sent(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start(message)
        elif message["type"] == "http.response.body":
            self._body(message)

    def failed(self) -> None:
        if not self.counted:
            self._count(500, [])

    def end(self) -> None:
        metrics.end_request(self.token)
        # The reader holds the operation's context, hence its result and the request,
        # which holds this: a cycle that only the collector would free, with the
        # whole response in it. Broken here, they are freed as soon as unused.
        self.record.error_codes = None
        # No response at all: the client left before one was made; nothing to count.

    def _start(self, message: Message) -> None:
        self.status = int(message["status"])
        if self.record.error_codes is None:
            headers: list[tuple[bytes, bytes]] = message.get("headers", [])
            content_type = dict(headers).get(b"content-type", b"")
            self.read_body = b"json" in content_type

    def _body(self, message: Message) -> None:
        chunk: bytes = message.get("body", b"")
        if self.read_body:
            if len(self.body) + len(chunk) <= MAX_ERROR_BODY_BYTES:
                self.body += chunk
            else:
                self.read_body = False
                self.body.clear()
        if not message.get("more_body", False) and not self.counted and self.status is not None:
            if self.record.error_codes is not None:
                codes = self.record.error_codes()
            else:
                codes = _error_codes(bytes(self.body)) if self.read_body else []
            self._count(self.status, codes)

    def _count(self, status: int, codes: list[Any]) -> None:
        self.counted = True
        record = self.record
        metrics.record_request(
            TRANSPORT,
            record.operation_type,
            record.operation_name,
            metrics.outcome_of_status(status, bool(codes)),
            codes,
            time.perf_counter() - self.started_at,
        )
