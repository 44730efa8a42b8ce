"""Posts, drafts, follows, profiles, comments, reactions, notifications and nodes,
through the HTTP endpoint, the way a frontend uses them.

Every test registers its own users (the app is shared by all tests of a backend),
and listings are always narrowed to those users or to a tag of the test's own.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conftest import GraphQLClient, RunningApp, unique_handle

PASSWORD = "correct horse battery"
PAGE_INFO = "pageInfo { hasNextPage endCursor hasPreviousPage startCursor }"


# ---------------------------------------------------------------------------
# Helpers (also used by test_pagination_api.py)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    id: str
    handle: str
    token: str


REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) { user { id handle } accessToken errors { code message } }
}"""
LOGIN = """
mutation($input: LoginInput!) {
  login(input: $input) { user { id handle role } accessToken errors { code } }
}"""


async def register(gql: GraphQLClient, prefix: str = "c", handle: str | None = None) -> Session:
    handle = handle or unique_handle(prefix)
    body = await gql(
        REGISTER,
        {
            "input": {
                "handle": handle,
                "email": f"{handle}@example.com",
                "password": PASSWORD,
                "displayName": f"Name of {handle}",
            }
        },
    )
    assert "errors" not in body, body
    payload = body["data"]["register"]
    assert payload["errors"] == [], payload
    return Session(payload["user"]["id"], payload["user"]["handle"], payload["accessToken"])


async def register_many(gql: GraphQLClient, count: int, prefix: str = "c") -> list[Session]:
    return list(await asyncio.gather(*(register(gql, prefix) for _ in range(count))))


async def moderator(gql: GraphQLClient, app_server: RunningApp) -> Session:
    """A fresh user promoted to MODERATOR, signed in again so the token carries the role."""
    from datasources.relational import open_relational_store

    user = await register(gql, "mod")
    store = open_relational_store(app_server.settings.sqlalchemy_url)
    try:
        assert await store.users.set_role(user.handle, "MODERATOR")
    finally:
        await store.close()
    login = await gql(LOGIN, {"input": {"handleOrEmail": user.handle, "password": PASSWORD}})
    payload = login["data"]["login"]
    assert payload["errors"] == [] and payload["user"]["role"] == "MODERATOR", payload
    return Session(user.id, user.handle, payload["accessToken"])


def global_id(type_name: str, key: int | str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode().rstrip("=")


def raw_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]


def top_level_code(body: dict[str, Any]) -> str:
    assert body.get("errors"), body
    return body["errors"][0]["extensions"]["code"]


def node_ids(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


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


POST_FIELDS = """
  id title body tags status createdAt updatedAt publishedAt
  author { id handle }
"""
POST_PAYLOAD = f"post {{ {POST_FIELDS} }} errors {{ code message field }}"
CREATE_POST = f"""
mutation($input: CreatePostInput!) {{ createPost(input: $input) {{ {POST_PAYLOAD} }} }}"""
UPDATE_POST = f"""
mutation($input: UpdatePostInput!) {{ updatePost(input: $input) {{ {POST_PAYLOAD} }} }}"""
PUBLISH_POST = f"mutation($id: ID!) {{ publishPost(id: $id) {{ {POST_PAYLOAD} }} }}"
DELETE_POST = "mutation($id: ID!) { deletePost(id: $id) { deletedId errors { code field } } }"
POST = f"query($id: ID!) {{ post(id: $id) {{ {POST_FIELDS} }} }}"
NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on User { handle }
    ... on Post { title status }
    ... on Comment { body }
    ... on Notification { kind }
  }
}"""
NODES = """
query($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename id
    ... on User { handle }
    ... on Post { title }
    ... on Comment { body }
    ... on Notification { kind }
  }
}"""
POSTS = f"""
query($first: Int, $after: String, $authorId: ID, $tag: String, $search: String) {{
  posts(first: $first, after: $after, authorId: $authorId, tag: $tag, search: $search) {{
    edges {{ cursor node {{ id title status publishedAt author {{ id }} }} }}
    {PAGE_INFO}
    totalCount
  }}
}}"""
USER_POSTS = f"""
query($handle: String!, $first: Int, $after: String) {{
  user(handle: $handle) {{
    posts(first: $first, after: $after) {{
      edges {{ cursor node {{ id title status }} }} {PAGE_INFO} totalCount
    }}
  }}
}}"""
VIEWER_POSTS = "{ viewer { posts { edges { node { id status } } totalCount } } }"
FEED = f"""
query($first: Int, $after: String) {{
  feed(first: $first, after: $after) {{
    edges {{ cursor node {{ id title author {{ id }} }} }} {PAGE_INFO} totalCount
  }}
}}"""


async def create_post(
    gql: GraphQLClient,
    author: Session,
    *,
    title: str = "A title",
    body: str = "Some body text.",
    tags: list[str] | None = None,
    publish: bool = True,
) -> dict[str, Any]:
    variables = {"input": {"title": title, "body": body, "tags": tags or [], "publish": publish}}
    payload = (await data(gql, CREATE_POST, variables, author.token))["createPost"]
    assert payload["errors"] == [], payload
    return payload["post"]


async def delete_post(gql: GraphQLClient, who: Session, post_id: str) -> None:
    payload = (await data(gql, DELETE_POST, {"id": post_id}, who.token))["deletePost"]
    assert payload == {"deletedId": post_id, "errors": []}


COMMENT_FIELDS = """
  id body createdAt editedAt
  author { id handle }
  post { id }
  parent { id }
