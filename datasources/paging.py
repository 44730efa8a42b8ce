"""Keyset pagination shared by every datastore: keys, page requests and pages.

No offsets, so pages stay correct when rows are inserted or deleted between requests.
A `Key` is the sort key of one row, e.g. `("2026-11-23T10:00:00.123456+00:00", 42)`.
`after` is the key of the last row the client saw; the next page starts strictly
after it in the listing's order. Keys hold only JSON-able scalars so the API layer
can turn them into opaque cursors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar, overload

T = TypeVar("T")
U = TypeVar("U")
Id = TypeVar("Id", int, str)
Key = tuple[str | int, ...]


@dataclass(frozen=True)
class PageRequest:
    first: int
    after: Key | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T] = field(default_factory=list)
    keys: Sequence[Key] = field(default_factory=list)  # one per item: its sort key
    has_next: bool = False
    has_previous: bool = False
    # How many items the whole listing holds, when the statement that read the page
    # read that too (a kept counter, in the same round trip); None otherwise.
    total: int | None = None

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        """The same page (keys included) with every item converted."""
        return Page(
            items=[convert(item) for item in self.items],
            keys=self.keys,
            has_next=self.has_next,
            has_previous=self.has_previous,
            total=self.total,
        )


class Keyed(Protocol):
    @property
    def key(self) -> Key: ...


def key_of(item: Keyed) -> Key:
    """The key function for page items that carry their own `key`."""
    return item.key


class Computed(Sequence[U]):
    """`function(item)` for each of `items`, computed when read: a page's keys and a
    listing's cursors, of which most responses read the last one or none (a key costs
    a timestamp's formatting, a cursor its encoding)."""

    __slots__ = ("function", "items")

    def __init__(self, items: Sequence[Any], function: Callable[[Any], U]) -> None:
        self.items = items
        self.function = function

    def __len__(self) -> int:
        return len(self.items)

    def __eq__(self, other: object) -> bool:
        """Equal to a list or tuple of the same values, as the list it stands for."""
        if isinstance(other, Computed | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Computed({list(self)!r})"

    @overload
    def __getitem__(self, index: int) -> U: ...

    @overload
    def __getitem__(self, index: slice) -> list[U]: ...

    def __getitem__(self, index: int | slice) -> U | list[U]:
        if isinstance(index, slice):
            return [self.function(item) for item in self.items[index]]
        return self.function(self.items[index])


def page_from_rows(
    rows: Sequence[T], request: PageRequest, key: Callable[[T], Key], total: int | None = None
) -> Page[T]:
    """Builds a page from up to `first + 1` rows fetched in order (the extra row
    only tells whether there is a next page)."""
    items = list(rows[: request.first])
    return Page(
        items=items,
        keys=Computed(items, key),
        has_next=len(rows) > request.first,
        has_previous=request.after is not None,
        total=total,
    )


def split_time_key(after: Key, id_type: type[Id]) -> tuple[datetime, Id]:
    """A key `(ISO 8601 timestamp with its UTC offset, id)` as (aware datetime, id);
    ValueError when `after` is not a key of that form with an id of `id_type`."""
    if not isinstance(after, tuple | list) or len(after) != 2:
        raise ValueError("malformed page key: expected (timestamp, id)")
    at, id_ = after
    if not isinstance(at, str) or not isinstance(id_, id_type) or isinstance(id_, bool):
        raise ValueError(f"malformed page key: expected (timestamp, {id_type.__name__} id)")
    parsed = datetime.fromisoformat(at)  # ValueError when not ISO 8601
    if parsed.tzinfo is None:
        raise ValueError("malformed page key: timestamp without a time zone")
    return parsed, id_
