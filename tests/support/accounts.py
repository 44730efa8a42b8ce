"""Accounts through the API: the documents, and registering or signing in a user."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from datasources.relational import open_relational_store
from support.apps import RunningApp
from support.graphql import GraphQLClient

PASSWORD = "correct horse battery"
AUTH_FIELDS = """
  user { id handle displayName role email createdAt profile { bio links avatarUrl location } }
  accessToken refreshToken expiresAt
  errors { code message field }
"""
REGISTER = f"mutation($input: RegisterInput!) {{ register(input: $input) {{ {AUTH_FIELDS} }} }}"
LOGIN = f"mutation($input: LoginInput!) {{ login(input: $input) {{ {AUTH_FIELDS} }} }}"
REFRESH = f"mutation($t: String!) {{ refreshToken(refreshToken: $t) {{ {AUTH_FIELDS} }} }}"
LOGOUT = "mutation($t: String!) { logout(refreshToken: $t) { success errors { code } } }"
VIEWER = "{ viewer { id handle email displayName role } }"


@dataclass(frozen=True)
class Session:
    """A signed-in user as a client holds it; `payload` is the whole register/login payload."""

    id: str
    handle: str
    token: str
    refresh_token: str = ""
    payload: dict[str, Any] = field(default_factory=dict, compare=False)


def unique_handle(prefix: str = "u") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def session_of(payload: dict[str, Any]) -> Session:
    """The session a successful register, login or refreshToken payload opens."""
    assert payload["errors"] == [], payload
    user = payload["user"]
    return Session(
        user["id"], user["handle"], payload["accessToken"], payload["refreshToken"], payload
    )


async def register(
    gql: GraphQLClient, prefix: str = "u", *, handle: str | None = None, email: str | None = None
) -> Session:
    """Registers a fresh user (handle `<prefix>_<random>` unless given): they are signed in."""
    handle = handle or unique_handle(prefix)
    body = await gql(
        REGISTER,
        {
            "input": {
                "handle": handle,
                "email": email or f"{handle}@example.com",
                "password": PASSWORD,
                "displayName": f"Name of {handle}",
            }
        },
    )
    assert "errors" not in body, body
    return session_of(body["data"]["register"])


async def register_many(gql: GraphQLClient, count: int, prefix: str = "u") -> list[Session]:
    return list(await asyncio.gather(*(register(gql, prefix) for _ in range(count))))


async def sign_in(gql: GraphQLClient, handle_or_email: str) -> Session:
    """Signs in again with the password every helper registers with."""
    body = await gql(LOGIN, {"input": {"handleOrEmail": handle_or_email, "password": PASSWORD}})
    assert "errors" not in body, body
    return session_of(body["data"]["login"])


async def with_role(gql: GraphQLClient, app: RunningApp, role: str, prefix: str) -> Session:
    """A fresh user given `role`, signed in again so that the token carries it."""
    user = await register(gql, prefix)
    store = open_relational_store(app.settings.sqlalchemy_url)
    try:
        assert await store.users.set_role(user.handle, role)
    finally:
        await store.close()
    promoted = await sign_in(gql, user.handle)
    assert promoted.payload["user"]["role"] == role, promoted.payload
    return promoted


async def moderator(gql: GraphQLClient, app: RunningApp) -> Session:
    """A fresh user promoted to MODERATOR, signed in again so the token carries the role."""
    return await with_role(gql, app, "MODERATOR", "mod")
