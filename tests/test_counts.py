"""Kept counts (followers, following, published posts, each post's comments and
reactions) equal a full recount after many concurrent writes, on every backend, and
`recount` repairs counts that drifted."""

from __future__ import annotations

import asyncio
import collections
import random

from sqlalchemy import func, select, update

from datasources.documents.post_counts import PostCounts
from datasources.documents.store import DocumentStore
from datasources.relational.counters import recount
from datasources.relational.models import Counter, Follow, Post, User
from datasources.relational.store import RelationalStore

POSTS = (1, 2, 3)
KINDS = ("LIKE", "LOVE", "FUNNY")


async def counted_comments_and_reactions(documents: DocumentStore) -> dict[int, PostCounts]:
    """A full count from the comments and reactions themselves."""
    comments = await documents.comments.collection.find(
        {}, {"post_id": 1, "parent_id": 1}
    ).to_list()
    reactions = await documents.reactions.collection.find({}, {"post_id": 1, "kind": 1}).to_list()
    kinds: dict[int, collections.Counter[str]] = {p: collections.Counter() for p in POSTS}
    for doc in reactions:
        kinds[doc["post_id"]][doc["kind"]] += 1
    return {
        post_id: PostCounts(
            comments=sum(1 for doc in comments if doc["post_id"] == post_id),
            top_level=sum(
                1 for doc in comments if doc["post_id"] == post_id and doc["parent_id"] is None
            ),
            reactions=dict(kinds[post_id]),
        )
        for post_id in POSTS
    }


async def test_comment_and_reaction_counts_survive_concurrent_writes(
    documents: DocumentStore,
) -> None:
    rng = random.Random(7)
    comments, reactions = documents.comments, documents.reactions
    threads = [await comments.add(post_id, 1, "root", None) for post_id in POSTS]

    async def writer(n: int) -> None:
        for step in range(12):
            post_id = rng.choice(POSTS)
            choice = rng.random()
            if choice < 0.35:
                parent = rng.choice([None, *[t.id for t in threads if t.post_id == post_id]])
                added = await comments.add(post_id, n, f"c{n}.{step}", parent)
                if parent is None and rng.random() < 0.5:
                    threads.append(added)
            elif choice < 0.5 and threads:
                # Deleting the same thread from two writers at once must count it once.
                await comments.delete_subtree(rng.choice(threads).id)
            elif choice < 0.8:
                await reactions.add(post_id, rng.randrange(4), rng.choice(KINDS))
            else:
                await reactions.remove(post_id, rng.randrange(4), rng.choice(KINDS))

    await asyncio.gather(*(writer(n) for n in range(8)))

    truth = await counted_comments_and_reactions(documents)
    assert sum(t.comments for t in truth.values()) > 0 and any(t.reactions for t in truth.values())
    assert await documents.post_counts.get_many(POSTS) == truth
    assert await comments.count_for_posts(POSTS) == {p: truth[p].comments for p in POSTS}
    assert await reactions.counts(POSTS) == {p: dict(truth[p].reactions) for p in POSTS}


async def test_recount_repairs_comment_and_reaction_counts(documents: DocumentStore) -> None:
    top = await documents.comments.add(1, 1, "top", None)
    await documents.comments.add(1, 2, "reply", top.id)
    await documents.reactions.add(2, 1, "LOVE")
    # As if a process died between a write and its count, and a post had stale counts.
    await documents.post_counts.add_comments(1, 5, 1)
    await documents.post_counts.add_reaction(2, "LOVE", -1)
    await documents.post_counts.add_comments(9, 3, 3)

    assert await documents.post_counts.recount() == 2
    assert await documents.post_counts.get_many([1, 2, 9]) == {
        1: PostCounts(comments=2, top_level=1),
        2: PostCounts(reactions={"LOVE": 1}),
        9: PostCounts(),
    }
    assert await documents.post_counts.collection.count_documents({"_id": 9}) == 0


