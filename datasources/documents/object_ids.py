"""Document ids as callers give them (hex strings) turned into ObjectIds, leniently:
an id that is not a valid ObjectId names no document rather than raising."""

from __future__ import annotations

from collections.abc import Sequence

from bson import ObjectId


def object_id_or_none(value: str) -> ObjectId | None:
    return ObjectId(value) if isinstance(value, str) and ObjectId.is_valid(value) else None


def valid_object_ids(ids: Sequence[str]) -> set[ObjectId]:
    """The ObjectIds among `ids`, invalid ones left out."""
    return {object_id for object_id in map(object_id_or_none, ids) if object_id is not None}


def normalized_ids(ids: Sequence[str]) -> dict[str, str]:
    """Valid ids of `ids`, each mapped to the lower-case hex that references to it store."""
    return {
        value: str(object_id)
        for value in ids
        if (object_id := object_id_or_none(value)) is not None
    }


def normalized_reference(value: str | None, what: str) -> str | None:
    """A reference to another document as stored (lower-case hex), None for no reference;
    ValueError naming `what` when it is not a valid id."""
    if value is None:
        return None
    object_id = object_id_or_none(value)
    if object_id is None:
        raise ValueError(f"invalid {what} {value!r}")
    return str(object_id)


def new_object_id() -> str:
    """A fresh id for a document about to be written (hex, as the API gives ids out)."""
    return str(ObjectId())
