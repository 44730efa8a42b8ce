"""Relay global IDs as clients see them: base64url("Type:key") without padding."""

from __future__ import annotations

import base64


def global_id(type_name: str, key: int | str) -> str:
    """The global ID of an object of `type_name` whose database key is `key`."""
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode().rstrip("=")


def key_of(global_id: str) -> str:
    """The database key inside a global ID."""
    padded = global_id + "=" * (-len(global_id) % 4)
    type_name, separator, key = base64.urlsafe_b64decode(padded).decode().partition(":")
    assert type_name and separator and key, f"not a global ID: {global_id!r}"
    return key
