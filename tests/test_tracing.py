"""OpenTelemetry tracing: the span tree of one query, W3C trace context in and out,
export configured by the standard OTEL_* variables, and nothing at all when off."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from gql import Client
from gql import gql as document
from gql.transport.websockets import WebsocketsTransport
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id

from schema import build_schema
from schema.operation_span import OperationSpan
from support.accounts import register
from support.apps import BACKENDS, RunningApp, app_with, backend_settings, http_client, serving
from support.graphql import GraphQLClient
from support.ids import key_of
from support.posts import create_post
from support.tracing import (
    README_QUERY,
    children,
    context_failures,
    describe,
    finished,
    recording,
    system,
)
from telemetry import tracing
from telemetry.tracing import TracingMiddleware


@pytest.fixture(autouse=True)
def tracing_off_afterwards() -> Iterator[None]:
    yield
    tracing.reset()


async def seed(running: RunningApp, gql: GraphQLClient) -> None:
    """Posts with comments, replies, reactions and profiles: every level of the README
    query reads something."""
    author, commenter = await register(gql), await register(gql)
    author_id, commenter_id = int(key_of(author.id)), int(key_of(commenter.id))
    stores = running.app.state.stores
    await stores.documents.profiles.update(author_id, bio="writes")
    for i in range(3):
        post = await stores.relational.posts.create(author_id, f"post {i}", "body", ["t"], True)
        comment = await stores.documents.comments.add(post.id, commenter_id, "nice", None)
        await stores.documents.comments.add(post.id, author_id, "thanks", comment.id)
        await stores.documents.reactions.add(post.id, commenter_id, "LIKE")


@pytest.mark.parametrize("backend", BACKENDS)
async def test_span_tree_of_the_readme_query(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    with recording() as exporter:
        async with app_with(request, tmp_path, backend) as (running, http):
            await seed(running, GraphQLClient(http))
            exporter.clear()
            response = await http.post("/graphql", json={"query": README_QUERY})
            spans = await finished(exporter)
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    assert body["data"]["posts"]["edges"][0]["node"]["comments"]["edges"], body
    tree = describe(spans)
    print(f"\nspans of the README query ({backend}):\n{tree}")

    (request_span,) = [s for s in spans if s.kind is SpanKind.SERVER]
    assert request_span.name == "POST /graphql" and request_span.parent is None, tree
    (operation,) = [s for s in children(request_span, spans) if s.kind is SpanKind.INTERNAL]
    assert operation.name == "query", tree
    attributes = operation.attributes or {}
    assert attributes["graphql.operation.type"] == "query"
    assert "posts(first: 5)" in str(attributes["graphql.document"])
    assert {s.context.trace_id for s in spans} == {request_span.context.trace_id}, tree

    sql = [s for s in spans if system(s) in {"sqlite", "postgresql"}]
    mongo = [s for s in spans if system(s) == "mongodb"]
    redis = [s for s in spans if system(s) == "redis"]
    assert sql and mongo, tree
    # Every SQL statement and MongoDB command, those of DataLoader batches included,
    # is a client span under the operation span.
    for span in sql + mongo:
        assert span.kind is SpanKind.CLIENT, tree
        assert span.parent is not None and span.parent.span_id == operation.context.span_id, tree
    stats = body["extensions"]["queryStats"]
    assert len(mongo) == stats["mongo"], (stats, tree)
    assert len([s for s in sql if not s.name.startswith("BEGIN")]) == stats["sql"], (stats, tree)
    # Nothing else: the request span, the operation span, and the datastore calls.
    assert {s.context.span_id for s in spans} == {
        request_span.context.span_id,
        operation.context.span_id,
        *(s.context.span_id for s in sql + mongo + redis),
    }, tree
    if backend == "real":
        # The request's rate limit is checked before the operation; the operation
        # charges its cost budget. Both are Redis scripts.
        assert any(s.parent and s.parent.span_id == request_span.context.span_id for s in redis)
        assert any(s.parent and s.parent.span_id == operation.context.span_id for s in redis)
    else:
        assert not redis, tree


TRACE_ID = uuid.uuid4().hex
PARENT_ID = uuid.uuid4().hex[:16]


async def test_an_incoming_traceparent_is_continued_and_answered(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    traceparent = f"00-{TRACE_ID}-{PARENT_ID}-01"
    with recording() as exporter:
        async with app_with(request, tmp_path) as (_, http):
            exporter.clear()  # start-up's statements
            # Probes are not traced, nor is what they ask the datastores.
            assert (await http.get("/readyz")).status_code == 200
            response = await http.post(
                "/graphql",
                json={"query": "query Few { posts(first: 2) { totalCount } }"},
                headers={"traceparent": traceparent, "tracestate": "vendor=abc"},
            )
            spans = await finished(exporter)
    assert response.status_code == 200, response.text
    assert {format_trace_id(s.context.trace_id) for s in spans} == {TRACE_ID}, describe(spans)
    (request_span,) = [s for s in spans if s.kind is SpanKind.SERVER]
    assert request_span.parent is not None and request_span.parent.is_remote
    assert format_span_id(request_span.parent.span_id) == PARENT_ID
    assert request_span.context.trace_state.get("vendor") == "abc"
    (operation,) = children(request_span, spans)
    assert operation.name == "query Few"
    assert (operation.attributes or {})["graphql.operation.name"] == "Few"
    # W3C Trace Context Level 2: the response names the server's span of the trace.
    assert response.headers["traceresponse"] == (
        f"00-{TRACE_ID}-{format_span_id(request_span.context.span_id)}-01"
    )


async def test_websocket_operations_join_the_connections_trace(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The WebSocket connection's span continues the handshake's `traceparent`; its
    operations, a subscription too, are its children."""
    traceparent = f"00-{TRACE_ID}-{PARENT_ID}-01"
    with recording() as exporter, context_failures() as failures:
        async with app_with(request, tmp_path) as (running, http):
            exporter.clear()  # start-up's statements
            gql = GraphQLClient(http)
            author = await register(gql)
            ws = WebsocketsTransport(
                url=running.ws_url,
                init_payload={},
                subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
                headers={"traceparent": traceparent},
                connect_timeout=10,
                close_timeout=5,
            )
            requests = 1
            async with Client(transport=ws) as session:
                assert await session.execute(document("query Mine { viewer { handle } }"))
                published = session.subscribe(
                    document("subscription Published { postPublished { post { title } } }")
                )
                event = asyncio.ensure_future(anext(published))
                while not event.done() and requests < 50:  # until the subscription is live
                    await create_post(gql, author, title=f"probe {requests}")
                    requests += 1
                    await asyncio.wait({event}, timeout=0.2)
                assert (await event)["postPublished"]["post"]["title"].startswith("probe")
                await published.aclose()  # the client completes the subscription
            spans = await finished(exporter, servers=requests + 1)
    tree = describe(spans)
    print(f"\nspans of a WebSocket connection:\n{tree}")
    (connection,) = [s for s in spans if s.name == "WebSocket /graphql"]
    assert connection.kind is SpanKind.SERVER
    assert format_trace_id(connection.context.trace_id) == TRACE_ID
    assert connection.parent is not None and format_span_id(connection.parent.span_id) == PARENT_ID
    operations = children(connection, spans)
    assert [s.name for s in operations] == ["query Mine", "subscription Published"], tree
    # The event was resolved inside the subscription's span.
    assert any(system(s) == "sqlite" for s in children(operations[1], spans)), tree
    assert failures == []


