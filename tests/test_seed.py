"""`agora seed`: the generated data set keeps the app's rules, the seeded stores are served
correctly over HTTP on both backends, seeding is deterministic and refuses non-empty stores.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from bson import ObjectId
from sqlalchemy import select

from datasources.documents.comments import sort_key
from datasources.relational.models import Post, User
from datasources.stores import open_datastores
from resolvers.validation import HANDLE
from seed import (
    ANCHOR,
    TAGS,
    DemoData,
    SeedOptions,
    SeedRefused,
    SeedSummary,
    StoreNotEmpty,
    generate,
    seed,
)
from settings import Settings, load_settings
from support.apps import BACKENDS, RunningApp, backend_settings, serving
from support.graphql import GraphQLClient
from support.ids import global_id, key_of

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = SeedOptions(users=30, posts=60, comments=300, seed=7)
KIND_ORDER = ("LIKE", "LOVE", "INSIGHTFUL", "FUNNY")


@pytest.fixture(scope="module")
def data() -> DemoData:
    return generate(OPTIONS)


# ---------------------------------------------------------------------------
# The generated data set (no datastore)
# ---------------------------------------------------------------------------


def test_generation_is_a_pure_function_of_the_options(data: DemoData) -> None:
    assert generate(OPTIONS) == data
    other = generate(SeedOptions(users=30, posts=60, comments=300, seed=8))
    assert [u.handle for u in other.users] != [u.handle for u in data.users]
    assert [p.title for p in other.posts] != [p.title for p in data.posts]


def test_generated_users_and_posts_follow_the_app_rules(data: DemoData) -> None:
    assert [u.id for u in data.users] == list(range(1, 31))
    handles = [u.handle for u in data.users]
    assert len(set(handles)) == 30 and all(HANDLE.fullmatch(h) for h in handles)
    assert len({u.email for u in data.users}) == 30
    assert all(u.email == u.email.lower() for u in data.users)
    assert {p.user_id for p in data.profiles} == set(range(1, 31))

    assert [p.id for p in data.posts] == list(range(1, 61))
    statuses = Counter(p.status for p in data.posts)
    assert statuses["PUBLISHED"] > statuses["DRAFT"] > 0
    for post in data.posts:
        assert post.tags and set(post.tags) <= set(TAGS)
        assert post.sort_at == (post.published_at or post.created_at)
        assert post.created_at <= post.updated_at < ANCHOR
        if post.published_at is not None:
            assert post.created_at <= post.published_at < ANCHOR

    follows = [(a, b) for a, b, _ in data.follows]
    assert len(set(follows)) == len(follows) and all(a != b for a, b in follows)


def test_generated_threads_and_reactions_are_consistent(data: DemoData) -> None:
    published = {p.id: p for p in data.posts if p.status == "PUBLISHED"}
    by_id = {c.id: c for c in data.comments}
    assert len(by_id) == 300
    depths: dict[str, int] = {}
    for comment in data.comments:  # parents come before their replies
        assert comment.post_id in published
        assert comment.created_at < ANCHOR
        assert comment.created_at.microsecond % 1000 == 0
        if comment.parent_id is None:
            depths[comment.id] = 0
            assert comment.created_at >= published[comment.post_id].published_at
        else:
            parent = by_id[comment.parent_id]
            assert parent.post_id == comment.post_id
            assert parent.created_at <= comment.created_at
            depths[comment.id] = depths[parent.id] + 1
    assert max(depths.values()) == 3
    assert Counter(depths.values())[2] > 0

    keys = [(post_id, user_id, kind) for post_id, user_id, kind, _ in data.reactions]
    assert len(set(keys)) == len(keys) and {k[2] for k in keys} <= set(KIND_ORDER)
    assert all(post_id in published for post_id, *_ in keys)


def test_generated_notifications_are_those_the_resolvers_would_create(data: DemoData) -> None:
    """Recomputed here from the actions, with the rules of resolvers/{follows,comments,
    reactions}.py: one per action and recipient, never for one's own action."""
    posts = {p.id: p for p in data.posts}
    comments = {c.id: c for c in data.comments}
    expected: Counter[tuple[Any, ...]] = Counter()

    def notify(user_id: int, kind: str, actor_id: int, *rest: Any) -> None:
        if user_id != actor_id:
            expected[(user_id, kind, actor_id, *rest)] += 1

    for follower, followee, _ in data.follows:
        notify(followee, "FOLLOWED", follower, None, None)
    for comment in data.comments:
        author = posts[comment.post_id].author_id
        parent = comments[comment.parent_id] if comment.parent_id else None
        if parent is not None:
            notify(parent.author_id, "REPLIED", comment.author_id, comment.post_id, comment.id)
        if parent is None or parent.author_id != author:
            notify(author, "COMMENTED", comment.author_id, comment.post_id, comment.id)
    for post_id, user_id, _, _ in data.reactions:
        notify(posts[post_id].author_id, "REACTED", user_id, post_id, None)

    actual = Counter(
        (n.user_id, n.kind, n.actor_id, n.post_id, n.comment_id) for n in data.notifications
    )
    assert actual == expected
    assert all(n.user_id != n.actor_id for n in data.notifications)
    assert len({n.id for n in data.notifications}) == len(data.notifications)
    assert any(n.read for n in data.notifications) and not all(n.read for n in data.notifications)


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="password"):
        generate(SeedOptions(password="short"))
    with pytest.raises(ValueError, match="users"):
        generate(SeedOptions(users=1))


