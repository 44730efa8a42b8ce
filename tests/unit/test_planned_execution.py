"""The planned executor (`schema.planned_executor`) against graphql-core: every operation
of a corpus runs through two schemas built alike except that one plans its queries, and
the two responses must be the same bytes, but for the order of their errors: graphql-core
lists errors in the order they happen (completion time), the planned path level by level,
so errors are compared sorted by path. Which errors, and every byte of each, must match.

The corpus is hand-written cases, one per feature the planner must reproduce, run as
every kind of viewer, and a few hundred operations generated from the schema
(`operation_generator.py`), each run as one viewer. The data they read is seeded here
through the API, in stores of this module's own (so nothing planted here reaches other
tests), and includes one deliberate inconsistency: a comment whose author does not
exist, so a resolver fails and the failure is masked and propagated to the nearest
nullable position.
"""

from __future__ import annotations

import asyncio
import copy
import difflib
import logging
import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import structlog
from graphql import OperationDefinitionNode
from graphql.execution.values import get_variable_values

from datasources.stores import Datastores, open_datastores_for
from resolvers.context import new_context
from schema import AgoraSchema, build_schema
from schema.admission import begin_admission, choose_operation
from schema.cost import actual_cost, outline_of, requested_cost
from schema.global_ids import from_global_id, to_global_id
from settings import Settings, load_settings

from .inprocess import PASSWORD, UNLIMITED, InProcessGraphQL, Session
from .operation_generator import Operation, Pools, generate_operations

# Who runs the operations: every answer depends on the viewer (drafts, emails,
# notifications, viewer-specific fields), and a garbage token is refused only by the
# fields that need a viewer.
VIEWERS = ("anonymous", "author", "other", "admin", "garbage")
GARBAGE_TOKEN = "not.a.token"

GENERATED = 500
GENERATOR_SEED = 20240611
# Generated operations also run in development mode (errors unmasked): every Nth.
DEVELOPMENT_EVERY = 50
# A generated operation's requested cost stays far below the server's limit
# (MAX_OPERATION_COST, 20000), so none is refused for its cost: a refusal never
# reaches the executor and would compare nothing.
MAX_GENERATED_COST = 2_000
# Checking and running a document costs time in proportion to its length; the few
# long ones the generator writes are left out.
MAX_GENERATED_LENGTH = 1_200
# A user id that no row has: the planted comment's author.
GHOST_USER_ID = 987_654
SHOWN_MISMATCHES = 10


# The stores, the schemas and the seeded data


@dataclass
class World:
    settings: Settings
    stores: Datastores
    # (production, planned) -> schema
    schemas: dict[tuple[bool, bool], AgoraSchema]
    tokens: dict[str, str | None]
    values: dict[str, Any] = field(default_factory=dict)  # named seeded values
    pools: Pools | None = None


@contextmanager
def _error_logs_dropped() -> Iterator[None]:
    """Every masked error is logged with its traceback, which the unconfigured
    structlog of the tests renders with rich, locals included: about a second per
    error. The corpus raises hundreds of them on purpose, so they are not logged here."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    try:
        yield
    finally:
        structlog.configure(**saved)


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    data_dir = tmp_path_factory.mktemp("agora-planned")
    settings = load_settings(
        app_env="development",
        data_dir=data_dir,
        database_url=f"sqlite+aiosqlite:///{data_dir / 'agora.db'}",
        mongodb_url=None,
        redis_url=None,
        jwt_secret=secrets.token_urlsafe(48),
        **UNLIMITED,
    )
    stores = await open_datastores_for(settings)
    try:
        with _error_logs_dropped():
            yield await _world(settings, stores)
    finally:
        await stores.close()


async def _world(settings: Settings, stores: Datastores) -> World:
    schemas = {
        (production, planned): build_schema(production=production, planned=planned)
        for production in (True, False)
        for planned in (True, False)
    }
    for production in (True, False):
        # The executors are under test, not the document checks (the same code on two
        # identical schemas): each document is checked once, which halves the time.
        schemas[production, False].document_checks = schemas[production, True].document_checks
    world = World(settings, stores, schemas, {"anonymous": None, "garbage": GARBAGE_TOKEN})
    await _seed(world, InProcessGraphQL(schemas[False, False], settings, stores))
    return world


class _Seeder:
    """Writes through the API's mutations, as clients do, and checks each worked."""

    def __init__(self, gql: InProcessGraphQL) -> None:
        self.gql = gql

    async def call(self, text: str, variables: dict[str, Any], who: Session | None) -> Any:
        data = await self.gql(text, variables, who.token if who else None)
        (payload,) = data.values()
        assert payload.get("errors", []) == [], payload
        return payload

    async def register(self, handle: str) -> Session:
        payload = await self.call(
            "mutation($i: RegisterInput!) { register(input: $i) "
            "{ user { id } accessToken errors { code } } }",
            {
                "i": {
                    "handle": handle,
                    "email": f"{handle}@example.com",
                    "password": PASSWORD,
                    "displayName": handle.title(),
                }
            },
            None,
        )
        return Session(payload["user"]["id"], handle, payload["accessToken"])

    async def profile(self, who: Session, **fields: Any) -> None:
        await self.call(
            "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { errors { code } } }",
            {"i": fields},
            who,
        )

    async def post(self, who: Session, title: str, tags: list[str], publish: bool = True) -> str:
        payload = await self.call(
            "mutation($i: CreatePostInput!) { createPost(input: $i) "
            "{ post { id } errors { code } } }",
            {"i": {"title": title, "body": f"{title}: a body.", "tags": tags, "publish": publish}},
            who,
        )
        return str(payload["post"]["id"])

    async def delete_post(self, who: Session, post_id: str) -> None:
        await self.call(
            "mutation($id: ID!) { deletePost(id: $id) { deletedId errors { code } } }",
            {"id": post_id},
            who,
        )

    async def comment(
        self, who: Session, post_id: str, body: str, parent: str | None = None
    ) -> str:
        payload = await self.call(
            "mutation($i: AddCommentInput!) { addComment(input: $i) "
            "{ comment { id } errors { code } } }",
            {"i": {"postId": post_id, "body": body, "parentId": parent}},
            who,
        )
        return str(payload["comment"]["id"])

    async def edit_comment(self, who: Session, comment_id: str, body: str) -> None:
        await self.call(
            "mutation($i: EditCommentInput!) { editComment(input: $i) { errors { code } } }",
            {"i": {"id": comment_id, "body": body}},
            who,
        )

    async def delete_comment(self, who: Session, comment_id: str) -> None:
        await self.call(
            "mutation($id: ID!) { deleteComment(id: $id) { deletedId errors { code } } }",
            {"id": comment_id},
            who,
        )

    async def react(self, who: Session, post_id: str, *kinds: str, undo: bool = False) -> None:
        field_name = "unreact" if undo else "react"
        for kind in kinds:
            await self.call(
                f"mutation($p: ID!, $k: ReactionKind!) {{ {field_name}(postId: $p, kind: $k) "
                "{ errors { code } } }",
                {"p": post_id, "k": kind},
                who,
            )

    async def follow(self, who: Session, *users: Session, undo: bool = False) -> None:
        field_name = "unfollow" if undo else "follow"
        for user in users:
            await self.call(
                f"mutation($u: ID!) {{ {field_name}(userId: $u) {{ errors {{ code }} }} }}",
                {"u": user.id},
                who,
            )

    async def mark_read(self, who: Session, ids: list[str] | None) -> None:
        await self.call(
            "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) { count errors { code } } }",
            {"ids": ids},
            who,
        )

    async def query(self, text: str, who: Session | None = None) -> Any:
        return await self.gql(text, None, who.token if who else None)


