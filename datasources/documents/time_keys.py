"""Timestamps as documents hold them, and the `sort_key` string they are listed by.

MongoDB stores times to the millisecond, so every timestamp is cut to that first.

Each listed document stores `sort_key`, a string that orders exactly like the listing
key `(created_at, _id)`: the UTC timestamp as fixed-width digits (YYYYMMDDhhmmssffffff),
a dot, then the ObjectId in hex. Keyset conditions and sorts use that one string
field because the embedded server (NX-27017 on NeoSQLite) compares BSON dates and
ObjectIds wrongly inside aggregation pipelines; strings compare the same on every
server. The digits are deliberately not ISO-8601: the embedded server sends any
find() filter holding an ISO-looking string down a date-query path that matches nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bson import ObjectId

from datasources.paging import Key, split_time_key


def ms_precision(at: datetime) -> datetime:
    """`at` in UTC, cut to the millisecond precision MongoDB stores."""
    utc = at.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def now_ms() -> datetime:
    """The current UTC time at the millisecond precision MongoDB stores."""
    return ms_precision(datetime.now(UTC))


def sort_key(created_at: datetime, object_id: ObjectId) -> str:
    """A string that sorts like `(created_at, _id)`."""
    utc = created_at.astimezone(UTC)
    return f"{utc.year:04d}{utc:%m%d%H%M%S%f}.{object_id}"


def listing_key(created_at: datetime, id_: str) -> Key:
    """The listing key of a document: `(created_at as ISO 8601, id)`."""
    return (created_at.isoformat(), id_)


def sort_key_after(after: Key) -> str:
    """The `sort_key` of a listing key; ValueError if it is malformed."""
    created_at, object_id = split_time_key(after, str)
    if not ObjectId.is_valid(object_id):
        raise ValueError("malformed page key: invalid id")
    return sort_key(created_at, ObjectId(object_id))
