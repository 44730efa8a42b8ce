"""Access tokens are checked against reality: a deleted user, an ended session or a
changed role applies within the token-check TTL, at the cost of no SQL per request."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import websockets
from sqlalchemy import delete, event

import resolvers.context
from auth.tokens import hash_refresh_token, issue_access_token
from datasources.relational import open_relational_store
from datasources.relational.models import User
from support.accounts import LOGIN, LOGOUT, PASSWORD, REFRESH, VIEWER, Session, register
from support.apps import RunningApp
from support.graphql import GraphQLClient, top_level_code
from support.ids import key_of
from support.time_travel import TimeTravel

ROOT = Path(__file__).resolve().parent.parent
# Long enough that the requests a test makes in a row share it; the tests do not wait it
# out, they travel past it (`past_ttl`).
SHORT_TTL = 0.3
EMAIL_OF = "query($id: ID!) { node(id: $id) { ... on User { email } } }"
UPDATE_PROFILE = "mutation($bio: String!) { updateProfile(input: {bio: $bio}) { errors { code } } }"
CREATE_POST = (
    'mutation { createPost(input: {title: "t", body: "b", tags: [], publish: true}) '
    "{ post { id } errors { code } } }"
)


@pytest.fixture
def short_ttl(monkeypatch: pytest.MonkeyPatch, time_travel: TimeTravel) -> TimeTravel:
    """The token-check TTL made short, and a clock for the checks to travel past it."""
    monkeypatch.setattr(resolvers.context, "TOKEN_CHECK_TTL_SECONDS", SHORT_TTL)
    time_travel.install(resolvers.context)
    return time_travel


@pytest.fixture
def long_ttl(monkeypatch: pytest.MonkeyPatch) -> float:
    """Nothing expires during the test: what changes, changes through invalidation."""
    monkeypatch.setattr(resolvers.context, "TOKEN_CHECK_TTL_SECONDS", 600.0)
    return 600.0


def past_ttl(clock: TimeTravel) -> None:
    clock.forward(SHORT_TTL + 0.2)


def user_id(session: Session) -> int:
    return int(key_of(session.id))


def session_id(access_token: str) -> int:
    return int(jwt.decode(access_token, options={"verify_signature": False})["sid"])


async def run_sql(app_server: RunningApp, statement: Any) -> None:
    """Changes the database from outside the app, as another process would."""
    store = open_relational_store(app_server.settings.sqlalchemy_url)
    try:
        async with store.write() as session:
            await session.execute(statement)
    finally:
        await store.close()


async def ws_close_code(app_server: RunningApp, token: str) -> int | None:
    """How the server closes a WebSocket whose connection_init carries `token`
    (None: it acknowledged the connection)."""
    protocols = ["graphql-transport-ws"]
    async with websockets.connect(app_server.ws_url, subprotocols=protocols) as ws:  # type: ignore[arg-type]
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        try:
            async with asyncio.timeout(10):
                assert json.loads(await ws.recv())["type"] == "connection_ack"
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    return None


def assert_refused(body: dict[str, Any], message: str) -> None:
    assert top_level_code(body) == "UNAUTHENTICATED", body
    assert body["errors"][0]["message"] == message, body


async def test_token_of_a_deleted_user_is_refused_and_writes_nothing(
    app_server: RunningApp, gql: GraphQLClient, short_ttl: TimeTravel
) -> None:
    session = await register(gql)
    token = session.token
    assert (await gql(VIEWER, token=token))["data"]["viewer"]["id"] == session.id
    await run_sql(app_server, delete(User).where(User.id == user_id(session)))
    past_ttl(short_ttl)

    assert_refused(await gql(VIEWER, token=token), resolvers.context.GONE_USER)
    assert_refused(await gql(CREATE_POST, token=token), resolvers.context.GONE_USER)
    assert_refused(
        await gql(UPDATE_PROFILE, {"bio": "orphan"}, token=token), resolvers.context.GONE_USER
    )
    profiles = app_server.app.state.stores.documents.profiles.collection
    written = await profiles.find_one({"user_id": user_id(session), "bio": "orphan"})
    assert written is None
    assert await ws_close_code(app_server, token) == 4403


async def test_logout_ends_the_access_token_at_once(gql: GraphQLClient, long_ttl: float) -> None:
    session = await register(gql)
    other = (await gql(LOGIN, {"input": {"handleOrEmail": session.handle, "password": PASSWORD}}))[
        "data"
    ]["login"]
    for token in (session.token, other["accessToken"]):
        assert (await gql(VIEWER, token=token))["data"]["viewer"] is not None  # now cached

    assert (await gql(LOGOUT, {"t": session.refresh_token}))["data"]["logout"]["success"]
    assert_refused(await gql(VIEWER, token=session.token), resolvers.context.SESSION_ENDED)
    assert_refused(
        await gql(UPDATE_PROFILE, {"bio": "x"}, token=session.token),
        resolvers.context.SESSION_ENDED,
    )
    # The user's other session goes on.
    viewer = (await gql(VIEWER, token=other["accessToken"]))["data"]["viewer"]
    assert viewer["id"] == session.id


async def test_a_session_ended_elsewhere_ends_its_tokens_within_the_ttl(
    app_server: RunningApp, gql: GraphQLClient, short_ttl: TimeTravel
) -> None:
    session = await register(gql)
    token = session.token
    assert (await gql(VIEWER, token=token))["data"]["viewer"] is not None
    # Another process logs the session out: this one learns of it within the TTL.
    store = open_relational_store(app_server.settings.sqlalchemy_url)
    try:
        await store.refresh_tokens.revoke(hash_refresh_token(session.refresh_token))
    finally:
        await store.close()
    past_ttl(short_ttl)
    assert_refused(await gql(VIEWER, token=token), resolvers.context.SESSION_ENDED)


async def test_refresh_keeps_the_session_and_reuse_ends_it(
    gql: GraphQLClient, long_ttl: float
) -> None:
    session = await register(gql)
    rotated = (await gql(REFRESH, {"t": session.refresh_token}))["data"]["refreshToken"]
    assert session_id(rotated["accessToken"]) == session_id(session.token)
    for token in (session.token, rotated["accessToken"]):
        assert (await gql(VIEWER, token=token))["data"]["viewer"] is not None

    reuse = await gql(REFRESH, {"t": session.refresh_token})
    assert reuse["errors"][0]["extensions"]["reason"] == "REUSED"
    for token in (session.token, rotated["accessToken"]):
        assert_refused(await gql(VIEWER, token=token), resolvers.context.SESSION_ENDED)


async def test_a_session_id_must_be_the_users_own(
    app_server: RunningApp, gql: GraphQLClient
) -> None:
    alice, bob = await register(gql), await register(gql)
    key = app_server.settings.jwt_key()
    mixed = issue_access_token(key, user_id(alice), "USER", 600, session_id=session_id(bob.token))
    assert_refused(await gql(VIEWER, token=mixed.token), resolvers.context.SESSION_ENDED)
    unknown = issue_access_token(key, user_id(alice), "USER", 600, session_id=2**40)
    assert_refused(await gql(VIEWER, token=unknown.token), resolvers.context.SESSION_ENDED)
    # A token with a forged role gets the user's real one.
    claimed_admin = issue_access_token(
        key, user_id(alice), "ADMIN", 600, session_id=session_id(alice.token)
    ).token
    assert (await gql(EMAIL_OF, {"id": bob.id}, token=claimed_admin))["data"]["node"] == {
        "email": None
    }


@pytest.fixture
def cli_env(app_server: RunningApp) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DATA_DIR"))}
    env["DATABASE_URL"] = app_server.settings.sqlalchemy_url
    env["DATA_DIR"] = str(app_server.settings.data_dir)
    yield env


async def set_role_with_cli(env: dict[str, str], handle: str, role: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "cli.py",
        "set-role",
        handle,
        role,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_role_changes_apply_within_the_ttl(
    app_server: RunningApp, gql: GraphQLClient, cli_env: dict[str, str], short_ttl: TimeTravel
) -> None:
    admin, target = await register(gql), await register(gql)
    token = admin.token  # issued while a USER, and kept throughout
    target_email = f"{target.handle}@example.com"
    assert (await gql(EMAIL_OF, {"id": target.id}, token=token))["data"]["node"] == {"email": None}

    store = open_relational_store(app_server.settings.sqlalchemy_url)
    try:
        assert await store.users.set_role(admin.handle, "ADMIN")
    finally:
        await store.close()
    past_ttl(short_ttl)
    seen = await gql(EMAIL_OF, {"id": target.id}, token=token)
    assert seen["data"]["node"] == {"email": target_email}

    # Demoted with `agora set-role`, in a process of its own: no sign-in again needed.
    printed = await set_role_with_cli(cli_env, admin.handle, "USER")
    assert "is now USER" in printed
    past_ttl(short_ttl)
    seen = await gql(EMAIL_OF, {"id": target.id}, token=token)
    assert seen["data"]["node"] == {"email": None}


async def test_a_valid_token_costs_no_sql_per_request(
    app_server: RunningApp, gql: GraphQLClient, long_ttl: float
) -> None:
    session = await register(gql)
    token = session.token
    engine = app_server.app.state.stores.relational.engine.sync_engine
    checks: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "refresh_token_families" in statement:
            checks.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        stats = []
        for _ in range(10):
            body = await gql("{ viewer { handle } }", token=token)
            assert body["data"]["viewer"]["handle"] == session.handle
            stats.append(body["extensions"]["queryStats"])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # One check for the first request; the other nine are answered from the cache.
    assert len(checks) == 1, checks
    assert all(s == stats[0] for s in stats), stats
