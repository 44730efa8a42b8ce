"""Users: creation with uniqueness, lookups by id, handle and login name."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVarTuple

from sqlalchemy import Select, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from datasources.paging import Key, Page, PageRequest, page_from_rows
from datasources.relational.id_lists import by_ids
from datasources.relational.models import USERS, Counter, User
from datasources.relational.records import UserRecord, new_record, utc
from datasources.relational.sessions import Sessions, advance_id_sequence, rowcount
from datasources.relational.text_search import contains_ci
from domain import Role

Ts = TypeVarTuple("Ts")


# The columns of a UserRecord: everything but the password hash.
_SHOWN = (User.id, User.handle, User.email, User.display_name, User.role, User.created_at)
# A user shown to others with their follow counts: read by id (a loader's batch), and
# beside the posts of a listing that shows their authors (`datasources.relational.posts`).
SHOWN_WITH_COUNTS = (*_SHOWN, User.follower_count, User.following_count)
_SHOWN_BY_ID = by_ids(select(*SHOWN_WITH_COUNTS), User.id)

FollowCounts = tuple[int, int]  # (followers, following)
# Users read with their follow counts beside something else (a page's authors): by id.
ShownUsers = dict[int, tuple[UserRecord, FollowCounts]]


def shown_with_counts(columns: Sequence[Any]) -> tuple[UserRecord, FollowCounts]:
    """A user and their follow counts, from the columns of SHOWN_WITH_COUNTS in order."""
    id_, handle, email, display_name, role, created_at, followers, following = columns
    record = new_record(UserRecord, (id_, handle, email, display_name, role, utc(created_at)))
    return record, (int(followers), int(following))


class DuplicateUser(Exception):
    """The handle and/or email is already registered."""

    def __init__(self, handle_taken: bool, email_taken: bool) -> None:
        super().__init__("handle or email already registered")
        self.handle_taken = handle_taken
        self.email_taken = email_taken


class UserRepository:
    def __init__(self, store: Sessions) -> None:
        self._store = store

    async def taken(self, handle: str, email: str) -> tuple[bool, bool]:
        """Whether the (normalised) handle and email are already in use."""
        async with self._store.read() as session:
            rows = await session.execute(
                select(User.handle, User.email).where(
                    (User.handle == handle) | (User.email == email)
                )
            )
            found = rows.all()
        return any(r.handle == handle for r in found), any(r.email == email for r in found)

    async def create(
        self, *, handle: str, email: str, display_name: str, password_hash: str
    ) -> UserRecord:
        user = User(
            handle=handle,
            email=email,
            display_name=display_name,
            password_hash=password_hash,
            role=Role.USER.value,
            created_at=datetime.now(UTC),
        )
        try:
            async with self._store.write() as session:
                session.add(user)
                await session.flush()
                return UserRecord.from_row(user)
        except IntegrityError:
            # Lost a race with a concurrent registration: say which value clashed.
            handle_taken, email_taken = await self.taken(handle, email)
            raise DuplicateUser(handle_taken, email_taken) from None

    async def insert_many(self, users: Sequence[UserRecord], *, password_hash: str) -> int:
        """Bulk insert (seeding): the users exactly as given, ids included, every one with
        `password_hash`, in one transaction. Handles and emails must already be normalised
        (lower-case). On PostgreSQL the id sequence is moved past the largest id, so later
        registrations do not collide. Returns how many rows were written."""
        if not users:
            return 0
        rows = [
            {
                "id": user.id,
                "handle": user.handle,
                "email": user.email,
                "display_name": user.display_name,
                "password_hash": password_hash,
                "role": user.role,
                "created_at": user.created_at,
            }
            for user in users
        ]
        async with self._store.write() as session:
            await session.execute(insert(User.__table__), rows)
            await advance_id_sequence(session, "users")
        return len(rows)

    async def get_many(self, ids: Sequence[int]) -> list[UserRecord | None]:
        return (await self.get_many_with_follow_counts(ids))[0]

    async def get_many_with_follow_counts(
        self, ids: Sequence[int]
    ) -> tuple[list[UserRecord | None], dict[int, tuple[int, int]]]:
        """The users in the order asked (None where missing), and the (followers,
        following) counts kept on their rows, in the same query."""
        # Never the password hash: these users are shown to others.
        read = _SHOWN_BY_ID.read(self._store.is_sqlite)
        rows = await self._store.direct_rows(read, {"ids": list(set(ids))})
        by_id = {}
        counts = {}
        for row in rows:
            record, counted = shown_with_counts(row)
            by_id[record.id] = record
            counts[record.id] = counted
        return [by_id.get(i) for i in ids], counts

    async def get_by_handle(self, handle: str) -> UserRecord | None:
        rows = await self._store.rows(select(*_SHOWN).where(User.handle == handle.lower()))
        return UserRecord.from_row(rows[0]) if rows else None

    async def credentials(self, handle_or_email: str) -> tuple[UserRecord, str] | None:
        """The user and their password hash, by handle or email (case-insensitive)."""
        name = handle_or_email.strip().lower()
        column = User.email if "@" in name else User.handle
        rows = await self._store.rows(select(*_SHOWN, User.password_hash).where(column == name))
        return (UserRecord.from_row(rows[0]), rows[0].password_hash) if rows else None

    async def set_role(self, handle: str, role: str) -> bool:
        async with self._store.write() as session:
            changed = await rowcount(
                session, update(User).where(User.handle == handle.lower()).values(role=role)
            )
        return changed == 1

    async def search(self, page: PageRequest, search: str | None) -> Page[UserRecord]:
        """Users by handle (ascending), optionally only those whose handle or display
        name contains `search` (case-insensitively). Key: (handle,)."""
        after = _parse_handle_key(page.after)
        query = _matching(select(*_SHOWN), search).order_by(User.handle).limit(page.first + 1)
        if after is not None:
            query = query.where(User.handle > after)
        rows = await self._store.rows(query)
        return page_from_rows([UserRecord.from_row(r) for r in rows], page, _handle_key)

    async def count(self, search: str | None) -> int:
        if not search:
            # Kept by triggers (migration 0003): one row, not a count of the users.
            counted = select(Counter.value).where(Counter.name == USERS)
            return int(await self._store.scalar(counted) or 0)
        return int(await self._store.scalar(_matching(select(func.count(User.id)), search)) or 0)


def _matching(query: Select[*Ts], search: str | None) -> Select[*Ts]:
    if not search:
        return query
    return query.where(
        or_(contains_ci(User.handle, search), contains_ci(User.display_name, search))
    )


def _parse_handle_key(after: Key | None) -> str | None:
    if after is None:
        return None
    if not isinstance(after, tuple | list) or len(after) != 1 or not isinstance(after[0], str):
        raise ValueError("malformed page key")
    return after[0]


def _handle_key(user: UserRecord) -> Key:
    return (user.handle,)