async def test_refuses_production(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, app_env="production", jwt_secret="x" * 40)
    with pytest.raises(SeedRefused, match="APP_ENV=production"):
        await seed(settings, OPTIONS)
    assert not (tmp_path / "agora.db").exists()


# ---------------------------------------------------------------------------
# Seeded stores, served by the app
# ---------------------------------------------------------------------------


@dataclass
class Seeded:
    settings: Settings
    summary: SeedSummary
    app: RunningApp
    gql: GraphQLClient


@pytest.fixture(scope="module", params=BACKENDS)
async def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Seeded]:
    settings = backend_settings(
        request.param, tmp_path_factory.mktemp("seeded"), request, isolated_db=True
    )
    summary = await seed(settings, OPTIONS)
    async with (
        serving(settings) as app,
        httpx.AsyncClient(base_url=app.url, timeout=30) as http,
    ):
        yield Seeded(settings, summary, app, GraphQLClient(http))


async def query(gql: GraphQLClient, text: str, token: str | None = None, **variables: Any) -> Any:
    body = await gql(text, variables, token)
    assert "errors" not in body, body
    return body["data"]


async def login(gql: GraphQLClient, handle: str, password: str) -> dict[str, Any]:
    data = await query(
        gql,
        """mutation($input: LoginInput!) {
          login(input: $input) { user { id handle } accessToken errors { code } }
        }""",
        input={"handleOrEmail": handle, "password": password},
    )
    return data["login"]


async def test_counts_are_served(seeded: Seeded, data: DemoData) -> None:
    assert seeded.summary.counts == data.counts()
    published = [p for p in data.posts if p.status == "PUBLISHED"]
    result = await query(
        seeded.gql,
        "{ users(first: 100) { totalCount edges { node { handle displayName } } }"
        "  posts(first: 100) { totalCount edges { node { id title tags } } } }",
    )
    assert result["users"]["totalCount"] == 30
    assert sorted(e["node"]["handle"] for e in result["users"]["edges"]) == sorted(
        u.handle for u in data.users
    )
    assert result["posts"]["totalCount"] == len(published)
    newest_first = sorted(published, key=lambda p: (p.sort_at, p.id), reverse=True)
    assert [
        (int(key_of(e["node"]["id"])), e["node"]["title"]) for e in result["posts"]["edges"]
    ] == [(p.id, p.title) for p in newest_first]


