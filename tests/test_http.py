"""The HTTP surface: health, readiness, GraphiQL, bad requests, limits, request ids."""

from __future__ import annotations

import base64

import httpx
import pytest

from support.apps import RunningApp
from support.graphql import GraphQLClient


async def test_healthz(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_every_datastore(http: httpx.AsyncClient) -> None:
    response = await http.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"relational": "ok", "documents": "ok", "events": "ok"}


async def test_graphiql_in_development(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_query_over_get_but_not_mutation(http: httpx.AsyncClient) -> None:
    ok = await http.get("/graphql", params={"query": "{ viewer { id } }"})
    assert ok.status_code == 200
    assert ok.json()["data"] == {"viewer": None}
    refused = await http.get(
        "/graphql",
        params={"query": 'mutation { logout(refreshToken: "x") { success } }'},
    )
    assert refused.status_code in {400, 405}
    assert "mutation" in refused.text.lower()


async def test_malformed_json_is_400(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "Traceback" not in response.text


async def test_syntax_and_validation_errors_have_codes(gql: GraphQLClient) -> None:
    syntax = await gql("{ viewer { ")
    assert syntax["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    unknown = await gql("{ nope }")
    assert unknown["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "nope" in unknown["errors"][0]["message"]


async def test_wrong_variable_types_are_bad_user_input(gql: GraphQLClient) -> None:
    body = await gql(
        "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
        {"i": {"handleOrEmail": 42, "password": ["x"]}},
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "data" not in body or body["data"] is None


async def test_invalid_global_id_is_bad_user_input(gql: GraphQLClient) -> None:
    body = await gql('{ node(id: "%%%") { id } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await gql('{ node(id: "VXNlcjo5OTk5OTk5") { id } }'))["data"]["node"] is None


async def test_deep_queries_are_refused(gql: GraphQLClient) -> None:
    deep = "{ viewer " + "{ profile { bio } " * 1 + "}" * 1 + " }"
    assert "errors" not in await gql(deep)
    nested = "query { " + "viewer { " * 14 + "id" + " }" * 14 + " }"
    body = await gql(nested)
    assert body["errors"][0]["extensions"]["code"] in {
        "QUERY_TOO_COMPLEX",
        "GRAPHQL_VALIDATION_FAILED",
    }
    aliases = "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(40)) + " }"
    body = await gql(aliases)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_oversized_body_is_413(http: httpx.AsyncClient, app_server: RunningApp) -> None:
    padding = "x" * (app_server.settings.max_body_bytes + 1)
    response = await http.post("/graphql", json={"query": "{ viewer { id } }", "pad": padding})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_request_id_is_returned_and_kept(http: httpx.AsyncClient) -> None:
    generated = await http.post("/graphql", json={"query": "{ viewer { id } }"})
    assert len(generated.headers["x-request-id"]) >= 8
    kept = await http.post(
        "/graphql",
        json={"query": "{ viewer { id } }"},
        headers={"x-request-id": "client-chosen-id-123"},
    )
    assert kept.headers["x-request-id"] == "client-chosen-id-123"
    hostile = await http.get("/healthz", headers={"x-request-id": "bad id\twith junk"})
    assert hostile.headers["x-request-id"] != "bad id\twith junk"


async def test_cors_preflight_only_for_allowed_origins(http: httpx.AsyncClient) -> None:
    response = await http.options(
        "/graphql",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in response.headers


async def test_queries_that_could_return_too_much_are_refused(gql: GraphQLClient) -> None:
    fan_out = """
    query($n: Int) { users(first: $n) { edges { node {
      followers(first: $n) { edges { node { followers(first: $n) { edges { node { id } } } } } }
    } } } }"""
    refused = await gql(fan_out, {"n": 100})
    assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert refused.get("data") is None
    # The same shape with small pages is fine.
    allowed = await gql(fan_out, {"n": 5})
    assert "errors" not in allowed, allowed


@pytest.mark.parametrize(
    "query",
    [
        '{ users(search: "a\\u0000") { totalCount } }',
        '{ posts(search: "a\\u0000") { totalCount } }',
        '{ user(handle: "a\\u0000b") { id } }',
        'mutation { login(input: {handleOrEmail: "x\\u0000", password: "y"}) { accessToken } }',
    ],
    ids=["users search", "posts search", "user handle", "login"],
)
async def test_nul_characters_are_bad_input_on_every_store(gql: GraphQLClient, query: str) -> None:
    body = await gql(query)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (query, body)
    assert body["errors"][0]["message"] == "text must not contain NUL characters"


async def test_ids_with_non_ascii_digits_are_bad_input(gql: GraphQLClient) -> None:
    weird = base64.urlsafe_b64encode("Post:²".encode()).decode().rstrip("=")
    body = await gql("query($id: ID!) { post(id: $id) { id } node(id: $id) { id } }", {"id": weird})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert body["data"] == {"post": None, "node": None}


async def test_one_password_check_per_operation(gql: GraphQLClient) -> None:
    logins = " ".join(
        f'l{i}: login(input: {{handleOrEmail: "nobody{i}", password: "whatever12"}}) '
        "{ accessToken }"
        for i in range(3)
    )
    body = await gql(f"mutation {{ {logins} }}")
    # The second login is refused (and, its field being non-null, nothing runs after it).
    assert [e["extensions"]["code"] for e in body["errors"]] == ["RATE_LIMITED"]
    assert body["errors"][0]["path"] == ["l1"]


async def test_subscriptions_over_http_are_refused(gql: GraphQLClient) -> None:
    body = await gql("subscription { postPublished { cursor } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "WebSocket" in body["errors"][0]["message"]
