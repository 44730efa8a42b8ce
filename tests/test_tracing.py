"""OpenTelemetry tracing: the span tree of one query, W3C trace context in and out,
no secrets in spans, export configured by the standard OTEL_* variables, and nothing
installed (nor any instrumentation package imported) when off."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from gql import Client
from gql import gql as document
from gql.transport.websockets import WebsocketsTransport
from opentelemetry.instrumentation._semconv import (
    _OpenTelemetrySemanticConventionStability,
    _OpenTelemetryStabilitySignalType,
    _StabilityMode,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id
from sqlalchemy import text

from datasources.relational import open_relational_store
from datasources.tracing import mongo_command_tracers
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
    recorded,
    recording,
    system,
)
from telemetry import tracing
from web.tracing import TracingMiddleware

ROOT = Path(__file__).resolve().parents[1]


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


async def test_start_up_is_one_trace(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Migrations, index creation and the sweep of unfinished deletions: under one
    start-up span, not a root trace per statement."""
    with recording() as exporter:
        async with app_with(request, tmp_path):
            spans = list(exporter.get_finished_spans())  # start-up has ended by now
    tree = describe(spans)
    (start_up,) = [s for s in spans if s.name == "agora start-up"]
    assert start_up.parent is None, tree
    calls = [s for s in spans if system(s) in {"sqlite", "postgresql", "mongodb"}]
    assert any(system(s) == "mongodb" for s in calls) and len(calls) > 5, tree
    assert {s.context.trace_id for s in calls} == {start_up.context.trace_id}, tree


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
    assert not [value for value in recorded(spans) if "hunter2" in value]
    # A client's mistake is recorded on the operation span by its code alone, and is no
    # fault of the server.
    invalid = operations["query"]
    assert [dict(e.attributes or {}) for e in invalid.events] == [
        {"graphql.error.code": "GRAPHQL_VALIDATION_FAILED"}
    ]
    assert [e.name for e in invalid.events] == ["graphql.error"]
    assert invalid.status.status_code is StatusCode.UNSET


@pytest.mark.parametrize(
    "semconv", [_StabilityMode.DEFAULT, _StabilityMode.HTTP_DUP], ids=["old", "old+new"]
)
async def test_a_get_requests_query_string_is_not_recorded(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    semconv: _StabilityMode,
) -> None:
    """GraphQL over GET carries the document and the variables in the query string:
    the request span records the path alone, in the old HTTP conventions (`http.url`,
    `http.target`) and in the new ones (`url.path`, and no `url.query`)."""
    _OpenTelemetrySemanticConventionStability._initialize()  # else it would undo this
    monkeypatch.setitem(
        _OpenTelemetrySemanticConventionStability._OTEL_SEMCONV_STABILITY_SIGNAL_MAPPING,
        _OpenTelemetryStabilitySignalType.HTTP,
        semconv,
    )
    query = """query Find($secret: String!) {
      user(handle: $secret) { handle }
      posts(first: 1, search: "hunter2-literal") { totalCount }
    }"""
    with recording() as exporter:
        async with app_with(request, tmp_path) as (_, http):
            exporter.clear()
            response = await http.get(
                "/graphql",
                params={"query": query, "variables": json.dumps({"secret": "hunter2"})},
            )
            spans = await finished(exporter)
    # The app itself still got the query string.
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"user": None, "posts": {"totalCount": 0}}
    tree = describe(spans)
    assert not [value for value in recorded(spans) if "hunter2" in value], tree
    (request_span,) = [s for s in spans if s.kind is SpanKind.SERVER]
    attributes = request_span.attributes or {}
    if semconv is _StabilityMode.DEFAULT:
        assert str(attributes["http.url"]).endswith("/graphql"), attributes
        assert attributes["http.target"] == "/graphql", attributes
    else:
        assert attributes["url.path"] == "/graphql", attributes
        assert "url.query" not in attributes, attributes
    assert request_span.name == "GET /graphql"


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ("query Few($first: Int) { posts(first: $first) { totalCount } }", {"first": "hunter2"}),
        (
            "mutation LogIn($input: LoginInput!) { login(input: $input) { accessToken } }",
            {"input": {"handleOrEmail": "ada", "password": ["hunter2"]}},
        ),
    ],
    ids=["scalar", "input-field"],
)
async def test_a_variable_that_cannot_be_coerced_is_recorded_by_its_code_alone(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    document: str,
    variables: dict[str, object],
) -> None:
    """The coercion error quotes the value the client sent (the client is told it):
    the span gets an event with the error's code, and no message."""
    with recording() as exporter:
        async with app_with(request, tmp_path) as (_, http):
            exporter.clear()
            response = await http.post("/graphql", json={"query": document, "variables": variables})
            spans = await finished(exporter)
    [error] = response.json()["errors"]
    assert "hunter2" in error["message"] and error["extensions"]["code"] == "BAD_USER_INPUT"
    tree = describe(spans)
    assert not [value for value in recorded(spans) if "hunter2" in value], tree
    (operation,) = [s for s in spans if s.kind is SpanKind.INTERNAL]
    assert [(e.name, dict(e.attributes or {})) for e in operation.events] == [
        ("graphql.error", {"graphql.error.code": "BAD_USER_INPUT"})
    ]
    assert operation.status.status_code is StatusCode.UNSET


