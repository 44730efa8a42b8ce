"""Batch resolvers (`schema.batches`): a planned level calls a field's batch once for
all its objects, with the field's arguments, and answers exactly what graphql-core
answers by calling the resolver per object, errors included.

Each case runs one query on a tiny schema twice, planned and through graphql-core,
and compares data and errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import strawberry
from graphql import GraphQLError

from schema.batches import batched, each
from schema.planned_executor import PlannedExecutor

CALLS: list[tuple[list[int], dict[str, Any]]] = []


def _scaled(number: int, times: int) -> int:
    if number == 13:
        raise ValueError(f"{number} is unlucky")
    if times < 0:
        raise ValueError("times must not be negative")
    return number * times


async def _scaled_all(
    context: Any, items: Sequence[Item], times: int = 2, label: str | None = None
) -> list[object]:
    CALLS.append(([item.number for item in items], {"times": times, "label": label}))
    if times == 99:
        raise RuntimeError("the whole batch failed")
    return each([item.number for item in items], lambda number: _scaled(number, times))


@strawberry.type
class Item:
    number: int

    @strawberry.field
    @batched(_scaled_all)
    async def scaled(self, times: int = 2, label: str | None = None) -> int:
        CALLS.append(([self.number], {"times": times, "label": label, "resolver": True}))
        if times == 99:
            raise RuntimeError("the whole batch failed")
        return _scaled(self.number, times)

    @strawberry.field
    @batched(_scaled_all)
    async def required(self, times: int = 2) -> int:
        if times == 99:
            raise RuntimeError("the whole batch failed")
        return _scaled(self.number, times)


@strawberry.type
class Query:
    @strawberry.field
    def items(self, numbers: list[int]) -> list[Item | None]:
        return [Item(number=n) for n in numbers]


def _errors(errors: list[GraphQLError] | None) -> list[Any]:
    return sorted((e.formatted for e in errors or []), key=lambda e: str(e.get("path")))


CASES = [
    "{ items(numbers: [1, 2, 3]) { number scaled } }",
    '{ items(numbers: [1, 2, 3]) { scaled(times: 5) again: scaled(times: 7, label: "x") } }',
    "{ items(numbers: [1, 13, 3]) { number scaled(times: 3) } }",
    "{ items(numbers: [1, 13, 3]) { number required } }",
    "{ items(numbers: [1, 2]) { scaled(times: -1) } }",
    "{ items(numbers: [1, 2]) { scaled(times: 99) required(times: 99) } }",
]


@pytest.mark.parametrize("query", CASES)
async def test_planned_answers_as_graphql_core(query: str) -> None:
    planned = strawberry.Schema(query=Query, execution_context_class=PlannedExecutor)
    plain = strawberry.Schema(query=Query)
    expected = await plain.execute(query)
    actual = await planned.execute(query)
    assert actual.data == expected.data
    assert _errors(actual.errors) == _errors(expected.errors)


async def test_one_call_per_field_with_its_arguments_and_variables() -> None:
    planned = strawberry.Schema(query=Query, execution_context_class=PlannedExecutor)
    CALLS.clear()
    result = await planned.execute(
        'query($t: Int!) { items(numbers: [4, 5, 6]) { scaled(times: $t, label: "v") } }',
        variable_values={"t": 10},
    )
    assert result.errors is None
    assert result.data == {"items": [{"scaled": 40}, {"scaled": 50}, {"scaled": 60}]}
    assert CALLS == [([4, 5, 6], {"times": 10, "label": "v"})]