async def test_seeded_users_log_in_with_the_seeded_password(seeded: Seeded, data: DemoData) -> None:
    user = data.users[3]
    payload = await login(seeded.gql, user.handle, OPTIONS.password)
    assert payload["errors"] == [] and payload["accessToken"]
    viewer = await query(
        seeded.gql,
        "{ viewer { handle email profile { bio location links } } }",
        payload["accessToken"],
    )
    profile = data.profiles[3]
    assert viewer["viewer"] == {
        "handle": user.handle,
        "email": user.email,
        "profile": {"bio": profile.bio, "location": profile.location, "links": profile.links},
    }
    wrong = await login(seeded.gql, data.users[4].handle, OPTIONS.password + "!")
    assert wrong["accessToken"] is None and wrong["errors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_comment_counts_threads_and_reactions_are_served(
    seeded: Seeded, data: DemoData
) -> None:
    posts: dict[int, Any] = {}
    after = None
    while True:  # pages of 20 posts keep the query under the server's size limit
        page = await query(
            seeded.gql,
            """query($after: String) { posts(first: 20, after: $after) {
                 pageInfo { hasNextPage endCursor }
                 edges { node { id commentCount reactions { kind count }
                   comments(first: 100) { totalCount edges { node { id body } } } } } } }""",
            after=after,
        )
        posts.update((int(key_of(e["node"]["id"])), e["node"]) for e in page["posts"]["edges"])
        if not page["posts"]["pageInfo"]["hasNextPage"]:
            break
        after = page["posts"]["pageInfo"]["endCursor"]
    assert len(posts) == sum(p.status == "PUBLISHED" for p in data.posts)
    comments_of: dict[int, list[Any]] = defaultdict(list)
    for comment in data.comments:
        comments_of[comment.post_id].append(comment)
    reactions_of: dict[int, Counter[str]] = defaultdict(Counter)
    for post_id, _, kind, _ in data.reactions:
        reactions_of[post_id][kind] += 1

    assert sum(post["commentCount"] for post in posts.values()) == len(data.comments)
    for post_id, post in posts.items():
        assert post["commentCount"] == len(comments_of[post_id])
        top = sorted(
            (c for c in comments_of[post_id] if c.parent_id is None),
            key=lambda c: (c.created_at, c.id),
        )
        assert post["comments"]["totalCount"] == len(top)
        assert [
            (key_of(e["node"]["id"]), e["node"]["body"]) for e in post["comments"]["edges"]
        ] == [(c.id, c.body) for c in top]
        expected = reactions_of[post_id]
        assert post["reactions"] == [
            {"kind": kind, "count": expected[kind]} for kind in KIND_ORDER if expected[kind]
        ]

    # Replies of every comment, 25 nodes per request (the size limit again).
    replies_of: dict[str | None, list[str]] = defaultdict(list)
    for comment in sorted(data.comments, key=lambda c: (c.created_at, c.id)):
        replies_of[comment.parent_id].append(comment.id)
    ids = [c.id for c in data.comments]
    for start in range(0, len(ids), 25):
        batch = await query(
            seeded.gql,
            """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Comment {
                 id parent { id } replies(first: 100) { totalCount edges { node { id } } } } } }""",
            ids=[global_id("Comment", i) for i in ids[start : start + 25]],
        )
        for node in batch["nodes"]:
            comment_id = key_of(node["id"])
            assert [key_of(e["node"]["id"]) for e in node["replies"]["edges"]] == replies_of[
                comment_id
            ]
            assert node["replies"]["totalCount"] == len(replies_of[comment_id])

    # A reply three levels deep leads back up to its top-level comment.
    parents = {c.id: c.parent_id for c in data.comments}

    def depth(comment_id: str) -> int:
        parent = parents[comment_id]
        return 0 if parent is None else 1 + depth(parent)

    deepest = next(c for c in data.comments if depth(c.id) == 3)
    chain = await query(
        seeded.gql,
        """query($id: ID!) { node(id: $id) { ... on Comment { parent { id
             parent { id parent { id parent { id } } } } } } }""",
        id=global_id("Comment", deepest.id),
    )
    first = chain["node"]["parent"]
    assert key_of(first["id"]) == parents[deepest.id]
    assert key_of(first["parent"]["id"]) == parents[parents[deepest.id]]
    assert key_of(first["parent"]["parent"]["id"]) == parents[parents[parents[deepest.id]]]
    assert first["parent"]["parent"]["parent"] is None