async def _seed(world: World, gql: InProcessGraphQL) -> None:
    s = _Seeder(gql)
    v = world.values
    ada, bob, cyd, dee, eve = [await s.register(h) for h in ("ada", "bob", "cyd", "dee", "eve")]
    # Roles are set before any of these tokens is first used: a token's role is
    # remembered for a few seconds (resolvers.context.TOKEN_CHECK_TTL_SECONDS).
    assert await world.stores.relational.users.set_role("cyd", "ADMIN")
    assert await world.stores.relational.users.set_role("dee", "MODERATOR")
    world.tokens.update(author=ada.token, other=bob.token, admin=cyd.token)
    users = {"ada": ada, "bob": bob, "cyd": cyd, "dee": dee, "eve": eve}
    v.update({f"user_{name}": session.id for name, session in users.items()})

    await s.profile(
        ada,
        bio="Writes about GraphQL.",
        avatarUrl="https://example.com/ada.png",
        location="London",
        links=["https://ada.example.com", "https://example.org/ada"],
    )
    await s.profile(bob, bio="Reads everything.")
    await s.profile(cyd, bio="Keeps order.", location="Paris", avatarUrl="https://example.com/c")
    await s.profile(dee, links=["https://dee.example.com"])

    # Oldest first: listings are newest first, so the post with the planted comment
    # is last and small pages do not reach it.
    v["oldest"] = await s.post(ada, "The oldest post", ["graphql", "python"])
    v["p1"] = await s.post(ada, "Planning queries", ["graphql", "performance"])
    v["p2"] = await s.post(ada, "Untagged thoughts", [])
    v["deleted_post"] = await s.post(ada, "Soon gone", ["graphql"])
    v["deleted_draft"] = await s.post(ada, "Gone before published", [], publish=False)
    v["draft"] = await s.post(ada, "A draft", ["wip"], publish=False)
    v["b1"] = await s.post(bob, "Bob's first", ["python"])
    v["bob_draft"] = await s.post(bob, "Bob's draft", [], publish=False)
    v["moderated"] = await s.post(bob, "Removed by a moderator", ["spam"])
    v["c_post"] = await s.post(cyd, "Admin notes", ["meta", "graphql"])
    v["e_post"] = await s.post(eve, "Hello from eve", ["intro"])
    for n in range(3, 7):
        v[f"p{n}"] = await s.post(ada, f"Post number {n}", ["series", f"part{n}"][: n % 3])
    v["b2"] = await s.post(bob, "Bob again", ["python", "series"])

    p1, p2 = v["p1"], v["p2"]
    v["c1"] = await s.comment(bob, p1, "Nice post.")
    v["r1"] = await s.comment(ada, p1, "Thanks!", v["c1"])
    v["r2"] = await s.comment(cyd, p1, "Agreed.", v["r1"])
    v["r3"] = await s.comment(eve, p1, "Me too.", v["c1"])
    v["c2"] = await s.comment(eve, p1, "A second thread.")
    v["deleted_comment"] = await s.comment(dee, p1, "Oops.")
    await s.delete_comment(dee, v["deleted_comment"])
    v["c4"] = await s.comment(cyd, p2, "Admin says hi.")
    v["r4"] = await s.comment(bob, p2, "Hi admin.", v["c4"])
    v["moderated_comment"] = await s.comment(bob, p2, "Rude words.")
    await s.delete_comment(cyd, v["moderated_comment"])
    v["c6"] = await s.comment(ada, v["b1"], "Welcome, Bob.")
    v["r5"] = await s.comment(bob, v["b1"], "Thanks, Ada.", v["c6"])
    v["c7"] = await s.comment(bob, v["oldest"], "First!")
    v["on_deleted"] = await s.comment(bob, v["deleted_post"], "On a post about to go.")
    await s.edit_comment(bob, v["c1"], "Nice post, edited.")

    await s.react(bob, p1, "LIKE", "LOVE")
    await s.react(cyd, p1, "LIKE")
    await s.react(eve, p1, "FUNNY")
    await s.react(ada, p1, "INSIGHTFUL")
    await s.react(dee, p2, "INSIGHTFUL")
    await s.react(eve, p2, "LIKE")
    await s.react(eve, p2, "LIKE", undo=True)
    await s.react(ada, v["b1"], "LIKE")
    await s.react(bob, v["oldest"], "LIKE")
    await s.react(cyd, v["oldest"], "LOVE", "FUNNY")

    await s.follow(bob, ada, cyd)
    await s.follow(cyd, ada)
    await s.follow(eve, ada, bob, dee)
    await s.follow(eve, dee, undo=True)
    await s.follow(dee, ada, bob)
    await s.follow(ada, bob, cyd)

    await s.delete_post(ada, v["deleted_post"])
    await s.delete_post(ada, v["deleted_draft"])
    await s.delete_post(dee, v["moderated"])

    # The inconsistency: a comment by a user that does not exist, written past the API.
    record = await world.stores.documents.comments.add(
        int(from_global_id(v["oldest"])[1]), GHOST_USER_ID, "From nowhere.", None
    )
    v["planted"] = to_global_id("Comment", record.id)

    notes = "{ notifications(first: 50) { edges { node { id read } } } }"
    for name, who in (("ada", ada), ("bob", bob), ("cyd", cyd)):
        edges = (await s.query(notes, who))["notifications"]["edges"]
        v[f"notes_{name}"] = [edge["node"]["id"] for edge in edges]
    await s.mark_read(ada, v["notes_ada"][1:3])
    await s.mark_read(bob, None)
    v["note_ada_unread"], v["note_ada_read"] = v["notes_ada"][0], v["notes_ada"][1]
    v["note_bob"], v["note_cyd"] = v["notes_bob"][0], v["notes_cyd"][0]

    def end(data: Any, *path: str) -> str:
        for key in path:
            data = data[key]
        return str(data["pageInfo"]["endCursor"])

    q = await s.query(_render(CURSORS, v), ada)
    v["posts_cursor"] = end(q, "posts")
    v["users_cursor"] = end(q, "users")
    v["user_posts_cursor"] = end(q, "user", "posts")
    v["followers_cursor"] = end(q, "user", "followers")
    v["following_cursor"] = end(q, "user", "following")
    v["comments_cursor"] = end(q, "post", "comments")
    v["replies_cursor"] = end(q, "node", "replies")
    v["feed_cursor"] = end(q, "feed")
    v["notifications_cursor"] = end(q, "notifications")

    v["unknown_post"] = to_global_id("Post", 999_999)
    v["unknown_user"] = to_global_id("User", GHOST_USER_ID)
    v["unknown_comment"] = to_global_id("Comment", "0" * 24)
    v["unknown_notification"] = to_global_id("Notification", "f" * 24)
    v["unknown_type"] = to_global_id("Planet", 1)
    v["non_digit_user"] = to_global_id("User", "abc")
    v["malformed_id"] = "not an id!"

    world.pools = _pools(v)