"""
COMMENT_PAYLOAD = f"comment {{ {COMMENT_FIELDS} }} errors {{ code message field }}"
ADD_COMMENT = f"""
mutation($input: AddCommentInput!) {{ addComment(input: $input) {{ {COMMENT_PAYLOAD} }} }}"""
EDIT_COMMENT = f"""
mutation($input: EditCommentInput!) {{ editComment(input: $input) {{ {COMMENT_PAYLOAD} }} }}"""
DELETE_COMMENT = "mutation($id: ID!) { deleteComment(id: $id) { deletedId errors { code } } }"
POST_COMMENTS = f"""
query($id: ID!, $first: Int, $after: String) {{
  post(id: $id) {{
    commentCount
    comments(first: $first, after: $after) {{
      edges {{ cursor node {{ id body author {{ handle }} parent {{ id }} }} }}
      {PAGE_INFO} totalCount
    }}
  }}
}}"""
COMMENT_REPLIES = f"""
query($id: ID!, $first: Int, $after: String) {{
  node(id: $id) {{
    ... on Comment {{
      id body
      replies(first: $first, after: $after) {{
        edges {{ cursor node {{ id body parent {{ id }} }} }} {PAGE_INFO} totalCount
      }}
    }}
  }}
}}"""


async def add_comment(
    gql: GraphQLClient,
    who: Session,
    post_id: str,
    body: str = "A comment.",
    parent_id: str | None = None,
) -> dict[str, Any]:
    variables = {"input": {"postId": post_id, "body": body, "parentId": parent_id}}
    payload = (await data(gql, ADD_COMMENT, variables, who.token))["addComment"]
    assert payload["errors"] == [], payload
    return payload["comment"]


async def delete_comment(gql: GraphQLClient, who: Session, comment_id: str) -> None:
    payload = (await data(gql, DELETE_COMMENT, {"id": comment_id}, who.token))["deleteComment"]
    assert payload == {"deletedId": comment_id, "errors": []}


FOLLOW = """
mutation($id: ID!) {
  follow(userId: $id) {
    user { id handle followerCount viewerFollows } errors { code message field }
  }
}"""
UNFOLLOW = """
mutation($id: ID!) {
  unfollow(userId: $id) {
    user { id handle followerCount viewerFollows } errors { code message field }
  }
}"""


async def follow(gql: GraphQLClient, who: Session, user_id: str) -> None:
    payload = (await data(gql, FOLLOW, {"id": user_id}, who.token))["follow"]
    assert payload["errors"] == [], payload


async def unfollow(gql: GraphQLClient, who: Session, user_id: str) -> None:
    payload = (await data(gql, UNFOLLOW, {"id": user_id}, who.token))["unfollow"]
    assert payload["errors"] == [], payload


REACTION_PAYLOAD = """
  post { id reactions { kind count } viewerReactions } errors { code message field }
