"""Following and unfollowing users, and the feed of the followed authors' posts."""

from __future__ import annotations

from typing import Any

from support.accounts import register_many
from support.follows import FEED, FOLLOW, UNFOLLOW, follow, unfollow
from support.graphql import GraphQLClient, data, node_ids, top_level_code
from support.ids import global_id
from support.posts import create_post

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