# One page of one item of every listing, for real cursors (`after`).
CURSORS = """{
  posts(first: 1) { pageInfo { endCursor } }
  users(first: 1) { pageInfo { endCursor } }
  user(handle: "ada") {
    posts(first: 1) { pageInfo { endCursor } }
    followers(first: 1) { pageInfo { endCursor } }
    following(first: 1) { pageInfo { endCursor } }
  }
  post(id: <p1>) { comments(first: 1) { pageInfo { endCursor } } }
  node(id: <c1>) { ... on Comment { replies(first: 1) { pageInfo { endCursor } } } }
  feed(first: 1) { pageInfo { endCursor } }
  notifications(first: 1) { pageInfo { endCursor } }
}"""


def _pools(v: dict[str, Any]) -> Pools:
    posts = [
        v[k] for k in ("oldest", "p1", "p2", "p3", "p4", "p5", "p6", "b1", "b2", "c_post", "e_post")
    ]
    hidden_posts = [v[k] for k in ("draft", "bob_draft", "deleted_post", "deleted_draft")]
    hidden_posts += [v["moderated"], v["unknown_post"]]
    users = [v[f"user_{n}"] for n in ("ada", "bob", "cyd", "dee", "eve")]
    comments = [v[k] for k in ("c1", "r1", "r2", "r3", "c2", "c4", "r4", "c6", "r5", "c7")]
    comments += [v[k] for k in ("planted", "deleted_comment", "moderated_comment", "on_deleted")]
    notes = [*v["notes_ada"][:4], *v["notes_bob"][:3], *v["notes_cyd"][:2]]
    odd = ["unknown_user", "unknown_comment", "unknown_notification", "unknown_type"]
    odd_ids = [v[k] for k in (*odd, "non_digit_user", "malformed_id")]
    cursors = [v[k] for k in v if k.endswith("_cursor")]
    return Pools(
        node_ids=[*posts, *hidden_posts, *users, *comments, *notes, *odd_ids],
        post_ids=[*posts, *posts, *hidden_posts, v["planted"], users[0], v["malformed_id"]],
        user_ids=[*users, v["unknown_user"], v["malformed_id"]],
        handles=["ada", "bob", "cyd", "dee", "eve", "ADA", " Bob ", "nobody", ""],
        tags=["graphql", "python", "series", "part4", "wip", "spam", "nothing", "GraphQL"],
        search_words=["post", "Bob", "a", "", "%", "_", "é", "number 5", "zzz"],
        cursors=[*cursors, "garbage", "", "eyJ4IjoxfQ"],
    )


