"""Plain values returned by the relational datasource (never live ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


def utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every value we store is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class UserRecord:
    id: int
    handle: str
    email: str
    display_name: str
    role: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: object) -> UserRecord:
        return cls(
            id=row.id,  # type: ignore[attr-defined]
            handle=row.handle,  # type: ignore[attr-defined]
            email=row.email,  # type: ignore[attr-defined]
            display_name=row.display_name,  # type: ignore[attr-defined]
            role=row.role,  # type: ignore[attr-defined]
            created_at=utc(row.created_at),  # type: ignore[attr-defined]
        )
