"""Checks a GraphQL document once: parse under a token limit, the shape limits, then
the specification's validation; the outcome is cached by the document's text.

Every check here runs in time linear in the document's size. Fragments are walked
once each and their measures remembered, so a document whose fragments spread other
fragments many times costs no more than its text (graphql-core's own rules are
linear too once the shape limits have bounded how many fields a selection set can
merge: OverlappingFieldsCanBeMerged compares the fields of one response name
pairwise).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import ASTValidationRule, ValidationRule
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from schema.cost import Outline

MAX_TOKENS = 5_000
# Fields nested in fields: `{ viewer { id } }` has depth 1. Introspection's `ofType`
# adds none: it only unwraps list/non-null types (GraphiQL nests it nine deep).
MAX_DEPTH = 12
UNCOUNTED_DEPTH = frozenset({"ofType"})
# Counted with fragments expanded: a fragment spread twice counts twice.
MAX_ALIASES = 30
MAX_DIRECTIVES = 50
# One selection set, its fragments merged in: fields in all, and of one response name.
MAX_MERGED_FIELDS = 200
MAX_FIELD_REPEATS = 20

# The cache holds at most this many documents, and at most this much text in all.
CACHE_ENTRIES = 2_000
CACHE_CHARACTERS = 16_000_000


class NoNulCharacters(ValidationRule):
    """Text with NUL characters is refused everywhere: PostgreSQL cannot store it, so
    no store accepts it, and the client hears so before anything runs."""

    def enter_string_value(self, node: StringValueNode, *_: object) -> None:
        if "\x00" in node.value:
            self.report_error(
                GraphQLError(
                    "text must not contain NUL characters",
                    node,
                    extensions={"code": "BAD_USER_INPUT"},
                )
            )


VALIDATION_RULES = (
    *specified_rules,
    MaybeNullValidationRule,
    OneOfInputValidationRule,
    NoNulCharacters,
)


def frozen(value: Any) -> Hashable:
    """A variable's value as a cache key: objects and lists as tuples, anything else
    unhashable by its repr."""
    if isinstance(value, dict):
        return tuple(sorted((key, frozen(item)) for key, item in value.items()))
    if isinstance(value, list):
        return tuple(frozen(item) for item in value)
    return value if isinstance(value, Hashable) else repr(value)


class TooComplex(Exception):
    """The document passes a shape limit; the message says which."""


@dataclass(frozen=True)
class CheckedDocument:
    document: DocumentNode | None  # None when it did not parse
    errors: tuple[GraphQLError, ...]  # request errors: parse, shape limits, validation
    fragments: Mapping[str, FragmentDefinitionNode] = field(default_factory=dict)
    # Requested costs already worked out, by operation and variables (schema.admission).
    costs: dict[Hashable, int] = field(default_factory=dict, compare=False)
    # Outlines of its operations for counting their actual cost, by operation (id).
    outlines: dict[int, Outline | None] = field(default_factory=dict, compare=False)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class _Measure:
    depth: int  # deepest field below this selection set (0 when only leaves)
    aliases: int
    directives: int
    # Response name -> how many fields of that name this selection set merges.
    keys: Mapping[str, int]


class _ShapeWalk:
    """Measures selection sets; each fragment's measure is computed once."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.done: dict[str, _Measure] = {}
        self.walking: set[str] = set()

    def fragment(self, name: str) -> _Measure:
        measure = self.done.get(name)
        if measure is not None:
            return measure
        definition = self.fragments.get(name)
        if definition is None or name in self.walking:
            # Unknown fragments and cycles are reported by validation.
            return _Measure(0, 0, 0, {})
        self.walking.add(name)
        measure = self.selection_set(definition.selection_set)
        self.walking.discard(name)
        measure = _Measure(
            measure.depth,
            measure.aliases,
            measure.directives + len(definition.directives or ()),
            measure.keys,
        )
        self.done[name] = measure
        return measure

    def selection_set(self, selection_set: SelectionSetNode | None) -> _Measure:
        if selection_set is None:
            return _Measure(0, 0, 0, {})
        depth = aliases = directives = 0
        keys: dict[str, int] = {}
        for selection in selection_set.selections:
            directives += len(selection.directives or ())
            if isinstance(selection, FieldNode):
                inner = self.selection_set(selection.selection_set)
                if selection.selection_set is not None:
                    own = selection.name.value not in UNCOUNTED_DEPTH
                    depth = max(depth, inner.depth + own)
                aliases += inner.aliases + (selection.alias is not None)
                directives += inner.directives
                key = (selection.alias or selection.name).value
                _merge(keys, {key: 1})
                continue
            if isinstance(selection, InlineFragmentNode):
                inner = self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                inner = self.fragment(selection.name.value)
            else:  # pragma: no cover - graphql-core has no other selection kind
                continue
            depth = max(depth, inner.depth)
            aliases += inner.aliases
            directives += inner.directives
            _merge(keys, inner.keys)
        _limit(depth, MAX_DEPTH, "depth", "nesting levels")
        _limit(aliases, MAX_ALIASES, "aliases", "aliases")
        _limit(directives, MAX_DIRECTIVES, "directives", "directives")
        return _Measure(depth, aliases, directives, keys)


