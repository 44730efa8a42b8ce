"""Accounts through the HTTP endpoint: register, login, viewer, refresh rotation, logout."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from auth.tokens import issue_access_token
from support.accounts import (
    LOGIN,
    LOGOUT,
    PASSWORD,
    REFRESH,
    REGISTER,
    VIEWER,
    register,
    unique_handle,
    with_role,
)
from support.apps import RunningApp
from support.graphql import GraphQLClient, codes, top_level_code
from support.ids import key_of


async def test_register_login_viewer(gql: GraphQLClient) -> None:
    handle = unique_handle("Alice")
    registered = (await register(gql, handle=handle, email=f"{handle}@Example.COM")).payload
    assert registered["errors"] == []
    user = registered["user"]
    assert user["handle"] == handle.lower()
    assert user["role"] == "USER"
    assert user["email"] is None  # anonymous request: the address is not shown
    assert user["profile"] == {"bio": "", "links": [], "avatarUrl": None, "location": None}
    assert datetime.fromisoformat(registered["expiresAt"]) > datetime.now(UTC)

    logged_in = (
        await gql(
            LOGIN,
            {"input": {"handleOrEmail": f"{handle.upper()}@example.com", "password": PASSWORD}},
        )
    )["data"]["login"]
    assert logged_in["errors"] == []
    assert logged_in["user"]["id"] == user["id"]

    viewer = (await gql(VIEWER, token=logged_in["accessToken"]))["data"]["viewer"]
    assert viewer["handle"] == handle.lower()
    assert viewer["email"] == f"{handle.lower()}@example.com"

    # The same user seen through `user(handle:)` by someone else hides the email.
    other = await register(gql)
    seen = await gql(
        "query($h: String!) { user(handle: $h) { handle email } }",
        {"h": handle.upper()},
        token=other.token,
    )
    assert seen["data"]["user"] == {"handle": handle.lower(), "email": None}


async def test_viewer_is_null_when_anonymous(gql: GraphQLClient) -> None:
    body = await gql(VIEWER)
    assert body["data"] == {"viewer": None}
    assert "errors" not in body


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("handle", "ab", "INVALID_HANDLE"),
        ("handle", "x" * 31, "INVALID_HANDLE"),
        ("handle", "no-dashes", "INVALID_HANDLE"),
        ("email", "not-an-email", "INVALID_EMAIL"),
        ("password", "short", "PASSWORD_TOO_SHORT"),
        ("displayName", "", "INVALID_DISPLAY_NAME"),
        ("displayName", "x" * 81, "INVALID_DISPLAY_NAME"),
    ],
)
async def test_register_validation(gql: GraphQLClient, field: str, value: str, code: str) -> None:
    handle = unique_handle()
    variables = {
        "input": {
            "handle": handle,
            "email": f"{handle}@example.com",
            "password": PASSWORD,
            "displayName": "Name",
            field: value,
        }
    }
    payload = (await gql(REGISTER, variables))["data"]["register"]
    assert payload["user"] is None and payload["accessToken"] is None
    assert payload["errors"] == [
        {"code": code, "message": payload["errors"][0]["message"], "field": ["input", field]}
    ]
    # Nothing was written: the handle is still free.
    if field != "handle":
        assert (await gql("query($h:String!){user(handle:$h){id}}", {"h": handle}))["data"][
            "user"
        ] is None


async def test_handle_and_email_are_unique_case_insensitively(gql: GraphQLClient) -> None:
    first = await register(gql)
    handle = first.handle
    again = (
        await gql(
            REGISTER,
            {
                "input": {
                    "handle": handle.upper(),
                    "email": f"{handle.upper()}@EXAMPLE.com",
                    "password": PASSWORD,
                    "displayName": "Copy",
                }
            },
        )
    )["data"]["register"]
    assert sorted(codes(again)) == ["EMAIL_TAKEN", "HANDLE_TAKEN"]
    assert again["user"] is None


async def test_concurrent_registrations_of_one_handle(gql: GraphQLClient) -> None:
    handle = unique_handle()
    variables = [
        {
            "input": {
                "handle": handle,
                "email": f"{handle}{i}@example.com",
                "password": PASSWORD,
                "displayName": "Racer",
            }
        }
        for i in range(4)
    ]
    results = await asyncio.gather(*(gql(REGISTER, v) for v in variables))
    payloads = [r["data"]["register"] for r in results]
    winners = [p for p in payloads if not p["errors"]]
    assert len(winners) == 1
    assert all(codes(p) == ["HANDLE_TAKEN"] for p in payloads if p["errors"])


async def test_wrong_credentials_do_not_say_which_part(gql: GraphQLClient) -> None:
    user = await register(gql)
    wrong_password = (
        await gql(LOGIN, {"input": {"handleOrEmail": user.handle, "password": "x" * 12}})
    )["data"]["login"]
    no_such_user = (
        await gql(LOGIN, {"input": {"handleOrEmail": unique_handle(), "password": PASSWORD}})
    )["data"]["login"]
    assert wrong_password["errors"] == no_such_user["errors"]
    assert codes(wrong_password) == ["INVALID_CREDENTIALS"]
    assert wrong_password["accessToken"] is None and wrong_password["user"] is None


async def test_refresh_rotates_and_old_token_is_refused(gql: GraphQLClient) -> None:
    session = await register(gql)
    rotated = (await gql(REFRESH, {"t": session.refresh_token}))["data"]["refreshToken"]
    assert rotated["refreshToken"] != session.refresh_token
    assert rotated["user"]["id"] == session.id
    viewer = (await gql(VIEWER, token=rotated["accessToken"]))["data"]["viewer"]
    assert viewer["id"] == session.id

    # The new token works once more; each token works exactly once.
    again = (await gql(REFRESH, {"t": rotated["refreshToken"]}))["data"]["refreshToken"]
    assert again["accessToken"]


async def test_reusing_a_rotated_token_revokes_the_family(gql: GraphQLClient) -> None:
    session = await register(gql)
    stolen = session.refresh_token
    legit = (await gql(REFRESH, {"t": stolen}))["data"]["refreshToken"]["refreshToken"]

    reuse = await gql(REFRESH, {"t": stolen})
    assert reuse["data"] is None
    assert top_level_code(reuse) == "UNAUTHENTICATED"
    assert reuse["errors"][0]["extensions"]["reason"] == "REUSED"

    # The legitimate descendant dies with the stolen one.
    after = await gql(REFRESH, {"t": legit})
    assert top_level_code(after) == "UNAUTHENTICATED"
    assert after["errors"][0]["extensions"]["reason"] == "REVOKED"

    # Another session of the same user is unaffected.
    other = (await gql(LOGIN, {"input": {"handleOrEmail": session.handle, "password": PASSWORD}}))[
        "data"
    ]["login"]
    assert (await gql(REFRESH, {"t": other["refreshToken"]}))["data"]["refreshToken"]["accessToken"]


async def test_concurrent_refresh_with_one_token_lets_one_through(gql: GraphQLClient) -> None:
    session = await register(gql)
    results = await asyncio.gather(*(gql(REFRESH, {"t": session.refresh_token}) for _ in range(3)))
    succeeded = [r for r in results if r.get("data") and r["data"]["refreshToken"]]
    assert len(succeeded) <= 1
    assert all(top_level_code(r) == "UNAUTHENTICATED" for r in results if r not in succeeded)


async def test_logout_revokes_the_session(gql: GraphQLClient) -> None:
    session = await register(gql)
    out = await gql(LOGOUT, {"t": session.refresh_token})
    assert out["data"]["logout"] == {"success": True, "errors": []}
    refused = await gql(REFRESH, {"t": session.refresh_token})
    assert top_level_code(refused) == "UNAUTHENTICATED"
    assert refused["errors"][0]["extensions"]["reason"] == "REVOKED"
    # Logging out twice is harmless.
    assert (await gql(LOGOUT, {"t": session.refresh_token}))["data"]["logout"]["success"]


@pytest.mark.parametrize("query", [REFRESH, LOGOUT], ids=["refreshToken", "logout"])
@pytest.mark.parametrize("token", ["", "nope", "x" * 300])
async def test_unknown_refresh_tokens_are_unauthenticated(
    gql: GraphQLClient, token: str, query: str
) -> None:
    body = await gql(query, {"t": token})
    assert top_level_code(body) == "UNAUTHENTICATED"
    assert "invalid refresh token" in body["errors"][0]["message"]


# Access tokens a client could send, made for a user id with the app's signing key.
BAD_ACCESS_TOKENS = {
    "expired": lambda key, user_id: (
        issue_access_token(
            key, user_id, "USER", 60, now=datetime.now(UTC) - timedelta(hours=1)
        ).token
    ),
    "forged": lambda key, user_id: (
        issue_access_token("another-key-" + "x" * 40, user_id, "ADMIN", 600).token
    ),
    "none_alg": lambda key, user_id: jwt.encode(
        {"sub": str(user_id), "role": "ADMIN"}, None, algorithm="none"
    ),
    "garbage": lambda key, user_id: "garbage",
}


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("expired", "access token expired"),
        ("forged", "invalid access token"),
        ("none_alg", "invalid access token"),
        ("garbage", "invalid access token"),
    ],
)
async def test_invalid_access_tokens(
    gql: GraphQLClient, app_server: RunningApp, kind: str, message: str
) -> None:
    session = await register(gql)
    token = BAD_ACCESS_TOKENS[kind](app_server.settings.jwt_key(), int(key_of(session.id)))
    response = await gql.raw(VIEWER, token=token)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"viewer": None}
    assert body["errors"][0]["message"] == message
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_malformed_authorization_header(gql: GraphQLClient) -> None:
    malformed = await gql.http.post(
        "/graphql", json={"query": VIEWER}, headers={"authorization": "Token abc"}
    )
    assert malformed.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Bearer" in malformed.json()["errors"][0]["message"]


async def test_admin_sees_emails(gql: GraphQLClient, app_server: RunningApp) -> None:
    # The role is carried in the access token: the admin signs in again to pick it up.
    admin = await with_role(gql, app_server, "ADMIN", "admin")
    target = await register(gql)
    seen = await gql(
        "query($id: ID!) { node(id: $id) { ... on User { handle email role } } }",
        {"id": target.id},
        token=admin.token,
    )
    assert seen["data"]["node"]["email"] == f"{target.handle}@example.com"