# Running one operation through both schemas


@dataclass(frozen=True)
class Run:
    name: str
    text: str
    variables: dict[str, Any]
    viewer: str
    production: bool
    operation_name: str | None = None


async def _response(world: World, run: Run, planned: bool) -> dict[str, Any]:
    """The response as a client would get it, minus what differs between any two
    executions: the budget left after this one, and (development) statement counts.
    An execution that raises instead of answering is described by what it raised."""
    context = new_context(world.settings, world.stores, f"req-{run.name}-{run.viewer}")
    token = world.tokens[run.viewer]
    await context.authenticate(f"Bearer {token}" if token else None)
    begin_admission()
    try:
        result = await world.schemas[run.production, planned].execute(
            run.text,
            variable_values=run.variables,
            context_value=context,
            operation_name=run.operation_name,
        )
    except (Exception, asyncio.CancelledError) as error:
        task = asyncio.current_task()
        if isinstance(error, asyncio.CancelledError) and task is not None and task.cancelling():
            raise  # this test is being cancelled (a timeout): not an answer
        return {"raised": f"{type(error).__name__}: {error}"}
    response: dict[str, Any] = {"data": result.data}
    if result.errors:
        # In the order of their paths: graphql-core lists errors as they happen in time,
        # the planned path level by level; which errors, and each one, must be the same.
        formatted = [error.formatted for error in result.errors]
        response["errors"] = sorted(formatted, key=_error_order)
    extensions = copy.deepcopy(result.extensions) if result.extensions is not None else None
    if extensions:
        for key in ("remaining", "resetAt"):
            extensions.get("cost", {}).pop(key, None)
        if not run.production:
            extensions.pop("queryStats", None)
    response["extensions"] = extensions
    return response


def _error_order(error: Any) -> bytes:
    return orjson.dumps([[str(part) for part in error.get("path") or ()], error])


async def _compare(world: World, run: Run) -> tuple[dict[str, Any], str | None]:
    """graphql-core's response, and a report when the planned one differs from it.
    Also: its data's actual cost, counted by the operation's outline, is the count of
    every value (schema.cost)."""
    expected = await _response(world, run, planned=False)
    actual = await _response(world, run, planned=True)
    _check_outlined_cost(world, run, expected.get("data"))
    if orjson.dumps(expected) == orjson.dumps(actual):
        return expected, None
    return expected, _report(run, expected, actual)


def _check_outlined_cost(world: World, run: Run, data: Any) -> None:
    if not isinstance(data, dict):
        return
    checked = world.schemas[True, True].document_checks.check(run.text)
    operation = choose_operation(checked, run.operation_name)
    assert isinstance(operation, OperationDefinitionNode)
    outline = outline_of(operation, checked.fragments)
    assert outline is not None, run.text
    assert actual_cost(data, outline) == actual_cost(data), (run.name, run.text)


def _summary(mismatches: list[tuple[Run, str]], runs: int) -> str:
    """Which runs differ, then the first few in full."""
    names = ", ".join(
        f"{run.name} as {run.viewer}{'' if run.production else ' (development)'}"
        for run, _ in mismatches
    )
    shown = "\n\n".join(report for _, report in mismatches[:SHOWN_MISMATCHES])
    return f"{len(mismatches)} of {runs} runs differ: {names}\n\n{shown}"


def _pretty(document: dict[str, Any]) -> list[str]:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode().splitlines()


def _report(run: Run, expected: dict[str, Any], actual: dict[str, Any]) -> str:
    diff = difflib.unified_diff(
        _pretty(expected), _pretty(actual), "graphql-core", "planned", lineterm="", n=4
    )
    mode = "production" if run.production else "development"
    lines = [
        f"{run.name}: the planned executor answered differently ({mode}, viewer {run.viewer})",
        "operation:",
        run.text,
    ]
    if run.operation_name:
        lines.append(f"operationName: {run.operation_name}")
    lines.append(f"variables: {orjson.dumps(run.variables).decode()}")
    lines.append("diff (graphql-core -> planned):")
    return "\n".join([*lines, *diff])


# Hand-written cases: one per feature, each run as every viewer


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    variables: dict[str, Any] = field(default_factory=dict)
    operation_name: str | None = None
    # Refused before execution (invalid document or variables): nothing to compare but
    # the refusal, so only cases about refusals may be.
    refused: bool = False
    # Checks graphql-core's production answer for one viewer, so the case keeps
    # exercising what it is named for as the data or the schema change.
    expect: Callable[[str, dict[str, Any]], None] | None = None


PLACEHOLDER = re.compile(r"<(\w+)>")


def _render(text: str, values: dict[str, Any]) -> str:
    """`<name>` becomes the seeded value of that name, as a GraphQL literal."""
    return PLACEHOLDER.sub(lambda m: orjson.dumps(values[m[1]]).decode(), text)


def _render_value(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str) and PLACEHOLDER.fullmatch(value):
        return values[value[1:-1]]
    if isinstance(value, list):
        return [_render_value(item, values) for item in value]
    return value


def _was_refused(response: dict[str, Any]) -> bool:
    """Refused before execution: errors without a path (a field's error has one)."""
    errors = response.get("errors", [])
    return bool(errors) and not any(error.get("path") for error in errors)


def _codes(response: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in response.get("errors", [])]


def _expect_masked_planted(viewer: str, response: dict[str, Any]) -> None:
    assert response["data"]["post"] is None
    assert response["data"]["ok"]["title"] == "Planning queries"
    assert _codes(response) == ["INTERNAL_SERVER_ERROR"]
    assert response["errors"][0]["message"] == "Internal server error"
    assert response["errors"][0]["extensions"]["requestId"].startswith("req-planted_via_post")
    assert response["errors"][0]["path"][:3] == ["post", "comments", "edges"]