def _limit(value: int, maximum: int, what: str, unit: str) -> None:
    if value > maximum:
        raise TooComplex(f"the document has more than {maximum} {unit} ({what} limit)")


def _merge(into: dict[str, int], other: Mapping[str, int]) -> None:
    for key, count in other.items():
        total = into.get(key, 0) + count
        if total > MAX_FIELD_REPEATS:
            raise TooComplex(
                f"a selection set asks for '{key}' more than {MAX_FIELD_REPEATS} times "
                "(fragments included)"
            )
        into[key] = total
    if sum(into.values()) > MAX_MERGED_FIELDS:
        raise TooComplex(
            f"a selection set merges more than {MAX_MERGED_FIELDS} fields (fragments included)"
        )


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def check_shape(document: DocumentNode, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
    """Raises TooComplex when the document passes a depth, alias, directive or
    field-merging limit. Linear in the document's size."""
    walk = _ShapeWalk(fragments)
    for name in fragments:
        walk.fragment(name)
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            measure = walk.selection_set(definition.selection_set)
            _limit(
                measure.directives + len(definition.directives or ()),
                MAX_DIRECTIVES,
                "directives",
                "directives",
            )


def _too_complex(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "QUERY_TOO_COMPLEX"})


def _check(
    schema: GraphQLSchema,
    query: str,
    hide_suggestions: bool,
    rules: tuple[type[ASTValidationRule], ...],
) -> CheckedDocument:
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError as error:
        # graphql-core's words for its max_tokens limit.
        if f"more than {MAX_TOKENS} tokens" in error.message:
            return CheckedDocument(None, (_too_complex(error.message),))
        return CheckedDocument(
            None, (GraphQLError(error.message, extensions={"code": "GRAPHQL_PARSE_FAILED"}),)
        )
    fragments = fragments_of(document)
    try:
        check_shape(document, fragments)
    except TooComplex as error:
        return CheckedDocument(document, (_too_complex(str(error)),), fragments)
    errors = validate(schema, document, rules, max_errors=20, hide_suggestions=hide_suggestions)
    return CheckedDocument(document, tuple(errors), fragments)


class DocumentChecks:
    """The checked documents of one schema, most recently used kept (bounded in count
    and in total text, so a flood of distinct documents cannot grow memory)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        hide_suggestions: bool,
        extra_rules: tuple[type[ASTValidationRule], ...] = (),
    ) -> None:
        self.schema = schema
        self.hide_suggestions = hide_suggestions
        self.rules = (*VALIDATION_RULES, *extra_rules)
        self._cache: OrderedDict[str, CheckedDocument] = OrderedDict()
        self._characters = 0

    def check(self, query: str) -> CheckedDocument:
        checked = self._cache.get(query)
        if checked is not None:
            self._cache.move_to_end(query)
            return checked
        checked = _check(self.schema, query, self.hide_suggestions, self.rules)
        if len(query) <= CACHE_CHARACTERS // 100:
            self._cache[query] = checked
            self._characters += len(query)
            while len(self._cache) > CACHE_ENTRIES or self._characters > CACHE_CHARACTERS:
                evicted, _ = self._cache.popitem(last=False)
                self._characters -= len(evicted)
        return checked

    def __len__(self) -> int:
        return len(self._cache)
