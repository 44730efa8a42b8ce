"""Rate limits on login, register and refreshToken, per client address and per account.

An app of this module's own, with small limits, on both backends (in-process counts,
then Redis). Each test sends from loopback addresses of its own (127.x.y.z), so the
address limits of one test, or of the shared app, never meet another's."""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

import resolvers.accounts
from resolvers.accounts import AUTH_RATE_LIMIT_WINDOW_SECONDS
from support.accounts import LOGIN, PASSWORD, REFRESH, REGISTER, unique_handle
from support.apps import BACKENDS, RunningApp, backend_settings, serving
from support.graphql import GraphQLClient, codes, top_level_code

PER_ADDRESS = 5
PER_ACCOUNT = 3
USER = "query($h: String!) { user(handle: $h) { id } }"

_addresses = itertools.count(random.randrange(1 << 16) << 8)


def new_address() -> str:
    """A loopback address no other test uses (never 127.0.0.1)."""
    n = next(_addresses) % (1 << 24)
    return f"127.{(n >> 16) % 255 + 1}.{(n >> 8) & 255}.{n & 255}"


@pytest.fixture(scope="module", params=BACKENDS)
async def limited_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningApp]:
    settings = backend_settings(
        request.param,
        tmp_path_factory.mktemp("limited"),
        request,
        auth_rate_limit_per_address=PER_ADDRESS,
        auth_rate_limit_per_account=PER_ACCOUNT,
    )
    async with serving(settings) as running:
        yield running


@asynccontextmanager
async def client_at(app: RunningApp, address: str | None = None) -> AsyncIterator[GraphQLClient]:
    """A client whose requests come from `address` (a fresh one by default)."""
    transport = httpx.AsyncHTTPTransport(local_address=address or new_address())
    async with httpx.AsyncClient(base_url=app.url, transport=transport, timeout=30) as http:
        yield GraphQLClient(http)


async def from_new_address(app: RunningApp, query: str, variables: dict[str, Any]) -> Any:
    async with client_at(app) as gql:
        return await gql(query, variables)


