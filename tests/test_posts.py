"""Posts through the HTTP endpoint: creating drafts and published posts, validation,
updating, publishing, and deleting (by the author, or by a moderator).

Every test registers its own users (the app is shared by all tests of a backend),
and listings are always narrowed to those users or to a tag of the test's own.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from support.accounts import moderator, register, register_many
from support.apps import RunningApp
from support.comments import POST_COMMENTS, add_comment, delete_comment
from support.follows import follow
from support.graphql import GraphQLClient, codes, data, node_ids, parse_time, top_level_code
from support.ids import NODE, NODES, global_id
from support.notifications import notifications, summary
from support.posts import (
    CREATE_POST,
    DELETE_POST,
    POST,
    POSTS,
    PUBLISH_POST,
    UPDATE_POST,
    VIEWER_POSTS,
    create_post,
    delete_post,
)
from support.reactions import REACT, react


async def test_create_draft_and_published_post(gql: GraphQLClient) -> None:
    author = await register(gql)
    draft = await create_post(
        gql,
        author,
        title="My draft",
        body="Draft body",
        tags=["GraphQL", "graphql", "Python"],
        publish=False,
    )
    assert draft["status"] == "DRAFT"
    assert draft["publishedAt"] is None
    assert draft["title"] == "My draft" and draft["body"] == "Draft body"
    assert draft["tags"] == ["graphql", "python"]  # lower-cased, duplicates dropped
    assert draft["author"] == {"id": author.id, "handle": author.handle}
    assert parse_time(draft["createdAt"]) <= parse_time(draft["updatedAt"])

    published = await create_post(gql, author, title="Out now", tags=["News"], publish=True)
    assert published["status"] == "PUBLISHED"
    assert published["publishedAt"] is not None
    assert parse_time(published["publishedAt"]) >= parse_time(draft["createdAt"])
    assert published["tags"] == ["news"]
    assert published["id"] != draft["id"]

    # Anyone can read the published post back by its id.
    seen = (await data(gql, POST, {"id": published["id"]}))["post"]
    assert seen == published

    # Without `publish`, a post is a draft.
    implicit = (await data(gql, CREATE_POST, {"input": {"title": "t", "body": "b"}}, author.token))[
        "createPost"
    ]
    assert implicit["errors"] == [] and implicit["post"]["status"] == "DRAFT"
    assert implicit["post"]["tags"] == []

    anonymous = await gql(CREATE_POST, {"input": {"title": "t", "body": "b", "publish": True}})
    assert top_level_code(anonymous) == "UNAUTHENTICATED"
    assert anonymous["data"] is None


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        pytest.param({"title": ""}, "INVALID_TITLE", ["input", "title"], id="empty title"),
        pytest.param({"title": "   "}, "INVALID_TITLE", ["input", "title"], id="blank title"),
        pytest.param({"title": "x" * 5000}, "INVALID_TITLE", ["input", "title"], id="long title"),
        pytest.param({"body": ""}, "INVALID_BODY", ["input", "body"], id="empty body"),
        pytest.param({"body": " \n "}, "INVALID_BODY", ["input", "body"], id="blank body"),
        pytest.param({"tags": ["has space"]}, "INVALID_TAGS", ["input", "tags"], id="tag space"),
        pytest.param({"tags": ["bad!"]}, "INVALID_TAGS", ["input", "tags"], id="tag symbol"),
        pytest.param({"tags": [""]}, "INVALID_TAGS", ["input", "tags"], id="empty tag"),
        pytest.param({"tags": ["x" * 500]}, "INVALID_TAGS", ["input", "tags"], id="long tag"),
        pytest.param(
            {"tags": [f"tag{i}" for i in range(200)]},
            "INVALID_TAGS",
            ["input", "tags"],
            id="200 tags",
        ),
    ],
)
async def test_create_post_validation(
    gql: GraphQLClient, change: dict[str, Any], code: str, field: list[str]
) -> None:
    author = await register(gql)
    good = {"title": "Title", "body": "Body", "tags": ["ok"], "publish": True}
    payload = (await data(gql, CREATE_POST, {"input": {**good, **change}}, author.token))[
        "createPost"
    ]
    assert payload["post"] is None, change
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], change
    assert payload["errors"][0]["message"]

    # Nothing was written.
    mine = (await data(gql, VIEWER_POSTS, token=author.token))["viewer"]["posts"]
    assert mine["totalCount"] == 0 and mine["edges"] == []


async def test_create_post_reports_every_problem(gql: GraphQLClient) -> None:
    author = await register(gql)
    # Several problems at once are all reported.
    both = (
        await data(gql, CREATE_POST, {"input": {"title": "", "body": "", "tags": []}}, author.token)
    )["createPost"]
    assert sorted(codes(both)) == ["INVALID_BODY", "INVALID_TITLE"]

    # Nothing was written.
    mine = (await data(gql, VIEWER_POSTS, token=author.token))["viewer"]["posts"]
    assert mine["totalCount"] == 0 and mine["edges"] == []


async def test_update_post(gql: GraphQLClient) -> None:
    author, other = await register_many(gql, 2)
    post = await create_post(gql, author, title="Before", body="Original body", tags=["a"])

    payload = (
        await data(
            gql,
            UPDATE_POST,
            {"input": {"id": post["id"], "title": "After", "tags": ["New", "new", "b"]}},
            author.token,
        )
    )["updatePost"]
    assert payload["errors"] == []
    updated = payload["post"]
    assert updated["id"] == post["id"]
    assert updated["title"] == "After"
    assert updated["tags"] == ["new", "b"]
    assert updated["body"] == "Original body"  # omitted: unchanged
    assert updated["status"] == "PUBLISHED"
    assert updated["createdAt"] == post["createdAt"]
    assert parse_time(updated["updatedAt"]) > parse_time(post["updatedAt"])
    assert (await data(gql, POST, {"id": post["id"]}))["post"] == updated

    invalid = (
        await data(gql, UPDATE_POST, {"input": {"id": post["id"], "title": ""}}, author.token)
    )["updatePost"]
    assert invalid["post"] is None
    assert [(e["code"], e["field"]) for e in invalid["errors"]] == [
        ("INVALID_TITLE", ["input", "title"])
    ]
    invalid_tags = (
        await data(
            gql, UPDATE_POST, {"input": {"id": post["id"], "tags": ["no way"]}}, author.token
        )
    )["updatePost"]
    assert codes(invalid_tags) == ["INVALID_TAGS"]

    forbidden = await gql(
        UPDATE_POST, {"input": {"id": post["id"], "title": "Hijacked"}}, token=other.token
    )
    assert top_level_code(forbidden) == "FORBIDDEN"
    assert forbidden["data"] is None
    anonymous = await gql(UPDATE_POST, {"input": {"id": post["id"], "title": "Anon"}})
    assert top_level_code(anonymous) == "UNAUTHENTICATED"

    # None of the refused attempts changed anything.
    assert (await data(gql, POST, {"id": post["id"]}))["post"] == updated

    missing = (
        await data(
            gql,
            UPDATE_POST,
            {"input": {"id": global_id("Post", 987_654_321_012), "title": "x"}},
            author.token,
        )
    )["updatePost"]
    assert missing["post"] is None and codes(missing) == ["NOT_FOUND"]


async def test_publish_post(gql: GraphQLClient) -> None:
    author, other = await register_many(gql, 2)
    tag = f"t{uuid.uuid4().hex[:12]}"
    older = await create_post(gql, author, title="older", tags=[tag])
    draft = await create_post(gql, author, title="draft", tags=[tag], publish=False)
    newer = await create_post(gql, author, title="newer", tags=[tag])
    listed = (await data(gql, POSTS, {"tag": tag}))["posts"]
    assert node_ids(listed) == [newer["id"], older["id"]]

    forbidden = await gql(PUBLISH_POST, {"id": newer["id"]}, token=other.token)
    assert top_level_code(forbidden) == "FORBIDDEN"
    anonymous = await gql(PUBLISH_POST, {"id": draft["id"]})
    assert top_level_code(anonymous) == "UNAUTHENTICATED"
    assert (await data(gql, POST, {"id": draft["id"]}, author.token))["post"]["status"] == "DRAFT"

    payload = (await data(gql, PUBLISH_POST, {"id": draft["id"]}, author.token))["publishPost"]
    assert payload["errors"] == []
    published = payload["post"]
    assert published["status"] == "PUBLISHED"
    assert published["publishedAt"] is not None
    assert parse_time(published["publishedAt"]) > parse_time(newer["publishedAt"])

    # Now public, and the newest of the tag's posts (it was published last).
    assert (await data(gql, POST, {"id": draft["id"]}))["post"]["status"] == "PUBLISHED"
    listed = (await data(gql, POSTS, {"tag": tag}))["posts"]
    assert node_ids(listed) == [draft["id"], newer["id"], older["id"]]
    assert listed["totalCount"] == 3


async def test_delete_post_by_author_removes_comments_reactions_notifications(
    gql: GraphQLClient,
) -> None:
    author, commenter, replier = await register_many(gql, 3)
    await follow(gql, commenter, author.id)  # a notification unrelated to the post
    post = await create_post(gql, author, title="Doomed")
    keep = await create_post(gql, author, title="Kept")
    comment = await add_comment(gql, commenter, post["id"], "First!")
    reply = await add_comment(gql, replier, post["id"], "Reply", parent_id=comment["id"])
    await react(gql, commenter, post["id"], "LIKE")

    # Before: the author was notified of the comment and the reaction, the commenter of
    # the reply.
    before = summary(await notifications(gql, author))
    assert ("COMMENTED", commenter.id, post["id"], comment["id"]) in before
    assert ("REACTED", commenter.id, post["id"], None) in before
    commenter_before = summary(await notifications(gql, commenter))
    assert ("REPLIED", replier.id, post["id"], reply["id"]) in commenter_before
    reacted_note = next(
        e["node"]["id"]
        for e in (await notifications(gql, author))["edges"]
        if e["node"]["kind"] == "REACTED"
    )

    await delete_post(gql, author, post["id"])

    for token in (author.token, commenter.token, None):
        assert (await data(gql, POST, {"id": post["id"]}, token))["post"] is None
        assert (await data(gql, NODE, {"id": post["id"]}, token))["node"] is None
    for node_id in (comment["id"], reply["id"]):
        assert (await data(gql, NODE, {"id": node_id}, commenter.token))["node"] is None
    assert (await data(gql, NODES, {"ids": [post["id"], comment["id"], keep["id"]]}))["nodes"] == [
        None,
        None,
        {"__typename": "Post", "id": keep["id"], "title": "Kept"},
    ]
    assert (await data(gql, NODE, {"id": reacted_note}, author.token))["node"] is None

    after = await notifications(gql, author)
    assert summary(after) == [("FOLLOWED", commenter.id, None, None)]
    assert after["totalCount"] == 1
    commenter_after = await notifications(gql, commenter)
    assert commenter_after["edges"] == [] and commenter_after["totalCount"] == 0

    listed = (await data(gql, POSTS, {"authorId": author.id}))["posts"]
    assert node_ids(listed) == [keep["id"]] and listed["totalCount"] == 1
    # The post's reactions and comments are gone with it: reacting or commenting fails.
    gone = (await data(gql, REACT, {"postId": post["id"], "kind": "LIKE"}, replier.token))["react"]
    assert codes(gone) == ["NOT_FOUND"]

    again = (await data(gql, DELETE_POST, {"id": post["id"]}, author.token))["deletePost"]
    assert again["deletedId"] is None and codes(again) == ["NOT_FOUND"]


async def test_delete_post_authorization_and_moderators(
    gql: GraphQLClient, app_server: RunningApp
) -> None:
    author, other = await register_many(gql, 2)
    mod = await moderator(gql, app_server)
    post = await create_post(gql, author, title="Moderated")
    comment = await add_comment(gql, other, post["id"], "Rude comment")

    forbidden = await gql(DELETE_POST, {"id": post["id"]}, token=other.token)
    assert top_level_code(forbidden) == "FORBIDDEN"
    anonymous = await gql(DELETE_POST, {"id": post["id"]})
    assert top_level_code(anonymous) == "UNAUTHENTICATED"
    assert (await data(gql, POST, {"id": post["id"]}))["post"]["title"] == "Moderated"

    # A moderator removes someone else's comment, then someone else's post.
    await delete_comment(gql, mod, comment["id"])
    assert (await data(gql, NODE, {"id": comment["id"]}))["node"] is None
    assert (await data(gql, POST_COMMENTS, {"id": post["id"]}))["post"]["commentCount"] == 0

    await delete_post(gql, mod, post["id"])
    assert (await data(gql, POST, {"id": post["id"]}, author.token))["post"] is None
    assert (await data(gql, POSTS, {"authorId": author.id}))["posts"]["totalCount"] == 0
