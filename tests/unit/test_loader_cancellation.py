"""A caller of a load that is cancelled must not cancel the load for its other callers.

graphql-core cancels the siblings of a non-null field that failed; one of them waiting
on a load that another field also waits on used to cancel that shared load, and the
whole operation ended in CancelledError instead of an answer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from graphql import build_schema, graphql

from loaders.base import Loader

SDL = """
type User { name: String! }
type Item { author: User! }
type Query { one: User  items: [Item!]! }
"""


class Users(Loader[int, dict[str, str] | None]):
    async def batch_load_fn(self, keys: Sequence[int]) -> list[dict[str, str] | None]:
        await asyncio.sleep(0.01)
        return [{"name": f"u{key}"} for key in keys]


async def test_a_failed_sibling_does_not_cancel_a_shared_load() -> None:
    schema = build_schema(SDL)
    users = Users()

    async def one(_source: Any, _info: Any) -> Any:
        return await users.load(1)

    async def author(item: dict[str, int], _info: Any) -> Any:
        if item["author"] == 99:
            await asyncio.sleep(0)  # fails while the shared load of user 1 is pending
            raise LookupError("missing user")
        return await users.load(item["author"])

    assert schema.query_type is not None
    schema.query_type.fields["one"].resolve = one
    schema.query_type.fields["items"].resolve = lambda *_: [{"author": 1}, {"author": 99}]
    schema.get_type("Item").fields["author"].resolve = author  # type: ignore[union-attr]

    result = await graphql(schema, "{ one { name } items { author { name } } }")

    assert result.data is None  # items is non-null: the error nulls the whole response
    assert result.errors is not None
    assert [error.message for error in result.errors] == ["missing user"]


class Flaky(Loader[int, str]):
    """Fails key 13 on its own (a per-key error), sleeps so loads stay pending."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[int]] = []

    async def batch_load_fn(self, keys: Sequence[int]) -> list[Any]:
        self.batches.append(list(keys))
        await asyncio.sleep(0.01)
        return [ValueError(f"{key} is unlucky") if key == 13 else f"v{key}" for key in keys]


async def test_load_each_gives_each_key_its_value_or_its_error() -> None:
    loader = Flaky()
    values = await loader.load_each([1, 13, 2, 1])
    assert values[0] == "v1" and values[2] == "v2" and values[3] == "v1"
    assert isinstance(values[1], ValueError) and str(values[1]) == "13 is unlucky"
    assert loader.batches == [[1, 13, 2]]


async def test_a_cancelled_load_each_does_not_cancel_the_loads_of_others() -> None:
    loader = Flaky()
    abandoned = asyncio.ensure_future(loader.load_each([2, 1]))
    kept = asyncio.ensure_future(loader.load_each([2, 3]))
    await asyncio.sleep(0)  # both wait on the one batch
    abandoned.cancel()
    assert await kept == ["v2", "v3"]
    assert abandoned.cancelled()
    assert loader.batches == [[2, 1, 3]]
