"""Reactions to posts: their counts by kind, and the viewer's own."""

from __future__ import annotations

from support.accounts import register_many
from support.graphql import GraphQLClient, codes, data, top_level_code
from support.ids import global_id
from support.posts import create_post
from support.reactions import REACT, REACTIONS, UNREACT, react, reaction_counts


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
