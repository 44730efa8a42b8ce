"""Comments: threads of replies, refused comments, editing and deleting with replies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from support.accounts import Session, register_many
from support.comments import (
    ADD_COMMENT,
    COMMENT_REPLIES,
    DELETE_COMMENT,
    EDIT_COMMENT,
    POST_COMMENTS,
    add_comment,
    delete_comment,
)
from support.graphql import GraphQLClient, codes, data, node_ids, parse_time, top_level_code
from support.ids import NODE, global_id
from support.posts import create_post


async def test_comment_threads(gql: GraphQLClient) -> None:
    author, bob, carol = await register_many(gql, 3)
    post = await create_post(gql, author, title="Discuss")
    c1 = await add_comment(gql, bob, post["id"], "first top-level")
    assert c1["body"] == "first top-level"
    assert c1["author"] == {"id": bob.id, "handle": bob.handle}
    assert c1["post"] == {"id": post["id"]}
    assert c1["parent"] is None and c1["editedAt"] is None and c1["createdAt"]
    c2 = await add_comment(gql, carol, post["id"], "second top-level")
    r1 = await add_comment(gql, bob, post["id"], "reply one", parent_id=c2["id"])
    assert r1["parent"] == {"id": c2["id"]} and r1["post"] == {"id": post["id"]}
    r2 = await add_comment(gql, author, post["id"], "reply two", parent_id=c2["id"])
    r1a = await add_comment(gql, carol, post["id"], "reply to a reply", parent_id=r1["id"])
    assert r1a["parent"] == {"id": r1["id"]}

    listed = (await data(gql, POST_COMMENTS, {"id": post["id"]}))["post"]
    assert listed["commentCount"] == 5  # replies included
    comments = listed["comments"]
    assert node_ids(comments) == [c1["id"], c2["id"]]  # top level only, oldest first
    assert comments["totalCount"] == 2
    assert [e["node"]["author"]["handle"] for e in comments["edges"]] == [bob.handle, carol.handle]
    assert all(e["node"]["parent"] is None for e in comments["edges"])

    thread = (await data(gql, COMMENT_REPLIES, {"id": c2["id"]}))["node"]
    assert node_ids(thread["replies"]) == [r1["id"], r2["id"]]  # direct replies, oldest first
    assert thread["replies"]["totalCount"] == 2
    assert all(e["node"]["parent"] == {"id": c2["id"]} for e in thread["replies"]["edges"])
    nested = (await data(gql, COMMENT_REPLIES, {"id": r1["id"]}))["node"]["replies"]
    assert node_ids(nested) == [r1a["id"]] and nested["totalCount"] == 1
    leaf = (await data(gql, COMMENT_REPLIES, {"id": c1["id"]}))["node"]["replies"]
    assert leaf["edges"] == [] and leaf["totalCount"] == 0

    # Every field of a comment resolves through node(id:).
    full = (
        await data(
            gql,
            """query($id: ID!) { node(id: $id) { ... on Comment {
                 id body createdAt editedAt author { handle } post { id title }
                 parent { id body parent { id } } } } }""",
            {"id": r1a["id"]},
        )
    )["node"]
    assert full["author"] == {"handle": carol.handle}
    assert full["post"] == {"id": post["id"], "title": "Discuss"}
    assert full["parent"] == {"id": r1["id"], "body": "reply one", "parent": {"id": c2["id"]}}


@dataclass
class Commented:
    """What the refused comments aim at: a post with bob's comment, another post, a draft."""

    author: Session
    bob: Session
    post: dict[str, Any]
    other_post: dict[str, Any]
    draft: dict[str, Any]
    comment: dict[str, Any]


async def commented(gql: GraphQLClient) -> Commented:
    author, bob = await register_many(gql, 2)
    post = await create_post(gql, author, title="one")
    other_post = await create_post(gql, author, title="two")
    draft = await create_post(gql, author, title="draft", publish=False)
    comment = await add_comment(gql, bob, post["id"], "on the first post")
    return Commented(author, bob, post, other_post, draft, comment)


async def assert_only_the_good_comment_was_written(gql: GraphQLClient, scene: Commented) -> None:
    post, other_post, draft = scene.post, scene.other_post, scene.draft
    assert (await data(gql, POST_COMMENTS, {"id": post["id"]}))["post"]["commentCount"] == 1
    assert (await data(gql, POST_COMMENTS, {"id": other_post["id"]}))["post"]["commentCount"] == 0
    assert (await data(gql, POST_COMMENTS, {"id": draft["id"]}, scene.author.token))["post"][
        "commentCount"
    ] == 0


# Who attempts what (input fields over {"postId": the post, "body": "text"}).
Attempt = Callable[[Commented], tuple[Session, dict[str, Any]]]


