"""Relay global IDs: base64("Type:key"), opaque to clients."""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache

from resolvers.errors import BadUserInput

DIGITS = re.compile(r"[1-9][0-9]{0,17}")  # a row id
DOCUMENT_ID = re.compile(r"[0-9a-f]{24}")  # an ObjectId in hex


@lru_cache(maxsize=65_536)  # a page shows the same few hundred ids again and again
def to_global_id(type_name: str, key: int | str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode().rstrip("=")


def from_global_id(global_id: str) -> tuple[str, str]:
    """(type name, key); raises BadUserInput for anything that is not one of our IDs."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, sep, key = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadUserInput(f"invalid ID: {global_id[:64]!r}") from None
    if not sep or not type_name or not key:
        raise BadUserInput(f"invalid ID: {global_id[:64]!r}")
    return type_name, key


def int_key(global_id: str, expected_type: str) -> int:
    type_name, key = from_global_id(global_id)
    if type_name != expected_type or not DIGITS.fullmatch(key):
        raise BadUserInput(f"invalid {expected_type} ID: {global_id[:64]!r}")
    return int(key)


def object_key(global_id: str, expected_type: str) -> str:
    """The document id (24 hex digits) inside a global ID of `expected_type`."""
    type_name, key = from_global_id(global_id)
    if type_name != expected_type or not DOCUMENT_ID.fullmatch(key):
        raise BadUserInput(f"invalid {expected_type} ID: {global_id[:64]!r}")
    return key
