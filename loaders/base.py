"""Two loader shapes cover every relation: by key, and paged per parent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

from aiodataloader import DataLoader

from datasources.paging import Key, Page, PageRequest

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class MappedLoader(DataLoader[K, V], Generic[K, V]):
    """Loads many keys with one call returning a dict; absent keys get `default`."""

    def __init__(
        self,
        fetch: Callable[[list[K]], Awaitable[dict[K, V]] | Awaitable[list[V]]],
        default: Callable[[], V] | None = None,
    ) -> None:
        super().__init__()
        self._fetch = fetch
        self._default = default

    async def batch_load_fn(self, keys: Sequence[K]) -> list[V]:
        found: Any = await self._fetch(list(keys))
        if isinstance(found, list):
            return found
        default = self._default
        return [found[k] if k in found else (default() if default else None) for k in keys]


# (parent id, first, after)
PageKey = tuple[Any, int, Key | None]


class PagedLoader(DataLoader[PageKey, Page[V]], Generic[V]):
    """The first page of a relation for many parents: one fetch per distinct
    (first, after), which in a nested query means one fetch per level."""

    def __init__(
        self, fetch: Callable[[list[Any], PageRequest], Awaitable[dict[Any, Page[V]]]]
    ) -> None:
        super().__init__()
        self._fetch = fetch

    async def batch_load_fn(self, keys: Sequence[PageKey]) -> list[Page[V]]:
        groups: dict[tuple[int, Key | None], list[Any]] = defaultdict(list)
        for parent, first, after in keys:
            groups[(first, after)].append(parent)
        pages: dict[PageKey, Page[V]] = {}
        for (first, after), parents in groups.items():
            found = await self._fetch(list(dict.fromkeys(parents)), PageRequest(first, after))
            for parent in parents:
                pages[(parent, first, after)] = found.get(parent, Page())
        return [pages[key] for key in keys]
