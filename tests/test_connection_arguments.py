"""Connection arguments (`first`, `after`) are checked on every listing: each bad value is
refused with BAD_USER_INPUT. Every kind of bad cursor on `posts`; a sample of them on the
other listings (the same checks serve them all)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from support.accounts import register_many
from support.apps import RunningApp
from support.comments import add_comment
from support.follows import follow
from support.graphql import GraphQLClient, data
from support.posts import create_post

CONN = "edges { cursor } pageInfo { endCursor } totalCount"
# Each listing, with $f (first) and $a (after), and what else it needs (see `listings`).
CONNECTIONS = {
    "posts": "query($f: Int, $a: String) { posts(first: $f, after: $a) { CONN } }",
    "users": "query($f: Int, $a: String) { users(first: $f, after: $a) { CONN } }",
    "feed": "query($f: Int, $a: String) { feed(first: $f, after: $a) { CONN } }",
    "notifications": "query($f: Int, $a: String) { notifications(first: $f, after: $a) { CONN } }",
    "user.posts": "query($f: Int, $a: String, $h: String!) "
    "{ user(handle: $h) { posts(first: $f, after: $a) { CONN } } }",
    "user.followers": "query($f: Int, $a: String, $h: String!) "
    "{ user(handle: $h) { followers(first: $f, after: $a) { CONN } } }",
    "user.following": "query($f: Int, $a: String, $h: String!) "
    "{ user(handle: $h) { following(first: $f, after: $a) { CONN } } }",
    "post.comments": "query($f: Int, $a: String, $p: ID!) "
    "{ post(id: $p) { comments(first: $f, after: $a) { CONN } } }",
    "comment.replies": "query($f: Int, $a: String, $c: ID!) "
    "{ node(id: $c) { ... on Comment { replies(first: $f, after: $a) { CONN } } } }",
}


def query_of(name: str) -> str:
    return CONNECTIONS[name].replace("CONN", CONN)


def raw_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def tampered(cursor: str) -> list[str]:
    """Cursors a client could forge from a real one: the listing kept, the position not.

    Cursors are opaque; if this one is not base64 JSON there is nothing to tamper with."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        return []
    if not isinstance(decoded, list) or not decoded:
        return []
    tag = decoded[0]
    return [
        raw_cursor([tag]),
        raw_cursor([tag, "yesterday", 1]),
        raw_cursor([tag, 1.5]),
        raw_cursor([tag, None, None]),
        raw_cursor([tag, *decoded[1:], "extra"]),
        raw_cursor([tag, {"$gt": ""}]),
    ]


def find_connection(result: dict[str, Any]) -> dict[str, Any]:
    while "edges" not in result:
        [result] = result.values()
    return result


def code_of(body: dict[str, Any]) -> str:
    errors = body.get("errors") or [{"extensions": {"code": "no error"}}]
    return errors[0]["extensions"]["code"]


@dataclass
class Listings:
    """Every listing with an item in it, as alice (`token`) sees it: the variables each
    needs besides $f and $a, and the cursor of its first item."""

    token: str
    variables: dict[str, dict[str, Any]]
    cursors: dict[str, str]


@pytest.fixture(scope="module")
async def listings(app_server: RunningApp) -> AsyncIterator[Listings]:
    async with httpx.AsyncClient(base_url=app_server.url, timeout=30) as http:
        gql = GraphQLClient(http)
        alice, bob = await register_many(gql, 2)
        post = await create_post(gql, alice)
        comment = await add_comment(gql, bob, post["id"], "top")
        await add_comment(gql, alice, post["id"], "reply", parent_id=comment["id"])
        await follow(gql, bob, alice.id)
        await follow(gql, alice, bob.id)
        await create_post(gql, bob)  # so that alice's feed has an item

        variables: dict[str, dict[str, Any]] = {name: {} for name in CONNECTIONS}
        for name in ("user.posts", "user.followers", "user.following"):
            variables[name] = {"h": alice.handle}
        variables["post.comments"] = {"p": post["id"]}
        variables["comment.replies"] = {"c": comment["id"]}
        cursors: dict[str, str] = {}
        for name in CONNECTIONS:
            query = query_of(name)
            ok = find_connection(await data(gql, query, {**variables[name], "f": 100}, alice.token))
            assert ok["edges"], name  # every listing has an item, so a cursor to reuse
            cursors[name] = ok["edges"][0]["cursor"]
        yield Listings(alice.token, variables, cursors)


@pytest.mark.parametrize("name", list(CONNECTIONS))
async def test_a_listing_takes_its_own_cursor(
    gql: GraphQLClient, listings: Listings, name: str
) -> None:
    variables = {**listings.variables[name], "a": listings.cursors[name]}
    assert "errors" not in await gql(query_of(name), variables, token=listings.token)


def bad_arguments() -> Iterator[Any]:
    """A `pytest.param` (listing, what is wrong, with what) for each bad argument to send."""
    names = list(CONNECTIONS)
    for index, name in enumerate(names):
        for first in (101, -1):
            yield pytest.param(name, "first", first, id=f"{name}: first={first}")
        yield pytest.param(name, "after", "garbage!", id=f"{name}: after=garbage!")
        yield pytest.param(name, "half of its cursor", None, id=f"{name}: half of its cursor")
        if name == "posts":
            for label, after in (
                ("2000 x's", "x" * 2000),
                ("JSON not a list", raw_cursor("not a list")),
                ("JSON object", raw_cursor({"a": 1})),
                ("not JSON", base64.urlsafe_b64encode(b"\xff\xfe not json").decode()),
            ):
                yield pytest.param(name, "after", after, id=f"{name}: after={label}")
            forged = range(6)
        else:
            forged = range(1, 3)
        for n in forged:
            yield pytest.param(name, "forged cursor", n, id=f"{name}: forged cursor {n}")
        # A cursor from one list is refused by another list.
        others = names if name == "posts" else [names[(index + 1) % len(names)], "posts"]
        for other in dict.fromkeys(others):
            if other != name:
                yield pytest.param(name, "cursor of", other, id=f"{name}: cursor of {other}")


def arguments(listings: Listings, name: str, wrong: str, value: Any) -> dict[str, Any]:
    cursor = listings.cursors[name]
    if wrong == "first":
        return {"f": value}
    if wrong == "after":
        return {"a": value}
    if wrong == "half of its cursor":
        return {"a": cursor[: len(cursor) // 2]}
    if wrong == "forged cursor":
        forged = tampered(cursor)
        if not forged:
            pytest.skip("the cursor is not base64 JSON: there is nothing to tamper with")
        return {"a": forged[value]}
    assert wrong == "cursor of", wrong
    return {"a": listings.cursors[value]}


@pytest.mark.parametrize(("name", "wrong", "value"), list(bad_arguments()))
async def test_connection_arguments_are_checked(
    gql: GraphQLClient, listings: Listings, name: str, wrong: str, value: Any
) -> None:
    variables = {**listings.variables[name], **arguments(listings, name, wrong, value)}
    body = await gql(query_of(name), variables, token=listings.token)
    assert code_of(body) == "BAD_USER_INPUT", (name, wrong, value, body)
