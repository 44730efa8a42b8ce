"""Listings: a page of items with their opaque cursors, and the `first`/`after` arguments.

A cursor is base64url(JSON [listing tag, *sort key]): opaque to clients, and a
cursor from one listing is refused by another.
"""

from __future__ import annotations

import base64
import binascii
import json
from asyncio import gather
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Generic, TypeVar

import orjson

from datasources.paging import Computed, Key, Page, PageRequest
from domain import MAX_HANDLE
from loaders.base import PagedLoader
from resolvers.errors import BadUserInput

T = TypeVar("T")
U = TypeVar("U")
P = TypeVar("P", bound=Hashable)

DEFAULT_FIRST = 20
MAX_FIRST = 100
MAX_CURSOR_LENGTH = 512


def encode_cursor(listing: str, key: Key) -> str:
    raw = orjson.dumps([listing, *key])
    if not raw.isascii():  # json.dumps's escapes, so a cursor never changes form
        raw = json.dumps([listing, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _timestamp(part: object) -> bool:
    if not isinstance(part, str):
        return False
    try:
        parsed = datetime.fromisoformat(part)
        return parsed.tzinfo is not None and parsed.astimezone(UTC).year > 1
    except (ValueError, OverflowError):
        return False


def _row_id(part: object) -> bool:
    return isinstance(part, int) and not isinstance(part, bool) and 0 < part < 2**63


def _document_id(part: object) -> bool:
    return isinstance(part, str) and len(part) == 24 and all(c in "0123456789abcdef" for c in part)


# The shape of each listing's sort key, so a doctored cursor is refused here.
KEY_SHAPES: dict[str, tuple[Callable[[object], bool], ...]] = {
    "posts": (_timestamp, _row_id),
    "feed": (_timestamp, _row_id),
    "user-posts": (_timestamp, _row_id),
    "followers": (_timestamp, _row_id),
    "following": (_timestamp, _row_id),
    "comments": (_timestamp, _document_id),
    "replies": (_timestamp, _document_id),
    "notifications": (_timestamp, _document_id),
    "users": (lambda part: isinstance(part, str) and 0 < len(part) <= MAX_HANDLE,),
}


def decode_cursor(listing: str, cursor: str) -> Key:
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadUserInput(f"invalid cursor: {cursor[:64]!r}") from None
    shape = KEY_SHAPES[listing]
    if (
        not isinstance(decoded, list)
        or len(decoded) != len(shape) + 1
        or decoded[0] != listing
        or not all(valid(part) for valid, part in zip(shape, decoded[1:], strict=True))
    ):
        raise BadUserInput(f"invalid cursor for this list: {cursor[:64]!r}")
    return tuple(decoded[1:])


def page_request(listing: str, first: int | None, after: str | None) -> PageRequest:
    count = DEFAULT_FIRST if first is None else first
    if not 0 <= count <= MAX_FIRST:
        raise BadUserInput(f"`first` must be between 0 and {MAX_FIRST}", argument="first")
    return PageRequest(count, decode_cursor(listing, after) if after is not None else None)


@dataclass
class Listing(Generic[T]):
    """A page of a listing plus its cursors (the schema presents it as a Relay
    connection); `total` runs only when a client asks for totalCount."""

    items: list[T]
    cursors: Sequence[str]
    has_next: bool
    has_previous: bool
    total: Callable[[], Awaitable[int]]

    @classmethod
    def of(cls, listing: str, page: Page[T], total: Callable[[], Awaitable[int]]) -> Listing[T]:
        return cls(
            items=page.items,
            cursors=Computed(page.keys, partial(encode_cursor, listing)),
            has_next=page.has_next,
            has_previous=page.has_previous,
            total=total,
        )

    def replaced(self, items: Sequence[U | None]) -> Listing[U]:
        """The same page with each item replaced; None drops the item and its cursor."""
        if len(items) != len(self.cursors):
            raise ValueError(f"{len(items)} items replace {len(self.cursors)}")
        kept = [index for index, item in enumerate(items) if item is not None]
        cursors: Sequence[str]
        if isinstance(self.cursors, Computed):
            keys = self.cursors.items
            cursors = Computed([keys[index] for index in kept], self.cursors.function)
        else:
            cursors = [self.cursors[index] for index in kept]
        return Listing(
            items=[item for item in items if item is not None],
            cursors=cursors,
            has_next=self.has_next,
            has_previous=self.has_previous,
            total=self.total,
        )


async def load_listings(
    listing: str,
    sources: Sequence[tuple[PagedLoader[P, T], P]],
    first: int | None,
    after: str | None,
) -> list[Listing[T] | BaseException]:
    """One page of each (loader, parent) pair's relation: every load starts before any
    is awaited (one batch per loader), no task per parent; a parent whose page failed
    has the exception in its place. The relation's count runs only if the client asks
    for totalCount."""
    request = page_request(listing, first, after)
    found = await gather(
        *(pages.load((parent, request.first, request.after)) for pages, parent in sources),
        return_exceptions=True,
    )
    return [
        page
        if isinstance(page, BaseException)
        else Listing.of(listing, page, partial(pages.count, parent))
        for page, (pages, parent) in zip(found, sources, strict=True)
    ]
