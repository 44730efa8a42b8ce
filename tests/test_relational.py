"""The relational datastore against the embedded SQLite file and a real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect

from auth.tokens import hash_refresh_token
from datasources.relational import RelationalStore, open_relational_store
from datasources.relational.migrate import upgrade
from datasources.relational.refresh_tokens import RotationOutcome
from datasources.relational.users import DuplicateUser


@pytest.fixture
def store(relational_store: RelationalStore) -> RelationalStore:
    return relational_store


async def new_user(store: RelationalStore, handle: str = "alice"):
    return await store.users.create(
        handle=handle,
        email=f"{handle}@example.com",
        display_name=handle.title(),
        password_hash="hash",
    )


async def test_migrations_create_the_tables(store: RelationalStore) -> None:
    async with store.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert {"users", "refresh_token_families", "refresh_tokens", "alembic_version"} <= tables
    await upgrade(store)  # applying again is a no-op


async def test_create_and_read_users(store: RelationalStore) -> None:
    alice = await new_user(store)
    bob = await new_user(store, "bob")
    assert alice.id != bob.id
    assert alice.created_at.tzinfo is not None
    assert await store.users.get_many([bob.id, 999_999, alice.id]) == [bob, None, alice]
    assert await store.users.get_by_handle("ALICE") == alice
    found = await store.users.credentials("Alice@Example.com")
    assert found is not None and found[0] == alice and found[1] == "hash"


async def test_duplicates_are_reported_by_field(store: RelationalStore) -> None:
    await new_user(store)
    with pytest.raises(DuplicateUser) as caught:
        await store.users.create(
            handle="alice", email="other@example.com", display_name="X", password_hash="h"
        )
    assert caught.value.handle_taken and not caught.value.email_taken
    assert await store.users.taken("alice", "alice@example.com") == (True, True)


async def test_refresh_token_rotation(store: RelationalStore) -> None:
    alice = await new_user(store)
    later = datetime.now(UTC) + timedelta(days=1)
    await store.refresh_tokens.start_family(alice.id, hash_refresh_token("t1"), later)

    rotated = await store.refresh_tokens.rotate(
        hash_refresh_token("t1"), hash_refresh_token("t2"), later
    )
    assert rotated.outcome is RotationOutcome.ROTATED and rotated.user == alice

    reused = await store.refresh_tokens.rotate(
        hash_refresh_token("t1"), hash_refresh_token("t3"), later
    )
    assert reused.outcome is RotationOutcome.REUSED
    assert await store.refresh_tokens.family_revoked(hash_refresh_token("t2")) is True
    revoked = await store.refresh_tokens.rotate(
        hash_refresh_token("t2"), hash_refresh_token("t4"), later
    )
    assert revoked.outcome is RotationOutcome.REVOKED
    unknown = await store.refresh_tokens.rotate(
        hash_refresh_token("nope"), hash_refresh_token("t5"), later
    )
    assert unknown.outcome is RotationOutcome.UNKNOWN


async def test_expired_refresh_token(store: RelationalStore) -> None:
    alice = await new_user(store)
    past = datetime.now(UTC) - timedelta(seconds=1)
    await store.refresh_tokens.start_family(alice.id, hash_refresh_token("old"), past)
    outcome = await store.refresh_tokens.rotate(
        hash_refresh_token("old"), hash_refresh_token("new"), past + timedelta(days=1)
    )
    assert outcome.outcome is RotationOutcome.EXPIRED


async def test_concurrent_rotation_has_one_winner(store: RelationalStore) -> None:
    alice = await new_user(store)
    later = datetime.now(UTC) + timedelta(days=1)
    await store.refresh_tokens.start_family(alice.id, hash_refresh_token("race"), later)
    outcomes = await asyncio.gather(
        *(
            store.refresh_tokens.rotate(
                hash_refresh_token("race"), hash_refresh_token(f"next{i}"), later
            )
            for i in range(5)
        )
    )
    kinds = [o.outcome for o in outcomes]
    assert kinds.count(RotationOutcome.ROTATED) == 1
    assert set(kinds) <= {RotationOutcome.ROTATED, RotationOutcome.REUSED, RotationOutcome.REVOKED}


async def test_set_role(store: RelationalStore) -> None:
    await new_user(store)
    assert await store.users.set_role("alice", "MODERATOR")
    assert (await store.users.get_by_handle("alice")).role == "MODERATOR"  # type: ignore[union-attr]
    assert not await store.users.set_role("nobody", "ADMIN")


async def test_ping_fails_when_the_server_is_gone(tmp_path: Path) -> None:
    store = open_relational_store("postgresql+asyncpg://agora:agora@127.0.0.1:1/agora")
    with pytest.raises(OSError):
        await store.ping()
    await store.close()
