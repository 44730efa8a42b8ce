"""Every query served by an index, on each backend (issue 10): no loader or listing reads
a whole table or collection (posts, post_tags, users, follows; comments, reactions,
profiles, notifications, post_counts; whatever else a read comes to touch).

A seeded data set is served, and a corpus of read-only GraphQL operations, anonymous and
as a signed-in viewer, walks every read path: the listings (posts, by tag, by author,
search, feed, users, users search, followers, following, a user's posts, the viewer's
own posts, comments, replies, notifications, unread ones), each first page and the page
after it, node and nodes of every type, and on each object every field a loader answers
(counts, reactions, the viewer's reactions and follows, profiles, parents). Every SQL
statement and every MongoDB command the corpus causes is recorded as it is sent, not
written down here, so that new query shapes are checked as they appear. Then each one
is explained by its own datastore:

- SQLite: EXPLAIN QUERY PLAN. SQLite chooses indexes by rules, not statistics (Agora
  never runs ANALYZE), so its plans here are its plans on a data set of any size;
- PostgreSQL: EXPLAIN (FORMAT JSON) with enable_seqscan off, so that a Seq Scan left in
  the plan is one that no index can replace. PostgreSQL chooses among usable indexes by
  its statistics, which a small data set does not make representative: there, only that
  some index serves each table read is asserted;
- SecantusDB: the `explain` command, for find and aggregate alike (an aggregation is
  planned by its leading $match, which it lifts into the initial fetch as it does when
  it runs it); no COLLSCAN may win;
- the embedded document server (NX-27017 over NeoSQLite): NX-27017's `explain` covers
  neither aggregations nor a find's sort and limit, so each command is run again in this
  process through NX-27017's own command handler, on the server's files once it has
  stopped, with the server process's SQL fixes installed
  (datasources/documents/embedded_server_process.py), and every statement NeoSQLite sends
  to SQLite for it is explained as above.

A full scan (support/index_plans.py) is a walk over a whole table or a whole index
(SQLite's "SCAN t USING COVERING INDEX i" included): it grows with the table. On SQLite,
so is a search by `posts.status` alone (two values, most posts published). Not one: an
index walked in order under a LIMIT by a single-table statement whose conditions are on
the index's columns (or `deleted_at IS NULL`), such as the first page of the users
directory, which reads about LIMIT entries whatever the size of the table; and so with
LEFT JOINs that look each row up by primary key (a page of posts with their authors).

The one documented exception is substring search (`posts(search:)`, `users(search:)`):
`LIKE '%term%'` cannot use a B-tree index, so the statements with such a LIKE may scan.
One more shape passes although the rule below flags it, the outbox relay's sweep of the
embedded server (`DocumentOutbox.pending`, `event.id > ''`, ordered, LIMIT): its index
has an entry for every document, NULL for those that carry no event, but NULLs sort
first, so the range read starts at the first recorded event and reads only those.

Full scans found when this test was written (the failure message lists today's, each
with the repository method and the loader or resolver it came from):
- SQLite: `PostRepository.by_authors` via loader published_posts and
  `PostRepository.count_by_authors` via loader published_post_count search posts by
  status (ix_posts_status_sort_at_id) rather than by author; the tag listing
  (`PostRepository._page` via resolvers/posts.py list_published, both pages) and the
  feed (`_page` via resolvers/posts.py feed, both pages, and `count_feed`) walk every
  published post newest first, testing each for the tag or the follow;
- SQLite and PostgreSQL: the users directory's totalCount (`UserRepository.count` with
  no search) counts the whole users table;
- SecantusDB: `CommentRepository._first_per_group` (comments of posts: post_id $in and
  parent_id null; and both comments' and replies' pages after a cursor, with sort_key
  $gt) and `ReactionRepository.kinds_by_user` via loader viewer_reactions (post_id $in
  and user_id) are planned as COLLSCAN.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pymongo
import pytest
from sqlalchemy.engine import make_url

import datasources.stores
import resolvers.context
from seed import DEFAULT_PASSWORD, DemoData, SeedOptions, generate, seed
from settings import Settings
from support.apps import BACKENDS, backend_settings, http_client, serving
from support.graphql import GraphQLClient, data
from support.ids import global_id
from support.index_plans import (
    Command,
    CommandRecorder,
    NeoSQLiteReplay,
    SqlRecorder,
    Statement,
    collection_scans,
    named_loaders,
    postgres_full_scans,
    postgres_plan_text,
    served_neosqlite,
    sqlite_full_scans,
    sqlite_index_columns,
    sqlite_plan,
)

# Enough of everything for second pages of every listing; the plans do not depend on it.
OPTIONS = SeedOptions(users=30, posts=100, comments=500, seed=10)
PAGE = 2  # the `first` of every listing: small, so that each has a next page

# The tables and collections the corpus must have read (if one is missing, the corpus no
# longer reaches it and this test would check nothing there).
RELATIONAL_TABLES = {"users", "posts", "post_tags", "follows"}
COLLECTIONS = {"comments", "reactions", "profiles", "notifications"}

# Where the outbox relay's sweep of a collection comes from (datasources/outbox_relay.py).
OUTBOX_SWEEP = "datasources/documents/outbox.py DocumentOutbox.pending"
# Substring search: LIKE with a leading wildcard, which no B-tree index serves.
SUBSTRING_SEARCH = re.compile(r"\bLIKE\b", re.IGNORECASE)


# ---------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------

USER = """
fragment UserFields on User {
  id handle displayName role createdAt email
  profile { bio avatarUrl location links }
  followerCount followingCount viewerFollows
}
"""
POST = """
fragment PostFields on Post {
  id title body tags status createdAt updatedAt publishedAt
  author { ...UserFields }
  commentCount
  reactions { kind count }
  viewerReactions
}
"""
COMMENT = """
fragment CommentFields on Comment {
  id body createdAt editedAt
  author { ...UserFields }
  post { id title }
  parent { id body author { handle } }
}
"""
FRAGMENTS = {"UserFields": USER, "PostFields": POST, "CommentFields": COMMENT}
PAGE_INFO = "pageInfo { hasNextPage endCursor }"
# A post with its first comments, their first replies, and every count on the way.
POST_DEEP = f"""
  ...PostFields
  comments(first: {PAGE}) {{ totalCount {PAGE_INFO} edges {{ node {{
    ...CommentFields
    replies(first: {PAGE}) {{ totalCount {PAGE_INFO} edges {{ node {{ ...CommentFields }} }} }}
  }} }} }}
