"""Random query operations generated from the schema, for the differential test of the
planned executor (`test_planned_execution.py`).

The generator walks the GraphQL schema from `Query` with a seeded `random.Random`, so
the same seed and pools always give the same documents. It aims at what the planner
must get exactly right: response names (aliases, a field asked twice under one name
and merged), fragments (named, nested, inline, on the `Node` interface and on concrete
types), `@skip`/`@include` (literal and variable), arguments (literal, variable,
variable with a default left out of the variables) and abstract types (`node`,
`nodes`). Arguments come from pools of values that exist in the seeded data, plus a
few that are refused, so errors and null propagation are exercised as well.

Generated documents are meant to be valid; the few that are not (a fragment reused
where its fields clash with their neighbours) are for the caller to reject with the
schema's document checks and regenerate.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLInputType,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    ast_from_value,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
    print_ast,
)
from graphql.pyutils import Undefined

# `rateLimit` reports a budget that every execution changes; mutations, subscriptions
# and introspection (other than `__typename`) are not planned, so they are not generated.
EXCLUDED_ROOT_FIELDS = frozenset({"rateLimit"})
# Types that only wrap a list of entities: walking through them costs no entity level,
# so "levels" counts entities (a post, its author, the author's profile), not wrappers.
WRAPPER_SUFFIXES = ("Connection", "Edge")
# The depth limit of the document checks is 12; a little room is kept below it.
MAX_FIELD_DEPTH = 10
# The alias limit of the document checks is 30 (fragments expanded).
MAX_ALIASES = 20
# Entity levels per operation (a post, its author, the author's profile: three).
LEVELS = (3, 5)
BOOLEAN = GraphQLNonNull(GraphQLBoolean)


@dataclass
class Pools:
    """Argument values, most of them taken from the seeded data."""

    node_ids: list[str]  # global IDs of every type, plus unknown and malformed ones
    post_ids: list[str]
    user_ids: list[str]
    handles: list[str]
    tags: list[str]
    search_words: list[str]
    cursors: list[str]  # real cursors of every listing, plus malformed ones


@dataclass(frozen=True)
class Operation:
    name: str
    text: str
    variables: dict[str, Any]


@dataclass
class _Scope:
    """The response names of one selection set, fragments at its level included: a
    name maps to (field, arguments, type), and fields that share a response name share
    the scope of their sub-selections, since the two are merged."""

    names: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    children: dict[str, _Scope] = field(default_factory=dict)

    def child(self, response_name: str) -> _Scope:
        return self.children.setdefault(response_name, _Scope())


@dataclass
class _Emitted:
    """A field selection already written, so it can be asked for again under the same
    response name (which graphql-core merges)."""

    response_name: str
    head: str  # `alias: name(arguments)`
    field: GraphQLField
    levels: int
    depth: int


class OperationGenerator:
    def __init__(self, schema: GraphQLSchema, pools: Pools, seed: int) -> None:
        self.schema = schema
        self.pools = pools
        self.rng = random.Random(seed)
        self.count = 0

    # One document

    def generate(self) -> Operation:
        self.count += 1
        self.aliases = 0
        self.fragments: dict[str, str] = {}  # name -> definition
        self.fragment_types: dict[str, str] = {}  # name -> type condition
        self.variable_definitions: list[str] = []
        self.variables: dict[str, Any] = {}
        self.serial = 0
        levels = self.rng.randint(*LEVELS)
        query_type = self.schema.query_type
        assert query_type is not None
        selections = self._object_selections(query_type, _Scope(), levels, 0, root=True)
        body = self._group(query_type, selections)
        name = f"Generated{self.count}"
        if self.variable_definitions:
            header = f"query {name}({', '.join(self.variable_definitions)}) "
        else:
            header = self.rng.choice(["", "query ", f"query {name} "])
        text = header + "{ " + " ".join(body) + " }"
        if self.fragments:
            text += "\n" + "\n".join(self.fragments.values())
        return Operation(name, text, self.variables)

    def _fresh(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    # Selection sets

    def _object_selections(
        self,
        object_type: GraphQLObjectType,
        scope: _Scope,
        levels: int,
        depth: int,
        root: bool = False,
    ) -> list[str]:
        rng = self.rng
        candidates = [
            (name, definition)
            for name, definition in object_type.fields.items()
            if not (root and name in EXCLUDED_ROOT_FIELDS)
        ]
        if levels <= 0 or depth >= MAX_FIELD_DEPTH:
            candidates = [(n, d) for n, d in candidates if is_leaf_type(get_named_type(d.type))]
        if not candidates:
            return [self._typename(scope)]
        # Few fields per selection set: every field costs validation and execution time
        # in both runs, and variety comes from the number of operations instead.
        breadth = [1, 1, 1, 2, 2] if root else [1, 1, 1, 2, 2, 3]
        count = min(len(candidates), rng.choice(breadth))
        chosen = rng.sample(candidates, count)
        selections: list[str] = []
        emitted: list[_Emitted] = []
        for name, definition in chosen:
            selections.append(self._field(name, definition, scope, levels, depth, emitted))
            if definition.args and rng.random() < 0.15:
                # The same field again under another alias, with arguments of its own.
                selections.append(
                    self._field(name, definition, scope, levels, depth, emitted, alias=True)
                )
        if emitted and rng.random() < 0.2:
            # The same field again under the same response name and arguments: merged.
            selections.append(self._again(rng.choice(emitted), scope))
        if rng.random() < 0.25:
            selections.insert(rng.randrange(len(selections) + 1), self._typename(scope))
        if not root and rng.random() < 0.15 and self._implements_node(object_type):
            selections.append(self._node_fragment(scope))
        rng.shuffle(selections)
        return selections

    def _abstract_selections(
        self, abstract: GraphQLNamedType, scope: _Scope, levels: int, depth: int
    ) -> list[str]:
        rng = self.rng
        selections: list[str] = []
        if rng.random() < 0.5:
            selections.append(self._response("id", "id", "", "ID!", scope))
        if rng.random() < 0.4:
            selections.append(self._typename(scope))
        possible = list(self.schema.get_possible_types(abstract))  # type: ignore[arg-type]
        for object_type in rng.sample(possible, rng.choice([1, 1, 2, 2, 3, len(possible)])):
            inner = self._object_selections(object_type, scope, levels, depth)
            inner = self._group(object_type, inner)
            if rng.random() < 0.3:
                selections.append(self._spread(object_type.name, inner))
            else:
                selections.append(f"... on {object_type.name} {{ {' '.join(inner)} }}")
        rng.shuffle(selections)
        return selections

    def _group(self, object_type: GraphQLObjectType, selections: list[str]) -> list[str]:
        """Moves some selections of one level into fragments: named ones, inline ones
        with or without a type condition, and sometimes a fragment inside another."""
        rng = self.rng
        for _ in range(2):
            if len(selections) < 1 or rng.random() >= 0.35:
                break
            start = rng.randrange(len(selections))
            end = rng.randint(start + 1, len(selections))
            part = selections[start:end]
            choice = rng.random()
            if choice < 0.45:
                wrapped = self._spread(object_type.name, part)
            elif choice < 0.8:
                wrapped = f"... on {object_type.name}{self._directive()} {{ {' '.join(part)} }}"
            else:
                wrapped = f"...{self._directive()} {{ {' '.join(part)} }}"
            selections = [*selections[:start], wrapped, *selections[end:]]
        return selections

    def _spread(self, type_name: str, selections: Sequence[str]) -> str:
        rng = self.rng
        reusable = [n for n, t in self.fragment_types.items() if t == type_name]
        name = self._fresh(f"{type_name}Part")
        self.fragments[name] = f"fragment {name} on {type_name} {{ {' '.join(selections)} }}"
        self.fragment_types[name] = type_name
        spread = f"...{name}{self._directive()}"
        if rng.random() < 0.1:
            spread += f" ...{name}"  # the same spread twice: collected once
        if reusable and rng.random() < 0.1:
            # A fragment spread a second time, elsewhere: its fields may clash with
            # their new neighbours, which the document checks then refuse.
            spread += f" ...{rng.choice(reusable)}{self._directive()}"
        return spread

    def _node_fragment(self, scope: _Scope) -> str:
        """The `Node` interface's field through a fragment on the interface."""
        inner = self._response("id", "id", "", "ID!", scope, alias=self.rng.random() < 0.3)
        if self.rng.random() < 0.4:
            return self._spread("Node", [inner])
        return f"... on Node{self._directive()} {{ {inner} }}"

    @staticmethod
    def _implements_node(object_type: GraphQLObjectType) -> bool:
        return any(i.name == "Node" for i in object_type.interfaces)

    # Fields

    def _typename(self, scope: _Scope) -> str:
        return self._response("__typename", "__typename", "", "String!", scope)

    def _response(
        self, name: str, head: str, arguments: str, type_: str, scope: _Scope, alias: bool = False
    ) -> str:
        response_name = self._response_name(name, arguments, type_, scope, alias)
        if response_name is None:
            return "__typename"
        prefix = f"{response_name}: " if response_name != name else ""
        return f"{prefix}{head}{self._directive()}"

    def _response_name(
        self, name: str, arguments: str, type_: str, scope: _Scope, alias: bool
    ) -> str | None:
        """The field's response name in `scope`: its own name unless asked to alias it or
        that name is taken by another field; None when it would need an alias and the
        document has used up its share."""
        signature = (name, arguments, type_)
        taken = scope.names.get(name)
        clashes = taken is not None and taken != signature
        if (alias or clashes) and self.aliases < MAX_ALIASES:
            self.aliases += 1
            response_name = self._fresh(self.rng.choice(["a", "x", "alias", name + "_"]))
        elif clashes:
            return None
        else:
            response_name = name
        scope.names[response_name] = signature
        return response_name

    def _field(
        self,
        name: str,
        definition: GraphQLField,
        scope: _Scope,
        levels: int,
        depth: int,
        emitted: list[_Emitted],
        alias: bool = False,
    ) -> str:
        arguments = self._arguments(name, definition)
        type_ = str(definition.type)
        response_name = self._response_name(
            name, arguments, type_, scope, alias or self.rng.random() < 0.15
        )
        if response_name is None:
            # Stands in for a field that would clash; the variables its arguments
            # declared are then unused, and the document checks refuse the document.
            return "__typename"
        head = f"{name}{arguments}"
        if response_name != name:
            head = f"{response_name}: {head}"
        named = get_named_type(definition.type)
        wrapper = named.name.endswith(WRAPPER_SUFFIXES) or named.name == "PageInfo"
        inner_levels = levels if wrapper else levels - 1
        emitted.append(_Emitted(response_name, head, definition, inner_levels, depth + 1))
        if is_leaf_type(named):
            return head + self._directive()
        return (
            head
            + self._directive()
            + self._sub_selection(named, scope.child(response_name), inner_levels, depth + 1)
        )

    def _again(self, first: _Emitted, scope: _Scope) -> str:
        named = get_named_type(first.field.type)
        if is_leaf_type(named):
            return first.head + self._directive()
        return (
            first.head
            + self._directive()
            + self._sub_selection(
                named, scope.child(first.response_name), first.levels, first.depth
            )
        )

    def _sub_selection(
        self, named: GraphQLNamedType, scope: _Scope, levels: int, depth: int
    ) -> str:
        if is_abstract_type(named):
            selections = self._abstract_selections(named, scope, levels, depth)
        else:
            assert is_object_type(named)
            assert isinstance(named, GraphQLObjectType)
            selections = self._group(named, self._object_selections(named, scope, levels, depth))
        return " { " + " ".join(selections) + " }"

    # Directives and arguments

    def _directive(self) -> str:
        rng = self.rng
        if rng.random() >= 0.08:
            return ""
        directive = rng.choice(["skip", "include"])
        if rng.random() < 0.5:
            condition = rng.choice(["true", "false"])
        else:
            condition = self._variable("Boolean!", rng.choice([True, False]), BOOLEAN)
        return f" @{directive}(if: {condition})"

    def _arguments(self, field_name: str, definition: GraphQLField) -> str:
        parts = []
        for name, argument in definition.args.items():
            required = is_non_null_type(argument.type) and argument.default_value is Undefined
            chance = 0.85 if name == "first" else 0.4
            if not required and self.rng.random() >= chance:
                continue
            value = self._value(field_name, name, argument)
            parts.append(f"{name}: {self._argument(argument, value)}")
        return f"({', '.join(parts)})" if parts else ""

    def _argument(self, argument: GraphQLArgument, value: Any) -> str:
        if self.rng.random() < 0.3:
            return self._variable(str(argument.type), value, argument.type)
        return self._literal(value, argument.type)

    def _variable(self, type_: str, value: Any, input_type: GraphQLInputType) -> str:
        """A variable holding `value`: sent, or declared with it as default and left out;
        a nullable variable holding null is sometimes neither (left undefined)."""
        name = self._fresh("v")
        rng = self.rng
        if value is None and not type_.endswith("!") and rng.random() < 0.5:
            self.variable_definitions.append(f"${name}: {type_}")
        elif rng.random() < 0.3:
            default = self._literal(value, input_type)
            self.variable_definitions.append(f"${name}: {type_} = {default}")
        else:
            self.variable_definitions.append(f"${name}: {type_}")
            self.variables[name] = value
        return f"${name}"

    @staticmethod
    def _literal(value: Any, input_type: GraphQLInputType) -> str:
        node = ast_from_value(value, input_type)
        assert node is not None
        return print_ast(node)

    def _value(self, field_name: str, name: str, argument: GraphQLArgument) -> Any:
        rng = self.rng
        pools = self.pools
        pick: dict[str, Callable[[], Any]] = {
            # Small pages keep the cost low; null asks for the default page (20), and
            # -1 is refused.
            "first": lambda: -1 if rng.random() < 0.05 else rng.choice([0, 1, 1, 2, 2, 3, None]),
            "after": lambda: rng.choice([*pools.cursors, None]),
            "search": lambda: rng.choice(pools.search_words),
            "tag": lambda: rng.choice(pools.tags),
            "handle": lambda: rng.choice(pools.handles),
            # Now and then a post's ID where a user's is expected: refused.
            "authorId": lambda: rng.choice([*pools.user_ids, *pools.user_ids, pools.post_ids[0]]),
            "unreadOnly": lambda: rng.random() < 0.5,
            "ids": lambda: [rng.choice(pools.node_ids) for _ in range(rng.randint(0, 4))],
        }
        if name == "id":
            ids = pools.post_ids if field_name == "post" and rng.random() < 0.8 else pools.node_ids
            return rng.choice(ids)
        chooser = pick.get(name)
        assert chooser is not None, f"no pool for argument {name!r} of {field_name!r}"
        return chooser()


def generate_operations(
    schema: GraphQLSchema,
    pools: Pools,
    *,
    count: int,
    seed: int,
    accept: Callable[[Operation], bool],
) -> tuple[list[Operation], int]:
    """`count` operations that `accept` takes, and how many it refused on the way."""
    generator = OperationGenerator(schema, pools, seed)
    operations: list[Operation] = []
    refused = 0
    while len(operations) < count:
        operation = generator.generate()
        if accept(operation):
            operations.append(operation)
        else:
            refused += 1
            assert refused <= count, "most generated operations are refused: fix the generator"
    return operations, refused
