"""Who a request is (resolvers/context.py `Context.authenticate`), from tokens of
auth/tokens.py, checked against the embedded relational store."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete

import resolvers.context
from auth.tokens import hash_refresh_token, issue_access_token, new_refresh_token
from datasources.relational.models import User
from datasources.stores import Datastores
from resolvers.context import Context, new_context
from resolvers.errors import Unauthenticated
from settings import Settings


@dataclass
class Account:
    user_id: int
    handle: str
    session_id: int
    refresh_token: str


@pytest.fixture(autouse=True)
def no_token_check_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every authentication looks at the store, so a change shows at once."""
    monkeypatch.setattr(resolvers.context, "TOKEN_CHECK_TTL_SECONDS", 0.0)


@pytest.fixture
def new_account(stores: Datastores) -> Callable[[], Awaitable[Account]]:
    async def create() -> Account:
        handle = f"auth_{uuid.uuid4().hex[:10]}"
        user = await stores.relational.users.create(
            handle=handle,
            email=f"{handle}@example.com",
            display_name=handle,
            password_hash="not-a-real-hash",
        )
        refresh = new_refresh_token()
        session_id = await stores.relational.refresh_tokens.start_family(
            user.id, hash_refresh_token(refresh), datetime.now(UTC) + timedelta(days=1)
        )
        return Account(user.id, handle, session_id, refresh)

    return create


@pytest.fixture
def context(settings: Settings, stores: Datastores) -> Context:
    return new_context(settings, stores, "req-auth")


def token_for(settings: Settings, account: Account, **kwargs: object) -> str:
    options: dict[str, object] = {"session_id": account.session_id, "ttl_seconds": 900}
    options.update(kwargs)
    return issue_access_token(settings.jwt_key(), account.user_id, "USER", **options).token  # type: ignore[arg-type]


async def test_no_header_is_anonymous(context: Context) -> None:
    await context.authenticate(None)
    assert (context.viewer, context.auth_error) == (None, None)
    assert context.strict_viewer() is None
    with pytest.raises(Unauthenticated, match="authentication required"):
        context.require_viewer()


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "token abc"])
async def test_a_malformed_header_is_refused(context: Context, header: str) -> None:
    await context.authenticate(header)
    assert context.viewer is None
    assert context.auth_error is not None and "malformed" in context.auth_error
    # A bad credential is an error where a viewer is optional, not anonymity...
    with pytest.raises(Unauthenticated):
        context.strict_viewer()
    # ... but reads as anonymous for visibility.
    assert context.lenient_viewer() is None


async def test_a_token_signed_with_another_key_is_refused(
    context: Context, settings: Settings, new_account: Callable[[], Awaitable[Account]]
) -> None:
    account = await new_account()
    forged = issue_access_token(
        secrets.token_urlsafe(48), account.user_id, "ADMIN", 900, session_id=account.session_id
    )
    await context.authenticate(f"Bearer {forged.token}")
    assert context.viewer is None and context.auth_error == "invalid access token"
    await context.authenticate("Bearer not.a.jwt")
    assert context.viewer is None and context.auth_error == "invalid access token"


async def test_an_expired_token_is_refused(
    context: Context, settings: Settings, new_account: Callable[[], Awaitable[Account]]
) -> None:
    account = await new_account()
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    expired = token_for(settings, account, ttl_seconds=60, now=an_hour_ago)
    await context.authenticate(f"Bearer {expired}")
    assert context.viewer is None and context.auth_error == "access token expired"


async def test_a_valid_token_makes_the_user_the_viewer_with_the_current_role(
    context: Context,
    settings: Settings,
    stores: Datastores,
    new_account: Callable[[], Awaitable[Account]],
) -> None:
    account = await new_account()
    token = token_for(settings, account)  # says role USER
    await context.authenticate(f"bearer {token}")  # the scheme is case-insensitive
    assert context.auth_error is None
    assert context.require_viewer() == resolvers.context.Viewer(account.user_id, "USER")
    assert context.viewer_expires_at is not None
    assert context.viewer_expires_at > datetime.now(UTC)

    assert await stores.relational.users.set_role(account.handle, "MODERATOR")
    await context.authenticate(f"Bearer {token}")
    viewer = context.require_viewer()
    assert (viewer.role, viewer.is_staff, viewer.is_admin) == ("MODERATOR", True, False)


async def delete_user(stores: Datastores, account: Account) -> str:
    async with stores.relational.write() as session:
        await session.execute(delete(User).where(User.id == account.user_id))
    return resolvers.context.GONE_USER


async def end_session(stores: Datastores, account: Account) -> str:
    await stores.relational.refresh_tokens.revoke(hash_refresh_token(account.refresh_token))
    return resolvers.context.SESSION_ENDED


@pytest.mark.parametrize("end", [delete_user, end_session], ids=["deleted user", "ended session"])
async def test_a_token_is_refused_once_its_user_or_session_is_gone(
    context: Context,
    settings: Settings,
    stores: Datastores,
    new_account: Callable[[], Awaitable[Account]],
    end: Callable[[Datastores, Account], Awaitable[str]],
) -> None:
    account = await new_account()
    token = token_for(settings, account)
    await context.authenticate(f"Bearer {token}")
    assert context.viewer is not None

    refusal = await end(stores, account)
    await context.authenticate(f"Bearer {token}")
    assert context.viewer is None
    assert context.auth_error == refusal
    with pytest.raises(Unauthenticated):
        context.require_viewer()


async def test_a_session_of_another_user_is_refused(
    context: Context, settings: Settings, new_account: Callable[[], Awaitable[Account]]
) -> None:
    mine, theirs = await new_account(), await new_account()
    token = token_for(settings, mine, session_id=theirs.session_id)
    await context.authenticate(f"Bearer {token}")
    assert context.viewer is None
    assert context.auth_error == resolvers.context.SESSION_ENDED


async def test_an_unknown_user_is_refused(
    context: Context, settings: Settings, new_account: Callable[[], Awaitable[Account]]
) -> None:
    account = await new_account()
    token = issue_access_token(
        settings.jwt_key(), account.user_id + 1_000_000, "USER", 900, session_id=1
    ).token
    await context.authenticate(f"Bearer {token}")
    assert context.viewer is None
    assert context.auth_error == resolvers.context.GONE_USER
