"""node / nodes for every type, and IDs that are malformed, unknown or of the wrong type."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from support.accounts import register, register_many
from support.comments import ADD_COMMENT, DELETE_COMMENT, add_comment
from support.follows import FOLLOW
from support.graphql import GraphQLClient, data, top_level_code
from support.ids import NODE, NODES, global_id
from support.notifications import MARK_READ, notifications
from support.posts import POST, POSTS, create_post
from support.reactions import REACT


async def test_node_and_nodes_for_every_type(gql: GraphQLClient) -> None:
    alice, bob = await register_many(gql, 2)
    post = await create_post(gql, alice, title="Node post")
    comment = await add_comment(gql, bob, post["id"], "Node comment")
    [note_id] = [
        e["node"]["id"]
        for e in (await notifications(gql, alice))["edges"]
        if e["node"]["kind"] == "COMMENTED"
    ]

    expected = {
        alice.id: {"__typename": "User", "id": alice.id, "handle": alice.handle},
        post["id"]: {
            "__typename": "Post",
            "id": post["id"],
            "title": "Node post",
            "status": "PUBLISHED",
        },
        comment["id"]: {"__typename": "Comment", "id": comment["id"], "body": "Node comment"},
        note_id: {"__typename": "Notification", "id": note_id, "kind": "COMMENTED"},
    }
    for node_id, node in expected.items():
        assert (await data(gql, NODE, {"id": node_id}, alice.token))["node"] == node

    unknown = global_id("Post", 987_654_321_012)
    ids = [note_id, unknown, comment["id"], post["id"], alice.id]
    listed = (await data(gql, NODES, {"ids": ids}, alice.token))["nodes"]
    assert [n["__typename"] if n else None for n in listed] == [
        "Notification",
        None,
        "Comment",
        "Post",
        "User",
    ]
    assert [n["id"] if n else None for n in listed] == [
        note_id,
        None,
        comment["id"],
        post["id"],
        alice.id,
    ]
    assert (await data(gql, NODES, {"ids": []}))["nodes"] == []

    # IDs are stable: the same object has the same id wherever it is reached.
    viewer = await data(gql, "{ viewer { id } }", token=alice.token)
    assert viewer["viewer"]["id"] == alice.id
    assert (await data(gql, POST, {"id": post["id"]}))["post"]["author"]["id"] == alice.id


NO_COLON = base64.urlsafe_b64encode(b"Usernocolon").decode().rstrip("=")


@pytest.mark.parametrize(
    "bad",
    ["not an id!", "@@@", NO_COLON, global_id("User", ""), global_id("", 1)],
    ids=["not base64", "symbols", "no colon", "no key", "no type"],
)
async def test_invalid_ids(gql: GraphQLClient, bad: str) -> None:
    body = await gql(NODE, {"id": bad})
    assert top_level_code(body) == "BAD_USER_INPUT", bad


async def test_an_invalid_id_among_nodes(gql: GraphQLClient) -> None:
    alice = await register(gql)
    body = await gql(NODES, {"ids": [alice.id, "not an id!"]})
    assert top_level_code(body) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("type_name", "key"),
    [
        ("User", 987_654_321_012),
        ("Post", 987_654_321_012),
        ("Comment", "f" * 24),
        ("Notification", "f" * 24),
    ],
)
async def test_unknown_ids(gql: GraphQLClient, type_name: str, key: int | str) -> None:
    alice = await register(gql)
    assert (await data(gql, NODE, {"id": global_id(type_name, key)}, alice.token))[
        "node"
    ] is None, type_name


# A request (document, variables) with an id of the wrong type where a specific type is
# expected, made from a user's id and a post's id; and whether it is made signed in.
WrongType = Callable[[str, str], tuple[str, dict[str, Any]]]


@pytest.mark.parametrize(
    ("request_of", "signed_in"),
    [
        pytest.param(lambda user, post: (FOLLOW, {"id": post}), True, id="follow a post"),
        pytest.param(lambda user, post: (POST, {"id": user}), False, id="post of a user id"),
        pytest.param(lambda user, post: (POSTS, {"authorId": post}), False, id="posts by a post"),
        pytest.param(
            lambda user, post: (ADD_COMMENT, {"input": {"postId": user, "body": "x"}}),
            True,
            id="comment on a user",
        ),
        pytest.param(
            lambda user, post: (REACT, {"postId": user, "kind": "LIKE"}),
            True,
            id="react to a user",
        ),
        pytest.param(lambda user, post: (DELETE_COMMENT, {"id": post}), True, id="delete a post"),
        pytest.param(lambda user, post: (MARK_READ, {"ids": [post]}), True, id="mark a post read"),
    ],
)
async def test_ids_of_the_wrong_type(
    gql: GraphQLClient, request_of: WrongType, signed_in: bool
) -> None:
    alice = await register(gql)
    post = await create_post(gql, alice)
    document, variables = request_of(alice.id, post["id"])
    wrong = await gql(document, variables, token=alice.token if signed_in else None)
    assert top_level_code(wrong) == "BAD_USER_INPUT"
