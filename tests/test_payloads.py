"""A mutation's payload sees its own write, and the writes before it in the document.

Several mutations in one document run in order; each payload must see the writes made
before it (no stale per-request cache). One case per kind of mutation, each on a post
of its own author's, with a second user (bob) acting on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from support.accounts import Session, register_many
from support.graphql import GraphQLClient, data
from support.posts import create_post
from support.reactions import reaction_counts


async def reactions(
    gql: GraphQLClient, author: Session, bob: Session, post: dict[str, Any]
) -> None:
    pid = post["id"]
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
    assert reaction_counts(reactions["a"]["post"]) == {"LIKE": 1}, "react LIKE reactions"
    assert reactions["a"]["post"]["viewerReactions"] == ["LIKE"], "react LIKE viewerReactions"
    assert reaction_counts(reactions["b"]["post"]) == {"LIKE": 1, "LOVE": 1}, (
        "then react LOVE reactions"
    )
    assert sorted(reactions["b"]["post"]["viewerReactions"]) == ["LIKE", "LOVE"], (
        "then react LOVE viewerReactions"
    )
    assert reaction_counts(reactions["c"]["post"]) == {"LOVE": 1}, "then unreact LIKE reactions"
    assert reactions["c"]["post"]["viewerReactions"] == ["LOVE"], (
        "then unreact LIKE viewerReactions"
    )


async def comments(gql: GraphQLClient, author: Session, bob: Session, post: dict[str, Any]) -> None:
    comments = await data(
        gql,
        """mutation($p: ID!) {
          a: addComment(input: {postId: $p, body: "one"}) {
            comment { post { commentCount comments { totalCount edges { node { body } } } } } }
          b: addComment(input: {postId: $p, body: "two"}) {
            comment { post { commentCount comments { totalCount edges { node { body } } } } } }
        }""",
        {"p": post["id"]},
        bob.token,
    )
    for label, payload, bodies in (
        ("addComment one", comments["a"], ["one"]),
        ("then addComment two", comments["b"], ["one", "two"]),
    ):
        seen = payload["comment"]["post"]
        assert seen["commentCount"] == len(bodies), f"{label}: post.commentCount"
        assert seen["comments"]["totalCount"] == len(bodies), f"{label}: post.comments.totalCount"
        assert [e["node"]["body"] for e in seen["comments"]["edges"]] == bodies, (
            f"{label}: post.comments"
        )


async def follows(gql: GraphQLClient, author: Session, bob: Session, post: dict[str, Any]) -> None:
    follows = await data(
        gql,
        """mutation($u: ID!) {
          a: follow(userId: $u) { user { followerCount viewerFollows followers { totalCount } } }
          b: unfollow(userId: $u) { user { followerCount viewerFollows followers { totalCount } } }
        }""",
        {"u": author.id},
        bob.token,
    )
    assert follows["a"]["user"] == {
        "followerCount": 1,
        "viewerFollows": True,
        "followers": {"totalCount": 1},
    }, "follow"
    assert follows["b"]["user"] == {
        "followerCount": 0,
        "viewerFollows": False,
        "followers": {"totalCount": 0},
    }, "then unfollow"


async def updates(gql: GraphQLClient, author: Session, bob: Session, post: dict[str, Any]) -> None:
    updates = await data(
        gql,
        """mutation($p: ID!) {
          a: updatePost(input: {id: $p, title: "Renamed"}) { post { title body } }
          b: updatePost(input: {id: $p, body: "New body"}) { post { title body } }
        }""",
        {"p": post["id"]},
        author.token,
    )
    assert updates["a"]["post"] == {"title": "Renamed", "body": post["body"]}, "updatePost title"
    assert updates["b"]["post"] == {"title": "Renamed", "body": "New body"}, "then updatePost body"


async def creations(
    gql: GraphQLClient, author: Session, bob: Session, post: dict[str, Any]
) -> None:
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
    assert created["a"]["post"]["author"]["posts"]["totalCount"] == 2, (
        "createPost: author.posts.totalCount"
    )
    assert created["b"]["post"]["author"]["posts"]["totalCount"] == 3, (
        "then createPost: author.posts.totalCount"
    )


async def profiles(gql: GraphQLClient, author: Session, bob: Session, post: dict[str, Any]) -> None:
    profile = await data(
        gql,
        """mutation {
          a: updateProfile(input: {bio: "first"}) { profile { bio location } }
          b: updateProfile(input: {location: "Oslo"}) { profile { bio location } }
        }""",
        token=bob.token,
    )
    assert profile["a"]["profile"] == {"bio": "first", "location": None}, "updateProfile bio"
    assert profile["b"]["profile"] == {"bio": "first", "location": "Oslo"}, (
        "then updateProfile location"
    )


async def publishing(
    gql: GraphQLClient, author: Session, bob: Session, post: dict[str, Any]
) -> None:
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
    assert published["a"]["post"]["status"] == "PUBLISHED", "publishPost status"
    assert published["a"]["post"]["publishedAt"] is not None, "publishPost publishedAt set"
    assert published["b"]["post"] == {"title": "After publishing", "status": "PUBLISHED"}, (
        "then updatePost"
    )


Mutations = Callable[[GraphQLClient, Session, Session, dict[str, Any]], Awaitable[None]]


@pytest.mark.parametrize(
    "mutations",
    [reactions, comments, follows, updates, creations, profiles, publishing],
    ids=lambda mutations: mutations.__name__,
)
async def test_payloads_see_their_own_writes(gql: GraphQLClient, mutations: Mutations) -> None:
    author, bob = await register_many(gql, 2)
    post = await create_post(gql, author, title="Original")
    await mutations(gql, author, bob, post)
