"""The DateTime scalar writes exactly what Strawberry's own writes (isoformat), however
often a value comes back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from strawberry.schema.types.base_scalars import DateTimeDefinition

from schema.date_times import DATE_TIME

INSTANT = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)
VALUES = [
    INSTANT,
    INSTANT.replace(microsecond=0),
    INSTANT.astimezone(timezone(timedelta(hours=1))),  # equal to INSTANT, another offset
    INSTANT.astimezone(timezone(timedelta(hours=-5, minutes=-30))),
    INSTANT.replace(tzinfo=None),
    INSTANT.replace(tzinfo=timezone(timedelta(0))),  # UTC's offset, another tzinfo
    date(2026, 11, 30),
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_the_text_is_strawberrys(value: object) -> None:
    for _ in range(3):  # remembered values as well as new ones
        assert DATE_TIME.serialize(value) == DateTimeDefinition.serialize(value)  # type: ignore[misc]


def test_equal_instants_keep_their_own_offsets() -> None:
    shifted = INSTANT.astimezone(timezone(timedelta(hours=1)))
    assert shifted == INSTANT
    texts = [DATE_TIME.serialize(value) for value in (INSTANT, shifted, INSTANT)]  # type: ignore[misc]
    assert texts == [
        "2026-11-30T12:00:00.123456+00:00",
        "2026-11-30T13:00:00.123456+01:00",
        "2026-11-30T12:00:00.123456+00:00",
    ]


def test_a_value_that_is_no_date_fails_as_strawberrys_does() -> None:
    with pytest.raises(AttributeError) as ours:
        DATE_TIME.serialize(12)  # type: ignore[misc]
    with pytest.raises(AttributeError) as theirs:
        DateTimeDefinition.serialize(12)  # type: ignore[misc]
    assert str(ours.value) == str(theirs.value)
