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
