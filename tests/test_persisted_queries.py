"""Persisted documents on /graphql: Apollo's automatic persisted queries, and trusted documents.

- Apollo Client 4 (`PersistedQueryLink`, tests/js/apollo_persisted.mjs, run by Node) over
  POST and over GET (`useGETForHashedQueries`): the first run is refused with
  PERSISTED_QUERY_NOT_FOUND and retried with the document, the second is hash-only, and
  both get the right data. The script records every HTTP request it makes.
- The protocol with plain httpx: unknown hashes, a hash that does not match its document
  (refused before anything runs, and not remembered), GET never running a mutation.
- Trusted documents (TRUSTED_DOCUMENTS_FILE + TRUSTED_DOCUMENTS_ONLY): manifest documents
  run by hash, by documentId and by full text; anything else is 403 FORBIDDEN, and no
  request can add a hash.

Needs Node.js 20+ and `npm ci` in tests/js (a skip locally, a failure with CI=true).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

import cli
from support.accounts import register
from support.apps import RunningApp, app_with
from support.graphql import GraphQLClient
from support.node import JS_DIR, run_node

APOLLO_SCRIPT = JS_DIR / "apollo_persisted.mjs"

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON_MEDIA = "application/json"
NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def persisted(document_hash: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": document_hash}}


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------------------
# Apollo Client 4 with PersistedQueryLink
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["post", "get"])
async def test_apollo_client_persisted_queries(
    mode: str, node: str, app_server: RunningApp, gql: GraphQLClient
) -> None:
    user = await register(gql, "apq")
    # A name of its own: a hash the server has never seen, whatever ran before.
    operation = unique_name("ApqUser")
    query = (
        f"query {operation}($handle: String!) {{ user(handle: $handle) {{ handle displayName }} }}"
    )
    spec = {"query": query, "variables": {"handle": user.handle}, "runs": 2}

    run = await run_node(node, APOLLO_SCRIPT, app_server.graphql_url, mode, json.dumps(spec))
    output = run.output()
    assert run.returncode == 0, f"Apollo Client failed: {run.describe()}"

    name = f"Name of {user.handle}"
    expected = {"user": {"__typename": "User", "handle": user.handle, "displayName": name}}
    assert [result["data"] for result in output["results"]] == [expected, expected], output

    hashed_method = "GET" if mode == "get" else "POST"
    requests = output["requests"]
    first = [r for r in requests if r["run"] == 1]
    second = [r for r in requests if r["run"] == 2]
    summary = json.dumps(requests, indent=2)
    # Run 1: hash only (refused as not found), then the retry with the document.
    assert len(first) == 2, summary
    probe, retry = first
    assert (probe["method"], probe["hasQuery"]) == (hashed_method, False), summary
    assert probe["hash"] is not None and len(probe["hash"]) == 64, summary
    assert probe["errorCodes"] == [NOT_FOUND], summary
    assert probe["status"] == 200, summary
    assert (retry["method"], retry["hasQuery"], retry["hash"]) == ("POST", True, probe["hash"])
    assert (retry["status"], retry["errorCodes"], retry["hasData"]) == (200, [], True), summary
    # Run 2: the hash alone is enough now.
    assert len(second) == 1, summary
    [again] = second
    assert (again["method"], again["hasQuery"], again["hash"]) == (
        hashed_method,
        False,
        probe["hash"],
    ), summary
    assert (again["status"], again["errorCodes"], again["hasData"]) == (200, [], True), summary
    assert output["counts"] == {
        "total": 3,
        "withQuery": 1,
        "hashOnly": 2,
        "GET": 2 if mode == "get" else 0,
        "POST": 1 if mode == "get" else 3,
    }, summary


# ---------------------------------------------------------------------------
# The protocol, with plain httpx (development app, automatic persisted queries)
# ---------------------------------------------------------------------------


async def post(
    http: httpx.AsyncClient, body: dict[str, Any], accept: str = GRAPHQL_RESPONSE
) -> httpx.Response:
    return await http.post("/graphql", json=body, headers={"accept": accept})


async def get(
    http: httpx.AsyncClient, params: dict[str, Any], accept: str = GRAPHQL_RESPONSE
) -> httpx.Response:
    encoded = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    return await http.get("/graphql", params=encoded, headers={"accept": accept})


Send = Callable[[httpx.AsyncClient, dict[str, Any], str], Awaitable[httpx.Response]]


def error_codes(response: httpx.Response) -> list[str | None]:
    body = response.json()
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


def assert_anonymous_viewer(response: httpx.Response) -> None:
    """The answer of `{ viewer { id } }` to an anonymous request, without errors."""
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"viewer": None}, response.text
    assert "errors" not in response.json(), response.text


def assert_not_found(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    body = response.json()
    assert error_codes(response) == [NOT_FOUND], response.text
    assert body["errors"][0]["message"] == "PersistedQueryNotFound", response.text
    assert body.get("data") is None, response.text


async def user_exists(http: httpx.AsyncClient, handle: str) -> bool:
    response = await post(
        http,
        {"query": "query($h: String!) { user(handle: $h) { handle } }", "variables": {"h": handle}},
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["user"] is not None


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_unknown_hash_is_persisted_query_not_found(
    method: str, http: httpx.AsyncClient
) -> None:
    digest = sha256(f"query {unique_name('Never')} {{ __typename }}")
    for accept in (GRAPHQL_RESPONSE, JSON_MEDIA):
        if method == "POST":
            response = await post(http, {"extensions": persisted(digest)}, accept)
        else:
            response = await get(http, {"extensions": persisted(digest)}, accept)
        assert_not_found(response)
        assert response.headers["content-type"].startswith(accept), response.headers


async def test_registered_hash_runs_over_post_and_get(http: httpx.AsyncClient) -> None:
    query = f"query {unique_name('Registered')} {{ viewer {{ id }} }}"
    digest = sha256(query)
    assert_anonymous_viewer(await post(http, {"query": query, "extensions": persisted(digest)}))
    for response in (
        await post(http, {"extensions": persisted(digest)}),
        await get(http, {"extensions": persisted(digest)}),
        await post(http, {"extensions": persisted(digest.upper())}),
    ):
        assert_anonymous_viewer(response)


async def test_registering_over_get(http: httpx.AsyncClient) -> None:
    query = f"query {unique_name('ViaGet')} {{ viewer {{ id }} }}"
    digest = sha256(query)
    assert_anonymous_viewer(await get(http, {"query": query, "extensions": persisted(digest)}))
    assert_anonymous_viewer(await get(http, {"extensions": persisted(digest)}))


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON_MEDIA])
async def test_hash_not_matching_the_document_is_refused_unexecuted(
    accept: str, http: httpx.AsyncClient
) -> None:
    handle = unique_name("mismatch").lower()
    mutation = (
        "mutation { register(input: {"
        f'handle: "{handle}", email: "{handle}@example.com", '
        'password: "correct horse battery", displayName: "Mismatch"}) '
        "{ user { id } errors { code } } }"
    )
    # The hash of another document, never sent to the server.
    other = f"query {unique_name('Other')} {{ __typename }}"
    response = await post(http, {"query": mutation, "extensions": persisted(sha256(other))}, accept)
    assert response.headers["content-type"].startswith(accept), response.headers
    body = response.json()
    assert "data" not in body, response.text
    assert body["errors"][0]["message"] == "provided sha256Hash does not match the document"
    assert not await user_exists(http, handle), "the mutation ran despite the hash mismatch"
    # And nothing was remembered under that hash.
    assert_not_found(await post(http, {"extensions": persisted(sha256(other))}))
    # A request error, whatever the media type (as Apollo Server answers: 400).
    assert 400 <= response.status_code < 500, (
        f"hash/document mismatch with Accept: {accept} answered "
        f"{response.status_code}: {response.text}"
    )


async def test_a_persisted_mutation_never_runs_over_get(http: httpx.AsyncClient) -> None:
    handle = unique_name("getmut").lower()
    mutation = (
        f"mutation {unique_name('Reg')}($h: String!, $e: String!) {{ register(input: {{"
        'handle: $h, email: $e, password: "correct horse battery", displayName: "Via GET"}) '
        "{ user { id } errors { code } } }"
    )
    digest = sha256(mutation)
    variables = {"h": f"{handle}_a", "e": f"{handle}_a@example.com"}
    stored = await post(
        http, {"query": mutation, "variables": variables, "extensions": persisted(digest)}
    )
    assert stored.status_code == 200, stored.text
    assert stored.json()["data"]["register"]["errors"] == [], stored.text
    variables = {"h": f"{handle}_b", "e": f"{handle}_b@example.com"}
    response = await get(http, {"variables": variables, "extensions": persisted(digest)})
    assert response.status_code == 405, response.text
    assert response.headers.get("allow") == "POST"
    assert "data" not in response.json(), response.text
    assert not await user_exists(http, f"{handle}_b")


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}},
        {"persistedQuery": {"version": 1, "sha256Hash": "abc"}},
        {"persistedQuery": "yes"},
    ],
)
async def test_malformed_persisted_query_extension_is_400(
    extensions: dict[str, Any], http: httpx.AsyncClient
) -> None:
    response = await post(http, {"extensions": extensions})
    assert response.status_code == 400, response.text
    assert "data" not in response.json()


# ---------------------------------------------------------------------------
# Trusted documents only
# ---------------------------------------------------------------------------

TRUSTED_VIEWER = "query TrustedViewer { viewer { id } }"
TRUSTED_USER = "query TrustedUser($handle: String!) { user(handle: $handle) { handle } }"
UNTRUSTED = "query Untrusted { viewer { id handle } }"
UNTRUSTED_REGISTER = (
    "mutation Untrusted($h: String!, $e: String!) { register(input: {"
    'handle: $h, email: $e, password: "correct horse battery", displayName: "Untrusted"}) '
    "{ user { id } errors { code } } }"
)


@pytest.fixture(scope="module")
async def trusted(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app of this module's own that runs trusted documents only."""
    directory = tmp_path_factory.mktemp("trusted")
    # The manifest is built as an operator would: `agora trust` with a .graphql file and
    # with the persisted-documents.json that GraphQL Codegen's client preset writes.
    viewer_file = directory / "viewer.graphql"
    viewer_file.write_text(TRUSTED_VIEWER, encoding="utf-8")
    codegen = directory / "persisted-documents.json"
    codegen.write_text(json.dumps({sha256(TRUSTED_USER): TRUSTED_USER}), encoding="utf-8")
    manifest = directory / "trusted.json"
    assert cli.main(["trust", str(viewer_file), str(codegen), "--manifest", str(manifest)]) == 0
    async with app_with(
        request, directory / "data", trusted_documents_file=manifest, trusted_documents_only=True
    ) as (_, client):
        yield client