async def test_the_document_is_recorded_without_its_string_literals(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    login = """mutation LogIn {
      login(input: {handleOrEmail: "ada", password: "hunter2-secret"}) { accessToken }
    }"""
    with recording() as exporter:
        async with app_with(request, tmp_path) as (_, http):
            await http.post("/graphql", json={"query": login})
            await http.post("/graphql", json={"query": "{ posts(first: 1) { nope } }"})
            spans = await finished(exporter, servers=2)
    operations = {s.name: s for s in spans if s.kind is SpanKind.INTERNAL}
    document = str((operations["mutation LogIn"].attributes or {})["graphql.document"])
    assert 'password: "***"' in document, document
    recorded = [
        *(value for span in spans for value in (span.attributes or {}).values()),
        *(value for span in spans for event in span.events for value in event.attributes.values()),
    ]
    assert not [value for value in recorded if "hunter2" in str(value)]
    # A client's mistake is recorded on the operation span, but is no fault of the server.
    invalid = operations["query"]
    assert [e.attributes["exception.message"] for e in invalid.events if e.name == "exception"]
    assert invalid.status.status_code is StatusCode.UNSET


async def test_with_tracing_off_nothing_is_installed(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [name for name in os.environ if name.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    async with serving(backend_settings("embedded", tmp_path, request)) as running:
        assert not tracing.tracing_enabled()
        assert not [m for m in running.app.user_middleware if m.cls is TracingMiddleware]
        assert OperationSpan not in build_schema(production=False).extensions
        assert tracing.mongo_command_tracers() == []
        # Tracing on now: an app built while it was off still makes no span at all.
        with recording() as exporter:
            async with http_client(running) as http:
                response = await http.post("/graphql", json={"query": README_QUERY})
            assert response.status_code == 200 and "errors" not in response.json()
            assert "traceresponse" not in response.headers
            assert exporter.get_finished_spans() == ()


@pytest.mark.parametrize(
    ("variables", "exporters"),
    [
        ({}, ()),
        ({"OTEL_SERVICE_NAME": "agora-eu", "OTEL_TRACES_SAMPLER": "always_on"}, ()),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, ("otlp",)),
        ({"OTEL_TRACES_EXPORTER": "console, otlp"}, ("console", "otlp")),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ("otlp",)),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, ("otlp",)),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, ()),
        ({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}, ()),
        ({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "false"}, ("console",)),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
            ("otlp",),
        ),
    ],
)
def test_the_standard_variables_decide_the_exporters(
    variables: dict[str, str], exporters: tuple[str, ...]
) -> None:
    assert tracing.exporter_names(variables) == exporters


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER"),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
            },
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        ),
    ],
)
def test_a_value_that_cannot_be_honoured_stops_start_up(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variables: dict[str, str],
    named: str,
) -> None:
    """What `create_app` calls first. (Not through create_app: that would bind the
    app's log output to pytest's captured stderr, closed after this test.)"""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        tracing.configure_or_exit()
    assert exited.value.code == 2
    assert capsys.readouterr().err.startswith(f"agora: {named}: ")
    assert not tracing.tracing_enabled()


def test_spans_are_exported_over_otlp_http_as_the_variables_say(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    named_service = any(
        name in os.environ for name in ("OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES")
    )
    received: list[tuple[str, str, str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append(
                (self.path, self.headers["content-type"], self.headers["x-tenant"], body)
            )
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    collector = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    try:
        for name in [name for name in os.environ if name.startswith("OTEL_")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv(
            "OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{collector.server_port}"
        )
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=agora")
        assert tracing.configure() and tracing.configure()  # the second changes nothing
        with tracing.tracer("test").start_as_current_span("exported"):
            pass
        tracing.reset()  # shuts the batch processor down: it exports what it holds
    finally:
        collector.shutdown()
        collector.server_close()
    ((path, content_type, tenant, body),) = received
    assert (path, content_type, tenant) == ("/v1/traces", "application/x-protobuf", "agora")
    exported = ExportTraceServiceRequest.FromString(body)
    (resource_spans,) = exported.resource_spans
    assert [span.name for scope in resource_spans.scope_spans for span in scope.spans] == [
        "exported"
    ]
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert named_service or resource["service.name"] == "agora"
