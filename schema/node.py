"""The Relay Node interface, and the constructor arguments every node type shares."""

from __future__ import annotations

from typing import Any

import strawberry

from schema.global_ids import to_global_id


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID


def same_fields(record: Any, *names: str) -> dict[str, Any]:
    """The fields a type shows exactly as its record holds them."""
    return {name: getattr(record, name) for name in names}


def node_fields(type_name: str, record: Any, *same: str) -> dict[str, Any]:
    """A node's global `id` and private `record`, plus the fields named in `same`."""
    return {
        "id": strawberry.ID(to_global_id(type_name, record.id)),
        "record": record,
        **same_fields(record, *same),
    }
