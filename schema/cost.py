"""Refuses operations that could return too many objects: depth and alias limits
alone allow `users(first: 100) { followers(first: 100) { followers(first: 100) … } }`.

The estimate multiplies page sizes down the nesting: each field costs one object
times the size of every list it is nested in. It runs after validation, when the
variables are known.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from strawberry.extensions import SchemaExtension

MAX_COST = 20_000
DEFAULT_FIRST = 20
# Fields that return a page whose size the `first` argument sets.
PAGED_FIELDS = frozenset(
    {"posts", "users", "feed", "notifications", "followers", "following", "comments", "replies"}
)


def _argument(field: FieldNode, name: str, variables: Mapping[str, Any]) -> Any:
    for argument in field.arguments or ():
        if argument.name.value != name:
            continue
        value = argument.value
        if isinstance(value, VariableNode):
            return variables.get(value.name.value)
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, ListValueNode):
            return list(value.values)
    return None


def _fan_out(field: FieldNode, variables: Mapping[str, Any]) -> int:
    name = field.name.value
    if name in PAGED_FIELDS:
        first = _argument(field, "first", variables)
        return max(first, 1) if isinstance(first, int) else DEFAULT_FIRST
    if name == "nodes":
        ids = _argument(field, "ids", variables)
        return max(len(ids), 1) if isinstance(ids, list) else 1
    return 1


def selection_cost(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    seen: frozenset[str] = frozenset(),
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            fan_out = _fan_out(selection, variables)
            inner = selection_cost(selection.selection_set, fragments, variables, seen)
            total += fan_out * (1 + inner)
        elif isinstance(selection, InlineFragmentNode):
            total += selection_cost(selection.selection_set, fragments, variables, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                total += selection_cost(fragment.selection_set, fragments, variables, seen | {name})
        if total > MAX_COST:
            break  # no need to count further
    return total


class CostLimit(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        document = self.execution_context.graphql_document
        if document is not None:
            variables = self.execution_context.variables or {}
            fragments = {
                d.name.value: d for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }  # fmt: skip
            name = self.execution_context.operation_name
            for definition in document.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                if name is not None and (definition.name is None or definition.name.value != name):
                    continue
                cost = selection_cost(definition.selection_set, fragments, variables)
                if cost > MAX_COST:
                    raise GraphQLError(
                        f"query could return about {cost} objects; the limit is {MAX_COST} "
                        "(ask for smaller pages or less nesting)",
                        extensions={"code": "QUERY_TOO_COMPLEX"},
                    )
        yield