"""
COMMENT_DEEP = f"""
  ...CommentFields
  replies(first: {PAGE}) {{ totalCount {PAGE_INFO} edges {{ node {{ ...CommentFields }} }} }}
"""
USER_DEEP = f"""
  ...UserFields
  posts(first: {PAGE}) {{ totalCount {PAGE_INFO} edges {{ node {{ ...PostFields }} }} }}
  followers(first: {PAGE}) {{ totalCount {PAGE_INFO} edges {{ node {{ ...UserFields }} }} }}
  following(first: {PAGE}) {{ totalCount {PAGE_INFO} edges {{ node {{ ...UserFields }} }} }}
"""
NOTIFICATION = """
  id kind read createdAt
  actor { ...UserFields }
  about: post { ...PostFields }
  on: comment { ...CommentFields }
"""


def with_fragments(query: str) -> str:
    """The query with the fragments it spreads, and those they spread (GraphQL refuses
    a document with an unused fragment)."""
    document = query
    while missing := [
        text
        for name, text in FRAGMENTS.items()
        if f"...{name}" in document and f"fragment {name} " not in document
    ]:
        document += "".join(missing)
    return document


def listing(field_call: str, node: str) -> str:
    return f"{field_call} {{ totalCount {PAGE_INFO} edges {{ cursor node {{ {node} }} }} }}"


# Each listing: (name, its variables' definitions, the selection reaching it). Run for
# the first page, then with `after` the first page's end cursor.
LISTINGS: list[tuple[str, str, str]] = [
    ("posts", "$after: String", listing(f"posts(first: {PAGE}, after: $after)", POST_DEEP)),
    (
        "posts by tag",
        "$after: String, $tag: String!",
        listing(f"posts(first: {PAGE}, after: $after, tag: $tag)", "...PostFields"),
    ),
    (
        "posts by author",
        "$after: String, $author: ID!",
        listing(f"posts(first: {PAGE}, after: $after, authorId: $author)", "...PostFields"),
    ),
    (
        "posts search",
        "$after: String, $word: String!",
        listing(f"posts(first: {PAGE}, after: $after, search: $word)", "...PostFields"),
    ),
    ("users", "$after: String", listing(f"users(first: {PAGE}, after: $after)", USER_DEEP)),
    (
        "users search",
        "$after: String, $letters: String!",
        listing(f"users(first: {PAGE}, after: $after, search: $letters)", "...UserFields"),
    ),
    (
        "followers",
        "$after: String, $famous: String!",
        "user(handle: $famous) { "
        + listing(f"followers(first: {PAGE}, after: $after)", "...UserFields")
        + " }",
    ),
    (
        "following",
        "$after: String, $famous: String!",
        "user(handle: $famous) { "
        + listing(f"following(first: {PAGE}, after: $after)", "...UserFields")
        + " }",
    ),
    (
        "a user's posts",
        "$after: String, $authorHandle: String!",
        "user(handle: $authorHandle) { "
        + listing(f"posts(first: {PAGE}, after: $after)", "...PostFields")
        + " }",
    ),
    (
        "comments",
        "$after: String, $post: ID!",
        "post(id: $post) { "
        + listing(f"comments(first: {PAGE}, after: $after)", COMMENT_DEEP)
        + " }",
    ),
    (
        "replies",
        "$after: String, $comment: ID!",
        "node(id: $comment) { ... on Comment { "
        + listing(f"replies(first: {PAGE}, after: $after)", "...CommentFields")
        + " } }",
    ),
]
VIEWER_LISTINGS: list[tuple[str, str, str]] = [
    ("feed", "$after: String", listing(f"feed(first: {PAGE}, after: $after)", "...PostFields")),
    (
        "the viewer's posts, drafts included",
        "$after: String",
        "viewer { " + listing(f"posts(first: {PAGE}, after: $after)", "...PostFields") + " }",
    ),
    (
        "notifications",
        "$after: String",
        listing(f"notifications(first: {PAGE}, after: $after)", NOTIFICATION),
    ),
    (
        "unread notifications",
        "$after: String",
        listing(f"notifications(first: {PAGE}, after: $after, unreadOnly: true)", NOTIFICATION),
    ),
]
OBJECTS = f"""
query($user: ID!, $post: ID!, $comment: ID!, $reply: ID!, $notification: ID!,
      $famous: String!, $ids: [ID!]!) {{
  viewer {{ {USER_DEEP} }}
  user(handle: $famous) {{ {USER_DEEP} }}
  post(id: $post) {{ {POST_DEEP} }}
  userNode: node(id: $user) {{ ... on User {{ {USER_DEEP} }} }}
  postNode: node(id: $post) {{ ... on Post {{ {POST_DEEP} }} }}
  commentNode: node(id: $comment) {{ ... on Comment {{ ...CommentFields }} }}
  replyNode: node(id: $reply) {{ ... on Comment {{ ...CommentFields }} }}
  notificationNode: node(id: $notification) {{ ... on Notification {{ {NOTIFICATION} }} }}
  nodes(ids: $ids) {{
    __typename
    ... on User {{ ...UserFields }}
    ... on Post {{ ...PostFields }}
    ... on Comment {{ ...CommentFields }}
    ... on Notification {{ {NOTIFICATION} }}
  }}
}}
"""


@dataclass(frozen=True)
class Picks:
    """Who and what the corpus asks about: the richest of each in the seeded data."""

    viewer: str  # handle: follows people, has notifications, drafts and posts
    famous: str  # handle of the most followed user
    author: int  # id of the author with the most published posts
    author_handle: str
    tag: str
    word: str  # in many titles or bodies
    letters: str  # in many handles or display names
    post: int  # the published post with the most top-level comments
    comment: str  # the comment with the most replies
    reply: str  # one of those replies
    notification: str  # one of the viewer's notifications, about a comment

    @classmethod
    def of(cls, data: DemoData) -> Picks:
        handles = {user.id: user.handle for user in data.users}
        published = [post for post in data.posts if post.status == "PUBLISHED"]
        drafts = Counter(post.author_id for post in data.posts if post.status == "DRAFT")
        followees = Counter(follower for follower, _, _ in data.follows)
        followers = Counter(followee for _, followee, _ in data.follows)
        notified = Counter(note.user_id for note in data.notifications)
        viewer = max(
            (user for user in handles if drafts[user] and followees[user] > PAGE),
            key=lambda user: notified[user],
        )
        authors = Counter(post.author_id for post in published)
        author = max((a for a in authors if a != viewer), key=lambda a: authors[a])
        tags = Counter(tag for post in published for tag in post.tags)
        top_level = Counter(c.post_id for c in data.comments if c.parent_id is None)
        replies = Counter(c.parent_id for c in data.comments if c.parent_id is not None)
        post = max(top_level, key=lambda p: top_level[p])
        comment = max(replies, key=lambda c: replies[c])
        note = next(
            n
            for n in reversed(data.notifications)
            if n.user_id == viewer and n.comment_id is not None
        )
        return cls(
            viewer=handles[viewer],
            famous=handles[max(followers, key=lambda u: followers[u])],
            author=author,
            author_handle=handles[author],
            tag=tags.most_common(1)[0][0],
            word="the",
            letters="a",
            post=post,
            comment=comment,
            reply=next(c.id for c in data.comments if c.parent_id == comment),
            notification=note.id,
        )

    def variables(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "author": global_id("User", self.author),
            "authorHandle": self.author_handle,
            "word": self.word,
            "letters": self.letters,
            "famous": self.famous,
            "post": global_id("Post", self.post),
            "comment": global_id("Comment", self.comment),
        }


def _connection(payload: Any) -> dict[str, Any]:
    """The one connection in a listing's data (the listing may be nested in an object)."""
    while "edges" not in payload:
        [payload] = [value for value in payload.values() if isinstance(value, dict)]
    return dict(payload)


