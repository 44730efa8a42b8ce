"""GET /metrics on the embedded defaults: what a query, a mutation and a subscription
event count (exactly: a scrape before, one after, and every count that moved is
named), errors by code, the bound on operation names, the event bus's and the SQL
pool's gauges, and who may read /metrics in production."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import Client
from gql import gql as document
from gql.transport.exceptions import TransportQueryError

from datasources.events import InMemoryEventBus, SubscriberTooSlow
from datasources.instrumentation import instrument_engine
from datasources.relational import open_relational_store
from support.accounts import register
from support.apps import app_with
from support.graphql import GraphQLClient
from support.metrics import changes, key, parse, requests, scrape, settled, value
from support.posts import create_post
from support.subscribers import GqlSubscriber, transport
from telemetry import metrics
from web.persisted_documents import document_hash, load_manifest, operation_names

QUERY = "query MetricsPost($id: ID!) { post(id: $id) { id title commentCount } }"
MUTATION = """mutation MetricsComment($input: AddCommentInput!) {
  addComment(input: $input) { comment { id } errors { code } } }"""
SUBSCRIPTION = """subscription MetricsComments($p: ID!) {
  commentAdded(postId: $p) { cursor comment { id body } } }"""
ANONYMOUS_POST = """mutation MetricsAnonymousPost {
  createPost(input: {title: "t", body: "b"}) { post { id } } }"""


@pytest.fixture(autouse=True)
def fresh_operation_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bound on operation names is per process: each test starts as a fresh process
    would, whatever names the tests before it sent."""
    monkeypatch.setattr(metrics, "OPERATION_NAMES", metrics.OperationNames())


def sql_and_mongo(body: dict[str, Any]) -> tuple[int, int]:
    stats = body["extensions"]["queryStats"]
    return stats["sql"], stats["mongo"]


def round_trips(kind: str, operation_type: str, count: int) -> dict[Any, float]:
    """The changes of one round-trip histogram after one operation made `count` of them."""
    name = f"agora_graphql_{kind}"
    moved: dict[Any, float] = {key(f"{name}_count", operation_type=operation_type): 1}
    if count:
        moved[key(f"{name}_sum", operation_type=operation_type)] = count
    for bucket in metrics.ROUND_TRIP_BUCKETS:
        if count <= bucket:
            moved[key(f"{name}_bucket", operation_type=operation_type, le=f"{bucket:.1f}")] = 1
    moved[key(f"{name}_bucket", operation_type=operation_type, le="+Inf")] = 1
    return moved


def latency(transport_name: str, operation_type: str, count: int = 1) -> dict[Any, float]:
    """A latency histogram's changes after `count` requests (its finite buckets depend
    on time and are left out: see `exact`)."""
    labels = {"transport": transport_name, "operation_type": operation_type}
    return {
        key("agora_graphql_request_duration_seconds_count", **labels): count,
        key("agora_graphql_request_duration_seconds_bucket", **labels, le="+Inf"): count,
    }


def exact(moved: dict[Any, float]) -> dict[Any, float]:
    """The changes that do not depend on time: all but the latencies' finite buckets."""
    return {
        k: v
        for k, v in moved.items()
        if not (k[0].endswith("duration_seconds_bucket") and ("le", "+Inf") not in k[1])
    }


