"""The fixed clock of the demo data: every timestamp is measured back from `ANCHOR`, never
from now, and is a whole millisecond (MongoDB's precision) since the Unix epoch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ANCHOR_MS = int((ANCHOR - _EPOCH).total_seconds()) * 1000
SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def to_ms(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(milliseconds=1)
