"""The root Query type."""

from __future__ import annotations

import asyncio

import strawberry

from resolvers import users as user_rules
from resolvers.errors import BadUserInput
from schema.global_ids import from_global_id
from schema.node import Node
from schema.users import User, user_or_none

MAX_NODES = 100


async def _resolve_node(info: strawberry.Info, global_id: str) -> Node | None:
    type_name, key = from_global_id(global_id)
    if type_name == "User" and key.isdigit():
        return user_or_none(await user_rules.by_id(info.context, int(key)))
    return None


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in user; null when anonymous.")
    async def viewer(self, info: strawberry.Info) -> User | None:
        return user_or_none(await user_rules.viewer(info.context))

    @strawberry.field(description="A user by handle (case-insensitive).")
    async def user(self, info: strawberry.Info, handle: str) -> User | None:
        return user_or_none(await user_rules.by_handle(info.context, handle))

    @strawberry.field(description="Any object by its global ID; null when absent or not visible.")
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        return await _resolve_node(info, id)

    @strawberry.field(description="Objects by global ID, in order; null where absent.")
    async def nodes(self, info: strawberry.Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise BadUserInput(f"at most {MAX_NODES} ids per request")
        return list(await asyncio.gather(*(_resolve_node(info, i) for i in ids)))