def _expect_whole_data_nulled(viewer: str, response: dict[str, Any]) -> None:
    assert response["data"] is None
    assert _codes(response) == ["INTERNAL_SERVER_ERROR"]


def _expect_unauthenticated(viewer: str, response: dict[str, Any]) -> None:
    if viewer in {"anonymous", "garbage"}:
        assert response["data"] is None and _codes(response) == ["UNAUTHENTICATED"]
    else:
        assert response["data"] is not None and "errors" not in response


def _expect_emails(viewer: str, response: dict[str, Any]) -> None:
    data = response["data"]
    assert (data["ada"]["email"] is not None) == (viewer in {"author", "admin"})
    assert (data["bob"]["email"] is not None) == (viewer in {"other", "admin"})
    assert (data["draft"] is not None) == (viewer == "author")
    assert (data["bobDraft"] is not None) == (viewer == "other")


def _expect_argument_errors(viewer: str, response: dict[str, Any]) -> None:
    assert set(response["data"].values()) == {None}
    assert set(_codes(response)) == {"BAD_USER_INPUT"}
    assert len(response["errors"]) == len(response["data"])


def _expect_notifications(viewer: str, response: dict[str, Any]) -> None:
    if viewer in {"anonymous", "garbage"}:
        assert response["data"] is None and set(_codes(response)) == {"UNAUTHENTICATED"}
        return
    nodes = [edge["node"] for edge in response["data"]["notifications"]["edges"]]
    if viewer == "author":
        assert {node["read"] for node in nodes} == {True, False}
        assert len({node["kind"] for node in nodes}) >= 3


def _expect_every_type(viewer: str, response: dict[str, Any]) -> None:
    found = [node["__typename"] if node else None for node in response["data"]["nodes"]]
    assert {"User", "Post", "Comment", None} <= set(found)
    assert ("Notification" in found) == (viewer in {"author", "other", "admin"})
    assert "errors" not in response


def _expect_deep(viewer: str, response: dict[str, Any]) -> None:
    profiles = re.findall(rb'"profile":\{"bio"', orjson.dumps(response))
    assert len(profiles) >= 2 and "errors" not in response


POST_BITS = "id title status tags createdAt publishedAt author { handle }"

