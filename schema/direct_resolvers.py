"""Resolvers called without Strawberry's wrapper where the wrapper only renames.

Strawberry calls every resolver through a wrapper it makes for the field: the wrapper
makes the `Info`, converts each argument to its Python value (working out each
argument's GraphQL name again on every call), chains the field's extensions, and for an
`async` field awaits the resolver inside a coroutine of its own: about 20 µs for one
call of `posts(first: 50)`, as much as completing ten posts. For a field with no
extensions (permission classes are extensions) and no exception handlers, whose
arguments are all built-in scalars (which Strawberry's conversion passes on as
graphql-core coerced them), and whose resolver takes its source as `self`, what is left
is renaming the arguments and passing the source, the `Info` and the values as the
resolver's signature asks: `direct_resolver` does only that. The planned path calls
it; graphql-core's path keeps Strawberry's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.types.base import StrawberryMaybe, StrawberryOptional
from strawberry.types.field import StrawberryField

# Argument types Strawberry passes on unconverted: graphql-core's coerced value is the
# Python value (an ID is a str).
_SCALARS: tuple[object, ...] = (int, str, bool, float, strawberry.ID)


def direct_resolver(field: StrawberryField, schema: strawberry.Schema) -> Callable[..., Any] | None:
    """The field's resolver as Strawberry's wrapper would call it, with graphql-core's
    `(source, info, **arguments)`; None when the wrapper does more than rename."""
    base = field.base_resolver
    if base is None or field.extensions or field.is_subscription:
        return None  # a subscription's resolve gives the event, not its resolver's value
    if base.parent_parameter is not None or base.root_parameter is not None:
        return None  # Agora's resolvers take their source as `self`
    if schema.schema_converter._get_field_exception_handlers(field):
        return None
    function = base.wrapped_func
    if not callable(function) or inspect.isasyncgenfunction(function):
        return None
    if inspect.isgeneratorfunction(function) or field.is_async != inspect.iscoroutinefunction(
        function
    ):
        return None
    names: list[tuple[str, str]] = []
    for argument in field.arguments:
        kind = argument.type
        if isinstance(kind, StrawberryMaybe):
            return None
        if isinstance(kind, StrawberryOptional):
            kind = kind.of_type
        if not any(kind is scalar for scalar in _SCALARS):
            return None
        names.append((schema.config.name_converter.from_argument(argument), argument.python_name))
    info_class = schema.config.info_class
    takes_self = base.self_parameter is not None
    info_parameter = base.info_parameter.name if base.info_parameter is not None else None

    def resolve(source: Any, info: Any, **arguments: Any) -> Any:
        values = {python: arguments[graphql] for graphql, python in names if graphql in arguments}
        if info_parameter is not None:
            values[info_parameter] = info_class(_raw_info=info, _field=field)
        if takes_self:
            return function(source, **values)
        return function(**values)

    return resolve
