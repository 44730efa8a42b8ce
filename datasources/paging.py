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

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        """The same page (keys included) with every item converted."""
        return Page(
            items=[convert(item) for item in self.items],
            keys=self.keys,
            has_next=self.has_next,
            has_previous=self.has_previous,
        )


class Keyed(Protocol):
    @property
    def key(self) -> Key: ...


def key_of(item: Keyed) -> Key:
    """The key function for page items that carry their own `key`."""
    return item.key


class KeysOf(Sequence[Key]):
    """The keys of a page's items, each made when read: most responses read the last
    one (the end cursor) or none, and a key costs a timestamp's formatting."""

    __slots__ = ("_items", "_key")

    def __init__(self, items: Sequence[T], key: Callable[[T], Key]) -> None:
        self._items: Sequence[Any] = items
        self._key: Callable[[Any], Key] = key

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Key: ...

    @overload
    def __getitem__(self, index: slice) -> list[Key]: ...

    def __getitem__(self, index: int | slice) -> Key | list[Key]:
        if isinstance(index, slice):
            return [self._key(item) for item in self._items[index]]
        return self._key(self._items[index])


def page_from_rows(rows: Sequence[T], request: PageRequest, key: Callable[[T], Key]) -> Page[T]:
    """Builds a page from up to `first + 1` rows fetched in order (the extra row
    only tells whether there is a next page)."""
    items = list(rows[: request.first])
    return Page(
        items=items,
        keys=KeysOf(items, key),
        has_next=len(rows) > request.first,
        has_previous=request.after is not None,
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
