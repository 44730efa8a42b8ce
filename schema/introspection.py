"""Introspection off, for production: `__schema` is refused by validation, and
`__type(name:)` answers null for every name, as if no type existed.

`__type` stays queryable because GraphQL-over-HTTP clients and conformance audits
use it as their probe of a working server; answering null reveals nothing.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLField,
    GraphQLNonNull,
    GraphQLSchema,
    GraphQLString,
)
from graphql.type.introspection import TypeMetaFieldDef
from graphql.validation import ValidationRule


def _no_type(*_: Any, **__: Any) -> None:
    return None


HIDDEN_TYPE_FIELD = GraphQLField(
    TypeMetaFieldDef.type,
    args={"name": GraphQLArgument(GraphQLNonNull(GraphQLString))},
    resolve=_no_type,
    description="Introspection is disabled: always null.",
)


class NoSchemaIntrospection(ValidationRule):
    def enter_field(self, node: FieldNode, *_: object) -> None:
        if node.name.value == "__schema":
            self.report_error(
                GraphQLError("GraphQL introspection is disabled on this server", node)
            )


def hide_types(schema: GraphQLSchema) -> None:
    """Makes `__type` resolve to null on this schema instance (validation included)."""
    get_field = schema.get_field

    def get_field_hiding_types(parent_type: Any, field_name: str) -> GraphQLField | None:
        if field_name == "__type" and parent_type is schema.query_type:
            return HIDDEN_TYPE_FIELD
        return get_field(parent_type, field_name)

    schema.get_field = get_field_hiding_types  # type: ignore[method-assign]
