"""`schema.lookahead.selects`: whether a field's selection reaches a chain of field
names, through aliases, inline fragments and fragment spreads, on a tiny schema whose
resolver records what it sees."""

from __future__ import annotations

import pytest
import strawberry

from schema.info import Info
from schema.lookahead import selects

SEEN: list[bool] = []


@strawberry.type
class Person:
    name: str


@strawberry.type
class Item:
    title: str
    owner: Person


@strawberry.type
class Edge:
    node: Item


@strawberry.type
class Page:
    edges: list[Edge]


@strawberry.type
class Query:
    @strawberry.field
    def page(self, info: Info) -> Page:
        SEEN.append(selects(info, "edges", "node", "owner"))
        return Page(edges=[Edge(node=Item(title="t", owner=Person(name="n")))])


SCHEMA = strawberry.Schema(query=Query)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ page { edges { node { owner { name } } } } }", True),
        ("{ page { edges { node { title } } } }", False),
        ("{ page { edges { n: node { who: owner { name } } } } }", True),
        ("{ page { edges { node { ... on Item { owner { name } } } } } }", True),
        (
            "{ page { ...P } } fragment P on Page { edges { node { ...I } } }"
            " fragment I on Item { owner { name } }",
            True,
        ),
        ("{ page { ...P } } fragment P on Page { edges { node { title } } }", False),
        (
            "{ a: page { edges { node { title } } }"
            " b: page { edges { node { owner { name } } } } }",
            [False, True],
        ),
    ],
)
async def test_selects_follows_the_selection(query: str, expected: bool | list[bool]) -> None:
    SEEN.clear()
    result = await SCHEMA.execute(query)
    assert result.errors is None
    # Each aliased `page` is its own field: only its own selection counts.
    seen_by_each_page = expected if isinstance(expected, list) else [expected]
    assert seen_by_each_page == SEEN
