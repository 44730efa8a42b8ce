"""The Relay Node interface, and the global ID every node type carries."""

from __future__ import annotations

import strawberry

from schema.global_ids import to_global_id


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID


def global_id(type_name: str, key: int | str) -> strawberry.ID:
    # strawberry.ID is a NewType of str: the text is already one, and calling the
    # NewType is a Python call (that returns its argument) for every object made.
    return to_global_id(type_name, key)  # type: ignore[return-value]
