"""No N+1: a deep query costs the same number of round trips for 5, 20 or 100 posts."""

from __future__ import annotations

import uuid

from support.accounts import Session, register
from support.apps import RunningApp
from support.graphql import GraphQLClient
from support.ids import key_of

DEEP = """
query($tag: String!, $n: Int!) {
  posts(first: $n, tag: $tag) {
    edges { node {
      title
      author { handle profile { bio } }
      commentCount
      reactions { kind count }
      viewerReactions
      comments(first: 3) { edges { node {
        body
        author { handle profile { bio } }
        replies(first: 2) { edges { node { body author { handle } } } }
      } } }
    } }
  }
}
"""


async def seed(app_server: RunningApp, gql: GraphQLClient, tag: str) -> Session:
    """100 posts by 10 authors, each with 4 comments (2 with 3 replies) and 2 reactions.

    Authors, commenters and repliers are different people, so no level of the
    query is served from another level's cache, whatever N is."""
    people = [await register(gql) for _ in range(17)]
    viewer, rest = people[0], [int(key_of(p.id)) for p in people[1:]]
    authors, commenters, repliers = rest[:10], rest[10:13], rest[13:16]
    stores = app_server.app.state.stores
    for user_id in rest:
        await stores.documents.profiles.update(user_id, bio=f"bio of {user_id}")
    for i in range(100):
        post = await stores.relational.posts.create(
            authors[i % len(authors)], f"post {i}", "body", [tag], True
        )
        for c in range(4):
            comment = await stores.documents.comments.add(
                post.id, commenters[c % len(commenters)], f"c{c}", None
            )
            if c < 2:
                for r in range(3):
                    await stores.documents.comments.add(post.id, repliers[r], f"r{r}", comment.id)
        await stores.documents.reactions.add(post.id, commenters[0], "LIKE")
        await stores.documents.reactions.add(post.id, int(key_of(viewer.id)), "LOVE")
    return viewer


async def test_deep_query_round_trips_do_not_grow_with_n(
    app_server: RunningApp, gql: GraphQLClient
) -> None:
    tag = f"rt{uuid.uuid4().hex[:10]}"
    viewer = await seed(app_server, gql, tag)
    stats = {}
    for n in (5, 20, 100):
        body = await gql(DEEP, {"tag": tag, "n": n}, token=viewer.token)
        assert "errors" not in body, body["errors"]
        edges = body["data"]["posts"]["edges"]
        assert len(edges) == n
        node = edges[0]["node"]
        assert node["commentCount"] == 10  # 4 comments + 2 x 3 replies
        assert len(node["comments"]["edges"]) == 3
        assert len(node["comments"]["edges"][0]["node"]["replies"]["edges"]) == 2
        assert node["author"]["profile"]["bio"].startswith("bio of")
        assert {r["kind"] for r in node["reactions"]} == {"LIKE", "LOVE"}
        assert node["viewerReactions"] == ["LOVE"]
        stats[n] = body["extensions"]["queryStats"]
    print(
        f"\nround trips per deep query ({app_server.settings.sqlalchemy_url.split(':')[0]}):", stats
    )
    assert stats[5] == stats[20] == stats[100], stats
    # A handful per level, not one per post.
    assert stats[100]["sql"] <= 6 and stats[100]["mongo"] <= 10, stats


async def test_query_stats_are_in_extensions_in_development(gql: GraphQLClient) -> None:
    body = await gql("{ posts(first: 1) { edges { node { id } } } }")
    assert body["extensions"]["queryStats"]["sql"] >= 1
    assert body["extensions"]["queryStats"]["mongo"] == 0


TOTAL = """
query($after: String, $tag: String) {
  posts(first: 1, after: $after, tag: $tag) {
    totalCount
    pageInfo { endCursor }
    edges { node { id } }
  }
}
"""