CASES = [
    Case(
        "aliases",
        """{
          newest: posts(first: 1) { edges { node { id heading: title } } }
          tagged: posts(first: 2, tag: "graphql") {
            total: totalCount edges { node { title tags } }
          }
          ada: user(handle: "ada") { handle name: displayName id: handle }
          same: user(handle: "ADA") { handle }
          nobody: user(handle: "nobody") { handle }
          first: post(id: <p1>) { t: title c: commentCount }
          second: post(id: <b1>) { t: title c: commentCount }
        }""",
    ),
    Case(
        "same_field_merged",
        """{
          posts(first: 2) { edges { node { id author { handle } } } }
          posts(first: 2) { totalCount edges { cursor node { title author { role } } } }
          user(handle: "bob") { handle } user(handle: "bob") { profile { bio } }
        }""",
    ),
    Case(
        "named_fragments",
        """query Fragments {
          posts(first: 3) { ...PostPage }
          viewer { ...Person }
          user(handle: "bob") { ...Person posts(first: 2) { ...PostPage } }
        }
        fragment PostPage on PostConnection { totalCount edges { cursor node { ...PostBits } } }
        fragment PostBits on Post { id title author { ...Person } }
        fragment Person on User { id handle role }""",
    ),
    Case(
        "nested_fragments",
        """{ post(id: <p1>) { ...Outer ...Outer } }
        fragment Outer on Post { title ...Middle comments(first: 2) { ...Thread } }
        fragment Middle on Post { ... on Post { ...Inner } author { ...Inner2 } }
        fragment Inner on Post { commentCount ... { tags } }
        fragment Inner2 on User { ... on Node { id } handle }
        fragment Thread on CommentConnection {
          totalCount edges { node { body ... on Comment { replies(first: 2) { ...Thread2 } } } }
        }
        fragment Thread2 on CommentConnection { edges { node { body author { ...Inner2 } } } }""",
    ),
    Case(
        "nodes_of_every_type",
        f"""{{
          nodes(ids: [<user_ada>, <p1>, <c1>, <r2>, <note_ada_unread>, <note_ada_read>,
                      <note_bob>, <note_cyd>, <draft>, <bob_draft>, <deleted_post>,
                      <deleted_draft>, <moderated>, <deleted_comment>, <on_deleted>,
                      <unknown_post>, <unknown_user>, <unknown_comment>,
                      <unknown_notification>, <unknown_type>, <non_digit_user>, <p1>]) {{
            __typename id
            ... on User {{ handle }}
            ... on Post {{ {POST_BITS} }}
            ... on Comment {{ body post {{ id }} parent {{ id }} }}
            ... on Notification {{ kind read actor {{ handle }} about: post {{ title }} }}
          }}
        }}""",
        expect=_expect_every_type,
    ),
    Case(
        "node_by_id_of_every_type",
        """{
          user: node(id: <user_bob>) { ... on Node { id } ... on User { handle } }
          post: node(id: <p2>) { __typename ...P }
          comment: node(id: <r4>) { ... on Comment { body author { handle } } }
          notification: node(id: <note_ada_unread>) { ... on Notification { kind actor { id } } }
          draft: node(id: <draft>) { ...P }
          deleted: node(id: <deleted_post>) { ...P }
          deletedComment: node(id: <deleted_comment>) { id }
          othersNotification: node(id: <note_bob>) { id }
          unknown: node(id: <unknown_type>) { id }
        }
        fragment P on Post { id title status }""",
    ),
    Case(
        "node_malformed_ids",
        """{
          bad: node(id: <malformed_id>) { id }
          empty: node(id: "") { id }
          good: node(id: <p1>) { id }
          wrongType: post(id: <user_ada>) { id }
        }""",
    ),
    Case(
        "nodes_with_a_malformed_id_nulls_data",
        "{ nodes(ids: [<p1>, <malformed_id>]) { id } posts(first: 1) { totalCount } }",
    ),
    Case(
        "skip_include_literals",
        """{
          posts(first: 2) {
            totalCount @skip(if: true)
            pageInfo @include(if: false) { hasNextPage }
            edges @include(if: true) {
              cursor @skip(if: false)
              node { id ... on Post @skip(if: true) { title } ... @include(if: true) { tags } }
            }
          }
          viewer @skip(if: true) { id }
          user(handle: "ada") { ...U @include(if: false) handle }
        }
        fragment U on User { email }""",
    ),
    Case(
        "skip_include_variables",
        """query Conditions($yes: Boolean!, $no: Boolean!, $byDefault: Boolean! = true) {
          posts(first: 2) {
            totalCount @skip(if: $yes)
            edges @include(if: $yes) { node { id title @include(if: $no) ...T @skip(if: $no) } }
            pageInfo @include(if: $byDefault) { endCursor }
          }
          user(handle: "ada") @include(if: $no) { handle }
        }
        fragment T on Post { tags author @include(if: $byDefault) { handle } }""",
        {"yes": True, "no": False},
    ),
    Case(
        # The same document as above with the conditions flipped: plans depend on them.
        "skip_include_variables_flipped",
        """query Conditions($yes: Boolean!, $no: Boolean!, $byDefault: Boolean! = true) {
          posts(first: 2) {
            totalCount @skip(if: $yes)
            edges @include(if: $yes) { node { id title @include(if: $no) ...T @skip(if: $no) } }
            pageInfo @include(if: $byDefault) { endCursor }
          }
          user(handle: "ada") @include(if: $no) { handle }
        }
        fragment T on Post { tags author @include(if: $byDefault) { handle } }""",
        {"yes": False, "no": True, "byDefault": False},
    ),
    Case(
        "variables_with_defaults_omitted",
        """query Defaults(
          $first: Int = 2, $tag: String = "graphql", $after: String, $id: ID! = <p1>
        ) {
          posts(first: $first, tag: $tag, after: $after) { totalCount edges { node { title } } }
          post(id: $id) { title }
        }""",
    ),
    Case(
        "variables_given",
        """query Given($first: Int = 2, $tag: String = "graphql", $after: String, $id: ID!) {
          posts(first: $first, tag: $tag, after: $after) { totalCount edges { node { title } } }
          post(id: $id) { title comments(first: $first) { edges { node { body } } } }
        }""",
        {"first": 1, "tag": None, "after": "<posts_cursor>", "id": "<c_post>"},
    ),
    Case(
        "typename_at_every_level",
        """{
          __typename
          posts(first: 2) {
            __typename
            pageInfo { __typename hasNextPage }
            edges { __typename node { __typename author { __typename profile { __typename } } } }
          }
          node(id: <c1>) { __typename ... on Comment { __typename post { __typename } } }
          nodes(ids: [<user_ada>, <note_ada_read>]) { __typename }
          alias: __typename
        }""",
    ),
    Case(
        "planted_via_post",
        """{
          post(id: <oldest>) {
            title comments(first: 5) { totalCount edges { node { body author { handle } } } }
          }
          ok: post(id: <p1>) { title }
        }""",
        expect=_expect_masked_planted,
    ),
    Case(
        "planted_via_listing_nulls_data",
        "{ posts { edges { node { id comments { edges { node { author { handle } } } } } } } }",
        expect=_expect_whole_data_nulled,
    ),
    Case(
        "planted_via_node_and_nodes",
        """{
          node(id: <planted>) { id ... on Comment { body author { id } } }
          nodes(ids: [<c7>, <planted>, <oldest>]) {
            id ... on Comment { author { handle } }
            ... on Post { comments { edges { node { author { handle } } } } }
          }
          sibling: node(id: <c7>) { ... on Comment { post { comments(first: 1) { totalCount } } } }
        }""",
    ),
    Case(
        "planted_via_user_posts",
        """{
          user(handle: "ada") {
            handle
            posts { edges { node { title comments { edges { node { author { handle } } } } } } }
          }
          viewer { handle }
          bob: user(handle: "bob") { handle }
        }""",
    ),
    Case(
        "planted_beside_other_errors",
        """{
          a: post(id: <oldest>) { comments(first: 5) { edges { node { author { handle } } } } }
          b: user(handle: "ada") { posts(first: -1) { totalCount } }
          c: node(id: <malformed_id>) { id }
          d: post(id: <p1>) { author { posts(after: "nope") { totalCount } } }
          e: post(id: <p1>) { comments(first: 2) { edges { node { author { handle } } } } }
          f: node(id: <planted>) { ... on Comment { post { title } author { handle } } }
        }""",
    ),
    Case(
        "authorization_nulls",
        """{
          ada: user(handle: "ada") { email }
          bob: user(handle: "bob") { email }
          draft: post(id: <draft>) { title status }
          bobDraft: post(id: <bob_draft>) { title }
          post(id: <p1>) { viewerReactions author { viewerFollows email } }
          users(first: 5) { edges { node { handle email viewerFollows } } }
          viewer { email }
        }""",
        expect=_expect_emails,
    ),
    Case(
        "unauthenticated_notifications",
        "{ notifications { totalCount } }",
        expect=_expect_unauthenticated,
    ),
    Case(
        "unauthenticated_feed",
        "{ feed(first: 2) { edges { node { title } } } }",
        expect=_expect_unauthenticated,
    ),
    Case(
        "viewer_beside_public_fields",
        "{ posts(first: 1) { totalCount } viewer { handle role } }",
    ),
    Case(
        "argument_errors",
        """{
          a: user(handle: "ada") { posts(first: -1) { totalCount } }
          b: post(id: <p1>) { comments(after: "nope") { totalCount } }
          c: node(id: <c1>) { ... on Comment { replies(first: -1) { totalCount } } }
          d: user(handle: "bob") { followers(after: <posts_cursor>) { totalCount } }
          e: post(id: <user_ada>) { id }
          f: user(handle: "cyd") { following(first: 101) { totalCount } }
        }""",
        expect=_expect_argument_errors,
    ),
    Case(
        "argument_error_at_the_root",
        "{ users(first: 1) { totalCount } posts(first: -1) { totalCount } }",
    ),
    Case(
        # A non-null root field fails first in document order, a nullable one after it.
        "data_nulled_beside_a_nullable_error",
        "{ posts(first: -1) { totalCount } wrongType: post(id: <user_ada>) { id } }",
    ),
    Case(
        # Two non-null root fields fail: one at once, one after its loaders ran.
        "two_root_fields_fail",
        "{ nodes(ids: [<p1>, <malformed_id>]) { id } notifications { totalCount } }",
    ),
    Case(
        "lists_of_leaves",
        """{
          posts(first: 6) { edges { node { tags } } }
          ada: user(handle: "ada") { profile { bio links location avatarUrl } }
          eve: user(handle: "eve") { profile { bio links location avatarUrl } }
          dee: user(handle: "dee") { profile { links } }
        }""",
    ),
    Case(
        "enums",
        """{
          users(first: 10) { edges { node { handle role } } }
          posts(first: 4) { edges { node { status reactions { kind count } viewerReactions } } }
          oldest: post(id: <oldest>) { reactions { kind count } viewerReactions }
          p1: post(id: <p1>) { reactions { kind count } viewerReactions }
          draft: post(id: <draft>) { status }
        }""",
    ),
    Case(
        "notifications",
        """{
          notifications(first: 25) {
            totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            edges { cursor node {
              id kind read createdAt actor { handle } post { title }
              comment { body parent { body } }
            } }
          }
          unread: notifications(unreadOnly: true) { totalCount edges { node { kind } } }
          later: notifications(first: 2, after: <notifications_cursor>) { edges { node { id } } }
        }""",
        expect=_expect_notifications,
    ),
    Case(
        "date_times",
        """{
          post(id: <p1>) { createdAt updatedAt publishedAt }
          draft: post(id: <draft>) { createdAt publishedAt }
          node(id: <c1>) { ... on Comment { createdAt editedAt } }
          unedited: node(id: <r1>) { ... on Comment { editedAt } }
          user(handle: "eve") { createdAt }
        }""",
    ),
    Case(
        "total_count_and_page_info",
        """{
          page: posts(first: 2, after: <posts_cursor>) {
            totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          }
          users(first: 2, after: <users_cursor>) { totalCount pageInfo { hasNextPage endCursor } }
          empty: posts(tag: "nothing") {
            totalCount pageInfo { hasNextPage startCursor } edges { cursor }
          }
          zero: posts(first: 0) { totalCount pageInfo { hasNextPage endCursor } edges { cursor } }
          user(handle: "ada") {
            followers(first: 1, after: <followers_cursor>) { totalCount edges { cursor } }
            following(first: 1) { totalCount pageInfo { hasNextPage } }
            posts(first: 2, after: <user_posts_cursor>) { totalCount edges { node { title } } }
          }
        }""",
    ),
    Case(
        # posts -> author -> posts -> comments -> replies -> author -> profile is deeper
        # than the depth limit (12) allows in one chain: two overlapping ones.
        "deep_nesting",
        """{
          posts(first: 3) { edges { node {
            title
            author { handle posts(first: 2) { edges { node {
              title
              comments(first: 2) { edges { node { body replies(first: 2) { totalCount } } } }
            } } } }
          } } }
          user(handle: "bob") { posts(first: 3) { edges { node { comments(first: 3) { edges { node {
            replies(first: 2) { edges { node {
              body author { handle profile { bio location links } }
            } } }
          } } } } } } }
          thread: node(id: <c1>) { ... on Comment { replies { edges { node {
            replies { edges { node { author { profile { bio } } parent { parent { body } } } } }
          } } } } }
        }""",
        expect=_expect_deep,
    ),
    Case(
        "follows",
        """{
          viewer { followerCount followingCount
            followers { totalCount edges { node { handle viewerFollows } } }
            following(first: 2) { edges { node { handle followerCount } } } }
          ada: user(handle: "ada") { followerCount viewerFollows
            followers(first: 3) { edges { cursor node { handle following { totalCount } } } } }
        }""",
    ),
    Case(
        "feed",
        """{ feed(first: 4) { totalCount pageInfo { hasNextPage endCursor }
             edges { node { title author { handle viewerFollows } } } }
           later: feed(first: 2, after: <feed_cursor>) { edges { node { title } } } }""",
    ),
    Case(
        "searches_and_filters",
        """{
          users(search: "a") { totalCount edges { node { handle } } }
          nobody: users(search: "zzz") { totalCount }
          posts(search: "post") { totalCount edges { node { title } } }
          bob: posts(authorId: <user_bob>) { totalCount edges { node { title } } }
          wildcard: posts(search: "%") { totalCount }
        }""",
    ),
    Case(
        "comment_threads",
        """{
          node(id: <r2>) { ... on Comment {
            body parent { body parent { body parent { id } } }
            post { title commentCount } replies { totalCount }
          } }
          post(id: <p1>) { commentCount comments(first: 10) { totalCount edges { node {
            body replies(first: 1) { totalCount pageInfo { hasNextPage } edges { node { body } } }
          } } } }
        }""",
    ),
    Case(
        "interface_and_concrete_fragments",
        """{
          node(id: <user_ada>) {
            id ... on Node { id __typename }
            ... on User { id handle ... on Node { id } }
            ... on Post { title }
          }
          user(handle: "bob") { ... on Node { id } ...N }
        }
        fragment N on Node { ... on User { handle } }""",
    ),
    Case(
        "several_operations_one_chosen",
        """query First { posts(first: 1) { totalCount } }
        query Second { users(first: 2) { edges { node { handle } } } }""",
        operation_name="Second",
    ),
    Case("invalid_document", "{ posts { nope } }", refused=True),
    Case(
        "variable_of_the_wrong_type",
        "query($n: Int) { posts(first: $n) { totalCount } }",
        {"n": "three"},
        refused=True,
    ),
    Case("only_typename", "{ __typename }"),
    Case(
        "empty_selections_after_skip",
        """{
          viewer @skip(if: true) { id }
          posts(first: 1) { edges @include(if: false) { cursor } }
          user(handle: "ada") { ... @skip(if: true) { handle } }
        }""",
    ),
]