async def test_a_fault_is_recorded_as_an_exception(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A bug (here: a table gone) is what the message and stack trace are for."""
    with recording() as exporter:
        async with app_with(request, tmp_path) as (running, http):
            store = open_relational_store(running.settings.sqlalchemy_url)
            try:
                async with store.engine.begin() as connection:
                    await connection.execute(text("ALTER TABLE users RENAME TO users_gone"))
            finally:
                await store.close()
            exporter.clear()
            response = await http.post("/graphql", json={"query": '{ user(handle: "a") { id } }'})
            spans = await finished(exporter)
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    (operation,) = [s for s in spans if s.kind is SpanKind.INTERNAL]
    [event] = operation.events
    attributes = event.attributes or {}
    assert event.name == "exception", describe(spans)
    assert attributes["graphql.error.code"] == "INTERNAL_SERVER_ERROR"
    assert "no such table" in str(attributes["exception.message"])
    assert "Traceback" in str(attributes["exception.stacktrace"])
    assert operation.status.status_code is StatusCode.ERROR


async def test_with_tracing_off_nothing_is_installed(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [name for name in os.environ if name.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    async with serving(backend_settings("embedded", tmp_path, request)) as running:
        assert not tracing.tracing_enabled()
        assert not [m for m in running.app.user_middleware if m.cls is TracingMiddleware]
        assert OperationSpan not in build_schema(production=False).extensions
        assert mongo_command_tracers() == []
        # Tracing on now: an app built while it was off still makes no span at all.
        with recording() as exporter:
            async with http_client(running) as http:
                response = await http.post("/graphql", json={"query": README_QUERY})
            assert response.status_code == 200 and "errors" not in response.json()
            assert "traceresponse" not in response.headers
            assert exporter.get_finished_spans() == ()


def test_with_tracing_off_no_instrumentation_package_is_imported() -> None:
    """Only the OpenTelemetry API and SDK are: what the app imports, the schema it
    builds and the stores' tracing hooks leave the instrumentation packages, the
    exporters and the operation span's module unimported (in a fresh process)."""
    check = """
import sys
import app, schema
from datasources import tracing as stores
from telemetry import tracing
assert not tracing.configure()
schema.build_schema(production=False)
assert stores.mongo_command_tracers() == []
stores.trace_redis()
print(sorted(
    name for name in sys.modules
    if name.startswith(("opentelemetry.instrumentation", "opentelemetry.exporter"))
    or name == "schema.operation_span"
))
"""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", check],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


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
