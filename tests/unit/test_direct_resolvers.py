"""Resolvers the planned path calls directly (`schema.direct_resolvers`) answer as
through Strawberry's wrapper: each argument renamed, defaults kept, the source and the
`Info` passed as the signature asks, errors raised alike; fields whose wrapper does
more are left to it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import pytest
import strawberry
from strawberry.permission import BasePermission

from schema.direct_resolvers import direct_resolver
from schema.planned_executor import PlannedExecutor


class Never(BasePermission):
    message = "never"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


@strawberry.input
class Range:
    low: int


@strawberry.type
class Item:
    name: str

    @strawberry.field
    def shout(self, times: int = 1, mark: str | None = None) -> str:
        return self.name.upper() * times + (mark or "")

    @strawberry.field
    async def later(self, info: strawberry.Info, item_id: strawberry.ID | None = None) -> str:
        return f"{self.name} {info.python_name} {item_id} {info.context['who']}"

    @strawberry.field
    def failing(self, really: bool = True) -> str | None:
        if really:
            raise ValueError("failed on purpose")
        return None


@strawberry.type
class Query:
    @strawberry.field
    def items(self, first_n: int = 2) -> list[Item]:
        return [Item(name=name) for name in ("a", "b", "c")[:first_n]]

    @strawberry.field
    @staticmethod
    def plain(ratio: float) -> float:
        return ratio * 2

    @strawberry.field(permission_classes=[Never])
    def guarded(self) -> str | None:
        return "secret"

    @strawberry.field
    def ranged(self, bounds: Range) -> int:
        return bounds.low


def _schema(planned: bool) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query, execution_context_class=PlannedExecutor if planned else None
    )


QUERIES = [
    "{ items { shout } }",
    '{ items(firstN: 3) { shout(times: 2, mark: "!") later later2: later(itemId: "7") } }',
    "{ items { failing another: failing(really: false) } }",
    "{ plain(ratio: 1.5) }",
    "{ guarded }",
    "{ ranged(bounds: {low: 4}) }",
    "query Q($t: Int!, $m: String) { items { shout(times: $t, mark: $m) } }",
]


@pytest.mark.parametrize("query", QUERIES)
async def test_direct_calls_answer_as_strawberrys_wrapper(query: str) -> None:
    answers = []
    for planned in (False, True):
        result = await _schema(planned).execute(
            query, variable_values={"t": 3, "m": None}, context_value={"who": "ada"}
        )
        errors = [error.formatted for error in result.errors or ()]
        answers.append((result.data, errors))
    assert answers[0] == answers[1]
    assert answers[0][0] is not None or answers[0][1]


def _field(type_: type, name: str, query: type = Query, subscription: type | None = None) -> Any:
    schema = strawberry.Schema(query=query, subscription=subscription)
    definition = schema.get_type_by_name(type_.__name__)
    assert definition is not None
    return next(f for f in definition.fields if f.python_name == name)  # type: ignore[union-attr]


def test_only_fields_whose_wrapper_renames_are_called_directly() -> None:
    schema = _schema(planned=True)
    direct = {
        name: direct_resolver(_field(kind, name), schema) is not None
        for kind, name in [
            (Item, "shout"),
            (Item, "later"),
            (Query, "plain"),
            (Query, "guarded"),
            (Query, "ranged"),
        ]
    }
    assert direct == {
        "shout": True,
        "later": True,
        "plain": True,
        "guarded": False,  # a permission class is an extension
        "ranged": False,  # an input type is converted
    }


async def _counting(n: int) -> AsyncGenerator[int, None]:
    for index in range(n):
        yield index


@strawberry.type
class Events:
    @strawberry.subscription
    def counted(self, n: int = 2) -> AsyncGenerator[int, None]:
        return _counting(n)  # a plain function returning the events, not a generator


async def test_a_subscription_field_is_left_to_strawberry() -> None:
    """A subscription field's resolve gives each event; called directly it would run the
    subscription's function again for every event."""
    answers = []
    for planned in (False, True):
        schema = strawberry.Schema(
            query=Query,
            subscription=Events,
            execution_context_class=PlannedExecutor if planned else None,
        )
        stream = await schema.subscribe("subscription { counted(n: 3) }")
        answers.append([(result.data, result.errors) async for result in stream])  # type: ignore[union-attr]
    assert answers[0] == answers[1] == [({"counted": n}, None) for n in range(3)]
    field = _field(Events, "counted", Query, Events)
    assert direct_resolver(field, schema) is None