async def full_relational_counts(store: RelationalStore) -> tuple[dict[int, tuple[int, int]], int]:
    follows = await store.rows(select(Follow.follower_id, Follow.followee_id))
    users = await store.rows(select(User.id))
    counts = {
        row[0]: (
            sum(1 for f in follows if f[1] == row[0]),
            sum(1 for f in follows if f[0] == row[0]),
        )
        for row in users
    }
    published = await store.scalar(
        select(func.count())
        .select_from(Post)
        .where(Post.status == "PUBLISHED", Post.deleted_at.is_(None))
    )
    return counts, int(published)


async def test_follow_and_post_counts_survive_concurrent_writes(
    relational_store: RelationalStore,
) -> None:
    store = relational_store
    users = [
        await store.users.create(
            handle=f"u{i}", email=f"u{i}@example.com", display_name=f"U {i}", password_hash="x"
        )
        for i in range(6)
    ]
    ids = [user.id for user in users]
    rng = random.Random(11)
    posts: list[int] = []

    async def writer(n: int) -> None:
        for _ in range(10):
            choice = rng.random()
            a, b = rng.sample(ids, 2)
            if choice < 0.3:
                await store.follows.follow(a, b)
            elif choice < 0.5:
                await store.follows.unfollow(a, b)
            elif choice < 0.7:
                post = await store.posts.create(a, f"t{n}", "body", ["x"], rng.random() < 0.6)
                posts.append(post.id)
            elif choice < 0.85 and posts:
                await store.posts.publish(rng.choice(posts))
            elif posts:
                await store.posts.mark_deleted(rng.choice(posts))

    await asyncio.gather(*(writer(n) for n in range(6)))

    follows, published = await full_relational_counts(store)
    assert any(followers for followers, _ in follows.values()) and published > 0
    assert await store.follows.counts(ids) == follows
    assert await store.posts.count_published() == published
    # The count of one author's posts is a count of the rows, so it agrees with the kept one.
    assert (
        sum((await store.posts.count_by_authors(ids, include_drafts=False)).values()) == published
    )


async def test_recount_repairs_follow_and_post_counts(relational_store: RelationalStore) -> None:
    store = relational_store
    a = await store.users.create(
        handle="a", email="a@example.com", display_name="A", password_hash="x"
    )
    b = await store.users.create(
        handle="b", email="b@example.com", display_name="B", password_hash="x"
    )
    await store.follows.follow(a.id, b.id)
    await store.posts.create(a.id, "t", "body", [], True)
    async with store.write() as session:  # counts changed by hand
        await session.execute(update(User).values(follower_count=7, following_count=7))
        await session.execute(update(Counter).values(value=40))
    assert await store.follows.counts([a.id, b.id]) == {a.id: (7, 7), b.id: (7, 7)}
    assert await store.posts.count_published() == 40

    await recount(store)
    assert await store.follows.counts([a.id, b.id]) == {a.id: (0, 1), b.id: (1, 0)}
    assert await store.posts.count_published() == 1


async def test_follows_both_ways_at_once_do_not_deadlock(relational_store: RelationalStore) -> None:
    """A follows B while B follows A: each follow's trigger changes both users' rows, which
    must not wait for each other the wrong way round."""
    store = relational_store
    a, b = [
        await store.users.create(
            handle=h, email=f"{h}@example.com", display_name=h, password_hash="x"
        )
        for h in ("a", "b")
    ]
    for _ in range(40):
        await asyncio.gather(store.follows.follow(a.id, b.id), store.follows.follow(b.id, a.id))
        assert await store.follows.counts([a.id, b.id]) == {a.id: (1, 1), b.id: (1, 1)}
        await asyncio.gather(store.follows.unfollow(a.id, b.id), store.follows.unfollow(b.id, a.id))
    assert await store.follows.counts([a.id, b.id]) == {a.id: (0, 0), b.id: (0, 0)}
