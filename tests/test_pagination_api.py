"""Walking whole connections page by page while rows are added and removed between
the page requests, through the HTTP endpoint.

Keyset cursors must give every row that existed when the walk began exactly once,
in order, whatever is inserted or deleted meanwhile: no duplicates (as offset paging
gives when rows are inserted before the position), no gaps (as it gives when rows
before the position are deleted), and no resurrection of rows deleted ahead of the
position.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from support.accounts import Session, register, register_many
from support.comments import add_comment, delete_comment
from support.follows import follow, unfollow
from support.graphql import PAGE_INFO, GraphQLClient, data, node_ids
from support.posts import create_post, delete_post

Fetch = Callable[[str | None], Awaitable[dict[str, Any]]]
Between = Callable[[int, list[str]], Awaitable[None]]
MAX_PAGES = 60


async def walk(fetch: Fetch, between: Between, first: int) -> list[dict[str, Any]]:
    """Every page of a connection, following endCursor; `between(step, seen)` runs
    after page `step` (0-based) when there is a next page."""
    pages: list[dict[str, Any]] = []
    seen: list[str] = []
    after: str | None = None
    for step in range(MAX_PAGES):
        connection = await fetch(after)
        pages.append(connection)
        info = connection["pageInfo"]
        edges = connection["edges"]
        assert len(edges) <= first
        assert info["hasPreviousPage"] is (after is not None), (step, info)
        if edges:
            assert info["startCursor"] == edges[0]["cursor"]
            assert info["endCursor"] == edges[-1]["cursor"]
            assert all(edge["cursor"] for edge in edges)
        seen += node_ids(connection)
        if not info["hasNextPage"]:
            return pages
        assert info["endCursor"], info
        after = info["endCursor"]
        await between(step, list(seen))
    raise AssertionError(f"still hasNextPage after {MAX_PAGES} pages")


def walked(pages: list[dict[str, Any]]) -> list[str]:
    return [i for page in pages for i in node_ids(page)]


class Churn:
    """Rows added and removed during a walk, and the resulting set of rows."""

    def __init__(self, originals: list[str]) -> None:
        self.originals = originals
        self.current = set(originals)
        self.removed_ahead: list[str] = []  # removed before the walk reached them
        self.added: list[str] = []

    async def remove(self, remove: Callable[[str], Awaitable[None]], row: str) -> None:
        await remove(row)
        self.current.discard(row)

    async def remove_ahead(
        self, remove: Callable[[str], Awaitable[None]], seen: list[str], *, last: bool
    ) -> None:
        """Removes a row the walk has not reached: the last one, or the next one."""
        ahead = [o for o in self.originals if o not in seen and o not in self.removed_ahead]
        victim = ahead[-1] if last else ahead[0]
        await self.remove(remove, victim)
        self.removed_ahead.append(victim)

    def add(self, row: str) -> None:
        self.added.append(row)
        self.current.add(row)

    def expected(self) -> list[str]:
        """The originals that must all appear, once each, in their order."""
        return [o for o in self.originals if o not in self.removed_ahead]

    def between(
        self, *, add: Callable[[], Awaitable[str]], remove: Callable[[str], Awaitable[None]]
    ) -> Between:
        """What `walk` runs between pages when the churn is all there is to it."""

        async def between(step: int, seen: list[str]) -> None:
            await churn_step(self, step, seen, add=add, remove=remove)

        return between


async def churn_step(
    churn: Churn,
    step: int,
    seen: list[str],
    *,
    add: Callable[[], Awaitable[str]],
    remove: Callable[[str], Awaitable[None]],
) -> None:
    """The same churn for every listing: one row added per step; the first row seen and the
    last row overall removed after the first page; the cursor's own row after the second;
    the row right after the cursor after the third."""
    if step > 2:
        return
    churn.add(await add())
    if step == 0:
        await churn.remove(remove, seen[0])
        await churn.remove_ahead(remove, seen, last=True)
    elif step == 1:
        await churn.remove(remove, seen[-1])
    elif step == 2:
        await churn.remove_ahead(remove, seen, last=False)


class Comments:
    """Comments written on one post during a walk, and who wrote each: its writer deletes it."""

    def __init__(self, gql: GraphQLClient, post_id: str) -> None:
        self.gql = gql
        self.post_id = post_id
        self.writers: dict[str, Session] = {}

    async def write(self, who: Session, body: str, parent_id: str | None = None) -> str:
        """Adds a comment (a reply to `parent_id`, if given) and returns its id."""
        comment = await add_comment(self.gql, who, self.post_id, body, parent_id)
        self.writers[comment["id"]] = who
        return comment["id"]

    async def delete(self, comment_id: str) -> None:
        await delete_comment(self.gql, self.writers[comment_id], comment_id)


def check_newest_first(churn: Churn, pages: list[dict[str, Any]]) -> None:
    """Newest first: rows added during the walk are newer than any cursor, so they never
    appear; the originals appear exactly once each, in order, minus those removed ahead."""
    seen = walked(pages)
    assert len(pages) >= 4, "the walk must span the whole churn"
    assert len(seen) == len(set(seen)), "duplicates"
    assert seen == churn.expected()
    assert not set(churn.removed_ahead) & set(seen)
    assert pages[0]["totalCount"] == len(churn.originals)
    assert pages[-1]["totalCount"] == len(churn.current)


def check_oldest_first(churn: Churn, pages: list[dict[str, Any]]) -> None:
    """Oldest first: rows added during the walk sort after every original, so they may
    legitimately appear, but only after all the originals and in their own order."""
    seen = walked(pages)
    expected = churn.expected()
    assert len(pages) >= 4, "the walk must span the whole churn"
    assert len(seen) == len(set(seen)), "duplicates"
    assert seen[: len(expected)] == expected
    appended = seen[len(expected) :]
    assert appended == [row for row in churn.added if row in appended]
    assert not set(churn.removed_ahead) & set(seen)
    assert pages[0]["totalCount"] == len(churn.originals)
    assert pages[-1]["totalCount"] == len(churn.current)


async def walk_comments(
    gql: GraphQLClient,
    churn: Churn,
    add: Callable[[], Awaitable[str]],
    comments: Comments,
    query: str,
    parent_id: str,
    path: tuple[str, str],
) -> None:
    """Walks a comment listing two at a time while `churn` adds (with `add`) and the
    writers of `comments` delete; oldest first, so late additions may show only at the end."""

    async def fetch(after: str | None) -> dict[str, Any]:
        found = await data(gql, query, {"id": parent_id, "first": 2, "after": after})
        return found[path[0]][path[1]]

    between = churn.between(add=add, remove=comments.delete)
    check_oldest_first(churn, await walk(fetch, between, 2))


# The documents of the walks: each listing's page (`first`, `after`) of ids.
PAGE = f"edges {{ cursor node {{ id }} }} {PAGE_INFO} totalCount"
POSTS = f"""query($first: Int, $after: String, $authorId: ID, $tag: String) {{
  posts(first: $first, after: $after, authorId: $authorId, tag: $tag) {{ {PAGE} }} }}"""
USER_POSTS = f"""query($handle: String!, $first: Int, $after: String) {{
  user(handle: $handle) {{ posts(first: $first, after: $after) {{ {PAGE} }} }} }}"""


async def test_posts_by_author_walk_while_posting_and_deleting(gql: GraphQLClient) -> None:
    author = await register(gql, "pg")
    await asyncio.gather(*(create_post(gql, author, title=f"p{i}") for i in range(12)))
    draft = await create_post(gql, author, title="published during the walk", publish=False)
    originals = node_ids((await data(gql, POSTS, {"authorId": author.id, "first": 100}))["posts"])
    assert len(originals) == 12
    churn = Churn(originals)

    async def add() -> str:
        return (await create_post(gql, author, title="new"))["id"]

    async def remove(post_id: str) -> None:
        await delete_post(gql, author, post_id)

    async def between(step: int, seen: list[str]) -> None:
        await churn_step(churn, step, seen, add=add, remove=remove)
        if step == 1:
            # Publishing an old draft makes it the newest post: not after the cursor.
            await data(
                gql,
                "mutation($id: ID!) { publishPost(id: $id) { post { id } } }",
                {"id": draft["id"]},
                author.token,
            )
            churn.add(draft["id"])

    async def fetch(after: str | None) -> dict[str, Any]:
        variables = {"authorId": author.id, "first": 3, "after": after}
        return (await data(gql, POSTS, variables))["posts"]

    check_newest_first(churn, await walk(fetch, between, 3))


async def test_posts_by_tag_walk_while_posting_and_deleting(gql: GraphQLClient) -> None:
    alice, bob = await register_many(gql, 2, "pg")
    tag = f"walk{uuid.uuid4().hex[:12]}"
    authors: dict[str, Session] = {}
    for round_ in range(4):
        made = await asyncio.gather(
            *(create_post(gql, who, title=f"{round_}", tags=[tag]) for who in (alice, bob, alice))
        )
        authors.update(
            {
                post["id"]: post_author
                for post, post_author in zip(made, (alice, bob, alice), strict=True)
            }
        )
    await create_post(gql, bob, title="untagged")
    originals = node_ids((await data(gql, POSTS, {"tag": tag, "first": 100}))["posts"])
    assert sorted(originals) == sorted(authors)
    churn = Churn(originals)
    turn = iter(range(100))

    async def add() -> str:
        who = (alice, bob)[next(turn) % 2]
        post = await create_post(gql, who, title="new", tags=[tag])
        authors[post["id"]] = who
        return post["id"]

    async def remove(post_id: str) -> None:
        await delete_post(gql, authors[post_id], post_id)

    async def fetch(after: str | None) -> dict[str, Any]:
        return (await data(gql, POSTS, {"tag": tag, "first": 3, "after": after}))["posts"]

    check_newest_first(churn, await walk(fetch, churn.between(add=add, remove=remove), 3))


async def test_user_posts_walk_with_drafts_while_posting_and_deleting(gql: GraphQLClient) -> None:
    author = await register(gql, "pg")
    await asyncio.gather(
        *(create_post(gql, author, title=f"p{i}", publish=i % 3 != 0) for i in range(12))
    )
    # The author's own listing includes the drafts.
    listing = await data(gql, USER_POSTS, {"handle": author.handle, "first": 100}, author.token)
    originals = node_ids(listing["user"]["posts"])
    assert len(originals) == 12
    churn = Churn(originals)
    turn = iter(range(100))

    async def add() -> str:
        publish = next(turn) % 2 == 0
        return (await create_post(gql, author, title="new", publish=publish))["id"]

    async def remove(post_id: str) -> None:
        await delete_post(gql, author, post_id)

    async def fetch(after: str | None) -> dict[str, Any]:
        variables = {"handle": author.handle, "first": 3, "after": after}
        return (await data(gql, USER_POSTS, variables, author.token))["user"]["posts"]

    check_newest_first(churn, await walk(fetch, churn.between(add=add, remove=remove), 3))


FOLLOWERS = f"""query($handle: String!, $first: Int, $after: String) {{
  user(handle: $handle) {{ followers(first: $first, after: $after) {{ {PAGE} }} }} }}"""


async def test_followers_walk_while_following_and_unfollowing(gql: GraphQLClient) -> None:
    target, *people = await register_many(gql, 13, "pg")
    followers, newcomers = people[:9], people[9:]
    for group in (followers[:3], followers[3:6], followers[6:]):
        await asyncio.gather(*(follow(gql, who, target.id) for who in group))
    by_id = {who.id: who for who in people}
    listing = (await data(gql, FOLLOWERS, {"handle": target.handle, "first": 100}))["user"]
    originals = node_ids(listing["followers"])
    assert sorted(originals) == sorted(who.id for who in followers)
    churn = Churn(originals)
    waiting = list(newcomers)

    async def add() -> str:
        who = waiting.pop(0)
        await follow(gql, who, target.id)
        return who.id

    async def remove(user_id: str) -> None:
        await unfollow(gql, by_id[user_id], target.id)

    async def between(step: int, seen: list[str]) -> None:
        await churn_step(churn, step, seen, add=add, remove=remove)
        if step == 1:
            # The first follower seen unfollowed after page 1; following again makes
            # them the newest follower: they must not be listed a second time.
            await follow(gql, by_id[seen[0]], target.id)
            churn.add(seen[0])

    async def fetch(after: str | None) -> dict[str, Any]:
        variables = {"handle": target.handle, "first": 2, "after": after}
        return (await data(gql, FOLLOWERS, variables))["user"]["followers"]

    check_newest_first(churn, await walk(fetch, between, 2))


POST_COMMENTS = f"""query($id: ID!, $first: Int, $after: String) {{
  post(id: $id) {{ comments(first: $first, after: $after) {{ {PAGE} }} }} }}"""
REPLIES = f"""query($id: ID!, $first: Int, $after: String) {{
  node(id: $id) {{ ... on Comment {{ replies(first: $first, after: $after) {{ {PAGE} }} }} }} }}"""


async def test_post_comments_walk_while_commenting_and_deleting(gql: GraphQLClient) -> None:
    author, bob, carol = await register_many(gql, 3, "pg")
    post = await create_post(gql, author)
    comments = Comments(gql, post["id"])
    for round_ in range(3):
        await asyncio.gather(*(comments.write(who, f"c{round_}") for who in (bob, carol, bob)))
    listing = (await data(gql, POST_COMMENTS, {"id": post["id"], "first": 100}))["post"]
    originals = node_ids(listing["comments"])
    assert sorted(originals) == sorted(comments.writers)
    churn = Churn(originals)

    async def add() -> str:
        comment_id = await comments.write(carol, "late comment")
        # A reply is not a top-level comment: it must never be listed here.
        await comments.write(bob, "late reply", parent_id=comment_id)
        return comment_id

    await walk_comments(gql, churn, add, comments, POST_COMMENTS, post["id"], ("post", "comments"))


async def test_comment_replies_walk_while_replying_and_deleting(gql: GraphQLClient) -> None:
    author, bob, carol = await register_many(gql, 3, "pg")
    post = await create_post(gql, author)
    thread = await add_comment(gql, author, post["id"], "thread")
    other = await add_comment(gql, carol, post["id"], "another thread")
    replies = Comments(gql, post["id"])
    for round_ in range(3):
        await asyncio.gather(
            *(replies.write(who, f"r{round_}", parent_id=thread["id"]) for who in (bob, carol, bob))
        )
    listing = (await data(gql, REPLIES, {"id": thread["id"], "first": 100}))["node"]
    originals = node_ids(listing["replies"])
    assert sorted(originals) == sorted(replies.writers)
    churn = Churn(originals)

    async def add() -> str:
        reply_id = await replies.write(bob, "late reply", parent_id=thread["id"])
        # Neither a reply to a reply nor a reply in another thread is a direct reply.
        await replies.write(carol, "nested", parent_id=reply_id)
        await replies.write(carol, "elsewhere", parent_id=other["id"])
        return reply_id

    await walk_comments(gql, churn, add, replies, REPLIES, thread["id"], ("node", "replies"))


NOTIFICATIONS = f"""
query($first: Int, $after: String) {{
  notifications(first: $first, after: $after) {{
    edges {{ cursor node {{ id kind comment {{ id }} }} }} {PAGE_INFO} totalCount
  }}
}}"""


async def test_notifications_walk_while_notified_and_comments_deleted(gql: GraphQLClient) -> None:
    author, bob = await register_many(gql, 2, "pg")
    post = await create_post(gql, author)
    for round_ in range(3):
        await asyncio.gather(
            *(add_comment(gql, bob, post["id"], f"n{round_}.{i}") for i in range(3))
        )
    listing = (await data(gql, NOTIFICATIONS, {"first": 100}, author.token))["notifications"]
    originals = node_ids(listing)
    assert len(originals) == 9
    assert {edge["node"]["kind"] for edge in listing["edges"]} == {"COMMENTED"}
    comment_of = {edge["node"]["id"]: edge["node"]["comment"]["id"] for edge in listing["edges"]}
    churn = Churn(originals)
    late = iter(range(100))

    async def add() -> str:
        # A new notification, newer than the cursor. Its id is not needed, only the count.
        await add_comment(gql, bob, post["id"], "late")
        return f"late-{next(late)}"

    async def remove(notification_id: str) -> None:
        # Deleting the comment takes its notification with it.
        await delete_comment(gql, bob, comment_of[notification_id])

    async def fetch(after: str | None) -> dict[str, Any]:
        variables = {"first": 2, "after": after}
        return (await data(gql, NOTIFICATIONS, variables, author.token))["notifications"]

    check_newest_first(churn, await walk(fetch, churn.between(add=add, remove=remove), 2))


USERS = f"""
query($search: String, $first: Int, $after: String) {{
  users(search: $search, first: $first, after: $after) {{
    edges {{ cursor node {{ id handle }} }} {PAGE_INFO} totalCount
  }}
}}"""


async def test_users_search_walk_while_registering(gql: GraphQLClient) -> None:
    token = uuid.uuid4().hex[:10]

    def handle(n: int) -> str:
        return f"q{token}_{n:03d}"

    originals_by_handle = {
        s.handle: s.id
        for s in await asyncio.gather(
            *(register(gql, handle=handle(n)) for n in range(100, 800, 100))
        )
    }
    search = f"Q{token.upper()}"  # case-insensitive
    listing = (await data(gql, USERS, {"search": search, "first": 100}))["users"]
    assert [e["node"]["handle"] for e in listing["edges"]] == sorted(originals_by_handle)
    originals = node_ids(listing)
    added_before: list[str] = []  # sorting before the cursor when they registered
    added: list[str] = []
    handles: dict[str, str] = {}

    async def between(step: int, seen: list[str]) -> None:
        cursor_handle = max(handles.get(i, "") for i in seen) if handles else ""
        last_seen_number = int(cursor_handle[-3:]) if cursor_handle else 0
        if step == 0:
            # Sorts before the cursor: must not appear.
            new = await register(gql, handle=handle(last_seen_number - 50))
            added_before.append(new.id)
        elif step == 1:
            # Sorts after every original: may appear, at the end.
            new = await register(gql, handle=handle(950))
        elif step == 2:
            # Sorts right after the cursor: may appear, in its place.
            new = await register(gql, handle=handle(last_seen_number + 1))
        else:
            return
        added.append(new.id)
        handles[new.id] = new.handle

    async def fetch(after: str | None) -> dict[str, Any]:
        connection = (await data(gql, USERS, {"search": search, "first": 2, "after": after}))[
            "users"
        ]
        handles.update({e["node"]["id"]: e["node"]["handle"] for e in connection["edges"]})
        return connection

    pages = await walk(fetch, between, 2)
    seen = walked(pages)
    assert len(pages) >= 4
    assert len(seen) == len(set(seen)), "duplicates"
    assert [i for i in seen if i in originals] == originals
    assert not set(added_before) & set(seen)
    assert set(seen) <= set(originals) | set(added)
    seen_handles = [handles[i] for i in seen]
    assert seen_handles == sorted(seen_handles)
    assert pages[0]["totalCount"] == len(originals)
    assert pages[-1]["totalCount"] == len(originals) + len(added)
