"""Relay global IDs as clients see them: base64url("Type:key") without padding, and the
`node` / `nodes` queries that fetch any object by its global ID."""

from __future__ import annotations

import base64

NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on User { handle }
    ... on Post { title status }
    ... on Comment { body }
    ... on Notification { kind }
  }
}"""
NODES = """
query($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename id
    ... on User { handle }
    ... on Post { title }
    ... on Comment { body }
    ... on Notification { kind }
  }
}"""


def global_id(type_name: str, key: int | str) -> str:
    """The global ID of an object of `type_name` whose database key is `key`."""
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode().rstrip("=")


def key_of(global_id: str) -> str:
    """The database key inside a global ID."""
    padded = global_id + "=" * (-len(global_id) % 4)
    type_name, separator, key = base64.urlsafe_b64decode(padded).decode().partition(":")
    assert type_name and separator and key, f"not a global ID: {global_id!r}"
    return key
