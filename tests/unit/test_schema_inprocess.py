"""End-to-end behaviour of the schema, driven in-process (`schema.execute`) on the
embedded datastores: no HTTP server, no external service."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from datasources.relational.models import Post as PostRow
from schema.global_ids import from_global_id, to_global_id

from .inprocess import PASSWORD, InProcessGraphQL, Session, unique_handle

VIEWER = "{ viewer { id handle displayName email role } }"
CREATE_POST = """
mutation($i: CreatePostInput!) {
  createPost(input: $i) { post { id title status publishedAt } errors { code field } }
}"""
PUBLISH = """
mutation($id: ID!) {
  publishPost(id: $id) { post { id status publishedAt } errors { code field } }
}"""
POST = "query($id: ID!) { post(id: $id) { id title status commentCount } }"
ADD_COMMENT = """
mutation($i: AddCommentInput!) {
  addComment(input: $i) { comment { id body parent { id } } errors { code field } }
}"""
REACT = """
mutation($p: ID!, $k: ReactionKind!) {
  react(postId: $p, kind: $k) { post { reactions { kind count } viewerReactions } errors { code } }
}"""
UNREACT = """
mutation($p: ID!, $k: ReactionKind!) {
  unreact(postId: $p, kind: $k) {
    post { reactions { kind count } viewerReactions } errors { code }
  }
}"""
FOLLOW = """
mutation($u: ID!) { follow(userId: $u) { user { followerCount viewerFollows } errors { code } } }
"""
UNFOLLOW = """
mutation($u: ID!) { unfollow(userId: $u) { user { followerCount viewerFollows } errors { code } } }
"""
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"


def code_of(result: Any) -> str:
    assert result.errors, "expected a top-level error"
    return str(result.errors[0].extensions["code"])


async def create_post(
    gql: InProcessGraphQL, author: Session, *, publish: bool = False, title: str = "Hello"
) -> str:
    data = await gql(
        CREATE_POST,
        {"i": {"title": title, "body": "A body.", "tags": ["Intro"], "publish": publish}},
        author.token,
    )
    payload = data["createPost"]
    assert payload["errors"] == []
    return str(payload["post"]["id"])


@pytest.fixture(scope="module")
async def ada(gql: InProcessGraphQL) -> Session:
    return await gql.register("ada")


@pytest.fixture(scope="module")
async def bob(gql: InProcessGraphQL) -> Session:
    return await gql.register("bob")


async def test_register_then_viewer(gql: InProcessGraphQL) -> None:
    handle = unique_handle("Reg")
    data = await gql(
        "mutation($i: RegisterInput!) { register(input: $i) "
        "{ user { id handle } accessToken refreshToken errors { code } } }",
        {
            "i": {
                "handle": f"  {handle.upper()} ",
                "email": f"{handle}@Example.COM",
                "password": PASSWORD,
                "displayName": " Ada L. ",
            }
        },
    )
    payload = data["register"]
    assert payload["errors"] == []
    assert payload["user"]["handle"] == handle.lower()
    assert payload["accessToken"] and payload["refreshToken"]

    viewer = (await gql(VIEWER, token=payload["accessToken"]))["viewer"]
    assert viewer == {
        "id": payload["user"]["id"],
        "handle": handle.lower(),
        "displayName": "Ada L.",
        "email": f"{handle.lower()}@example.com",
        "role": "USER",
    }
    assert (await gql(VIEWER))["viewer"] is None


async def test_register_refuses_bad_input_and_writes_nothing(gql: InProcessGraphQL) -> None:
    data = await gql(
        "mutation($i: RegisterInput!) { register(input: $i) "
        "{ user { id } accessToken errors { code field } } }",
        {"i": {"handle": "x!", "email": "nope", "password": "short", "displayName": ""}},
    )
    payload = data["register"]
    assert (payload["user"], payload["accessToken"]) == (None, None)
    assert {(e["code"], tuple(e["field"])) for e in payload["errors"]} == {
        ("INVALID_HANDLE", ("input", "handle")),
        ("INVALID_EMAIL", ("input", "email")),
        ("PASSWORD_TOO_SHORT", ("input", "password")),
        ("INVALID_DISPLAY_NAME", ("input", "displayName")),
    }


async def test_a_bad_token_is_unauthenticated_for_viewer(gql: InProcessGraphQL) -> None:
    result = await gql.execute(VIEWER, token="not-a-token")
    assert code_of(result) == "UNAUTHENTICATED"
    assert result.data is None or result.data["viewer"] is None


async def test_a_draft_is_visible_to_its_author_only(
    gql: InProcessGraphQL, ada: Session, bob: Session
) -> None:
    post_id = await create_post(gql, ada, title="Draft")
    own = (await gql(POST, {"id": post_id}, ada.token))["post"]
    assert own["status"] == "DRAFT" and own["title"] == "Draft"

    assert (await gql(POST, {"id": post_id}, bob.token))["post"] is None
    assert (await gql(POST, {"id": post_id}))["post"] is None
    assert (await gql(NODE, {"id": post_id}))["node"] is None
    listing = "query($a: ID!) { posts(authorId: $a) { totalCount edges { node { id } } } }"
    public = (await gql(listing, {"a": ada.id}, bob.token))["posts"]
    assert post_id not in [edge["node"]["id"] for edge in public["edges"]]
    mine = "{ viewer { posts(first: 100) { edges { node { id status } } } } }"
    own_posts = (await gql(mine, token=ada.token))["viewer"]["posts"]["edges"]
    assert {"id": post_id, "status": "DRAFT"} in [edge["node"] for edge in own_posts]


async def test_publishing_makes_a_post_public(
    gql: InProcessGraphQL, ada: Session, bob: Session
) -> None:
    post_id = await create_post(gql, ada)
    # Someone else's draft is not there for them to publish.
    refused = (await gql(PUBLISH, {"id": post_id}, bob.token))["publishPost"]
    assert refused == {"post": None, "errors": [{"code": "NOT_FOUND", "field": ["id"]}]}
    assert (await gql(POST, {"id": post_id}))["post"] is None

    published = (await gql(PUBLISH, {"id": post_id}, ada.token))["publishPost"]
    assert published["errors"] == []
    assert published["post"]["status"] == "PUBLISHED" and published["post"]["publishedAt"]
    seen = (await gql(POST, {"id": post_id}))["post"]
    assert seen["status"] == "PUBLISHED"
    listing = "query($a: ID!) { posts(authorId: $a, first: 100) { edges { node { id } } } }"
    edges = (await gql(listing, {"a": ada.id}))["posts"]["edges"]
    assert post_id in [edge["node"]["id"] for edge in edges]


async def test_comments_and_replies_are_counted(
    gql: InProcessGraphQL, ada: Session, bob: Session
) -> None:
    post_id = await create_post(gql, ada, publish=True)
    top = (await gql(ADD_COMMENT, {"i": {"postId": post_id, "body": "First!"}}, bob.token))[
        "addComment"
    ]
    assert top["errors"] == [] and top["comment"]["parent"] is None
    reply = (
        await gql(
            ADD_COMMENT,
            {"i": {"postId": post_id, "body": "Thanks", "parentId": top["comment"]["id"]}},
            ada.token,
        )
    )["addComment"]
    assert reply["errors"] == []
    assert reply["comment"]["parent"] == {"id": top["comment"]["id"]}

    query = """query($id: ID!) { post(id: $id) { commentCount comments(first: 10) {
        totalCount edges { node { id body author { handle }
          replies(first: 10) { totalCount edges { node { id body author { handle } } } }
        } } } } }"""
    post = (await gql(query, {"id": post_id}))["post"]
    assert post["commentCount"] == 2  # replies included
    assert post["comments"]["totalCount"] == 1  # top-level only
    [edge] = post["comments"]["edges"]
    assert edge["node"]["author"]["handle"] == bob.handle
    assert edge["node"]["replies"]["totalCount"] == 1
    assert edge["node"]["replies"]["edges"][0]["node"] == {
        "id": reply["comment"]["id"],
        "body": "Thanks",
        "author": {"handle": ada.handle},
    }


async def test_drafts_cannot_be_commented_on(gql: InProcessGraphQL, ada: Session) -> None:
    post_id = await create_post(gql, ada)
    payload = (await gql(ADD_COMMENT, {"i": {"postId": post_id, "body": "hi"}}, ada.token))[
        "addComment"
    ]
    assert payload["comment"] is None
    assert [e["code"] for e in payload["errors"]] == ["NOT_PUBLISHED"]


def counts(payload: dict[str, Any]) -> dict[str, int]:
    return {r["kind"]: r["count"] for r in payload["post"]["reactions"]}


async def test_react_and_unreact_change_the_counts(
    gql: InProcessGraphQL, ada: Session, bob: Session
) -> None:
    post_id = await create_post(gql, ada, publish=True)
    liked = (await gql(REACT, {"p": post_id, "k": "LIKE"}, bob.token))["react"]
    assert liked["errors"] == []
    assert counts(liked)["LIKE"] == 1 and liked["post"]["viewerReactions"] == ["LIKE"]
    await gql(REACT, {"p": post_id, "k": "LIKE"}, ada.token)
    loved = (await gql(REACT, {"p": post_id, "k": "LOVE"}, bob.token))["react"]
    assert counts(loved) == {"LIKE": 2, "LOVE": 1}  # kinds with none are omitted
    assert sorted(loved["post"]["viewerReactions"]) == ["LIKE", "LOVE"]

    again = (await gql(REACT, {"p": post_id, "k": "LIKE"}, bob.token))["react"]
    assert [e["code"] for e in again["errors"]] == ["ALREADY_REACTED"]
    assert counts(again)["LIKE"] == 2

    unliked = (await gql(UNREACT, {"p": post_id, "k": "LIKE"}, bob.token))["unreact"]
    assert unliked["errors"] == []
    assert counts(unliked) == {"LIKE": 1, "LOVE": 1}
    assert unliked["post"]["viewerReactions"] == ["LOVE"]
    never = (await gql(UNREACT, {"p": post_id, "k": "FUNNY"}, bob.token))["unreact"]
    assert [e["code"] for e in never["errors"]] == ["NOT_REACTED"]


async def test_follow_and_unfollow_change_the_follower_count(gql: InProcessGraphQL) -> None:
    star, fan = await gql.register("star"), await gql.register("fan")
    followed = (await gql(FOLLOW, {"u": star.id}, fan.token))["follow"]
    assert followed == {"user": {"followerCount": 1, "viewerFollows": True}, "errors": []}
    again = (await gql(FOLLOW, {"u": star.id}, fan.token))["follow"]
    assert [e["code"] for e in again["errors"]] == ["ALREADY_FOLLOWING"]
    self_follow = (await gql(FOLLOW, {"u": fan.id}, fan.token))["follow"]
    assert [e["code"] for e in self_follow["errors"]] == ["CANNOT_FOLLOW_SELF"]

    query = """query($h: String!) { user(handle: $h) { followerCount
        followers(first: 5) { totalCount edges { node { handle } } } } }"""
    star_view = (await gql(query, {"h": star.handle}))["user"]
    assert star_view["followerCount"] == 1
    assert star_view["followers"]["edges"] == [{"node": {"handle": fan.handle}}]
    fan_view = (await gql("{ viewer { followingCount } }", token=fan.token))["viewer"]
    assert fan_view == {"followingCount": 1}

    unfollowed = (await gql(UNFOLLOW, {"u": star.id}, fan.token))["unfollow"]
    assert unfollowed == {"user": {"followerCount": 0, "viewerFollows": False}, "errors": []}


async def post_rows(gql: InProcessGraphQL, author: Session) -> int:
    author_id = int(from_global_id(author.id)[1])
    async with gql.stores.relational.read() as session:
        count = await session.scalar(
            select(func.count()).select_from(PostRow).where(PostRow.author_id == author_id)
        )
    return int(count or 0)


async def test_an_invalid_post_is_refused_and_nothing_is_written(
    gql: InProcessGraphQL,
) -> None:
    author = await gql.register("w")
    data = await gql(
        CREATE_POST,
        {"i": {"title": "x" * 201, "body": "body", "tags": [], "publish": True}},
        author.token,
    )
    assert data["createPost"] == {
        "post": None,
        "errors": [{"code": "INVALID_TITLE", "field": ["input", "title"]}],
    }
    assert await post_rows(gql, author) == 0
    mine = "{ viewer { posts { totalCount } } }"
    assert (await gql(mine, token=author.token))["viewer"]["posts"]["totalCount"] == 0
    # The same input with a valid title is written: the count above can change.
    await create_post(gql, author, title="x" * 200)
    assert await post_rows(gql, author) == 1


async def test_an_unknown_post_is_not_found(gql: InProcessGraphQL, ada: Session) -> None:
    missing = to_global_id("Post", 987_654_321)
    assert (await gql(POST, {"id": missing}))["post"] is None
    published = (await gql(PUBLISH, {"id": missing}, ada.token))["publishPost"]
    assert published == {"post": None, "errors": [{"code": "NOT_FOUND", "field": ["id"]}]}
    comment = (await gql(ADD_COMMENT, {"i": {"postId": missing, "body": "?"}}, ada.token))[
        "addComment"
    ]
    assert [(e["code"], e["field"]) for e in comment["errors"]] == [
        ("NOT_FOUND", ["input", "postId"])
    ]
    reacted = (await gql(REACT, {"p": missing, "k": "LIKE"}, ada.token))["react"]
    assert [e["code"] for e in reacted["errors"]] == ["NOT_FOUND"]


async def test_a_malformed_id_is_bad_user_input(gql: InProcessGraphQL) -> None:
    result = await gql.execute(POST, {"id": "definitely not an id"})
    assert code_of(result) == "BAD_USER_INPUT"
    assert (await gql(NODE, {"id": to_global_id("Post", "abc")}))["node"] is None


async def test_writing_needs_a_viewer(gql: InProcessGraphQL) -> None:
    result = await gql.execute(
        CREATE_POST, {"i": {"title": "t", "body": "b", "tags": [], "publish": False}}
    )
    assert code_of(result) == "UNAUTHENTICATED"


async def test_node_resolves_every_type(gql: InProcessGraphQL) -> None:
    author, reader = await gql.register("n"), await gql.register("m")
    post_id = await create_post(gql, author, publish=True)
    comment = (await gql(ADD_COMMENT, {"i": {"postId": post_id, "body": "hi"}}, reader.token))[
        "addComment"
    ]["comment"]
    notes = (await gql("{ notifications { edges { node { id kind } } } }", token=author.token))[
        "notifications"
    ]["edges"]
    assert [edge["node"]["kind"] for edge in notes] == ["COMMENTED"]
    note_id = notes[0]["node"]["id"]

    expected = {
        author.id: "User",
        post_id: "Post",
        comment["id"]: "Comment",
        note_id: "Notification",
    }
    for global_id, type_name in expected.items():
        node = (await gql(NODE, {"id": global_id}, author.token))["node"]
        assert node == {"__typename": type_name, "id": global_id}
    nodes = (
        await gql(
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename } }",
            {"ids": [*expected, to_global_id("Post", 987_654_321)]},
            author.token,
        )
    )["nodes"]
    assert nodes == [{"__typename": t} for t in expected.values()] + [None]
    # A notification is its recipient's alone.
    assert (await gql(NODE, {"id": note_id}, reader.token))["node"] is None


async def test_the_cost_is_reported_in_the_extensions(gql: InProcessGraphQL) -> None:
    result = await gql.execute("{ posts(first: 3) { edges { node { id } } } }")
    assert not result.errors
    cost = (result.extensions or {})["cost"]
    assert cost["requested"] == 1 + 1 + 3 * 2
    assert cost["actual"] == 2 + 2 * len(result.data["posts"]["edges"])  # type: ignore[index]
