"""The Strawberry schema: types, inputs, enums and the root Query/Mutation."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.types import ExecutionContext

from schema.comments import Comment
from schema.errors import ErrorPolicy, log_errors
from schema.mutation import Mutation
from schema.notifications import Notification
from schema.posts import Post
from schema.query import Query
from schema.query_stats import QueryStatsInLogs, QueryStatsInResponse
from schema.subscription import Subscription
from schema.users import User

MAX_DEPTH = 12
MAX_TOKENS = 5_000
MAX_ALIASES = 30


# Extensions are passed as classes so that no state is shared between requests.
class DepthLimit(QueryDepthLimiter):
    def __init__(self) -> None:
        super().__init__(max_depth=MAX_DEPTH)


class TokenLimit(MaxTokensLimiter):
    def __init__(self) -> None:
        super().__init__(max_token_count=MAX_TOKENS)


class AliasLimit(MaxAliasesLimiter):
    def __init__(self) -> None:
        super().__init__(max_alias_count=MAX_ALIASES)


class AgoraSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors)


def build_schema(*, production: bool) -> strawberry.Schema:
    extensions: list[type[SchemaExtension]] = [ErrorPolicy, TokenLimit, DepthLimit, AliasLimit]
    if production:
        extensions += [DisableIntrospection, QueryStatsInLogs]
    else:
        extensions.append(QueryStatsInResponse)
    return AgoraSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[User, Post, Comment, Notification],
        extensions=extensions,
    )


def schema_sdl() -> str:
    return build_schema(production=False).as_str()


__all__ = ["build_schema", "schema_sdl"]