async def test_a_query_a_mutation_and_a_subscription_event_count_exactly(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with app_with(request, tmp_path) as (running, http):
        gql = GraphQLClient(http)
        author, commenter = await register(gql, "ma"), await register(gql, "mc")
        post = await create_post(gql, author)
        bus = running.app.state.stores.events
        # The post's event is marked done shortly after, off the mutation's path, on a
        # pooled connection: not while the counts are compared.
        await running.app.state.stores.relay.marked()
        before = await scrape(http)

        queried = await gql(QUERY, {"id": post["id"]})
        assert "errors" not in queried, queried

        subscriber = GqlSubscriber(
            running.ws_url, {"comments": (SUBSCRIPTION, {"p": post["id"]})}
        ).start()
        async with asyncio.timeout(10):
            while bus.subscriber_count() < 1:
                await asyncio.sleep(0.02)
        during = await scrape(http)

        variables = {"input": {"postId": post["id"], "body": "counted"}}
        mutated = await gql(MUTATION, variables, token=commenter.token)
        assert mutated["data"]["addComment"]["errors"] == [], mutated
        await subscriber["comments"].expect_count(1)
        await subscriber.close()
        after = await settled(
            http,
            lambda s: (
                value(s, "agora_websocket_connections")
                == value(before, "agora_websocket_connections")
                and value(s, "agora_subscriptions_active")
                == value(before, "agora_subscriptions_active")
            ),
        )

    # While subscribed: one more connection, one active subscription, started once.
    assert exact(changes(before, during)) == {
        requests(
            transport="http", operation_type="query", operation_name="MetricsPost", outcome="ok"
        ): 1,
        **latency("http", "query"),
        **round_trips("sql_statements", "query", sql_and_mongo(queried)[0]),
        **round_trips("mongodb_commands", "query", sql_and_mongo(queried)[1]),
        requests(
            transport="websocket",
            operation_type="subscription",
            operation_name="MetricsComments",
            outcome="ok",
        ): 1,
        key("agora_websocket_connections"): 1,
        key("agora_subscriptions_active"): 1,
        key("agora_subscriptions_started_total"): 1,
    }

    sql, mongo = sql_and_mongo(queried)
    mutation_sql, mutation_mongo = sql_and_mongo(mutated)
    assert sql > 0 and mutation_sql > 0 and mutation_mongo > 0  # the counts are real ones
    # Afterwards: connection and subscription gone; scrapes counted nothing.
    assert exact(changes(before, after)) == {
        requests(
            transport="http", operation_type="query", operation_name="MetricsPost", outcome="ok"
        ): 1,
        requests(
            transport="http",
            operation_type="mutation",
            operation_name="MetricsComment",
            outcome="ok",
        ): 1,
        requests(
            transport="websocket",
            operation_type="subscription",
            operation_name="MetricsComments",
            outcome="ok",
        ): 1,
        **latency("http", "query"),
        **latency("http", "mutation"),
        **round_trips("sql_statements", "query", sql),
        **round_trips("mongodb_commands", "query", mongo),
        **round_trips("sql_statements", "mutation", mutation_sql),
        **round_trips("mongodb_commands", "mutation", mutation_mongo),
        key("agora_subscriptions_started_total"): 1,
        # The comment, and the post author's notification of it.
        key("agora_events_published_total", event="CommentAdded"): 1,
        key("agora_events_published_total", event="NotificationCreated"): 1,
        key("agora_events_delivered_total", event="CommentAdded"): 1,
        key("agora_subscription_executions_total", event="CommentAdded"): 1,
    }


async def test_errors_count_by_code_and_refused_requests_by_status(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with app_with(request, tmp_path) as (running, http):
        gql = GraphQLClient(http)
        before = await scrape(http)

        unauthenticated = await gql(ANONYMOUS_POST)
        assert [e["extensions"]["code"] for e in unauthenticated["errors"]] == ["UNAUTHENTICATED"]
        unsupported = await http.post(
            "/graphql", content=b"{}", headers={"content-type": "text/plain"}
        )
        assert unsupported.status_code == 415
        syntax = await gql("query MetricsBroken {")
        assert syntax["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
        invalid = await http.post(
            "/graphql",
            json={"query": "query MetricsInvalid { noSuchField }"},
            headers={"accept": "application/graphql-response+json"},
        )
        assert invalid.status_code == 400
        async with Client(transport=transport(running.ws_url)) as session:
            with pytest.raises(TransportQueryError):
                await session.execute(document("subscription MetricsRefused { noSuchField }"))
        after = await settled(
            http,
            lambda s: (
                value(s, "agora_websocket_connections")
                == value(before, "agora_websocket_connections")
            ),
        )

    assert exact(changes(before, after)) == {
        # Executed, with an error: the name is counted.
        requests(
            transport="http",
            operation_type="mutation",
            operation_name="MetricsAnonymousPost",
            outcome="errors",
        ): 1,
        **latency("http", "mutation"),
        **round_trips("sql_statements", "mutation", 0),
        **round_trips("mongodb_commands", "mutation", 0),
        key("agora_graphql_errors_total", transport="http", code="UNAUTHENTICATED"): 1,
        # A request error (4xx): no operation was looked at.
        requests(
            transport="http", operation_type="(none)", operation_name="(none)", outcome="refused"
        ): 1,
        key("agora_graphql_errors_total", transport="http", code="UNSUPPORTED_MEDIA_TYPE"): 1,
        # A syntax error, answered 200 as application/json: no type, no name.
        requests(
            transport="http", operation_type="(none)", operation_name="(none)", outcome="errors"
        ): 1,
        key("agora_graphql_errors_total", transport="http", code="GRAPHQL_PARSE_FAILED"): 1,
        # Invalid, answered 400: its type is known, its name is not counted.
        requests(
            transport="http", operation_type="query", operation_name="(none)", outcome="refused"
        ): 1,
        key("agora_graphql_errors_total", transport="http", code="GRAPHQL_VALIDATION_FAILED"): 1,
        **latency("http", "(none)", count=2),
        **latency("http", "query"),
        # Over WebSocket, refused before it ran.
        requests(
            transport="websocket",
            operation_type="subscription",
            operation_name="(none)",
            outcome="refused",
        ): 1,
        key(
            "agora_graphql_errors_total", transport="websocket", code="GRAPHQL_VALIDATION_FAILED"
        ): 1,
    }
    assert "MetricsAnonymousPost" in metrics.OPERATION_NAMES
    assert "MetricsInvalid" not in metrics.OPERATION_NAMES
    assert "MetricsRefused" not in metrics.OPERATION_NAMES


def test_operation_names_are_bounded_in_number_and_length() -> None:
    names = metrics.OperationNames(limit=2, length=8)
    assert names.label("First") == "First"
    assert names.label("SecondNameTooLong") == "SecondNa"
    assert names.label("Third") == metrics.OTHER  # a third distinct name
    assert names.label("First") == "First"  # names already counted stay
    assert names.label("SecondNameAgain") == "SecondNa"  # the same once cut
    assert names.label(None) == metrics.ANONYMOUS
    assert len(names) == 2


def test_trusted_names_stay_labels_whatever_came_first() -> None:
    names = metrics.OperationNames(limit=2)
    names.trust(["Feed"])
    assert [names.label(f"Flood{i}") for i in range(3)] == ["Flood0", "Flood1", metrics.OTHER]
    assert names.label("Feed") == "Feed"  # not pushed out by the flood


async def test_the_trusted_manifest_names_its_operations_labels(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    documents = [
        "query MetricsTrustedFeed { posts(first: 1) { totalCount } }",
        "mutation MetricsTrustedPost { __typename }",
        "{ __typename }",  # anonymous: no name to trust
        "query {",  # does not parse: refused when sent, no name
    ]
    manifest = tmp_path / "trusted.json"
    manifest.write_text(json.dumps({document_hash(d): d for d in documents}))
    assert operation_names(load_manifest(manifest)) == {"MetricsTrustedFeed", "MetricsTrustedPost"}
    assert "MetricsTrustedFeed" not in metrics.OPERATION_NAMES
    async with app_with(request, tmp_path, trusted_documents_file=manifest):
        assert "MetricsTrustedFeed" in metrics.OPERATION_NAMES
        assert "MetricsTrustedPost" in metrics.OPERATION_NAMES


async def test_a_subscriber_cut_off_for_falling_behind_counts_what_it_lost() -> None:
    bus = InMemoryEventBus(queue_size=2)
    await bus.start()
    before = parse(metrics.exposition()[0].decode())
    events = bus.subscribe("metrics:slow")
    first = asyncio.create_task(anext(events))
    async with asyncio.timeout(5):
        while bus.subscriber_count("metrics:slow") < 1:
            await asyncio.sleep(0.01)
    for n in range(4):  # one read, two buffered, the fourth does not fit
        await bus.publish("metrics:slow", {"n": n})
    assert (await first).data == {"n": 0}
    with pytest.raises(SubscriberTooSlow):
        await anext(events)
    await bus.close()
    assert changes(before, parse(metrics.exposition()[0].decode())) == {
        key("agora_events_dropped_total"): 3,
        key("agora_event_subscribers_cut_off_total"): 1,
    }


async def test_the_sql_pool_gauges_follow_checkouts_and_the_pool_size(tmp_path: Path) -> None:
    before = parse(metrics.exposition()[0].decode())
    store = open_relational_store(f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}")
    instrument_engine(store.engine)
    pool = store.engine.sync_engine.pool
    async with store.engine.connect(), store.engine.connect():
        during = parse(metrics.exposition()[0].decode())
    idle = parse(metrics.exposition()[0].decode())
    await store.close()
    closed = parse(metrics.exposition()[0].decode())
    size = {key("agora_db_pool_size"): pool.size(), key("agora_db_pool_max_overflow"): 10}
    assert changes(before, during) == {key("agora_db_pool_checked_out"): 2, **size}
    assert changes(before, idle) == size
    assert changes(before, closed) == {}


async def test_metrics_in_production_need_the_configured_bearer_token(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    production = {"app_env": "production", "jwt_secret": "p" * 40}
    async with app_with(request, tmp_path / "closed", **production) as (_, http):
        assert (await http.get("/metrics")).status_code == 404
        bearer = {"authorization": "Bearer anything"}
        assert (await http.get("/metrics", headers=bearer)).status_code == 404

    token = "metrics-token-of-this-test"
    async with app_with(request, tmp_path / "open", metrics_token=token, **production) as (
        _,
        http,
    ):
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": token}):
            refused = await http.get("/metrics", headers=headers)
            assert refused.status_code == 401, headers
            assert "agora_" not in refused.text
        samples = await scrape(http, authorization=f"Bearer {token}")
        assert key("agora_websocket_connections") in samples


async def test_metrics_in_development_are_open(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with app_with(request, tmp_path) as (_, http):
        response: httpx.Response = await http.get("/metrics")
        assert response.status_code == 200
        assert "# TYPE agora_graphql_requests_total counter" in response.text
