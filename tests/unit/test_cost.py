"""Query cost (schema/cost.py): what an operation may cost before it runs, and what
its response actually held. Documents are checked against the real schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from schema import AgoraSchema
from schema.cost import MAX_OUTLINE_VISITS, actual_cost, outline_of, requested_cost


def cost_of(schema: AgoraSchema, query: str, variables: dict[str, Any] | None = None) -> int:
    operation, fragments = _operation(schema, query)
    return requested_cost(operation, fragments, variables or {})


def _operation(
    schema: AgoraSchema, query: str
) -> tuple[OperationDefinitionNode, Mapping[str, FragmentDefinitionNode]]:
    checked = schema.document_checks.check(query)
    assert checked.ok, checked.errors
    assert checked.document is not None
    [operation] = [
        d for d in checked.document.definitions if isinstance(d, OperationDefinitionNode)
    ]
    return operation, checked.fragments


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Every field is 1, plus its selection.
        ("{ viewer { id handle } }", 3),
        # `edges` multiplies by `first`: posts 1 + edges (1 + 5 * node (1 + id + title)).
        ("{ posts(first: 5) { edges { node { id title } } } }", 1 + 1 + 5 * 3),
        # Without `first`, a page holds 20.
        ("{ posts { edges { node { id } } } }", 1 + 1 + 20 * 2),
        # `first: 0` asks for no edges at all.
        ("{ posts(first: 0) { edges { node { id } } } }", 2),
        # totalCount and pageInfo are not multiplied by the page size.
        ("{ posts(first: 50) { totalCount pageInfo { hasNextPage } } }", 1 + 1 + 2),
        # Nested pages multiply: 10 posts of 5 comments each.
        (
            "{ posts(first: 10) { edges { node { comments(first: 5) "
            "{ edges { node { id } } } } } } }",
            1 + 1 + 10 * (1 + 1 + 1 + 5 * 2),
        ),
        # `nodes(ids:)` multiplies by the number of ids.
        ('{ nodes(ids: ["a", "b", "c"]) { id } }', 1 + 3 * 1),
        # ... and a single id given where a list is expected is a list of one.
        ('{ nodes(ids: "a") { id } }', 2),
        # `reactions` multiplies by the 4 reaction kinds.
        ('{ post(id: "x") { reactions { kind count } } }', 1 + 1 + 4 * 2),
        # rateLimit is free.
        ("{ rateLimit { cost limit remaining resetAt } viewer { id } }", 2),
        ("{ rateLimit { cost } }", 0),
    ],
)
def test_requested_cost(schema: AgoraSchema, query: str, expected: int) -> None:
    assert cost_of(schema, query) == expected


def test_page_size_comes_from_variables_and_their_defaults(schema: AgoraSchema) -> None:
    query = "query($n: Int = 7) { posts(first: $n) { edges { node { id } } } }"
    assert cost_of(schema, query, {"n": 3}) == 1 + 1 + 3 * 2
    # The cost is computed from coerced variables: the caller supplies the default.
    assert cost_of(schema, query, {"n": 7}) == 1 + 1 + 7 * 2
    ids = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    assert cost_of(schema, ids, {"ids": ["a"] * 12}) == 1 + 12


def test_fragments_cost_what_their_fields_cost(schema: AgoraSchema) -> None:
    inline = "{ posts(first: 4) { edges { node { id title author { handle } } } } }"
    spread = (
        "query { posts(first: 4) { edges { node { ...P } } } } "
        "fragment P on Post { id title author { ...U } } fragment U on User { handle }"
    )
    assert cost_of(schema, spread) == cost_of(schema, inline) == 1 + 1 + 4 * (1 + 1 + 1 + 2)


def test_a_fragment_takes_the_page_size_of_where_it_is_spread(schema: AgoraSchema) -> None:
    query = (
        "query { a: posts(first: 2) { ...Page } b: posts(first: 10) { ...Page } } "
        "fragment Page on PostConnection { edges { node { id } } }"
    )
    assert cost_of(schema, query) == (1 + 1 + 2 * 2) + (1 + 1 + 10 * 2)


def test_actual_cost_counts_the_values_the_response_holds() -> None:
    full_page = {"posts": {"edges": [{"node": {"id": "1"}}]}}
    assert actual_cost(full_page) == 1 + 1 + 1 * 2
    short_page = {"posts": {"edges": [{"node": {"id": "1"}}, {"node": {"id": "2"}}]}}
    assert actual_cost(short_page) == 1 + 1 + 2 * 2
    # Scalars in lists (tags) and nulls add nothing beyond their own field.
    assert actual_cost({"post": {"tags": ["a", "b"], "publishedAt": None}}) == 1 + 2
    # rateLimit is free at the root.
    assert actual_cost({"rateLimit": {"cost": 1, "limit": 2}, "viewer": None}) == 1


def test_actual_cost_matches_requested_cost_for_a_full_page(schema: AgoraSchema) -> None:
    query = "{ posts(first: 2) { totalCount edges { node { id tags } } } }"
    data = {"posts": {"totalCount": 9, "edges": [{"node": {"id": "1", "tags": []}}] * 2}}
    assert actual_cost(data) == cost_of(schema, query)
    short = {"posts": {"totalCount": 1, "edges": [{"node": {"id": "1", "tags": []}}]}}
    assert actual_cost(short) < cost_of(schema, query)


def outline(schema: AgoraSchema, query: str) -> Any:
    operation, fragments = _operation(schema, query)
    return outline_of(operation, fragments)


def test_an_outline_names_the_keys_that_hold_objects(schema: AgoraSchema) -> None:
    query = (
        "query { rateLimit { cost } mine: posts(first: 2) { totalCount edges { cursor "
        "node { ...P ... on Post { byline: author { handle } } } } } viewer { id } } "
        "fragment P on Post { id tags author { handle profile { bio } } }"
    )
    assert outline(schema, query) == {
        "rateLimit": {},
        "mine": {"edges": {"node": {"author": {"profile": {}}, "byline": {}}}},
        "viewer": {},
    }


def test_an_outlined_count_is_the_walked_count() -> None:
    """Keys the outline does not name hold no objects; those it names may hold objects,
    lists of them (with nulls), nothing or lists of lists (which hold none)."""
    data = {
        "rateLimit": {"cost": 1, "limit": 2},
        "mine": {
            "totalCount": 3,
            "edges": [
                {"cursor": "a", "node": {"id": "1", "tags": ["x"], "author": None}},
                None,
                {"cursor": "b", "node": {"id": "2", "tags": [], "author": {"handle": "h"}}},
            ],
        },
        "nested": [[{"id": "1"}], None, {"id": "2"}],
        "viewer": None,
    }
    shape = {
        "rateLimit": {},
        "mine": {"edges": {"node": {"author": {}}}},
        "nested": {},
        "viewer": {},
    }
    assert actual_cost(data, shape) == actual_cost(data) == 3 + 2 + 2 * 2 + 2 * 3 + 1 + 1
    assert actual_cost({"posts": None}, shape) == actual_cost({"posts": None}) == 1


def test_an_outline_too_large_to_be_worth_one_is_none(schema: AgoraSchema) -> None:
    """Fragments spread again and again: the outline gives up and the data is walked."""
    levels = 14  # 2 ** 14 visits of `id` alone
    fragments = " ".join(
        f"fragment F{n} on Query {{ viewer {{ id }} ...F{n + 1} ...F{n + 1} }}"
        for n in range(levels)
    )
    query = f"query {{ ...F0 }} {fragments} fragment F{levels} on Query {{ viewer {{ id }} }}"
    assert 2**levels > MAX_OUTLINE_VISITS
    operation = _operation_unchecked(query)
    assert outline_of(operation, _fragments_unchecked(query)) is None
    small = query.replace("...F6 ...F6", "")  # 2 ** 6 spreads: an outline
    assert outline_of(_operation_unchecked(small), _fragments_unchecked(small)) == {"viewer": {}}


def _operation_unchecked(query: str) -> OperationDefinitionNode:
    [operation] = [d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode)]
    return operation


def _fragments_unchecked(query: str) -> dict[str, FragmentDefinitionNode]:
    return {
        d.name.value: d for d in parse(query).definitions if isinstance(d, FragmentDefinitionNode)
    }
