"""The ASGI application: routes, middleware and lifespan.

`uvicorn --factory app:create_app` serves it, and so does `uvicorn app:app`: the module's
`app` is built on first access (settings loaded, logging configured), not on import.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route, WebSocketRoute

from datasources.stores import open_datastores_for
from logs import configure_logging, get_logger
from resolvers.posts import finish_deletions
from schema import build_schema
from settings import Settings, StartupFailure, load_settings_or_exit
from telemetry.tracing import configure_or_exit as configure_tracing
from telemetry.tracing import tracer
from web.edge import Edge
from web.graphiql import ASSETS_PATH, asset_routes
from web.graphql_http import GRAPHQL_METHODS, GRAPHQL_PATH, GraphQLOverHTTP
from web.graphql_lane import GraphQLLane
from web.graphql_view import AgoraGraphQL
from web.health import healthz, readyz
from web.metrics import metrics_endpoint
from web.server_send import KeepServerSend
from web.startup_failures import NoTracebackForLoggedStartupFailures
from web.tracing import TracingMiddleware

log = get_logger("agora")


# A young collection once this many more objects have been made than freed (Python's
# default is 700). A request frees what it makes (tests/test_request_garbage.py), but a
# page in flight holds thousands at once: at 700, every wide request paid a young
# collection or two, about 0.7 ms each, a tenth of its CPU.
YOUNG_COLLECTION_AFTER = 10_000
# Full collections: one per this many collections of the middle generation (Python's
# default is 10).
FULL_COLLECTION_EVERY = 1000


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings_or_exit()
    configure_logging(settings.log_level, json=settings.is_production)
    # From the OTEL_* variables; before the schema and the stores ask whether it is on.
    tracing = configure_tracing(json=settings.is_production)
    schema = build_schema(production=settings.is_production)
    graphql = AgoraGraphQL(schema, settings)
    graphql_http = GraphQLOverHTTP(schema, settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.jwt_key()  # fail at start-up, not on the first login
        # One trace for start-up (migrations, indexes, unfinished deletions) instead of a
        # root trace per statement; a no-op while tracing is off.
        with tracer().start_as_current_span("agora start-up"):
            try:
                app.state.stores = await open_datastores_for(settings)
            except StartupFailure as failure:
                log.error(str(failure))
                app.state.startup_failure_logged = True
                raise
            await finish_deletions(app.state.stores)
        # What start-up built (the schema, its types, the stores) lives as long as the
        # process: out of the collector's sight, a full collection takes about 2 ms
        # instead of about 150 ms (a pause every few seconds under load).
        gc.freeze()
        # Long-lived objects made since (subscriptions and their cohorts: a few hundred
        # each) are collected as a whole less often: with a thousand cohorts a full
        # collection took 200 ms, every few seconds, and it was the p99 of delivery.
        _, gen1, _ = gc.get_threshold()
        gc.set_threshold(YOUNG_COLLECTION_AFTER, gen1, FULL_COLLECTION_EVERY)
        log.info(
            "agora ready",
            env=settings.app_env,
            relational=app.state.stores.relational.engine.dialect.name,
            documents="external" if settings.mongodb_url else "embedded",
            events="redis" if settings.redis_url else "in-process",
        )
        try:
            yield
        finally:
            await app.state.stores.close()
            log.info("agora stopped")

    return Starlette(
        routes=[
            # First: nearly every request takes it, and the router tries them in order.
            Route(GRAPHQL_PATH, graphql_http, methods=list(GRAPHQL_METHODS)),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint(settings), methods=["GET"]),
            WebSocketRoute(GRAPHQL_PATH, graphql),
            Mount(ASSETS_PATH, routes=asset_routes(production=settings.is_production)),
        ],
        middleware=[
            Middleware(NoTracebackForLoggedStartupFailures),
            Middleware(KeepServerSend),  # outermost for WebSocket messages
            *([Middleware(TracingMiddleware)] if tracing else []),  # spans the rest
            Middleware(
                Edge,
                production=settings.is_production,
                allowed_origins=settings.allowed_origins,
                max_body_bytes=settings.max_body_bytes,
                body_timeout_seconds=settings.body_timeout_seconds,
            ),
            Middleware(GraphQLLane, graphql_http=graphql_http),  # innermost
        ],
        lifespan=lifespan,
    )


def __getattr__(name: str) -> Starlette:
    """`app`: built from the environment's settings on first access, then kept."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    built = create_app()
    globals()["app"] = built
    return built
