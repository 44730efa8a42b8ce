"""The request span (installed by the app only while tracing is on, see
`telemetry.tracing`): OpenTelemetry's ASGI middleware, for HTTP requests and
WebSocket connections.

It continues the trace of an incoming W3C `traceparent`/`tracestate` and answers
with a `traceresponse` header. Probes and scrapes are not traced, nor what they ask
the datastores. URLs are recorded without their query string: a GET request carries
its GraphQL document and variables there (`?query=...&variables=...`), and the
document's string literals and the variables may be secrets (the operation span
records the document with its literals masked, and never the variables).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from telemetry.tracing import tracer_provider

if TYPE_CHECKING:
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

# Probes and scrapes: no request span, and no spans for the datastore calls they make.
# OTEL_PYTHON_ASGI_EXCLUDED_URLS or OTEL_PYTHON_EXCLUDED_URLS (comma-separated regular
# expressions searched in the URL, which has no query string) replace this list.
DEFAULT_EXCLUDED_URLS = r"/healthz$,/readyz$,/metrics$"

# Where the query string waits in the scope while the instrumentation looks at it.
_QUERY_STRING = "agora.query_string"


class TracingMiddleware:
    """The request span. Excluded URLs run with instrumentation suppressed.

    The instrumentation would put the query string into the span's attributes
    (`http.url`, or `url.query` with OTEL_SEMCONV_STABILITY_OPT_IN=http), redacting
    only a few signature parameters. So it is shown the request without one, and the
    app gets it back before it runs."""

    def __init__(self, app: ASGIApp) -> None:
        # Imported here: only an app that traces has this middleware.
        from opentelemetry.instrumentation.asgi import (
            OpenTelemetryMiddleware,
            get_host_port_url_tuple,
        )
        from opentelemetry.instrumentation.utils import suppress_instrumentation
        from opentelemetry.metrics import NoOpMeterProvider
        from opentelemetry.util.http import get_excluded_urls, parse_excluded_urls

        self.app = app
        self.suppressed = suppress_instrumentation
        self.url_of = get_host_port_url_tuple
        self.traced: OpenTelemetryMiddleware = OpenTelemetryMiddleware(
            _with_query_string(app),
            tracer_provider=tracer_provider(),
            meter_provider=NoOpMeterProvider(),  # metrics are Prometheus' (telemetry.metrics)
            exclude_spans=["receive", "send"],  # not a span per ASGI message
            default_span_details=_span_details,
        )
        configured = any(
            os.environ.get(name)
            for name in ("OTEL_PYTHON_ASGI_EXCLUDED_URLS", "OTEL_PYTHON_EXCLUDED_URLS")
        )
        self.excluded = (
            get_excluded_urls("ASGI") if configured else parse_excluded_urls(DEFAULT_EXCLUDED_URLS)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if self.excluded.url_disabled(self.url_of(scope)[2]):
            with self.suppressed():
                await self.app(scope, receive, send)
            return
        scope[_QUERY_STRING] = scope.get("query_string", b"")
        scope["query_string"] = b""
        try:
            await self.traced(scope, receive, send)
        finally:  # if the instrumentation failed before calling the app
            _restore_query_string(scope)


def _with_query_string(app: ASGIApp) -> ASGIApp:
    async def restored(scope: Scope, receive: Receive, send: Send) -> None:
        _restore_query_string(scope)
        await app(scope, receive, send)

    return restored


def _restore_query_string(scope: Scope) -> None:
    if _QUERY_STRING in scope:
        scope["query_string"] = scope.pop(_QUERY_STRING)


def _span_details(scope: Scope) -> tuple[str, dict[str, str]]:
    """The request span's name: the method (WebSocket for a WebSocket) and the route
    (`http.route`) the path matched, or the method alone, so span names stay few."""
    method = "WebSocket" if scope["type"] == "websocket" else str(scope.get("method", "HTTP"))
    for route in getattr(scope.get("app"), "routes", ()):
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            path = str(getattr(route, "path", ""))
            return (f"{method} {path}", {"http.route": path}) if path else (method, {})
    return method, {}
