"""Values kept for objects by identity, only while each object lives.

Parsed documents and their nodes compare by structure in graphql-core (two documents
with one text are equal), and an object's `id` is reused once it dies; what is made
for one document (its plans, its executors) must be found for that document alone,
and must not outlive it. A weak reference checks the identity and drops the entry
with the object.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class WhileAlive(Generic[K, V]):
    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[K], V]] = {}

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The value kept for `key`, made by `make` when it has none."""
        index = id(key)
        entry = self._entries.get(index)
        if entry is not None and entry[0]() is key:
            return entry[1]
        entries = self._entries

        def forget(ref: weakref.ref[K]) -> None:
            held = entries.get(index)
            if held is not None and held[0] is ref:
                del entries[index]

        value = make()
        entries[index] = (weakref.ref(key, forget), value)
        return value

    def values(self) -> Iterator[V]:
        return (value for _, value in list(self._entries.values()))
