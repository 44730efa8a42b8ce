"""Post listings: drafts are their author's alone, published posts come newest first
and can be filtered by author, tag and search, and pages follow one another.

Every test registers its own users (the app is shared by all tests of a backend),
and listings are always narrowed to those users or to a tag of the test's own.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from support.accounts import register, register_many
from support.follows import FEED, follow
from support.graphql import GraphQLClient, codes, data, node_ids, parse_time
from support.ids import NODE, NODES
from support.posts import POST, POSTS, USER_POSTS, VIEWER_POSTS, create_post
from support.reactions import REACT


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
