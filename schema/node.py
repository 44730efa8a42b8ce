"""The Relay Node interface, and the global ID every node type carries."""

from __future__ import annotations

import strawberry

from schema.global_ids import to_global_id


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID


def global_id(type_name: str, key: int | str) -> strawberry.ID:
    return strawberry.ID(to_global_id(type_name, key))