@pytest.mark.parametrize(
    ("attempt", "error"),
    [
        pytest.param(
            lambda s: (s.bob, {"postId": s.other_post["id"], "parentId": s.comment["id"]}),
            ("INVALID_PARENT", ["input", "parentId"]),
            id="parent on another post",
        ),
        pytest.param(
            lambda s: (s.author, {"postId": s.draft["id"]}),
            ("NOT_PUBLISHED", ["input", "postId"]),
            id="author on a draft",
        ),
        pytest.param(
            lambda s: (s.bob, {"postId": s.draft["id"]}),
            ("NOT_FOUND", ["input", "postId"]),
            id="someone else's draft",
        ),
        pytest.param(
            lambda s: (s.bob, {"postId": global_id("Post", 987_654_321_012)}),
            ("NOT_FOUND", ["input", "postId"]),
            id="unknown post",
        ),
        pytest.param(
            lambda s: (s.bob, {"body": ""}), ("INVALID_BODY", ["input", "body"]), id="empty body"
        ),
        pytest.param(
            lambda s: (s.bob, {"body": "   "}), ("INVALID_BODY", ["input", "body"]), id="blank body"
        ),
    ],
)
async def test_comment_errors(
    gql: GraphQLClient, attempt: Attempt, error: tuple[str, list[str]]
) -> None:
    scene = await commented(gql)
    who, fields = attempt(scene)
    variables = {"input": {"postId": scene.post["id"], "body": "text", **fields}}
    payload = (await data(gql, ADD_COMMENT, variables, who.token))["addComment"]
    assert payload["comment"] is None, payload
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [error]
    await assert_only_the_good_comment_was_written(gql, scene)


async def test_anonymous_comments_are_refused(gql: GraphQLClient) -> None:
    scene = await commented(gql)
    anonymous = await gql(ADD_COMMENT, {"input": {"postId": scene.post["id"], "body": "anon"}})
    assert top_level_code(anonymous) == "UNAUTHENTICATED"
    await assert_only_the_good_comment_was_written(gql, scene)


async def test_edit_comment(gql: GraphQLClient) -> None:
    author, bob = await register_many(gql, 2)
    post = await create_post(gql, author)
    comment = await add_comment(gql, bob, post["id"], "typo")
    assert comment["editedAt"] is None

    forbidden = await gql(
        EDIT_COMMENT, {"input": {"id": comment["id"], "body": "by author"}}, token=author.token
    )
    assert top_level_code(forbidden) == "FORBIDDEN"
    anonymous = await gql(EDIT_COMMENT, {"input": {"id": comment["id"], "body": "anon"}})
    assert top_level_code(anonymous) == "UNAUTHENTICATED"
    empty = (
        await data(gql, EDIT_COMMENT, {"input": {"id": comment["id"], "body": ""}}, bob.token)
    )["editComment"]
    assert empty["comment"] is None and codes(empty) == ["INVALID_BODY"]
    unchanged = (await data(gql, NODE, {"id": comment["id"]}))["node"]
    assert unchanged["body"] == "typo"

    payload = (
        await data(gql, EDIT_COMMENT, {"input": {"id": comment["id"], "body": "fixed"}}, bob.token)
    )["editComment"]
    assert payload["errors"] == []
    edited = payload["comment"]
    assert edited["id"] == comment["id"] and edited["body"] == "fixed"
    assert edited["editedAt"] is not None
    assert parse_time(edited["editedAt"]) >= parse_time(comment["createdAt"])
    assert edited["createdAt"] == comment["createdAt"]
    assert edited["author"]["id"] == bob.id and edited["post"] == {"id": post["id"]}

    seen = (
        await data(
            gql,
            "query($id: ID!) { node(id: $id) { ... on Comment { body editedAt } } }",
            {"id": comment["id"]},
        )
    )["node"]
    assert seen == {"body": "fixed", "editedAt": edited["editedAt"]}


async def test_delete_comment_with_its_replies(gql: GraphQLClient) -> None:
    author, bob, carol = await register_many(gql, 3)
    post = await create_post(gql, author)
    c1 = await add_comment(gql, bob, post["id"], "top")
    r1 = await add_comment(gql, carol, post["id"], "reply", parent_id=c1["id"])
    r2 = await add_comment(gql, bob, post["id"], "reply to reply", parent_id=r1["id"])
    c2 = await add_comment(gql, carol, post["id"], "other top")
    assert (await data(gql, POST_COMMENTS, {"id": post["id"]}))["post"]["commentCount"] == 4

    # Only the comment's author (or staff) may delete it: not another commenter, not the
    # post's author.
    for who in (carol, author):
        forbidden = await gql(DELETE_COMMENT, {"id": c1["id"]}, token=who.token)
        assert top_level_code(forbidden) == "FORBIDDEN"
    anonymous = await gql(DELETE_COMMENT, {"id": c1["id"]})
    assert top_level_code(anonymous) == "UNAUTHENTICATED"
    assert (await data(gql, NODE, {"id": c1["id"]}))["node"] == {
        "__typename": "Comment",
        "id": c1["id"],
        "body": "top",
    }

    await delete_comment(gql, bob, c1["id"])
    for gone in (c1, r1, r2):
        assert (await data(gql, NODE, {"id": gone["id"]}, bob.token))["node"] is None
    listed = (await data(gql, POST_COMMENTS, {"id": post["id"]}))["post"]
    assert node_ids(listed["comments"]) == [c2["id"]]
    assert listed["comments"]["totalCount"] == 1
    assert listed["commentCount"] == 1

    # Replying to the deleted comment is refused.
    refused = (
        await data(
            gql,
            ADD_COMMENT,
            {"input": {"postId": post["id"], "body": "late", "parentId": r1["id"]}},
            carol.token,
        )
    )["addComment"]
    assert refused["comment"] is None and codes(refused)

    again = (await data(gql, DELETE_COMMENT, {"id": c1["id"]}, bob.token))["deleteComment"]
    assert again["deletedId"] is None and codes(again) == ["NOT_FOUND"]
