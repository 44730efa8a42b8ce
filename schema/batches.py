"""Batch resolvers: one call for a field of every object at one level of a planned
response, instead of a resolver call per object.

`@batched(fn)` sits under `@strawberry.field` on the resolver whose answers it gives
for many objects at once: `fn(context, sources)` returns one value per source, an
exception standing for that object's error, exactly what the resolver would have
returned or raised for it. graphql-core (mutations, anything unplanned) still calls
the resolver; the differential test holds the two to the same answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
Batch = Callable[[Any, Sequence[Any]], Awaitable[Sequence[Any]]]

_ATTRIBUTE = "agora_batch"


def batched(batch: Batch) -> Callable[[F], F]:
    def mark(resolver: F) -> F:
        setattr(resolver, _ATTRIBUTE, batch)
        return resolver

    return mark


def batch_of(resolver: Callable[..., Any] | None) -> Batch | None:
    return getattr(resolver, _ATTRIBUTE, None) if resolver is not None else None
