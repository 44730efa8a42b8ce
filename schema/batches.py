"""Batch resolvers: one call for a field of every object at one level of a planned
response, instead of a resolver call per object.

`@batched(fn)` sits under `@strawberry.field` on the resolver whose answers it gives
for many objects at once: `fn(context, sources, **arguments)` returns one value per
source, an exception standing for that object's error, exactly what the resolver would
have returned or raised for it. The arguments are graphql-core's values under their
GraphQL names, so only fields whose arguments are scalars named as in Python are
batched. graphql-core (mutations, anything unplanned) still calls the resolver; the
differential test holds the two to the same answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
Batch = Callable[..., Awaitable[Sequence[Any]]]

_ATTRIBUTE = "agora_batch"


def batched(batch: Batch) -> Callable[[F], F]:
    def mark(resolver: F) -> F:
        setattr(resolver, _ATTRIBUTE, batch)
        return resolver

    return mark


def batch_of(resolver: Callable[..., Any] | None) -> Batch | None:
    return getattr(resolver, _ATTRIBUTE, None) if resolver is not None else None


def each(values: Sequence[Any], convert: Callable[[Any], Any]) -> list[Any]:
    """`convert` of each value; an exception, given or raised by `convert`, stands in
    its value's place (that object's field error)."""
    converted: list[Any] = []
    for value in values:
        if isinstance(value, BaseException):
            converted.append(value)
            continue
        try:
            converted.append(convert(value))
        except Exception as error:
            converted.append(error)
    return converted
