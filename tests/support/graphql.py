"""GraphQL over HTTP the way a frontend posts it, and reading what comes back."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from support.accounts import Session

PAGE_INFO = "pageInfo { hasNextPage endCursor hasPreviousPage startCursor }"


class GraphQLClient:
    """Posts GraphQL over HTTP the way a frontend does."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        response = await self.raw(query, variables, token)
        assert response.status_code == 200, response.text
        return response.json()


async def data(
    gql: GraphQLClient,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """The `data` of a request that must not fail."""
    body = await gql(query, variables, token=token)
    assert "errors" not in body, body
    return body["data"]


async def succeeded(
    gql: GraphQLClient, mutation: str, variables: dict[str, Any], who: Session, name: str
) -> dict[str, Any]:
    """The `name` payload of a mutation made by `who`, which must report no errors."""
    payload = (await data(gql, mutation, variables, who.token))[name]
    assert payload["errors"] == [], payload
    return payload


def codes(payload: dict[str, Any]) -> list[str]:
    """The codes of a mutation payload's `errors` (the user errors it reports)."""
    return [error["code"] for error in payload["errors"]]


def top_level_code(body: dict[str, Any]) -> str:
    """The code of the first GraphQL error of a response body, which must have one."""
    assert body.get("errors"), body
    return body["errors"][0]["extensions"]["code"]


def node_ids(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


def parse_time(value: str) -> datetime:
    """A DateTime the API returned (ISO 8601, with its offset)."""
    return datetime.fromisoformat(value)