async def run_listing(
    gql: GraphQLClient,
    name: str,
    params: str,
    selection: str,
    variables: dict[str, Any],
    token: str | None,
) -> None:
    """The first page of a listing, then the page after it."""
    query = with_fragments(f"query({params}) {{ {selection} }}")
    wanted = {k: v for k, v in variables.items() if f"${k}" in params}
    first = _connection(await data(gql, query, wanted, token))
    assert first["edges"], f"{name}: the first page is empty; the corpus checks nothing there"
    assert first["pageInfo"]["hasNextPage"], f"{name}: no second page to check"
    cursor = first["pageInfo"]["endCursor"]
    second = _connection(await data(gql, query, {**wanted, "after": cursor}, token))
    assert second["edges"], f"{name}: the second page is empty"


async def run_corpus(gql: GraphQLClient, picks: Picks, token: str) -> None:
    """Every listing, first page and the next, anonymous and as the viewer; then objects
    by id. The requests go side by side (what they ask does not depend on it)."""
    variables = picks.variables()
    objects = {
        "user": global_id("User", picks.author),
        "post": variables["post"],
        "comment": variables["comment"],
        "reply": global_id("Comment", picks.reply),
        "notification": global_id("Notification", picks.notification),
        "famous": picks.famous,
    }
    objects["ids"] = [objects[k] for k in ("user", "post", "comment", "reply", "notification")]

    async def listings(viewer_token: str | None) -> None:
        for name, params, selection in LISTINGS + (VIEWER_LISTINGS if viewer_token else []):
            await run_listing(gql, name, params, selection, variables, viewer_token)

    async def by_id(viewer_token: str | None) -> None:
        found = await data(gql, with_fragments(OBJECTS), objects, viewer_token)
        assert found["post"] is not None and found["replyNode"]["parent"] is not None, found
        if viewer_token:
            assert found["notificationNode"]["on"] is not None, found["notificationNode"]

    async with asyncio.TaskGroup() as group:
        for viewer_token in (None, token):
            group.create_task(listings(viewer_token))
            group.create_task(by_id(viewer_token))


