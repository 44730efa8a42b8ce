"""Plans: a validated query compiled once into what to do for each field, so a document
sent again and again skips graphql-core's per-field bookkeeping (`schema.planned_executor`
runs them).

A plan holds, for each selection set and object type, the fields in response order,
each with how to get its value (an attribute read for a field without a resolver, or
the resolver Strawberry built for it) and how to complete that value (non-null, list,
leaf, object, abstract). Fields are collected by graphql-core's own `collect_fields`, so
merging, fragments and `@skip`/`@include` are exactly its. A plan depends on the
document, the operation and the values of the variables that `@skip`/`@include` read,
and on nothing else of the request; plans are kept per document while the document is
alive (documents are cached, bounded, by `schema.document_checks`).

Planned: queries, and each event's result of a subscription. Not planned (graphql-core
runs them unchanged): mutations (their root fields run one after another), a
subscription's start, introspection (`__schema`, `__type`), `@defer`/`@stream`, and
resolver middleware.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from keyword import iskeyword
from types import CoroutineType, GeneratorType
from typing import Any

from graphql import (
    DirectiveNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLAbstractType,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    VariableNode,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues
from graphql.language import Visitor, visit
from graphql.pyutils import Undefined
from graphql.type import specified_scalar_types

from schema.batches import Batch, batch_of
from schema.direct_resolvers import direct_resolver
from schema.document_checks import frozen
from schema.while_alive import WhileAlive

DEFINITION = "strawberry-definition"  # Strawberry's back-reference on each GraphQL field
STRAWBERRY_IS_TYPE_OF = "_get_is_type_of.<locals>.is_type_of"
SPECIFIED_SCALARS = frozenset(specified_scalar_types.values())


class NotPlanned(Exception):
    """The operation holds something plans do not cover; graphql-core runs it."""


# How a field's value is completed, by the shape of its type.


@dataclass(eq=False)
class NonNull:
    inner: Completion


@dataclass(eq=False)
class ListOf:
    inner: Completion


@dataclass(eq=False)
class Leaf:
    type: GraphQLLeafType


@dataclass(eq=False)
class Object:
    type: GraphQLObjectType
    fields: list[FieldPlan]
    # The type's `is_type_of`, and whether it reads its info argument (Strawberry's own
    # check, an isinstance, does not: it is called without building one).
    is_type_of: Callable[[Any, Any], Any] | None = None
    is_type_of_reads_info: bool = True
    # Completes a value (not None) of this type at once, without a level of its own,
    # when every field is an attribute or a constant with a fast completion; None for
    # other types (see fast_completion).
    fast: Callable[[Any], Any] | None = None
    # Completed where it is met, not as a level of its own, when it has no fast
    # completion but every field is an attribute or a constant: its fields' values are
    # at hand, as graphql-core completes them (a connection, its edges).
    eager: bool = False

    def __post_init__(self) -> None:
        self.is_type_of = self.type.is_type_of
        qualname = getattr(self.is_type_of, "__qualname__", "")
        self.is_type_of_reads_info = not qualname.endswith(STRAWBERRY_IS_TYPE_OF)


@dataclass(eq=False)
class Abstract:
    type: GraphQLAbstractType
    # The fields for each runtime object type, planned when first met.
    by_type: dict[str, Object]
    details: FieldDetailsList
    planner: Planner


Completion = NonNull | ListOf | Leaf | Object | Abstract


# A fast completion's answer when the value needs the full completion (an error, an
# awaitable, anything unusual): the executor then completes it the general way.
SLOW = object()

_SAME_WHEN = {"String": str, "ID": str, "Boolean": bool}

# Whether values of a type may be completed by a fast completion: not exceptions (field
# errors) and not awaitables (they are awaited first), by graphql-core's tests of both.
_plain_types: dict[type, bool] = {}


def _plain(kind: type) -> bool:
    plain = _plain_types.get(kind)
    if plain is None:
        plain = not (
            issubclass(kind, BaseException)
            or issubclass(kind, (CoroutineType, GeneratorType))
            or hasattr(kind, "__await__")
        )
        _plain_types[kind] = plain
    return plain


def _leaf_fast(leaf: GraphQLLeafType) -> Callable[[Any], Any]:
    """A completion of a leaf value (not None) with graphql-core's result for ordinary
    values: a value the scalar serializes to itself is taken as it is, anything else is
    serialized by the type (errors and awaitables are left to the general path)."""
    coerce = leaf.coerce_output_value
    same = _SAME_WHEN.get(leaf.name) if leaf in SPECIFIED_SCALARS else None

    def fast(value: Any) -> Any:
        kind = type(value)
        if kind is same:
            return value
        if not _plain(kind):
            return SLOW
        try:
            coerced = coerce(value)
        except Exception:  # the general path makes it a field error
            return SLOW
        return SLOW if coerced is None or coerced is Undefined else coerced

    return fast


def _list_fast(item: _Parts) -> Callable[[Any], Any]:
    """Lists and tuples only: any other iterable may be read only once."""
    as_is, nullable, complete = item

    def fast(value: Any) -> Any:
        kind = type(value)
        if kind is not list and kind is not tuple:
            return SLOW
        completed: list[Any] = []
        append = completed.append
        for each in value:
            if type(each) is as_is:
                append(each)
                continue
            if each is None:
                if not nullable:
                    return SLOW
                append(None)
                continue
            done = complete(each)
            if done is SLOW:
                return SLOW
            append(done)
        return completed

    return fast


def _object_fast(object_: Object) -> Callable[[Any], Any] | None:
    """The object's response at once (its fields read and completed in order), as the
    next level would build it; None when a field needs that level.

    The function is written for the object's fields (as graphql-jit writes one for an
    operation): each field read as an attribute and completed in line, the response
    made as one dict display. A loop over the fields took about twice as long."""
    if object_.is_type_of is not None and object_.is_type_of_reads_info:
        return None
    fields = []
    for planned in object_.fields:
        parts = planned.parts
        if planned.resolve is not None or parts is None:
            return None
        fields.append((planned.key, planned.attribute, planned.constant, *parts))
    names: dict[str, Any] = {
        "SLOW": SLOW,
        "Undefined": Undefined,
        "_plain": _plain,
        "is_type_of": object_.is_type_of,
    }
    lines = [
        "def fast(value):",
        "    if not _plain(type(value)) or value is Undefined:",
        "        return SLOW",
    ]
    if object_.is_type_of is not None:
        lines += [
            "    try:",
            "        if not is_type_of(value, None):",
            "            return SLOW",
            "    except Exception:",  # the general path makes it a field error
            "        return SLOW",
        ]
    items = []
    for index, (key, attribute, constant, as_is, nullable, complete) in enumerate(fields):
        if attribute is None:
            names[f"k{index}"] = constant
            items.append(f"{key!r}: k{index}")
            continue
        read = (
            f"value.{attribute}"
            # ASCII: Python reads other identifiers in a normal form (NFKC), not as written.
            if attribute.isascii() and attribute.isidentifier() and not iskeyword(attribute)
            else f"getattr(value, {attribute!r})"
        )
        value, indent = f"v{index}", "    "
        names[f"c{index}"] = complete
        lines += [
            "    try:",
            f"        {value} = {read}",
            "    except Exception:",
            "        return SLOW",
        ]
        if as_is is not None:
            names[f"t{index}"] = as_is
            lines.append(f"    if type({value}) is not t{index}:")
            indent = "        "
        lines += [
            f"{indent}if {value} is None:",
            f"{indent}    {'pass' if nullable else 'return SLOW'}",
            f"{indent}else:",
            f"{indent}    {value} = c{index}({value})",
            f"{indent}    if {value} is SLOW:",
            f"{indent}        return SLOW",
        ]
        items.append(f"{key!r}: {value}")
    lines.append("    return {" + ", ".join(items) + "}")
    exec("\n".join(lines), names)  # noqa: S102 - only names and reprs of the plan's keys
    fast: Callable[[Any], Any] = names["fast"]
    return fast


# How a fast completion takes a value: (the type of values taken as they are, or None;
# whether None is taken; the completion of any other value, not None).
_Parts = tuple[type | None, bool, Callable[[Any], Any]]


def _parts(completion: Completion) -> _Parts | None:
    non_null = isinstance(completion, NonNull)
    inner = completion.inner if isinstance(completion, NonNull) else completion
    as_is: type | None = None
    complete: Callable[[Any], Any] | None
    if isinstance(inner, Leaf):
        if inner.type in SPECIFIED_SCALARS:
            as_is = _SAME_WHEN.get(inner.type.name)
        complete = _leaf_fast(inner.type)
    elif isinstance(inner, ListOf):
        item = _parts(inner.inner)
        complete = _list_fast(item) if item is not None else None
    elif isinstance(inner, Object):
        complete = inner.fast
    else:
        complete = None
    return (as_is, not non_null, complete) if complete is not None else None


def fast_completion(parts: _Parts | None) -> Callable[[Any], Any] | None:
    """A completion of ordinary values at once: leaves, objects whose fields are all
    attributes with fast completions, and lists of those. It answers SLOW for anything
    else (a null in a non-null place, an error, an awaitable, a value of the wrong
    type), and the executor then completes the value the general way. None for shapes
    it cannot complete (resolvers below, abstract types)."""
    if parts is None:
        return None
    _, nullable, complete = parts

    def fast(value: Any) -> Any:
        if value is None:
            return None if nullable else SLOW
        return complete(value)

    return fast


@dataclass(eq=False)
class FieldPlan:
    key: str  # the response name (alias or field name)
    name: str
    parent_type: GraphQLObjectType
    definition: GraphQLField
    details: FieldDetailsList
    nodes: list[FieldNode]
    # Exactly one way to get the value: a constant (`__typename`), an attribute read
    # (a field without a resolver), or the resolver.
    constant: Any = None
    attribute: str | None = None
    resolve: Callable[..., Any] | None = None
    has_arguments: bool = False
    # The resolver's batch (schema.batches): one call for the field of a whole level.
    batch: Batch | None = None
    completion: Completion = field(default_factory=lambda: Leaf(None))  # type: ignore[arg-type]
    parts: _Parts | None = None  # see _parts
    fast: Callable[[Any], Any] | None = None  # see fast_completion


@dataclass(eq=False)
class Plan:
    root: Object


class Planner:
    """Builds the plan of one operation under one set of `@skip`/`@include` values."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDetails],
        variable_values: VariableValues,
        operation: OperationDefinitionNode,
        hide_suggestions: bool,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variable_values = variable_values
        self.operation = operation
        self.hide_suggestions = hide_suggestions
        # The Strawberry schema that made `schema` (Strawberry links it so).
        self.strawberry_schema = schema._strawberry_schema  # type: ignore[attr-defined]

    def plan(self, root_type: GraphQLObjectType) -> Plan:
        grouped, _defers, forbidden = collect_fields(
            self.schema,
            self.fragments,
            self.variable_values,
            root_type,
            self.operation,
            self.hide_suggestions,
        )
        if forbidden:
            raise NotPlanned("directive")
        return Plan(Object(root_type, self._fields(root_type, grouped)))

    def object_fields(self, object_type: GraphQLObjectType, details: FieldDetailsList) -> Object:
        grouped, _defers, forbidden = collect_subfields(
            self.schema,
            self.fragments,
            self.variable_values,
            self.operation,
            object_type,
            details,
            self.hide_suggestions,
        )
        if forbidden:
            raise NotPlanned("directive")
        object_ = Object(object_type, self._fields(object_type, grouped))
        object_.fast = _object_fast(object_)
        object_.eager = (
            object_.fast is None
            and not (object_.is_type_of is not None and object_.is_type_of_reads_info)
            and all(planned.resolve is None for planned in object_.fields)
        )
        return object_

    def _fields(
        self, parent_type: GraphQLObjectType, grouped: Mapping[str, FieldDetailsList]
    ) -> list[FieldPlan]:
        plans = []
        for key, details in grouped.items():
            if any(d.defer_usage is not None or d.fragment_variable_values for d in details):
                raise NotPlanned("@defer or fragment variables")
            node = details[0].node
            name = node.name.value
            definition = self.schema.get_field(parent_type, name)
            if definition is None:  # pragma: no cover - validation rejects unknown fields
                raise NotPlanned(name)
            nodes = [d.node for d in details]
            plan = FieldPlan(key, name, parent_type, definition, details, nodes)
            if name == "__typename":
                plan.constant = parent_type.name
            elif name.startswith("__"):
                raise NotPlanned("introspection")
            else:
                strawberry_field = (definition.extensions or {}).get(DEFINITION)
                if (
                    strawberry_field is not None
                    and strawberry_field.is_basic_field
                    and getattr(definition.resolve, "_is_default", False)
                ):
                    plan.attribute = strawberry_field.python_name
                elif definition.resolve is not None:
                    direct = None
                    if strawberry_field is not None:
                        direct = direct_resolver(strawberry_field, self.strawberry_schema)
                    plan.resolve = direct or definition.resolve
                else:
                    raise NotPlanned("no resolver")
                plan.has_arguments = bool(definition.args or node.arguments)
                base = getattr(strawberry_field, "base_resolver", None)
                if base is not None:
                    plan.batch = batch_of(base.wrapped_func)
            plan.completion = self._completion(definition.type, details)
            plan.parts = _parts(plan.completion)
            plan.fast = fast_completion(plan.parts)
            plans.append(plan)
        return plans

    def _completion(self, type_: GraphQLOutputType, details: FieldDetailsList) -> Completion:
        if is_non_null_type(type_):
            assert isinstance(type_, GraphQLNonNull)
            return NonNull(self._completion(type_.of_type, details))
        if is_list_type(type_):
            assert isinstance(type_, GraphQLList)
            return ListOf(self._completion(type_.of_type, details))
        if is_leaf_type(type_):
            return Leaf(type_)
        if is_abstract_type(type_):
            return Abstract(type_, {}, details, self)
        if is_object_type(type_):
            assert isinstance(type_, GraphQLObjectType)
            return self.object_fields(type_, details)
        raise NotPlanned(str(type_))  # pragma: no cover - no other output types