async def test_a_page_of_every_post_reads_its_total_count_in_the_same_statement(
    app_server: RunningApp, gql: GraphQLClient
) -> None:
    """The kept count of published posts comes with the page's rows; a filtered
    listing counts its own posts, in a second statement."""
    posts = app_server.app.state.stores.relational.posts
    author = int(key_of((await register(gql)).id))
    tag = f"tc{uuid.uuid4().hex[:10]}"

    async def listed(**variables: str | None) -> tuple[int, str, dict[str, int]]:
        body = await gql(TOTAL, variables)
        assert "errors" not in body, body["errors"]
        page = body["data"]["posts"]
        return page["totalCount"], page["pageInfo"]["endCursor"], body["extensions"]["queryStats"]

    before, _, _ = await listed()
    for i in range(2):
        await posts.create(author, f"counted {i}", "body", [tag], True)
    await posts.create(author, "a draft", "body", [tag], False)

    total, cursor, stats = await listed()
    assert total == before + 2
    assert stats == {"sql": 1, "mongo": 0}
    total, _, stats = await listed(after=cursor)
    assert total == before + 2
    assert stats == {"sql": 1, "mongo": 0}
    total, _, stats = await listed(tag=tag)
    assert total == 2
    assert stats == {"sql": 2, "mongo": 0}


SHOWN = """
fragment Shown on Post {
  author { id handle displayName followerCount followingCount createdAt }
}
"""
AUTHORS = (
    """
query($after: String, $tag: String, $search: String, $authorId: ID) {
  posts(first: 4, after: $after, tag: $tag, search: $search, authorId: $authorId) {
    pageInfo { endCursor }
    edges { node { id ...Shown } }
  }
}
"""
    + SHOWN
)
FEED = "{ feed(first: 4) { edges { node { id ...Shown } } } }" + SHOWN
ONE_AUTHOR = "query($id: ID!) { node(id: $id) { ...Shown } }" + SHOWN


async def test_a_page_of_posts_reads_its_authors_in_the_same_statement(
    app_server: RunningApp, gql: GraphQLClient
) -> None:
    """A listing of posts that shows its authors reads them with its posts: every
    post's pages, the filtered listings and the feed; each author is the one its post
    gives when asked by itself."""
    posts = app_server.app.state.stores.relational.posts
    followed, follower = await register(gql), await register(gql)
    await gql(
        "mutation($u: ID!) { follow(userId: $u) { errors { code } } }",
        {"u": followed.id},
        token=follower.token,
    )
    marker = uuid.uuid4().hex[:10]
    tag = f"pa{marker}"
    for i in range(6):
        await posts.create(int(key_of(followed.id)), f"shown {marker} {i}", "body", [tag], True)

    async def listed(**variables: str | None) -> tuple[list[dict], str, dict[str, int]]:
        body = await gql(AUTHORS, variables)
        assert "errors" not in body, body["errors"]
        page = body["data"]["posts"]
        edges = [edge["node"] for edge in page["edges"]]
        return edges, page["pageInfo"]["endCursor"], body["extensions"]["queryStats"]

    first, cursor, stats = await listed()
    assert stats == {"sql": 1, "mongo": 0}
    second, _, stats = await listed(after=cursor)
    assert stats == {"sql": 1, "mongo": 0}
    shown = first + second
    for filters in ({"tag": tag}, {"search": marker}, {"authorId": followed.id}):
        filtered, _, stats = await listed(**filters)
        assert stats == {"sql": 1, "mongo": 0}, filters
        assert len(filtered) == 4, filters
        assert {node["author"]["followerCount"] for node in filtered} == {1}
        shown += filtered
    fed = await gql(FEED, token=follower.token)
    assert "errors" not in fed, fed["errors"]
    assert fed["extensions"]["queryStats"] == {"sql": 1, "mongo": 0}
    shown += [edge["node"] for edge in fed["data"]["feed"]["edges"]]
    assert len(shown) == 4 * 6
    for node in shown:
        alone = await gql(ONE_AUTHOR, {"id": node["id"]})
        assert alone["data"]["node"]["author"] == node["author"]
