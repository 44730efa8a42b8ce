"""What an operation costs: the number of field values its response can hold.

Requested cost, known before execution from the document and the operation's
variables (defaults included, exactly like sent values):

- every field costs 1, plus what its selection costs;
- a list of objects multiplies its selection's cost by its length: `edges` by the
  page size of its connection (`first`, 20 when not given), `nodes(ids:)` by the
  number of ids, `reactions` by the number of reaction kinds;
- `rateLimit` costs nothing.

Actual cost, after execution: the same count over the response's data, so the
difference between the two is what the client did not get (a short last page).
Each fragment is costed once per page size, so the count is linear in the document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)

from domain import ReactionKind
from resolvers.pagination import DEFAULT_FIRST

# `reactions` lists at most one count per kind.
REACTION_COUNTS = len(ReactionKind)
# Fields that return a page whose size the `first` argument sets.
PAGED_FIELDS = frozenset(
    {"posts", "users", "feed", "notifications", "followers", "following", "comments", "replies"}
)
FREE_FIELDS = frozenset({"rateLimit"})


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
        if isinstance(value, NullValueNode):
            return None
        return [value]  # a single value where a list is expected is a list of one
    return None


class _Costing:
    def __init__(
        self, fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any]
    ) -> None:
        self.fragments = fragments
        self.variables = variables
        self.done: dict[tuple[str, int], int] = {}
        self.walking: set[str] = set()

    def page_size(self, field: FieldNode) -> int:
        first = _argument(field, "first", self.variables)
        return max(first, 0) if isinstance(first, int) else DEFAULT_FIRST

    def multiplier(self, field: FieldNode, page: int) -> int:
        name = field.name.value
        if name == "edges":
            return page
        if name == "nodes":
            ids = _argument(field, "ids", self.variables)
            return len(ids) if isinstance(ids, list) else 1
        if name == "reactions":
            return REACTION_COUNTS
        return 1

    def fragment(self, name: str, page: int) -> int:
        key = (name, page)
        cost = self.done.get(key)
        if cost is not None:
            return cost
        definition = self.fragments.get(name)
        if definition is None or name in self.walking:
            return 0  # validation refuses unknown fragments and cycles
        self.walking.add(name)
        cost = self.done[key] = self.selection_set(definition.selection_set, page)
        self.walking.discard(name)
        return cost

    def selection_set(self, selection_set: SelectionSetNode | None, page: int) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value in FREE_FIELDS:
                    continue
                inner_page = (
                    self.page_size(selection) if selection.name.value in PAGED_FIELDS else page
                )
                inner = self.selection_set(selection.selection_set, inner_page)
                total += 1 + self.multiplier(selection, page) * inner
            elif isinstance(selection, InlineFragmentNode):
                total += self.selection_set(selection.selection_set, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, page)
        return total


def requested_cost(
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    """The most field values the operation's response can hold, given its coerced
    variables (defaults applied)."""
    return _Costing(fragments, variables).selection_set(operation.selection_set, DEFAULT_FIRST)


def actual_cost(data: Any) -> int:
    """The field values the response's data holds, counted as `requested_cost` counts:
    every key of every object, objects inside lists included (lists of leaves, and
    lists directly inside lists, hold none)."""
    if isinstance(data, dict):
        data = {key: value for key, value in data.items() if key not in FREE_FIELDS}
    elif not isinstance(data, list):
        return 0
    total = 0
    stack: list[Any] = [data]
    pop, push = stack.pop, stack.append
    while stack:
        value = pop()
        if type(value) is dict:
            total += len(value)
            for inner in value.values():
                if type(inner) is dict or type(inner) is list:
                    push(inner)
        else:
            for item in value:
                if type(item) is dict:
                    push(item)
    return total