# ---------------------------------------------------------------------------
# Recording the corpus
# ---------------------------------------------------------------------------


@dataclass
class Recorded:
    backend: str
    settings: Settings
    sql: list[Statement]
    commands: list[Command]
    # Whatever else the corpus sent: nothing, a read-only corpus is expected to write
    # nothing and to read only through statements and commands that can be explained.
    other_sql: list[Statement] = field(default_factory=list)
    other_commands: list[Command] = field(default_factory=list)


@pytest.fixture(scope="module", params=BACKENDS)
async def recorded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Recorded]:
    """The seeded app on one backend, the corpus run against it, and what it asked the
    datastores. The app is stopped before the tests look (the embedded document server's
    files are then read in this process)."""
    settings = backend_settings(
        request.param,
        tmp_path_factory.mktemp("plans"),
        request,
        isolated_db=True,
        max_operation_cost=100_000_000,
    )
    demo = generate(OPTIONS)
    await seed(settings, OPTIONS)
    picks = Picks.of(demo)
    commands = CommandRecorder()
    tracers = datasources.stores.mongo_command_tracers
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(datasources.stores, "mongo_command_tracers", lambda: [commands, *tracers()])
        patch.setattr(
            resolvers.context, "build_loaders", named_loaders(resolvers.context.build_loaders)
        )
        async with serving(settings) as app, http_client(app) as http:
            gql = GraphQLClient(http)
            login = await data(
                gql,
                "mutation($input: LoginInput!) { login(input: $input) "
                "{ accessToken errors { code } } }",
                {"input": {"handleOrEmail": picks.viewer, "password": DEFAULT_PASSWORD}},
            )
            token = login["login"]["accessToken"]
            assert token, login
            statements = SqlRecorder(app.app.state.stores.relational.engine.sync_engine)
            statements.recording = commands.recording = True
            try:
                await run_corpus(gql, picks, token)
            finally:
                statements.recording = commands.recording = False
                statements.close()
    yield Recorded(
        request.param,
        settings,
        statements.reads(),
        commands.reads(),
        statements.others(),
        commands.others(),
    )


