"""Relay connections: `XConnection { edges { cursor node } pageInfo totalCount }`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import strawberry

from resolvers.pagination import Listing

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


def connection(listing: Listing[R], convert: Callable[[R], T]) -> Connection[T]:
    edges = [
        Edge(cursor=cursor, node=convert(item))
        for item, cursor in zip(listing.items, listing.cursors, strict=True)
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=listing.has_next,
            has_previous_page=listing.has_previous,
            start_cursor=listing.cursors[0] if listing.cursors else None,
            end_cursor=listing.cursors[-1] if listing.cursors else None,
        ),
        total=listing.total,
    )
