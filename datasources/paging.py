"""Keyset pagination shared by every datastore: no offsets, so pages stay correct
when rows are inserted or deleted between requests.

A `Key` is the sort key of one row, e.g. `("2026-11-23T10:00:00.123456+00:00", 42)`.
`after` is the key of the last row the client saw; the next page starts strictly
after it in the listing's order. Keys hold only JSON-able scalars so the API layer
can turn them into opaque cursors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
Key = tuple[str | int, ...]


@dataclass(frozen=True)
class PageRequest:
    first: int
    after: Key | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)  # one per item: its sort key
    has_next: bool = False
    has_previous: bool = False


def page_from_rows(rows: Sequence[T], request: PageRequest, key: Callable[[T], Key]) -> Page[T]:
    """Builds a page from up to `first + 1` rows fetched in order (the extra row
    only tells whether there is a next page)."""
    items = list(rows[: request.first])
    return Page(
        items=items,
        keys=[key(item) for item in items],
        has_next=len(rows) > request.first,
        has_previous=request.after is not None,
    )
