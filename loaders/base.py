"""Two loader shapes cover every relation: by key, and paged per parent."""

from __future__ import annotations

from asyncio import CancelledError, Future
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from functools import partial
from typing import Any, Generic, TypeVar

from aiodataloader import DataLoader

from datasources.paging import Key, Page, PageRequest

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
P = TypeVar("P", bound=Hashable)


class Loader(DataLoader[K, V], Generic[K, V]):
    """A DataLoader whose callers each get a future of their own. aiodataloader hands
    every caller of a key the same future, and a task cancelled while awaiting a future
    cancels that future: graphql-core cancels the siblings of a failed non-null field,
    and the other fields waiting on the same load then failed with CancelledError,
    which took the whole operation down."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Primed values, kept as values: aiodataloader makes a done future of each at
        # once, about 0.6 µs a key, and each later load reads it back through the
        # future. A page of posts primes its authors and their follow counts (which few
        # queries read); `load_each` answers primed keys straight from here, and a
        # single `load` makes the future then.
        self._primed: dict[Hashable, Any] = {}

    def prime(self, key: K, value: V) -> Loader[K, V]:
        """As DataLoader's: a key already cached or primed keeps its value."""
        if not self.cache:
            return super().prime(key, value)
        cache_key = self.get_cache_key(key)
        if cache_key not in self._cache:
            self._primed.setdefault(cache_key, value)
        return self

    def clear(self, key: K) -> Loader[K, V]:
        self._primed.pop(self.get_cache_key(key), None)
        return super().clear(key)

    def clear_all(self) -> Loader[K, V]:
        self._primed.clear()
        return super().clear_all()

    async def load_each(self, keys: Sequence[K]) -> list[V | BaseException]:
        """One load per key, in key order; a key whose load fails has its exception in
        its place (load_many would fail them all), as a resolver per key would see it.

        The loads' shared futures are waited for one at a time, each through a waiter
        of this caller's own (a cancelled caller cancels only that): a batch settles all
        its futures at once, so this wakes about once per batch, not once per key (a
        future and a callback per key less than a `load` per key, gathered)."""
        primed = self._primed
        key_of = self.get_cache_key
        # The primed values as they are now: a `clear` while this waits changes later loads.
        known: list[Any] = [
            primed.get(key_of(key), _ABSENT) if key is not None else _ABSENT for key in keys
        ]
        shared: list[Future[V] | None] = [
            None if value is not _ABSENT else DataLoader.load(self, key)
            for key, value in zip(keys, known, strict=True)
        ]
        try:
            for future in shared:
                if future is not None and not future.done():
                    await _settled(future)
        except CancelledError:
            for future in shared:
                if future is not None and not future.done():
                    future.add_done_callback(_retrieve)
            raise
        return [
            value if future is None else _outcome(future)
            for value, future in zip(known, shared, strict=True)
        ]

    def load(self, key: K) -> Future[V]:
        if self._primed and key is not None:
            cache_key = self.get_cache_key(key)
            if cache_key in self._primed:
                # Cached as aiodataloader primes (a done future); later loads find it.
                DataLoader.prime(self, key, self._primed[cache_key])
        shared = super().load(key)
        if shared.done():
            return shared  # a finished future is never cancelled by its awaiters
        own: Future[V] = shared.get_loop().create_future()
        shared.add_done_callback(partial(_settle, own))
        return own


_ABSENT = object()  # a key with no primed value


def single(values: Sequence[V | BaseException]) -> V:
    """The one value of a batch of one (`load_each`, a resolver's `…_each`), its
    exception raised: the per-object form of a batch, with the batch's rules."""
    (value,) = values
    if isinstance(value, BaseException):
        raise value
    return value


def _settled(shared: Future[Any]) -> Future[None]:
    """Done when `shared` is, however it ends; cancelling it leaves `shared` alone."""
    waiter: Future[None] = shared.get_loop().create_future()
    shared.add_done_callback(partial(_wake, waiter))
    return waiter


def _wake(waiter: Future[None], shared: Future[Any]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _retrieve(future: Future[Any]) -> None:
    """Marks a failed load's exception as seen: its caller has gone."""
    if not future.cancelled():
        future.exception()


def _outcome(future: Future[Any]) -> Any:
    """The future's value, or its exception in its place."""
    if future.cancelled():
        return CancelledError()
    error = future.exception()
    return future.result() if error is None else error


def _settle(own: Future[V], shared: Future[V]) -> None:
    """Passes the shared load's outcome to one caller's future (asyncio.shield's job,
    without its overhead)."""
    if own.cancelled():
        return
    if shared.cancelled():
        own.cancel()
    elif (error := shared.exception()) is not None:
        own.set_exception(error)
    else:
        own.set_result(shared.result())


class ListLoader(Loader[K, V], Generic[K, V]):
    """Loads many keys with one call returning one value per key, in key order."""

    def __init__(self, fetch: Callable[[list[K]], Awaitable[list[V]]]) -> None:
        super().__init__()
        self._fetch = fetch

    async def batch_load_fn(self, keys: Sequence[K]) -> list[V]:
        return await self._fetch(list(keys))


class MappedLoader(Loader[K, V], Generic[K, V]):
    """Loads many keys with one call returning a mapping; absent keys get `default()`."""

    def __init__(
        self, fetch: Callable[[list[K]], Awaitable[Mapping[K, V]]], default: Callable[[], V]
    ) -> None:
        super().__init__()
        self._fetch = fetch
        self._default = default

    async def batch_load_fn(self, keys: Sequence[K]) -> list[V]:
        found = await self._fetch(list(keys))
        return [found[k] if k in found else self._default() for k in keys]


# (parent id, first, after)
PageKey = tuple[P, int, Key | None]


class PagedLoader(Loader[PageKey[P], Page[V]], Generic[P, V]):
    """The first page of a relation for many parents: one fetch per distinct
    (first, after), which in a nested query means one fetch per level. `count(parent)`
    is how many items the whole relation has (a connection's totalCount)."""

    def __init__(
        self,
        fetch: Callable[[list[P], PageRequest], Awaitable[Mapping[P, Page[V]]]],
        count: Callable[[P], Awaitable[int]],
    ) -> None:
        super().__init__()
        self._fetch = fetch
        self.count = count

    async def batch_load_fn(self, keys: Sequence[PageKey[P]]) -> list[Page[V]]:
        groups: dict[tuple[int, Key | None], list[P]] = defaultdict(list)
        for parent, first, after in keys:
            groups[(first, after)].append(parent)
        pages: dict[PageKey[P], Page[V]] = {}
        for (first, after), parents in groups.items():
            found = await self._fetch(list(dict.fromkeys(parents)), PageRequest(first, after))
            for parent in parents:
                pages[(parent, first, after)] = found.get(parent, Page())
        return [pages[key] for key in keys]