def _case_run(world: World, case: Case, viewer: str, production: bool) -> Run:
    return Run(
        case.id if production else f"{case.id}-development",
        _render(case.text, world.values),
        {k: _render_value(v, world.values) for k, v in case.variables.items()},
        viewer,
        production,
        case.operation_name,
    )


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_hand_written_cases_answer_alike(world: World, case: Case) -> None:
    mismatches: list[tuple[Run, str]] = []
    runs = [_case_run(world, case, viewer, production=True) for viewer in VIEWERS]
    erring: list[str] = []
    for run in runs:
        expected, mismatch = await _compare(world, run)
        if mismatch:
            mismatches.append((run, mismatch))
            erring.append(run.viewer)
            continue
        assert _was_refused(expected) == case.refused, expected
        if case.expect:
            case.expect(run.viewer, expected)
        if "errors" in expected:
            erring.append(run.viewer)
    # Development differs from production only in how errors are presented (unmasked,
    # with suggestions) and in statement counts: it runs where production had errors.
    for viewer in erring[:1]:
        run = _case_run(world, case, viewer, production=False)
        runs.append(run)
        _, mismatch = await _compare(world, run)
        if mismatch:
            mismatches.append((run, mismatch))
    assert not mismatches, _summary(mismatches, len(runs))


