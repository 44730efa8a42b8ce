"""Refresh-token families: rotation on every use, reuse detection, revocation."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from datasources.relational.models import RefreshToken, RefreshTokenFamily, User
from datasources.relational.records import UserRecord, utc
from datasources.relational.sessions import Sessions, rowcount


class RotationOutcome(enum.Enum):
    ROTATED = "rotated"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REUSED = "reused"


@dataclass(frozen=True)
class Rotation:
    outcome: RotationOutcome
    user: UserRecord | None = None
    # The family (session) the presented token belongs to, and its user: known for
    # every outcome but UNKNOWN, so callers can forget what they cached about it.
    family_id: int | None = None
    user_id: int | None = None


@dataclass(frozen=True)
class SessionState:
    """What an access token is checked against: its user and its session, as they are now."""

    # The user's current role; None when the user no longer exists.
    role: str | None
    user_created_at: datetime | None = None
    # The session (refresh-token family): None when it does not exist or is not the
    # user's; `session_revoked` says whether it was ended.
    session_started_at: datetime | None = None
    session_revoked: bool = False


class RefreshTokenRepository:
    def __init__(self, store: Sessions) -> None:
        self._store = store

    async def start_family(self, user_id: int, token_hash: str, expires_at: datetime) -> int:
        """Starts a session with its first refresh token; returns the family (session) id."""
        now = datetime.now(UTC)
        async with self._store.write() as session:
            family = RefreshTokenFamily(user_id=user_id, created_at=now)
            session.add(family)
            await session.flush()
            session.add(
                RefreshToken(
                    family_id=family.id,
                    token_hash=token_hash,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
            return family.id

    async def rotate(self, token_hash: str, new_hash: str, expires_at: datetime) -> Rotation:
        """Exchange a refresh token for a new one of the same family.

        Presenting a token that was already exchanged means it leaked (or a
        client raced itself): the whole family is revoked, so the thief's copy
        dies with the legitimate one.
        """
        now = datetime.now(UTC)
        async with self._store.write() as session:
            found = await self._find_live(session, token_hash)
            if isinstance(found, Rotation):
                return found
            token, family = found
            if token.used_at is not None:
                await self._revoke(session, family.id, now, "reuse")
                return _of_family(RotationOutcome.REUSED, family)
            if utc(token.expires_at) <= now:
                return _of_family(RotationOutcome.EXPIRED, family)
            claimed = await rowcount(
                session,
                update(RefreshToken)
                .where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None))
                .values(used_at=now),
            )
            if claimed != 1:
                await self._revoke(session, family.id, now, "reuse")
                return _of_family(RotationOutcome.REUSED, family)
            session.add(
                RefreshToken(
                    family_id=family.id, token_hash=new_hash, created_at=now, expires_at=expires_at
                )
            )
            user = await session.get(User, family.user_id)
            if user is None:
                return Rotation(RotationOutcome.UNKNOWN)
            return _of_family(RotationOutcome.ROTATED, family, UserRecord.from_row(user))

    async def revoke(self, token_hash: str, reason: str = "logout") -> Rotation:
        """Revoke the family of this token: outcome ROTATED when this call revoked it,
        REVOKED when it already was, UNKNOWN when there is no such token."""
        async with self._store.write() as session:
            found = await self._find_live(session, token_hash)
            if isinstance(found, Rotation):
                return found
            family = found[1]
            await self._revoke(session, family.id, datetime.now(UTC), reason)
            return _of_family(RotationOutcome.ROTATED, family)

    async def session_state(self, user_id: int, family_id: int | None) -> SessionState:
        """The user's current role and the state of their session `family_id`, in one
        statement (an access token is checked against these)."""
        family = RefreshTokenFamily
        # Two columns, or four with the session's.
        query: Select[*tuple[Any, ...]] = select(User.role, User.created_at).where(
            User.id == user_id
        )
        if family_id is not None:
            query = query.add_columns(family.created_at, family.revoked_at).outerjoin(
                family, (family.id == family_id) & (family.user_id == User.id)
            )
        rows = await self._store.rows(query)
        if not rows:
            return SessionState(role=None)
        row = rows[0]
        if family_id is None or row[2] is None:
            return SessionState(row.role, utc(row.created_at))
        return SessionState(row.role, utc(row.created_at), utc(row[2]), row[3] is not None)

    async def family_revoked(self, token_hash: str) -> bool | None:
        async with self._store.read() as session:
            found = await self._find(session, token_hash)
        return None if found is None else found[1].revoked_at is not None

    @staticmethod
    async def _find(
        session: AsyncSession, token_hash: str
    ) -> tuple[RefreshToken, RefreshTokenFamily] | None:
        row = (
            await session.execute(
                select(RefreshToken, RefreshTokenFamily)
                .join(RefreshTokenFamily, RefreshToken.family_id == RefreshTokenFamily.id)
                .where(RefreshToken.token_hash == token_hash)
                .with_for_update(of=RefreshTokenFamily)
            )
        ).first()
        return (row[0], row[1]) if row else None

    @classmethod
    async def _find_live(
        cls, session: AsyncSession, token_hash: str
    ) -> tuple[RefreshToken, RefreshTokenFamily] | Rotation:
        """The token and its family, or the answer already due when there is no such
        token (UNKNOWN) or its family was revoked (REVOKED)."""
        found = await cls._find(session, token_hash)
        if found is None:
            return Rotation(RotationOutcome.UNKNOWN)
        if found[1].revoked_at is not None:
            return _of_family(RotationOutcome.REVOKED, found[1])
        return found

    @staticmethod
    async def _revoke(session: AsyncSession, family_id: int, now: datetime, reason: str) -> None:
        await session.execute(
            update(RefreshTokenFamily)
            .where(RefreshTokenFamily.id == family_id, RefreshTokenFamily.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
        )


def _of_family(
    outcome: RotationOutcome, family: RefreshTokenFamily, user: UserRecord | None = None
) -> Rotation:
    return Rotation(outcome, user, family_id=family.id, user_id=family.user_id)