async def test_notifications_are_served_to_their_user(seeded: Seeded, data: DemoData) -> None:
    per_user = Counter(n.user_id for n in data.notifications)
    user_id, count = per_user.most_common(1)[0]
    user = data.users[user_id - 1]
    token = (await login(seeded.gql, user.handle, OPTIONS.password))["accessToken"]
    result = await query(
        seeded.gql,
        """{ notifications(first: 100) { totalCount edges { node {
               id kind read actor { id } post { id } comment { id } } } }
             unread: notifications(unreadOnly: true) { totalCount } }""",
        token,
    )
    mine = sorted(
        (n for n in data.notifications if n.user_id == user_id),
        key=lambda n: sort_key(n.created_at, ObjectId(n.id)),
        reverse=True,
    )
    assert result["notifications"]["totalCount"] == count == len(mine)
    assert result["unread"]["totalCount"] == sum(not n.read for n in mine)
    nodes = [e["node"] for e in result["notifications"]["edges"]]
    assert nodes and all(int(key_of(n["actor"]["id"])) != user_id for n in nodes)
    assert [
        (
            key_of(n["id"]),
            n["kind"],
            n["read"],
            int(key_of(n["actor"]["id"])),
            int(key_of(n["post"]["id"])) if n["post"] else None,
            key_of(n["comment"]["id"]) if n["comment"] else None,
        )
        for n in nodes
    ] == [(n.id, n.kind, n.read, n.actor_id, n.post_id, n.comment_id) for n in mine[: len(nodes)]]


async def test_seeding_a_seeded_store_refuses_and_changes_nothing(seeded: Seeded) -> None:
    with pytest.raises(StoreNotEmpty, match="users table already has 30 rows"):
        await seed(seeded.settings, SeedOptions(users=5, posts=5, comments=5, seed=1))
    result = await query(seeded.gql, "{ users { totalCount } posts { totalCount } }")
    assert result["users"]["totalCount"] == 30


async def test_the_app_keeps_writing_after_seeding(seeded: Seeded, data: DemoData) -> None:
    """New rows get ids after the seeded ones (PostgreSQL's sequences were moved on).
    Runs last in this module: it adds a user and a post to the shared seeded store."""
    handle = f"new_{uuid.uuid4().hex[:8]}"
    registered = await query(
        seeded.gql,
        """mutation($input: RegisterInput!) {
          register(input: $input) { user { id } accessToken errors { code } } }""",
        input={
            "handle": handle,
            "email": f"{handle}@example.com",
            "password": OPTIONS.password,
            "displayName": "Newcomer",
        },
    )
    payload = registered["register"]
    assert payload["errors"] == [], payload
    assert int(key_of(payload["user"]["id"])) == len(data.users) + 1
    created = await query(
        seeded.gql,
        """mutation($input: CreatePostInput!) {
          createPost(input: $input) { post { id } errors { code } } }""",
        payload["accessToken"],
        input={"title": "After the seed", "body": "Hello", "tags": ["python"], "publish": True},
    )
    assert created["createPost"]["errors"] == []
    assert int(key_of(created["createPost"]["post"]["id"])) == len(data.posts) + 1


# ---------------------------------------------------------------------------
# Determinism and refusals, on fresh stores
# ---------------------------------------------------------------------------


