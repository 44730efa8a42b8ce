"""The DateTime scalar: Strawberry's own (ISO 8601 text), with the text of each UTC
value remembered. A page of 100 posts writes 100 timestamps or more, the same ones on
every request, and formatting one takes ten times as long as finding it again."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from functools import lru_cache

from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

# Keyed by value: two equal datetimes in UTC are the same instant with the same offset,
# so they have the same text (equal values in other zones may not: they are not kept).
_utc_text = lru_cache(maxsize=16_384)(datetime.isoformat)


def _serialize(value: object) -> object:
    if type(value) is datetime and value.tzinfo is UTC:
        return _utc_text(value)
    return DateTimeDefinition.serialize(value)  # type: ignore[misc]


DATE_TIME: ScalarDefinition = dataclasses.replace(DateTimeDefinition, serialize=_serialize)