def assert_forbidden(response: httpx.Response, accept: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith(accept), response.headers
    body = response.json()
    assert "data" not in body, response.text
    assert error_codes(response) == ["FORBIDDEN"], response.text


TRUSTED_DIGEST = sha256(TRUSTED_VIEWER)


@pytest.mark.parametrize(
    ("send", "body", "accept"),
    [
        (post, {"extensions": persisted(TRUSTED_DIGEST)}, GRAPHQL_RESPONSE),
        (post, {"extensions": persisted(TRUSTED_DIGEST)}, JSON_MEDIA),
        (get, {"extensions": persisted(TRUSTED_DIGEST)}, GRAPHQL_RESPONSE),
        (post, {"documentId": f"sha256:{TRUSTED_DIGEST}"}, GRAPHQL_RESPONSE),
        (
            post,
            {"query": TRUSTED_VIEWER, "extensions": persisted(TRUSTED_DIGEST)},
            GRAPHQL_RESPONSE,
        ),
    ],
    ids=["POST", "POST as JSON", "GET", "documentId", "with its text"],
)
async def test_trusted_document_runs_by_hash(
    trusted: httpx.AsyncClient, send: Send, body: dict[str, Any], accept: str
) -> None:
    assert_anonymous_viewer(await send(trusted, body, accept))


@pytest.mark.parametrize(
    ("send", "body", "expected"),
    [
        (post, {"query": TRUSTED_VIEWER}, {"viewer": None}),
        (get, {"query": TRUSTED_VIEWER}, {"viewer": None}),
        (post, {"query": TRUSTED_USER, "variables": {"handle": "nobody"}}, {"user": None}),
    ],
    ids=["POST", "GET", "with variables"],
)
async def test_trusted_document_runs_by_full_text(
    trusted: httpx.AsyncClient, send: Send, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    response = await send(trusted, body, GRAPHQL_RESPONSE)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    assert response.json()["data"] == expected


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON_MEDIA])
async def test_document_outside_the_manifest_is_forbidden(
    accept: str, trusted: httpx.AsyncClient
) -> None:
    assert_forbidden(await post(trusted, {"query": UNTRUSTED}, accept), accept)
    assert_forbidden(await get(trusted, {"query": UNTRUSTED}, accept), accept)
    # A mutation outside the manifest does not run either.
    handle = unique_name("untrusted").lower()
    variables = {"h": handle, "e": f"{handle}@example.com"}
    response = await post(trusted, {"query": UNTRUSTED_REGISTER, "variables": variables}, accept)
    assert_forbidden(response, accept)
    lookup = await post(
        trusted,
        {"extensions": persisted(sha256(TRUSTED_USER)), "variables": {"handle": handle}},
    )
    assert lookup.status_code == 200, lookup.text
    assert lookup.json()["data"] == {"user": None}, "an untrusted mutation ran"


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON_MEDIA])
async def test_new_hashes_cannot_be_registered(accept: str, trusted: httpx.AsyncClient) -> None:
    query = f"query {unique_name('Sneaky')} {{ viewer {{ id }} }}"
    digest = sha256(query)
    attempt = await post(trusted, {"query": query, "extensions": persisted(digest)}, accept)
    assert_forbidden(attempt, accept)
    assert_not_found(await post(trusted, {"extensions": persisted(digest)}, accept))
    assert_not_found(await get(trusted, {"extensions": persisted(digest)}, accept))
    # Nor over GET.
    attempt = await get(trusted, {"query": query, "extensions": persisted(digest)}, accept)
    assert_forbidden(attempt, accept)
    assert_not_found(await post(trusted, {"extensions": persisted(digest)}, accept))


async def test_trusted_hash_with_another_document_is_refused(trusted: httpx.AsyncClient) -> None:
    """A manifest hash does not vouch for a different text sent with it."""
    response = await post(
        trusted, {"query": UNTRUSTED, "extensions": persisted(sha256(TRUSTED_VIEWER))}
    )
    assert 400 <= response.status_code < 500, response.text
    assert "data" not in response.json(), response.text