# ---------------------------------------------------------------------------
# Verdicts
# ---------------------------------------------------------------------------


@dataclass
class Verdict:
    """The plan of one statement or command shape (its values left out), and the full
    scans in it."""

    shape: str
    example: str  # one statement or command of the shape, values included
    origins: set[str]
    plan: list[str]
    scans: list[str]
    count: int = 1

    def describe(self) -> str:
        return (
            f"{self.example}\n  ({self.count} of this shape)\n  from: "
            + "\n        ".join(sorted(self.origins))
            + "\n  plan:\n    "
            + "\n    ".join(self.plan)
            + "\n  full scans:\n    "
            + "\n    ".join(self.scans)
        )


def by_shape(verdicts: list[Verdict]) -> list[Verdict]:
    """One verdict per shape: a scanning one as the example if any scans."""
    shapes: dict[str, Verdict] = {}
    for verdict in verdicts:
        kept = shapes.setdefault(verdict.shape, verdict)
        if kept is verdict:
            continue
        kept.count += verdict.count
        kept.origins |= verdict.origins
        if verdict.scans and not kept.scans:
            kept.example, kept.plan, kept.scans = verdict.example, verdict.plan, verdict.scans
    return list(shapes.values())


def report(verdicts: list[Verdict]) -> str:
    return "\n\n".join(verdict.describe() for verdict in verdicts)


# ---------------------------------------------------------------------------
# SQL
# ---------------------------------------------------------------------------

_TABLE = re.compile(r'\b(?:FROM|JOIN)\s+"?(\w+)', re.IGNORECASE)
_PLACEHOLDER_LIST = re.compile(r"\((?:\?|\$\d+(?:::\w+)?)(?:, (?:\?|\$\d+(?:::\w+)?))*\)")


def sql_shape(sql: str) -> str:
    return re.sub(r"\$\d+", "$n", _PLACEHOLDER_LIST.sub("(...)", " ".join(sql.split())))


def sql_example(statement: Statement) -> str:
    return f"{statement.sql}\n  parameters: {statement.parameters!r}"