def runtime_object(abstract: Abstract, object_type: GraphQLObjectType) -> Object:
    """The fields of an abstract-typed selection for one runtime type (planned once)."""
    planned = abstract.by_type.get(object_type.name)
    if planned is None:
        planned = abstract.planner.object_fields(object_type, abstract.details)
        abstract.by_type[object_type.name] = planned
    return planned


class _ConditionVariables(Visitor):
    """Variables read by `@skip` and `@include`: the plan depends on their values."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_directive(self, node: DirectiveNode, *_: object) -> None:
        if node.name.value in {"skip", "include"}:
            for argument in node.arguments or ():
                if isinstance(argument.value, VariableNode):
                    self.names.add(argument.value.name.value)


def condition_variables(
    operation: OperationDefinitionNode, fragments: Iterable[FragmentDefinitionNode]
) -> tuple[str, ...]:
    visitor = _ConditionVariables()
    for node in (operation, *fragments):
        visit(node, visitor)
    return tuple(sorted(visitor.names))


@dataclass
class _OperationPlans:
    conditions: tuple[str, ...]
    plans: dict[tuple[Any, ...], Plan | None] = field(default_factory=dict)  # see plan_for


# Plans by operation node, by identity and only while the node is alive (its document
# held by the document cache or a request): see `schema.while_alive`.
_by_operation: WhileAlive[OperationDefinitionNode, _OperationPlans] = WhileAlive()
# An operation's plans for distinct schemas and `@skip`/`@include` values: at most this many.
PLANS_PER_OPERATION = 16


def _plans_of(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> _OperationPlans:
    return _by_operation.get(
        operation, lambda: _OperationPlans(condition_variables(operation, fragments.values()))
    )


def plan_for(
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    root_type: GraphQLObjectType,
    schema: GraphQLSchema,
    variable_values: VariableValues,
    planner: Callable[[], Planner],
) -> Plan | None:
    """The operation's plan, built (by the Planner that `planner` makes) on first use;
    None when it cannot be planned."""
    plans = _plans_of(operation, fragments)
    key: tuple[Any, ...] = (id(schema),)
    if plans.conditions:
        coerced = variable_values.coerced
        key += tuple(frozen(coerced.get(name)) for name in plans.conditions)
    if key in plans.plans:
        return plans.plans[key]
    try:
        plan: Plan | None = planner().plan(root_type)
    except NotPlanned:
        plan = None
    if len(plans.plans) < PLANS_PER_OPERATION:
        plans.plans[key] = plan
    return plan
