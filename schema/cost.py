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

The count looks at every value of the data (a tenth of a millisecond for a page of
100 posts) unless it is given the operation's outline: the response keys that hold
objects, from the document. Only a key with a selection set can hold an object (a
leaf is a scalar, an enum or a list of them), and validation gives a response key the
same shape under every type condition, so the count then reads each level's objects a
key at a time, a fifth of the time.
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
# Fields an outline may visit (fragments spread again and again): past this, the count
# looks at every value instead.
MAX_OUTLINE_VISITS = 10_000

# The response keys of a selection set that hold objects (or lists of them), each with
# the outline of what is below it.
Outline = dict[str, "Outline"]


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


def actual_cost(data: Any, outline: Outline | None = None) -> int:
    """The field values the response's data holds, counted as `requested_cost` counts:
    every key of every object, objects inside lists included (lists of leaves, and
    lists directly inside lists, hold none). With the operation's `outline`, only the
    keys it names are looked into."""
    if isinstance(data, dict):
        data = {key: value for key, value in data.items() if key not in FREE_FIELDS}
        if outline is not None:
            return _outlined([data], outline)
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


def _outlined(objects: list[dict[str, Any]], outline: Outline) -> int:
    total = sum(map(len, objects))
    for key, below in outline.items():
        found: list[dict[str, Any]] = []
        for value in [holder.get(key) for holder in objects]:
            if type(value) is dict:
                found.append(value)
            elif type(value) is list:
                found.extend([item for item in value if type(item) is dict])
        if found:
            total += _outlined(found, below)
    return total


def outline_of(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> Outline | None:
    """The operation's outline; None when it is too large to be worth one."""
    outlining = _Outlining(fragments)
    outline: Outline = {}
    try:
        outlining.selection_set(operation.selection_set, outline)
    except _TooLarge:
        return None
    return outline


class _TooLarge(Exception):
    pass


class _Outlining:
    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.visits = 0
        self.spreading: set[str] = set()

    def selection_set(self, selection_set: SelectionSetNode, into: Outline) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self.visits += 1
                if self.visits > MAX_OUTLINE_VISITS:
                    raise _TooLarge
                if selection.selection_set is None:
                    continue
                key = (selection.alias or selection.name).value
                below = into.get(key)
                if below is None:
                    below = into[key] = {}
                self.selection_set(selection.selection_set, below)
            elif isinstance(selection, InlineFragmentNode):
                self.selection_set(selection.selection_set, into)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                definition = self.fragments.get(name)
                if definition is None or name in self.spreading:
                    continue  # validation refuses unknown fragments and cycles
                self.spreading.add(name)
                self.selection_set(definition.selection_set, into)
                self.spreading.discard(name)