async def sql_verdicts(settings: Settings, statements: list[Statement]) -> list[Verdict]:
    """Each statement explained on the database it ran on."""
    url = make_url(settings.sqlalchemy_url)
    verdicts = []
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        sqlite = sqlite3.connect(f"file:{url.database}?mode=ro", uri=True)
        try:
            indexes = sqlite_index_columns(sqlite)
            for statement in statements:
                plan = sqlite_plan(sqlite, statement.sql, statement.parameters)
                verdicts.append(
                    Verdict(
                        sql_shape(statement.sql),
                        sql_example(statement),
                        set(statement.origins),
                        plan,
                        sqlite_full_scans(statement.sql, plan, indexes),
                    )
                )
        finally:
            sqlite.close()
        return verdicts
    postgres = await asyncpg.connect(
        url.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        # Statistics of the seeded data, not whatever autovacuum last saw (or nothing):
        # the same data then always gets the same plans.
        await postgres.execute("ANALYZE")
        # Any plan that can avoid a Seq Scan does: one that is left has no index to use.
        await postgres.execute("SET enable_seqscan = off")
        for statement in statements:
            text = await postgres.fetchval(
                f"EXPLAIN (FORMAT JSON) {statement.sql}", *(statement.parameters or ())
            )
            explained = json.loads(text) if isinstance(text, str) else text
            verdicts.append(
                Verdict(
                    sql_shape(statement.sql),
                    sql_example(statement),
                    set(statement.origins),
                    postgres_plan_text(explained),
                    postgres_full_scans(explained),
                )
            )
    finally:
        await postgres.close()
    return verdicts


async def test_every_sql_query_is_served_by_an_index(recorded: Recorded) -> None:
    assert not recorded.other_sql, "statements other than queries:\n" + "\n".join(
        s.describe() for s in recorded.other_sql
    )
    tables = {table.lower() for s in recorded.sql for table in _TABLE.findall(s.sql)}
    assert tables >= RELATIONAL_TABLES, f"the corpus read no {RELATIONAL_TABLES - tables}"
    verdicts = by_shape(await sql_verdicts(recorded.settings, recorded.sql))
    scanning = [v for v in verdicts if v.scans]
    # The documented exception: substring search (see the module's docstring).
    searches = [v for v in scanning if SUBSTRING_SEARCH.search(v.shape)]
    offending = [v for v in scanning if v not in searches]
    print(
        f"\n{recorded.backend}: {len(recorded.sql)} SQL queries of {len(verdicts)} shapes "
        f"explained; {len(searches)} substring-search shapes scan (the exception)"
    )
    assert not offending, (
        f"{len(offending)} SQL query shapes read a whole table or index "
        f"({recorded.backend}):\n\n{report(offending)}"
    )


# ---------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------


def value_shape(value: Any) -> Any:
    """A command's values as their types: lists of values as one ("[int...]")."""
    if isinstance(value, dict):
        return {key: value_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        if all(isinstance(item, dict | list) for item in value):
            return [value_shape(item) for item in value]
        return "[" + "|".join(sorted({type(item).__name__ for item in value})) + "...]"
    return type(value).__name__


def command_shape(command: Command) -> str:
    # How many to return does not change how they are found.
    body = {k: v for k, v in command.body.items() if k not in ("batchSize", "limit", "cursor")}
    return repr((command.database, value_shape(body)))


def explain_on_server(settings: Settings, commands: list[Command]) -> list[Verdict]:
    """Each command explained by the MongoDB-wire server it ran on."""
    assert settings.mongodb_url is not None
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(settings.mongodb_url)
    verdicts = []
    try:
        for command in commands:
            reply = client[command.database].command(
                {"explain": command.body, "verbosity": "queryPlanner"}
            )
            verdicts.append(
                Verdict(
                    command_shape(command),
                    repr(command.body),
                    set(command.origins),
                    [json.dumps(reply.get("queryPlanner", reply), default=str)],
                    collection_scans(reply),
                )
            )
    finally:
        client.close()
    return verdicts


def explain_in_replay(settings: Settings, commands: list[Command]) -> list[Verdict]:
    """Each command run again through the embedded server's command handler, and the SQL
    it sent to SQLite explained."""
    verdicts = []
    with served_neosqlite():
        replay = NeoSQLiteReplay(settings.data_dir / "documents")
        try:
            for command in commands:
                replayed = replay.run(command)
                assert replayed.reply.get("ok") == 1, (command.describe(), replayed.reply)
                plan: list[str] = []
                scans: list[str] = []
                for sql, lines in replayed.statements:
                    plan += [sql, *("  " + line for line in lines)]
                    scans += sqlite_full_scans(sql, lines, replayed.index_columns)
                if not replayed.statements:
                    scans.append("no SQL statement read the collection: answered in Python?")
                verdicts.append(
                    Verdict(
                        command_shape(command),
                        repr(command.body),
                        set(command.origins),
                        plan,
                        scans,
                    )
                )
        finally:
            replay.close()
    return verdicts


async def test_every_document_read_is_served_by_an_index(recorded: Recorded) -> None:
    assert not recorded.other_commands, "commands other than reads:\n" + "\n".join(
        c.describe() for c in recorded.other_commands
    )
    collections = {c.collection for c in recorded.commands}
    assert collections >= COLLECTIONS, f"the corpus read no {COLLECTIONS - collections}"
    if recorded.settings.mongodb_url is None:
        verdicts = explain_in_replay(recorded.settings, recorded.commands)
    else:
        verdicts = explain_on_server(recorded.settings, recorded.commands)
    verdicts = by_shape(verdicts)
    # The outbox sweep's range read (see the module's docstring).
    sweeps = {v.shape for v in verdicts if v.origins == {OUTBOX_SWEEP}}
    offending = [v for v in verdicts if v.scans and v.shape not in sweeps]
    print(
        f"\n{recorded.backend}: {len(recorded.commands)} document reads of "
        f"{len(verdicts)} shapes explained"
    )
    assert not offending, (
        f"{len(offending)} document read shapes scan a whole collection "
        f"({recorded.backend}):\n\n{report(offending)}"
    )
