"""Relay connections: `XConnection { edges { cursor node } pageInfo totalCount }`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from resolvers.pagination import Listing
from schema.batches import Batch, each

T = TypeVar("T")
R = TypeVar("R")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list has (one extra query).")
    async def total_count(self) -> int:
        return await self.total()


class _ListedEdge(Edge[T]):
    """An edge whose cursor is encoded only if a client reads it: a page of a hundred
    spent a tenth of its time on cursors that most queries never ask for."""

    def __init__(self, cursors: Sequence[str], index: int, node: T) -> None:
        self._cursors = cursors
        self._index = index
        self.node = node

    @property
    def cursor(self) -> str:  # type: ignore[override]
        return self._cursors[self._index]


class _ListedPageInfo(PageInfo):
    """Page info whose first and last cursors are encoded only if a client reads them,
    as `_ListedEdge`'s: a connection per object (the comments of each post, the replies
    of each comment) made two each, which few queries ask for."""

    def __init__(self, cursors: Sequence[str], has_next_page: bool, has_previous_page: bool):
        self._cursors = cursors
        self.has_next_page = has_next_page
        self.has_previous_page = has_previous_page

    @property
    def start_cursor(self) -> str | None:  # type: ignore[override]
        return self._cursors[0] if self._cursors else None

    @property
    def end_cursor(self) -> str | None:  # type: ignore[override]
        return self._cursors[-1] if self._cursors else None


def connection(listing: Listing[R], convert: Callable[[R], T]) -> Connection[T]:
    cursors = listing.cursors
    if len(cursors) != len(listing.items):
        raise ValueError(f"{len(cursors)} cursors for {len(listing.items)} items")
    edges: list[Edge[T]] = [
        _ListedEdge(cursors, index, convert(item)) for index, item in enumerate(listing.items)
    ]
    return Connection(
        edges=edges,
        page_info=_ListedPageInfo(cursors, listing.has_next, listing.has_previous),
        total=listing.total,
    )


# (context, parent ids, first, after) -> each parent's listing, or its failure
Listings = Callable[[Any, list[Any], int | None, str | None], Awaitable[Sequence[object]]]


def connections_of(listings: Listings, converter: Callable[[], Callable[[Any], Any]]) -> Batch:
    """The batch of a connection field with `first` and `after` (schema.batches): the
    listings of every source's record, each a connection of `converter()`'s nodes
    (a function that returns the converter, for node types defined later)."""

    async def batch(
        context: Any, sources: Sequence[Any], first: int | None = None, after: str | None = None
    ) -> list[object]:
        found = await listings(context, [source.record.id for source in sources], first, after)
        convert = converter()
        return each(found, lambda listing: connection(listing, convert))

    return batch