"""
REACT = f"""
mutation($postId: ID!, $kind: ReactionKind!) {{
  react(postId: $postId, kind: $kind) {{ {REACTION_PAYLOAD} }}
}}"""
UNREACT = f"""
mutation($postId: ID!, $kind: ReactionKind!) {{
  unreact(postId: $postId, kind: $kind) {{ {REACTION_PAYLOAD} }}
}}"""
REACTIONS = "query($id: ID!) { post(id: $id) { reactions { kind count } viewerReactions } }"


async def react(gql: GraphQLClient, who: Session, post_id: str, kind: str) -> dict[str, Any]:
    payload = (await data(gql, REACT, {"postId": post_id, "kind": kind}, who.token))["react"]
    assert payload["errors"] == [], payload
    return payload


def reaction_counts(post: dict[str, Any]) -> dict[str, int]:
    counts = {r["kind"]: r["count"] for r in post["reactions"]}
    assert len(counts) == len(post["reactions"]), post  # one entry per kind
    return counts


NOTIFICATIONS = f"""
query($first: Int, $after: String, $unreadOnly: Boolean) {{
  notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {{
    edges {{
      cursor
      node {{
        id kind read createdAt
        actor {{ id handle }}
        post {{ id title }}
        comment {{ id body }}
      }}
    }}
    {PAGE_INFO}
    totalCount
  }}
}}"""
MARK_READ = "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) { count errors { code } } }"


async def notifications(
    gql: GraphQLClient, who: Session, *, unread_only: bool | None = None
) -> dict[str, Any]:
    variables: dict[str, Any] = {"first": 100}
    if unread_only is not None:
        variables["unreadOnly"] = unread_only
    return (await data(gql, NOTIFICATIONS, variables, who.token))["notifications"]


def summary(connection: dict[str, Any]) -> list[tuple[str, str, str | None, str | None]]:
    """(kind, actor id, post id, comment id) of each notification, in listed order."""
    return [
        (
            n["kind"],
            n["actor"]["id"],
            n["post"]["id"] if n["post"] else None,
            n["comment"]["id"] if n["comment"] else None,
        )
        for n in (edge["node"] for edge in connection["edges"])
    ]


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


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


# ---------------------------------------------------------------------------
# Posts
# ---------------------------------------------------------------------------


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


async def test_create_post_validation(gql: GraphQLClient) -> None:
    author = await register(gql)
    good = {"title": "Title", "body": "Body", "tags": ["ok"], "publish": True}
    cases = [
        ({"title": ""}, "INVALID_TITLE", ["input", "title"]),
        ({"title": "   "}, "INVALID_TITLE", ["input", "title"]),
        ({"title": "x" * 5000}, "INVALID_TITLE", ["input", "title"]),
        ({"body": ""}, "INVALID_BODY", ["input", "body"]),
        ({"body": " \n "}, "INVALID_BODY", ["input", "body"]),
        ({"tags": ["has space"]}, "INVALID_TAGS", ["input", "tags"]),
        ({"tags": ["bad!"]}, "INVALID_TAGS", ["input", "tags"]),
        ({"tags": [""]}, "INVALID_TAGS", ["input", "tags"]),
        ({"tags": ["x" * 500]}, "INVALID_TAGS", ["input", "tags"]),
        ({"tags": [f"tag{i}" for i in range(200)]}, "INVALID_TAGS", ["input", "tags"]),
    ]
    for change, code, field in cases:
        payload = (await data(gql, CREATE_POST, {"input": {**good, **change}}, author.token))[
            "createPost"
        ]
        assert payload["post"] is None, change
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], change
        assert payload["errors"][0]["message"]

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


# ---------------------------------------------------------------------------
# Drafts and listings
# ---------------------------------------------------------------------------


async def test_drafts_are_visible_to_their_author_only(gql: GraphQLClient) -> None:
    author, reader = await register_many(gql, 2)
    await follow(gql, reader, author.id)
    word = f"w{uuid.uuid4().hex[:12]}"
    tag = f"t{uuid.uuid4().hex[:12]}"
    draft = await create_post(gql, author, title=f"Secret {word}", tags=[tag], publish=False)
    public = await create_post(gql, author, title=f"Public {word}", tags=[tag])

    # The author sees the draft everywhere that lists their own posts.
    mine = (await data(gql, POST, {"id": draft["id"]}, author.token))["post"]
    assert mine["status"] == "DRAFT" and mine["title"] == f"Secret {word}"
    node = (await data(gql, NODE, {"id": draft["id"]}, author.token))["node"]
    assert node == {
        "__typename": "Post",
        "id": draft["id"],
        "title": f"Secret {word}",
        "status": "DRAFT",
    }
    own_listing = (await data(gql, USER_POSTS, {"handle": author.handle}, author.token))["user"][
        "posts"
    ]
    assert node_ids(own_listing) == [public["id"], draft["id"]]
    assert own_listing["totalCount"] == 2
    viewer_posts = (await data(gql, VIEWER_POSTS, token=author.token))["viewer"]["posts"]
    assert [e["node"] for e in viewer_posts["edges"]] == [
        {"id": public["id"], "status": "PUBLISHED"},
        {"id": draft["id"], "status": "DRAFT"},
    ]
    assert viewer_posts["totalCount"] == 2

    # Nobody else sees it, signed in or not.
    for token in (reader.token, None):
        assert (await data(gql, POST, {"id": draft["id"]}, token))["post"] is None
        assert (await data(gql, NODE, {"id": draft["id"]}, token))["node"] is None
        assert (await data(gql, NODES, {"ids": [draft["id"], public["id"]]}, token))["nodes"] == [
            None,
            {"__typename": "Post", "id": public["id"], "title": f"Public {word}"},
        ]
        for filters in ({"authorId": author.id}, {"tag": tag}, {"search": word}):
            listed = (await data(gql, POSTS, filters, token))["posts"]
            assert node_ids(listed) == [public["id"]], filters
            assert listed["totalCount"] == 1, filters
        theirs = (await data(gql, USER_POSTS, {"handle": author.handle}, token))["user"]["posts"]
        assert node_ids(theirs) == [public["id"]]
        assert theirs["totalCount"] == 1
    feed = (await data(gql, FEED, token=reader.token))["feed"]
    assert node_ids(feed) == [public["id"]] and feed["totalCount"] == 1

    # The root listing shows published posts only, even to the author.
    assert node_ids((await data(gql, POSTS, {"tag": tag}, author.token))["posts"]) == [public["id"]]
    # Others cannot react to it either: for them it does not exist.
    hidden = (await data(gql, REACT, {"postId": draft["id"], "kind": "LIKE"}, reader.token))[
        "react"
    ]
    assert hidden["post"] is None and codes(hidden) == ["NOT_FOUND"]


async def test_posts_listing_newest_first_with_filters(gql: GraphQLClient) -> None:
    alice, bob = await register_many(gql, 2)
    word = f"needle{uuid.uuid4().hex[:10]}"
    tag = f"t{uuid.uuid4().hex[:12]}"
    a1 = await create_post(gql, alice, title=f"About {word} here", tags=[tag])
    a2 = await create_post(gql, alice, title="Plain", body=f"body with {word.upper()} inside")
    a3 = await create_post(gql, alice, title="Unrelated", tags=[tag, "other"])
    await create_post(gql, alice, title=f"draft {word}", tags=[tag], publish=False)
    b1 = await create_post(gql, bob, title=f"{word}", tags=[tag.upper()])

    async def listed(**filters: Any) -> tuple[list[str], int]:
        connection = (await data(gql, POSTS, {"first": 100, **filters}))["posts"]
        assert all(e["node"]["status"] == "PUBLISHED" for e in connection["edges"])
        return node_ids(connection), connection["totalCount"]

    assert await listed(authorId=alice.id) == ([a3["id"], a2["id"], a1["id"]], 3)
    assert await listed(authorId=bob.id) == ([b1["id"]], 1)
    assert await listed(tag=tag) == ([b1["id"], a3["id"], a1["id"]], 3)
    # Search is a case-insensitive substring of the title or the body.
    assert await listed(search=word.capitalize()) == ([b1["id"], a2["id"], a1["id"]], 3)
    assert await listed(search=word[2:-2]) == ([b1["id"], a2["id"], a1["id"]], 3)
    # Filters combine.
    assert await listed(search=word, authorId=alice.id) == ([a2["id"], a1["id"]], 2)
    assert await listed(tag=tag, authorId=bob.id) == ([b1["id"]], 1)
    assert await listed(tag=tag, search=word) == ([b1["id"], a1["id"]], 2)
    assert await listed(tag=f"{tag}x") == ([], 0)

    # Published times decrease down the list.
    connection = (await data(gql, POSTS, {"tag": tag}))["posts"]
    times = [parse_time(e["node"]["publishedAt"]) for e in connection["edges"]]
    assert times == sorted(times, reverse=True)
    assert [e["node"]["author"]["id"] for e in connection["edges"]] == [bob.id, alice.id, alice.id]


async def test_first_defaults_to_20_and_pages_follow(gql: GraphQLClient) -> None:
    author = await register(gql)
    for _ in range(3):
        await asyncio.gather(*(create_post(gql, author, title=f"p{i}") for i in range(7)))
    first_page = (await data(gql, POSTS, {"authorId": author.id}))["posts"]
    assert len(first_page["edges"]) == 20
    assert first_page["totalCount"] == 21
    info = first_page["pageInfo"]
    assert info["hasNextPage"] is True and info["hasPreviousPage"] is False
    assert info["startCursor"] == first_page["edges"][0]["cursor"]
    assert info["endCursor"] == first_page["edges"][-1]["cursor"]
    rest = (await data(gql, POSTS, {"authorId": author.id, "after": info["endCursor"]}))["posts"]
    assert len(rest["edges"]) == 1
    assert rest["pageInfo"]["hasNextPage"] is False and rest["pageInfo"]["hasPreviousPage"]
    everything = (await data(gql, POSTS, {"authorId": author.id, "first": 100}))["posts"]
    assert node_ids(everything) == node_ids(first_page) + node_ids(rest)
    assert len(set(node_ids(everything))) == 21
    assert everything["pageInfo"]["hasNextPage"] is False
    empty = (await data(gql, POSTS, {"authorId": author.id, "first": 0}))["posts"]
    assert empty["edges"] == [] and empty["totalCount"] == 21


# ---------------------------------------------------------------------------
# Follows and the feed
# ---------------------------------------------------------------------------

FOLLOW_STATE = """
query($handle: String!) {
  user(handle: $handle) {
    id followerCount followingCount viewerFollows
    followers { edges { node { id handle } } totalCount }
    following { edges { node { id handle } } totalCount }
  }
}"""


async def test_follow_and_unfollow(gql: GraphQLClient) -> None:
    alice, bob, carol = await register_many(gql, 3)

    payload = (await data(gql, FOLLOW, {"id": bob.id}, alice.token))["follow"]
    assert payload["errors"] == []
    assert payload["user"] == {
        "id": bob.id,
        "handle": bob.handle,
        "followerCount": 1,
        "viewerFollows": True,
    }
    await follow(gql, carol, bob.id)
    await follow(gql, alice, carol.id)

    seen_by_alice = (await data(gql, FOLLOW_STATE, {"handle": bob.handle}, alice.token))["user"]
    assert seen_by_alice["followerCount"] == 2 and seen_by_alice["followingCount"] == 0
    assert seen_by_alice["viewerFollows"] is True
    # Newest follower first.
    assert node_ids(seen_by_alice["followers"]) == [carol.id, alice.id]
    assert seen_by_alice["followers"]["totalCount"] == 2
    assert seen_by_alice["following"] == {"edges": [], "totalCount": 0}

    alice_state = (await data(gql, FOLLOW_STATE, {"handle": alice.handle}))["user"]
    assert alice_state["followingCount"] == 2 and alice_state["followerCount"] == 0
    assert node_ids(alice_state["following"]) == [carol.id, bob.id]  # most recent first
    assert alice_state["following"]["totalCount"] == 2
    assert alice_state["viewerFollows"] is False  # anonymous

    # viewerFollows is about the viewer: bob does not follow carol, nor himself.
    assert (await data(gql, FOLLOW_STATE, {"handle": carol.handle}, bob.token))["user"][
        "viewerFollows"
    ] is False
    assert (await data(gql, FOLLOW_STATE, {"handle": bob.handle}, bob.token))["user"][
        "viewerFollows"
    ] is False
    assert (await data(gql, FOLLOW_STATE, {"handle": bob.handle}))["user"]["viewerFollows"] is False

    payload = (await data(gql, UNFOLLOW, {"id": bob.id}, alice.token))["unfollow"]
    assert payload["errors"] == []
    assert payload["user"]["followerCount"] == 1 and payload["user"]["viewerFollows"] is False
    after = (await data(gql, FOLLOW_STATE, {"handle": bob.handle}, alice.token))["user"]
    assert after["viewerFollows"] is False and after["followerCount"] == 1
    assert node_ids(after["followers"]) == [carol.id]
    alice_after = (await data(gql, FOLLOW_STATE, {"handle": alice.handle}))["user"]
    assert node_ids(alice_after["following"]) == [carol.id]
    assert alice_after["followingCount"] == 1


async def test_follow_errors(gql: GraphQLClient) -> None:
    alice, bob = await register_many(gql, 2)

    def error_of(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
        return [(e["code"], e["field"]) for e in payload["errors"]]

    itself = (await data(gql, FOLLOW, {"id": alice.id}, alice.token))["follow"]
    assert error_of(itself) == [("CANNOT_FOLLOW_SELF", ["userId"])]

    await follow(gql, alice, bob.id)
    twice = (await data(gql, FOLLOW, {"id": bob.id}, alice.token))["follow"]
    assert error_of(twice) == [("ALREADY_FOLLOWING", ["userId"])]
    assert (await data(gql, FOLLOW_STATE, {"handle": bob.handle}))["user"]["followerCount"] == 1

    not_following = (await data(gql, UNFOLLOW, {"id": alice.id}, bob.token))["unfollow"]
    assert error_of(not_following) == [("NOT_FOLLOWING", ["userId"])]

    unknown = global_id("User", 987_654_321_012)
    for mutation, name in ((FOLLOW, "follow"), (UNFOLLOW, "unfollow")):
        missing = (await data(gql, mutation, {"id": unknown}, alice.token))[name]
        assert missing["user"] is None
        assert error_of(missing) == [("NOT_FOUND", ["userId"])]
        anonymous = await gql(mutation, {"id": bob.id})
        assert top_level_code(anonymous) == "UNAUTHENTICATED"

    # Nothing changed through the refused calls.
    state = (await data(gql, FOLLOW_STATE, {"handle": alice.handle}))["user"]
    assert state["followingCount"] == 1 and state["followerCount"] == 0


async def test_feed_shows_followed_authors_published_posts_newest_first(
    gql: GraphQLClient,
) -> None:
    reader, bob, carol, dave = await register_many(gql, 4)
    await follow(gql, reader, bob.id)
    await follow(gql, reader, carol.id)
    b1 = await create_post(gql, bob, title="b1")
    c1 = await create_post(gql, carol, title="c1")
    await create_post(gql, dave, title="d1")  # not followed
    await create_post(gql, bob, title="b2 draft", publish=False)
    await create_post(gql, reader, title="own post")  # the reader's own posts are not in it
    c2 = await create_post(gql, carol, title="c2")
    b3 = await create_post(gql, bob, title="b3")

    feed = (await data(gql, FEED, token=reader.token))["feed"]
    assert node_ids(feed) == [b3["id"], c2["id"], c1["id"], b1["id"]]
    assert feed["totalCount"] == 4
    assert [e["node"]["author"]["id"] for e in feed["edges"]] == [
        bob.id,
        carol.id,
        carol.id,
        bob.id,
    ]

    first = (await data(gql, FEED, {"first": 2}, reader.token))["feed"]
    assert node_ids(first) == [b3["id"], c2["id"]] and first["pageInfo"]["hasNextPage"]
    second = (
        await data(gql, FEED, {"first": 2, "after": first["pageInfo"]["endCursor"]}, reader.token)
    )["feed"]
    assert node_ids(second) == [c1["id"], b1["id"]]
    assert second["pageInfo"]["hasNextPage"] is False

    await unfollow(gql, reader, carol.id)
    feed = (await data(gql, FEED, token=reader.token))["feed"]
    assert node_ids(feed) == [b3["id"], b1["id"]] and feed["totalCount"] == 2

    lonely = (await data(gql, FEED, token=dave.token))["feed"]
    assert lonely["edges"] == [] and lonely["totalCount"] == 0

    anonymous = await gql(FEED)
    assert top_level_code(anonymous) == "UNAUTHENTICATED"
    assert anonymous["data"] is None


# ---------------------------------------------------------------------------
# Profiles
# ---------------------------------------------------------------------------

PROFILE_FIELDS = "profile { bio avatarUrl location links } errors { code message field }"
UPDATE_PROFILE = f"""
mutation($input: UpdateProfileInput!) {{ updateProfile(input: $input) {{ {PROFILE_FIELDS} }} }}"""
USER_PROFILE = """
query($handle: String!) { user(handle: $handle) { profile { bio avatarUrl location links } } }"""


async def test_update_profile(gql: GraphQLClient) -> None:
    user = await register(gql)

    async def update(**fields: Any) -> dict[str, Any]:
        return (await data(gql, UPDATE_PROFILE, {"input": fields}, user.token))["updateProfile"]

    async def public_profile() -> dict[str, Any]:
        return (await data(gql, USER_PROFILE, {"handle": user.handle}))["user"]["profile"]

    full = {
        "bio": "Writes about databases.",
        "avatarUrl": "https://img.example.com/me.png",
        "location": "Lisbon",
        "links": ["https://blog.example.com", "http://example.org/about"],
    }
    payload = await update(**full)
    assert payload == {"profile": full, "errors": []}
    assert await public_profile() == full

    # Omitted fields stay as they are.
    payload = await update(bio="New bio")
    assert payload["errors"] == []
    assert payload["profile"] == {**full, "bio": "New bio"}
    assert await public_profile() == {**full, "bio": "New bio"}

    # "" clears the avatar and the location.
    payload = await update(avatarUrl="", location="")
    expected = {**full, "bio": "New bio", "avatarUrl": None, "location": None}
    assert payload == {"profile": expected, "errors": []}
    assert await public_profile() == expected

    # Invalid input changes nothing.
    for fields, code, field in (
        ({"avatarUrl": "not a url"}, "INVALID_URL", ["input", "avatarUrl"]),
        ({"avatarUrl": "javascript:alert(1)"}, "INVALID_URL", ["input", "avatarUrl"]),
        ({"avatarUrl": "ftp://files.example.com/a.png"}, "INVALID_URL", ["input", "avatarUrl"]),
        ({"bio": "x" * 5_000}, "TOO_LONG", ["input", "bio"]),
    ):
        refused = await update(**fields, location="Porto")
        assert refused["profile"] is None, fields
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [(code, field)], fields
        assert refused["errors"][0]["message"]
    bad_link = await update(links=["https://fine.example.com", "mailto:me@example.com"])
    assert bad_link["profile"] is None and codes(bad_link) == ["INVALID_URL"]
    assert await public_profile() == expected

    anonymous = await gql(UPDATE_PROFILE, {"input": {"bio": "anon"}})
    assert top_level_code(anonymous) == "UNAUTHENTICATED"
    # The viewer sees the same profile.
    viewer = await data(
        gql, "{ viewer { profile { bio avatarUrl location links } } }", token=user.token
    )
    assert viewer["viewer"]["profile"] == expected


# ---------------------------------------------------------------------------
# Comments
# ---------------------------------------------------------------------------


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


async def test_comment_errors(gql: GraphQLClient) -> None:
    author, bob = await register_many(gql, 2)
    post = await create_post(gql, author, title="one")
    other_post = await create_post(gql, author, title="two")
    draft = await create_post(gql, author, title="draft", publish=False)
    comment = await add_comment(gql, bob, post["id"], "on the first post")

    async def attempt(who: Session | None, **fields: Any) -> dict[str, Any]:
        variables = {"input": {"postId": post["id"], "body": "text", **fields}}
        return (await data(gql, ADD_COMMENT, variables, who.token if who else None))["addComment"]

    def error_of(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
        assert payload["comment"] is None, payload
        return [(e["code"], e["field"]) for e in payload["errors"]]

    assert error_of(await attempt(bob, postId=other_post["id"], parentId=comment["id"])) == [
        ("INVALID_PARENT", ["input", "parentId"])
    ]
    assert error_of(await attempt(author, postId=draft["id"])) == [
        ("NOT_PUBLISHED", ["input", "postId"])
    ]
    assert error_of(await attempt(bob, postId=draft["id"])) == [("NOT_FOUND", ["input", "postId"])]
    assert error_of(await attempt(bob, postId=global_id("Post", 987_654_321_012))) == [
        ("NOT_FOUND", ["input", "postId"])
    ]
    assert error_of(await attempt(bob, body="")) == [("INVALID_BODY", ["input", "body"])]
    assert error_of(await attempt(bob, body="   ")) == [("INVALID_BODY", ["input", "body"])]

    anonymous = await gql(ADD_COMMENT, {"input": {"postId": post["id"], "body": "anon"}})
    assert top_level_code(anonymous) == "UNAUTHENTICATED"

    # Only the one good comment was written.
    assert (await data(gql, POST_COMMENTS, {"id": post["id"]}))["post"]["commentCount"] == 1
    assert (await data(gql, POST_COMMENTS, {"id": other_post["id"]}))["post"]["commentCount"] == 0
    assert (await data(gql, POST_COMMENTS, {"id": draft["id"]}, author.token))["post"][
        "commentCount"
    ] == 0


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


# ---------------------------------------------------------------------------
# Reactions
# ---------------------------------------------------------------------------


async def test_reactions(gql: GraphQLClient) -> None:
    author, bob, carol = await register_many(gql, 3)
    post = await create_post(gql, author)
    pid = post["id"]

    liked = await react(gql, bob, pid, "LIKE")
    assert reaction_counts(liked["post"]) == {"LIKE": 1}
    assert liked["post"]["viewerReactions"] == ["LIKE"]

    twice = (await data(gql, REACT, {"postId": pid, "kind": "LIKE"}, bob.token))["react"]
    assert codes(twice) == ["ALREADY_REACTED"]
    assert reaction_counts((await data(gql, REACTIONS, {"id": pid}))["post"]) == {"LIKE": 1}

    loved = await react(gql, bob, pid, "LOVE")
    assert reaction_counts(loved["post"]) == {"LIKE": 1, "LOVE": 1}
    assert sorted(loved["post"]["viewerReactions"]) == ["LIKE", "LOVE"]
    await react(gql, carol, pid, "LIKE")
    await react(gql, carol, pid, "FUNNY")

    assert reaction_counts((await data(gql, REACTIONS, {"id": pid}))["post"]) == {
        "LIKE": 2,
        "LOVE": 1,
        "FUNNY": 1,
    }
    # viewerReactions belong to whoever asks.
    assert sorted(
        (await data(gql, REACTIONS, {"id": pid}, carol.token))["post"]["viewerReactions"]
    ) == ["FUNNY", "LIKE"]
    assert (await data(gql, REACTIONS, {"id": pid}, author.token))["post"]["viewerReactions"] == []
    assert (await data(gql, REACTIONS, {"id": pid}))["post"]["viewerReactions"] == []

    payload = (await data(gql, UNREACT, {"postId": pid, "kind": "LIKE"}, bob.token))["unreact"]
    assert payload["errors"] == []
    assert reaction_counts(payload["post"]) == {"LIKE": 1, "LOVE": 1, "FUNNY": 1}
    assert payload["post"]["viewerReactions"] == ["LOVE"]
    missing = (await data(gql, UNREACT, {"postId": pid, "kind": "LIKE"}, bob.token))["unreact"]
    assert codes(missing) == ["NOT_REACTED"]
    never = (await data(gql, UNREACT, {"postId": pid, "kind": "INSIGHTFUL"}, carol.token))[
        "unreact"
    ]
    assert codes(never) == ["NOT_REACTED"]

    # Kinds nobody reacted with are omitted; a kind whose last reaction goes disappears.
    await data(gql, UNREACT, {"postId": pid, "kind": "FUNNY"}, carol.token)
    assert reaction_counts((await data(gql, REACTIONS, {"id": pid}))["post"]) == {
        "LIKE": 1,
        "LOVE": 1,
    }

    for mutation in (REACT, UNREACT):
        anonymous = await gql(mutation, {"postId": pid, "kind": "LIKE"})
        assert top_level_code(anonymous) == "UNAUTHENTICATED"
    unknown = (
        await data(
            gql, REACT, {"postId": global_id("Post", 987_654_321_012), "kind": "LIKE"}, bob.token
        )
    )["react"]
    assert unknown["post"] is None and codes(unknown) == ["NOT_FOUND"]
    bad_kind = await gql(REACT, {"postId": pid, "kind": "HATE"}, token=bob.token)
    assert bad_kind.get("errors")


# ---------------------------------------------------------------------------
# Notifications
# ---------------------------------------------------------------------------


async def test_notifications_for_follows_comments_replies_reactions(gql: GraphQLClient) -> None:
    author, bob, carol = await register_many(gql, 3)
    post = await create_post(gql, author, title="Noted")
    await follow(gql, bob, author.id)
    comment = await add_comment(gql, bob, post["id"], "nice post")
    await react(gql, carol, post["id"], "INSIGHTFUL")

    listed = await notifications(gql, author)
    assert summary(listed) == [  # newest first
        ("REACTED", carol.id, post["id"], None),
        ("COMMENTED", bob.id, post["id"], comment["id"]),
        ("FOLLOWED", bob.id, None, None),
    ]
    assert listed["totalCount"] == 3
    nodes = [e["node"] for e in listed["edges"]]
    assert all(n["read"] is False for n in nodes)
    times = [parse_time(n["createdAt"]) for n in nodes]
    assert times == sorted(times, reverse=True)
    assert nodes[0]["actor"]["handle"] == carol.handle
    assert nodes[1]["post"]["title"] == "Noted"
    assert nodes[1]["comment"]["body"] == "nice post"

    reply = await add_comment(gql, carol, post["id"], "I agree", parent_id=comment["id"])
    bob_notes = await notifications(gql, bob)
    assert summary(bob_notes) == [("REPLIED", carol.id, post["id"], reply["id"])]
    assert bob_notes["edges"][0]["node"]["comment"]["body"] == "I agree"
    # Carol acted and was not acted upon.
    assert (await notifications(gql, carol))["totalCount"] == 0

    anonymous = await gql(NOTIFICATIONS)
    assert top_level_code(anonymous) == "UNAUTHENTICATED"
    assert anonymous["data"] is None


async def test_no_notifications_for_your_own_actions(gql: GraphQLClient) -> None:
    author, bob = await register_many(gql, 2)
    post = await create_post(gql, author)
    own = await add_comment(gql, author, post["id"], "commenting on my own post")
    await add_comment(gql, author, post["id"], "replying to myself", parent_id=own["id"])
    await react(gql, author, post["id"], "LOVE")
    mine = await notifications(gql, author)
    assert mine["edges"] == [], summary(mine)
    assert mine["totalCount"] == 0

    # Bob replies to his own comment on the author's post: the author hears of it
    # (a comment on their post), Bob does not.
    bobs = await add_comment(gql, bob, post["id"], "bob here")
    bobs_reply = await add_comment(gql, bob, post["id"], "bob again", parent_id=bobs["id"])
    assert (await notifications(gql, bob))["totalCount"] == 0, summary(
        await notifications(gql, bob)
    )
    author_notes = summary(await notifications(gql, author))
    assert ("COMMENTED", bob.id, post["id"], bobs["id"]) in author_notes
    assert all(actor == bob.id for _, actor, _, _ in author_notes)
    assert any(comment == bobs_reply["id"] for _, _, _, comment in author_notes)

    # The author replies to Bob: Bob is notified, the author is not.
    answer = await add_comment(gql, author, post["id"], "thanks", parent_id=bobs["id"])
    assert summary(await notifications(gql, bob)) == [
        ("REPLIED", author.id, post["id"], answer["id"])
    ]
    assert all(actor == bob.id for _, actor, _, _ in summary(await notifications(gql, author)))


async def test_notifications_are_private_and_can_be_marked_read(gql: GraphQLClient) -> None:
    alice, bob, carol, dave = await register_many(gql, 4)
    await follow(gql, bob, alice.id)
    await follow(gql, carol, alice.id)
    await follow(gql, dave, alice.id)
    await follow(gql, alice, bob.id)  # bob's own notification

    alice_notes = await notifications(gql, alice)
    assert [n[1] for n in summary(alice_notes)] == [dave.id, carol.id, bob.id]
    n_dave, n_carol, n_bob = node_ids(alice_notes)
    [bobs_note] = node_ids(await notifications(gql, bob))

    # Nobody else reaches a notification, even by id.
    assert (await data(gql, NODE, {"id": n_dave}, alice.token))["node"] == {
        "__typename": "Notification",
        "id": n_dave,
        "kind": "FOLLOWED",
    }
    assert (await data(gql, NODE, {"id": bobs_note}, alice.token))["node"] is None
    assert (await data(gql, NODE, {"id": n_dave}))["node"] is None
    assert (await data(gql, NODES, {"ids": [n_dave, bobs_note]}, alice.token))["nodes"] == [
        {"__typename": "Notification", "id": n_dave, "kind": "FOLLOWED"},
        None,
    ]

    unread = await notifications(gql, alice, unread_only=True)
    assert node_ids(unread) == [n_dave, n_carol, n_bob] and unread["totalCount"] == 3

    # Only the viewer's own notifications are marked: bob's is ignored.
    marked = (await data(gql, MARK_READ, {"ids": [n_carol, bobs_note]}, alice.token))[
        "markNotificationsRead"
    ]
    assert marked == {"count": 1, "errors": []}
    unread = await notifications(gql, alice, unread_only=True)
    assert node_ids(unread) == [n_dave, n_bob] and unread["totalCount"] == 2
    everything = await notifications(gql, alice, unread_only=False)
    assert node_ids(everything) == [n_dave, n_carol, n_bob]
    assert [e["node"]["read"] for e in everything["edges"]] == [False, True, False]
    assert everything["totalCount"] == 3
    bob_view = await notifications(gql, bob)
    assert [e["node"]["read"] for e in bob_view["edges"]] == [False]

    # Marking an already-read notification changes nothing.
    again = (await data(gql, MARK_READ, {"ids": [n_carol]}, alice.token))["markNotificationsRead"]
    assert again == {"count": 0, "errors": []}

    # No ids: all of them.
    all_marked = (await data(gql, MARK_READ, {}, alice.token))["markNotificationsRead"]
    assert all_marked == {"count": 2, "errors": []}
    unread = await notifications(gql, alice, unread_only=True)
    assert unread["edges"] == [] and unread["totalCount"] == 0
    assert all(e["node"]["read"] for e in (await notifications(gql, alice))["edges"])
    # Bob's notification is still unread.
    assert (await notifications(gql, bob, unread_only=True))["totalCount"] == 1

    anonymous = await gql(MARK_READ, {})
    assert top_level_code(anonymous) == "UNAUTHENTICATED"
    anonymous_list = await gql(NOTIFICATIONS, {"unreadOnly": True})
    assert top_level_code(anonymous_list) == "UNAUTHENTICATED"


# ---------------------------------------------------------------------------
# node / nodes and IDs
# ---------------------------------------------------------------------------


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


async def test_invalid_and_unknown_ids(gql: GraphQLClient) -> None:
    alice = await register(gql)
    post = await create_post(gql, alice)

    no_colon = base64.urlsafe_b64encode(b"Usernocolon").decode().rstrip("=")
    for bad in ("not an id!", "@@@", no_colon, global_id("User", ""), global_id("", 1)):
        body = await gql(NODE, {"id": bad})
        assert top_level_code(body) == "BAD_USER_INPUT", bad
    body = await gql(NODES, {"ids": [alice.id, "not an id!"]})
    assert top_level_code(body) == "BAD_USER_INPUT"

    for type_name, key in (
        ("User", 987_654_321_012),
        ("Post", 987_654_321_012),
        ("Comment", "f" * 24),
        ("Notification", "f" * 24),
    ):
        assert (await data(gql, NODE, {"id": global_id(type_name, key)}, alice.token))[
            "node"
        ] is None, type_name

    # An id of the wrong type where a specific type is expected.
    wrong = await gql(FOLLOW, {"id": post["id"]}, token=alice.token)
    assert top_level_code(wrong) == "BAD_USER_INPUT"
    wrong = await gql(POST, {"id": alice.id})
    assert top_level_code(wrong) == "BAD_USER_INPUT"
    wrong = await gql(POSTS, {"authorId": post["id"]})
    assert top_level_code(wrong) == "BAD_USER_INPUT"
    wrong = await gql(ADD_COMMENT, {"input": {"postId": alice.id, "body": "x"}}, token=alice.token)
    assert top_level_code(wrong) == "BAD_USER_INPUT"
    wrong = await gql(REACT, {"postId": alice.id, "kind": "LIKE"}, token=alice.token)
    assert top_level_code(wrong) == "BAD_USER_INPUT"
    wrong = await gql(DELETE_COMMENT, {"id": post["id"]}, token=alice.token)
    assert top_level_code(wrong) == "BAD_USER_INPUT"
    wrong = await gql(MARK_READ, {"ids": [post["id"]]}, token=alice.token)
    assert top_level_code(wrong) == "BAD_USER_INPUT"


# ---------------------------------------------------------------------------
# A mutation's payload sees its own write
# ---------------------------------------------------------------------------


async def test_payloads_see_their_own_writes(gql: GraphQLClient) -> None:
    """Several mutations in one document run in order; each payload must see the writes
    made before it (no stale per-request cache). Every mismatch is collected."""
    author, bob = await register_many(gql, 2)
    post = await create_post(gql, author, title="Original")
    pid = post["id"]
    problems: list[str] = []

    def check(label: str, actual: Any, expected: Any) -> None:
        if actual != expected:
            problems.append(f"{label}: expected {expected!r}, got {actual!r}")

    reactions = await data(
        gql,
        """mutation($p: ID!) {
          a: react(postId: $p, kind: LIKE) { post { reactions { kind count } viewerReactions } }
          b: react(postId: $p, kind: LOVE) { post { reactions { kind count } viewerReactions } }
          c: unreact(postId: $p, kind: LIKE) { post { reactions { kind count } viewerReactions } }
        }""",
        {"p": pid},
        bob.token,
    )
    check("react LIKE reactions", reaction_counts(reactions["a"]["post"]), {"LIKE": 1})
    check("react LIKE viewerReactions", reactions["a"]["post"]["viewerReactions"], ["LIKE"])
    check(
        "then react LOVE reactions",
        reaction_counts(reactions["b"]["post"]),
        {"LIKE": 1, "LOVE": 1},
    )
    check(
        "then react LOVE viewerReactions",
        sorted(reactions["b"]["post"]["viewerReactions"]),
        ["LIKE", "LOVE"],
    )
    check("then unreact LIKE reactions", reaction_counts(reactions["c"]["post"]), {"LOVE": 1})
    check("then unreact LIKE viewerReactions", reactions["c"]["post"]["viewerReactions"], ["LOVE"])

    comments = await data(
        gql,
        """mutation($p: ID!) {
          a: addComment(input: {postId: $p, body: "one"}) {
            comment { post { commentCount comments { totalCount edges { node { body } } } } } }
          b: addComment(input: {postId: $p, body: "two"}) {
            comment { post { commentCount comments { totalCount edges { node { body } } } } } }
        }""",
        {"p": pid},
        bob.token,
    )
    for label, payload, bodies in (
        ("addComment one", comments["a"], ["one"]),
        ("then addComment two", comments["b"], ["one", "two"]),
    ):
        seen = payload["comment"]["post"]
        check(f"{label}: post.commentCount", seen["commentCount"], len(bodies))
        check(f"{label}: post.comments.totalCount", seen["comments"]["totalCount"], len(bodies))
        check(
            f"{label}: post.comments",
            [e["node"]["body"] for e in seen["comments"]["edges"]],
            bodies,
        )

    follows = await data(
        gql,
        """mutation($u: ID!) {
          a: follow(userId: $u) { user { followerCount viewerFollows followers { totalCount } } }
          b: unfollow(userId: $u) { user { followerCount viewerFollows followers { totalCount } } }
        }""",
        {"u": author.id},
        bob.token,
    )
    check(
        "follow",
        follows["a"]["user"],
        {"followerCount": 1, "viewerFollows": True, "followers": {"totalCount": 1}},
    )
    check(
        "then unfollow",
        follows["b"]["user"],
        {"followerCount": 0, "viewerFollows": False, "followers": {"totalCount": 0}},
    )

    updates = await data(
        gql,
        """mutation($p: ID!) {
          a: updatePost(input: {id: $p, title: "Renamed"}) { post { title body } }
          b: updatePost(input: {id: $p, body: "New body"}) { post { title body } }
        }""",
        {"p": pid},
        author.token,
    )
    check("updatePost title", updates["a"]["post"], {"title": "Renamed", "body": post["body"]})
    check("then updatePost body", updates["b"]["post"], {"title": "Renamed", "body": "New body"})

    created = await data(
        gql,
        """mutation {
          a: createPost(input: {title: "x", body: "y", publish: true}) {
            post { author { posts { totalCount } } } }
          b: createPost(input: {title: "x2", body: "y2", publish: false}) {
            post { author { posts { totalCount } } } }
        }""",
        token=author.token,
    )
    check(
        "createPost: author.posts.totalCount",
        created["a"]["post"]["author"]["posts"]["totalCount"],
        2,
    )
    check(
        "then createPost: author.posts.totalCount",
        created["b"]["post"]["author"]["posts"]["totalCount"],
        3,
    )

    profile = await data(
        gql,
        """mutation {
          a: updateProfile(input: {bio: "first"}) { profile { bio location } }
          b: updateProfile(input: {location: "Oslo"}) { profile { bio location } }
        }""",
        token=bob.token,
    )
    check("updateProfile bio", profile["a"]["profile"], {"bio": "first", "location": None})
    check(
        "then updateProfile location", profile["b"]["profile"], {"bio": "first", "location": "Oslo"}
    )

    draft = await create_post(gql, author, publish=False)
    published = await data(
        gql,
        """mutation($p: ID!) {
          a: publishPost(id: $p) { post { status publishedAt } }
          b: updatePost(input: {id: $p, title: "After publishing"}) { post { title status } }
        }""",
        {"p": draft["id"]},
        author.token,
    )
    check("publishPost status", published["a"]["post"]["status"], "PUBLISHED")
    check("publishPost publishedAt set", published["a"]["post"]["publishedAt"] is not None, True)
    check(
        "then updatePost",
        published["b"]["post"],
        {"title": "After publishing", "status": "PUBLISHED"},
    )

    assert problems == [], "\n".join(problems)


# ---------------------------------------------------------------------------
# Connection arguments
# ---------------------------------------------------------------------------


async def test_connection_arguments_are_checked(gql: GraphQLClient) -> None:
    alice, bob = await register_many(gql, 2)
    post = await create_post(gql, alice)
    comment = await add_comment(gql, bob, post["id"], "top")
    await add_comment(gql, alice, post["id"], "reply", parent_id=comment["id"])
    await follow(gql, bob, alice.id)
    await follow(gql, alice, bob.id)
    await create_post(gql, bob)  # so that alice's feed has an item

    connections = {
        "posts": ("query($f: Int, $a: String) { posts(first: $f, after: $a) { CONN } }", {}),
        "users": ("query($f: Int, $a: String) { users(first: $f, after: $a) { CONN } }", {}),
        "feed": ("query($f: Int, $a: String) { feed(first: $f, after: $a) { CONN } }", {}),
        "notifications": (
            "query($f: Int, $a: String) { notifications(first: $f, after: $a) { CONN } }",
            {},
        ),
        "user.posts": (
            "query($f: Int, $a: String, $h: String!) "
            "{ user(handle: $h) { posts(first: $f, after: $a) { CONN } } }",
            {"h": alice.handle},
        ),
        "user.followers": (
            "query($f: Int, $a: String, $h: String!) "
            "{ user(handle: $h) { followers(first: $f, after: $a) { CONN } } }",
            {"h": alice.handle},
        ),
        "user.following": (
            "query($f: Int, $a: String, $h: String!) "
            "{ user(handle: $h) { following(first: $f, after: $a) { CONN } } }",
            {"h": alice.handle},
        ),
        "post.comments": (
            "query($f: Int, $a: String, $p: ID!) "
            "{ post(id: $p) { comments(first: $f, after: $a) { CONN } } }",
            {"p": post["id"]},
        ),
        "comment.replies": (
            "query($f: Int, $a: String, $c: ID!) "
            "{ node(id: $c) { ... on Comment { replies(first: $f, after: $a) { CONN } } } }",
            {"c": comment["id"]},
        ),
    }
    conn = "edges { cursor } pageInfo { endCursor } totalCount"

    def find_connection(result: dict[str, Any]) -> dict[str, Any]:
        while "edges" not in result:
            [result] = result.values()
        return result

    def code_of(body: dict[str, Any]) -> str:
        errors = body.get("errors") or [{"extensions": {"code": "no error"}}]
        return errors[0]["extensions"]["code"]

    cursors: dict[str, str] = {}
    for name, (query, variables) in connections.items():
        query = query.replace("CONN", conn)
        ok = find_connection(await data(gql, query, {**variables, "f": 100}, alice.token))
        assert ok["edges"], name  # every listing has an item, so a cursor to reuse
        cursors[name] = ok["edges"][0]["cursor"]
        assert "errors" not in await gql(
            query, {**variables, "a": cursors[name]}, token=alice.token
        )

    # (listing, what is wrong, query, variables): each must be BAD_USER_INPUT. Every kind
    # of bad cursor on `posts`; a sample of them on the other listings.
    cases: list[tuple[str, str, str, dict[str, Any]]] = []
    names = list(connections)
    for index, (name, (query, variables)) in enumerate(connections.items()):
        query = query.replace("CONN", conn)
        for first in (101, -1):
            cases.append((name, f"first={first}", query, {**variables, "f": first}))
        cursor = cursors[name]
        forged = tampered(cursor)
        afters = ["garbage!", cursor[: len(cursor) // 2]]
        if name != "posts":
            afters += forged[1:3]
        else:
            afters += [
                "x" * 2000,
                raw_cursor("not a list"),
                raw_cursor({"a": 1}),
                base64.urlsafe_b64encode(b"\xff\xfe not json").decode(),
                *forged,
            ]
        for after in afters:
            cases.append((name, f"after={after}", query, {**variables, "a": after}))
        # A cursor from one list is refused by another list.
        others = names if name == "posts" else [names[(index + 1) % len(names)], "posts"]
        for other in others:
            if other != name:
                cases.append(
                    (name, f"cursor of {other}", query, {**variables, "a": cursors[other]})
                )

    bodies = await asyncio.gather(
        *(gql(query, variables, token=alice.token) for _, _, query, variables in cases)
    )
    # Every problem is collected, so that one failure does not hide the others.
    problems = [
        (name, wrong, code_of(body))
        for (name, wrong, _, _), body in zip(cases, bodies, strict=True)
        if code_of(body) != "BAD_USER_INPUT"
    ]
    assert problems == [], "\n".join(map(str, problems))