async def snapshot(settings: Settings) -> dict[str, Any]:
    """What a seed run left in the stores, read back directly."""
    stores = await open_datastores(
        database_url=settings.sqlalchemy_url,
        mongodb_url=settings.mongodb_url,
        mongodb_database=settings.mongodb_database,
        redis_url=None,
        data_dir=settings.data_dir,
        migrate=False,
    )
    try:
        async with stores.relational.read() as session:
            handles = list(await session.scalars(select(User.handle).order_by(User.id)))
            titles = list(await session.scalars(select(Post.title).order_by(Post.id)))
        db = stores.documents.db
        comments = [doc async for doc in db["comments"].find({})]
        notifications = [doc async for doc in db["notifications"].find({})]
    finally:
        await stores.close()
    return {
        "handles": handles,
        "titles": titles,
        "comments": sorted(comments, key=lambda doc: doc["sort_key"]),
        "notifications": sorted(notifications, key=lambda doc: doc["sort_key"]),
    }


class FreshStores:
    """Settings for fresh, empty stores of one backend, one set per call."""

    def __init__(self, backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
        self.backend = backend
        self._tmp_path = tmp_path
        self._request = request
        self._made = 0

    def __call__(self, **overrides: Any) -> Settings:
        self._made += 1
        data_dir = overrides.pop("data_dir", self._tmp_path / f"stores{self._made}")
        return backend_settings(
            self.backend, data_dir, self._request, isolated_db=True, **overrides
        )


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> FreshStores:
    return FreshStores(request.param, tmp_path, request)


async def test_seeding_twice_gives_the_same_data(fresh: FreshStores, data: DemoData) -> None:
    first, second = fresh(), fresh()
    await seed(first, OPTIONS)
    await seed(second, OPTIONS)
    a, b = await snapshot(first), await snapshot(second)
    assert a == b
    assert a["handles"] == [u.handle for u in data.users]
    assert a["titles"] == [p.title for p in data.posts]
    # The documents have the shape the repositories write.
    comment = a["comments"][0]
    assert set(comment) == {
        "_id", "post_id", "author_id", "parent_id", "body", "created_at", "edited_at", "sort_key",
    }  # fmt: skip
    assert comment["sort_key"] == sort_key(comment["created_at"], comment["_id"])
    assert [str(doc["_id"]) for doc in a["comments"]] == [
        c.id for c in sorted(data.comments, key=lambda c: (c.created_at, c.id))
    ]
    notification = a["notifications"][-1]
    assert set(notification) == {
        "_id", "user_id", "kind", "actor_id", "post_id", "comment_id", "read", "created_at",
        "sort_key",
    }  # fmt: skip
    assert notification["sort_key"] == sort_key(notification["created_at"], notification["_id"])
    assert len(a["notifications"]) == len(data.notifications)


async def test_refuses_when_documents_remain(fresh: FreshStores) -> None:
    """An emptied relational database next to documents of an earlier run is refused too."""
    first = fresh()
    await seed(first, SeedOptions(users=3, posts=2, comments=2, seed=1))
    if fresh.backend == "embedded":
        other = fresh(data_dir=first.data_dir, database_url=f"sqlite:///{first.data_dir}/new.db")
    else:
        other = fresh(mongodb_database=first.mongodb_database)
    with pytest.raises(StoreNotEmpty, match="collection of document database"):
        await seed(other, OPTIONS)


def test_cli_refuses_a_non_empty_store_with_one_line(tmp_path: Path) -> None:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "MONGODB_URL", "REDIS_URL", "APP_ENV", "LOG_LEVEL"}
    }
    env["DATA_DIR"] = str(tmp_path)

    def agora(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli", "seed", "--users", "3", "--posts", "2", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    created = agora("--comments", "4")
    assert created.returncode == 0, created.stderr
    assert "comments" in created.stdout and "Seeded in" in created.stdout
    refused = agora("--comments", "1")
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f"agora seed: refusing to seed: the users table already has 3 rows; "
        f"to start fresh, delete DATA_DIR ({tmp_path.resolve()})"
    ]
    assert refused.stdout == ""