@pytest.fixture
def hashing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every password hash or verification the app does (it runs in-process)."""
    calls: list[str] = []

    def counted(name: str, real: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def wrapper(*args: Any) -> Any:
            calls.append(name)
            return await real(*args)

        return wrapper

    for name in ("hash_password", "verify_password"):
        monkeypatch.setattr(
            resolvers.accounts, name, counted(name, getattr(resolvers.accounts, name))
        )
    return calls


def register_input(handle: str, email: str | None = None) -> dict[str, Any]:
    return {
        "input": {
            "handle": handle,
            "email": email or f"{handle}@example.com",
            "password": PASSWORD,
            "displayName": "Limited",
        }
    }


def login_input(name: str, password: str) -> dict[str, Any]:
    return {"input": {"handleOrEmail": name, "password": password}}


def assert_rate_limited(body: dict[str, Any]) -> None:
    assert top_level_code(body) == "RATE_LIMITED", body
    retry_after = body["errors"][0]["extensions"]["retryAfter"]
    assert isinstance(retry_after, int)
    assert 0 < retry_after <= AUTH_RATE_LIMIT_WINDOW_SECONDS


async def test_wrong_passwords_for_one_account_stop_even_the_right_one(
    limited_app: RunningApp, hashing: list[str]
) -> None:
    handle = unique_handle("bf")
    body = await from_new_address(limited_app, REGISTER, register_input(handle))
    assert body["data"]["register"]["errors"] == []
    # Successful logins give their point back: they do not use up the allowance.
    for _ in range(PER_ACCOUNT + 1):
        body = await from_new_address(limited_app, LOGIN, login_input(handle, PASSWORD))
        assert body["data"]["login"]["accessToken"], body

    # Each guess from another address, so the per-address limit plays no part.
    for _ in range(PER_ACCOUNT):
        body = await from_new_address(limited_app, LOGIN, login_input(handle, "wrong password"))
        assert codes(body["data"]["login"]) == ["INVALID_CREDENTIALS"]
    hashed = len(hashing)
    for name, password in [
        (handle, "wrong password"),
        (handle, PASSWORD),
        (f"{handle.upper()}@example.com", PASSWORD),  # by email: the same account
    ]:
        assert_rate_limited(await from_new_address(limited_app, LOGIN, login_input(name, password)))
    assert len(hashing) == hashed  # refused before any password work

    # Another account is not affected, nor is an unknown name limited by this one.
    other = unique_handle("bf")
    await from_new_address(limited_app, REGISTER, register_input(other))
    body = await from_new_address(limited_app, LOGIN, login_input(other, PASSWORD))
    assert body["data"]["login"]["accessToken"]


async def test_a_password_spray_from_one_address_stops(
    limited_app: RunningApp, hashing: list[str]
) -> None:
    victim = unique_handle("sp")
    await from_new_address(limited_app, REGISTER, register_input(victim))
    address = new_address()
    async with client_at(limited_app, address) as gql:
        for _ in range(PER_ADDRESS):
            body = await gql(LOGIN, login_input(unique_handle("sp"), "password123"))
            assert codes(body["data"]["login"]) == ["INVALID_CREDENTIALS"]
        hashed = len(hashing)
        assert_rate_limited(await gql(LOGIN, login_input(unique_handle("sp"), "password123")))
        # Even a right password, for an account never tried, from that address.
        assert_rate_limited(await gql(LOGIN, login_input(victim, PASSWORD)))
        assert len(hashing) == hashed
    # Other addresses go on.
    body = await from_new_address(limited_app, LOGIN, login_input(victim, PASSWORD))
    assert body["data"]["login"]["accessToken"]


async def test_registrations_from_one_address_are_limited(
    limited_app: RunningApp, hashing: list[str]
) -> None:
    async with client_at(limited_app) as gql:
        for _ in range(PER_ADDRESS):
            body = await gql(REGISTER, register_input(unique_handle("rg")))
            assert body["data"]["register"]["errors"] == [], body
        refused = unique_handle("rg")
        hashed = len(hashing)
        assert_rate_limited(await gql(REGISTER, register_input(refused)))
        assert len(hashing) == hashed
    async with client_at(limited_app) as gql:
        assert (await gql(USER, {"h": refused}))["data"]["user"] is None  # nothing written
        body = await gql(REGISTER, register_input(refused))
        assert body["data"]["register"]["errors"] == []


async def test_registrations_probing_one_email_are_limited(limited_app: RunningApp) -> None:
    email = f"{unique_handle('pr')}@example.com"
    first = await from_new_address(limited_app, REGISTER, register_input(unique_handle(), email))
    assert first["data"]["register"]["errors"] == []
    for _ in range(PER_ACCOUNT - 1):
        body = await from_new_address(limited_app, REGISTER, register_input(unique_handle(), email))
        assert codes(body["data"]["register"]) == ["EMAIL_TAKEN"]
    body = await from_new_address(limited_app, REGISTER, register_input(unique_handle(), email))
    assert_rate_limited(body)


async def test_refused_refresh_tokens_are_limited_per_address(limited_app: RunningApp) -> None:
    registered = await from_new_address(limited_app, REGISTER, register_input(unique_handle("rf")))
    token = registered["data"]["register"]["refreshToken"]
    async with client_at(limited_app) as gql:
        # Refreshing as a client should, more often than the limit, is never stopped.
        for _ in range(PER_ADDRESS + 2):
            token = (await gql(REFRESH, {"t": token}))["data"]["refreshToken"]["refreshToken"]
        for guess in range(PER_ADDRESS):
            assert top_level_code(await gql(REFRESH, {"t": f"guess-{guess}"})) == "UNAUTHENTICATED"
        assert_rate_limited(await gql(REFRESH, {"t": "one more guess"}))
        assert_rate_limited(await gql(REFRESH, {"t": token}))
    async with client_at(limited_app) as gql:
        assert (await gql(REFRESH, {"t": token}))["data"]["refreshToken"]["accessToken"]
