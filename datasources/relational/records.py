"""Users as the relational datasource returns them: plain values, never live ORM objects;
`utc`, for the naive datetimes SQLite hands back; and `new_record`, which builds any
record from values in field order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Row

from datasources.relational.models import User

# A record (a NamedTuple) from values already in field order, without the NamedTuple's
# own __new__ (a Python call of its own, for each row).
new_record = tuple.__new__


def utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every value we store is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class UserRecord(NamedTuple):
    """A tuple, as PostRecord is, for the time it takes to build one."""

    id: int
    handle: str
    email: str
    display_name: str
    role: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: User | Row[*tuple[Any, ...]]) -> UserRecord:
        """From a User, or a row holding at least the columns of one."""
        return cls(
            id=row.id,
            handle=row.handle,
            email=row.email,
            display_name=row.display_name,
            role=row.role,
            created_at=utc(row.created_at),
        )