# Documents whose operations read alike, character for character, but whose fragments
# differ: each must be answered by its own fragments.
SAME_OPERATION = "query Shared { ...Part }\n"
FRAGMENTS = (
    "fragment Part on Query { viewer { handle } }",
    "fragment Part on Query { posts(first: 1) { totalCount } }",
    "fragment Part on Query { post(id: <p1>) { title } }",
)


async def test_documents_differing_only_in_their_fragments_answer_apart(world: World) -> None:
    mismatches: list[tuple[Run, str]] = []
    for index, fragment in enumerate(FRAGMENTS):
        text = SAME_OPERATION + _render(fragment, world.values)
        run = Run(f"fragments-{index}", text, {}, "author", production=True)
        _, mismatch = await _compare(world, run)
        if mismatch:
            mismatches.append((run, mismatch))
    assert not mismatches, _summary(mismatches, len(FRAGMENTS))


# Generated operations


def _accept(world: World) -> Callable[[Operation], bool]:
    schema = world.schemas[True, True]

    def accept(operation: Operation) -> bool:
        if len(operation.text) > MAX_GENERATED_LENGTH:
            return False
        checked = schema.document_checks.check(operation.text)
        if not checked.ok:
            return False
        assert checked.document is not None
        (definition,) = [
            d for d in checked.document.definitions if isinstance(d, OperationDefinitionNode)
        ]
        coerced = get_variable_values(
            schema._schema, definition.variable_definitions or (), operation.variables
        )
        assert not isinstance(coerced, list), coerced
        return requested_cost(definition, checked.fragments, coerced.coerced) <= MAX_GENERATED_COST

    return accept


async def test_generated_operations_answer_alike(world: World) -> None:
    assert world.pools is not None
    operations, refused = generate_operations(
        world.schemas[True, True]._schema,
        world.pools,
        count=GENERATED,
        seed=GENERATOR_SEED,
        accept=_accept(world),
    )
    mismatches: list[tuple[Run, str]] = []
    runs = ran = with_errors = with_data = 0
    for index, operation in enumerate(operations):
        viewer = VIEWERS[index % len(VIEWERS)]
        modes = (True, False) if index % DEVELOPMENT_EVERY == 0 else (True,)
        for production in modes:
            run = Run(operation.name, operation.text, operation.variables, viewer, production)
            expected, mismatch = await _compare(world, run)
            runs += 1
            if mismatch:
                mismatches.append((run, mismatch))
            assert not _was_refused(expected), (operation.text, expected)
            if production:
                ran += 1
                with_errors += "errors" in expected
                with_data += expected.get("data") is not None
    assert not mismatches, _summary(mismatches, runs)
    assert ran >= 500
    # The corpus is worth its name only if it reaches both answers and errors.
    assert with_data >= ran // 2, (with_data, ran)
    assert with_errors >= ran // 20, (with_errors, ran)
    assert refused < GENERATED // 2, refused
