"""The Strawberry schema: types, inputs, enums and the root Query/Mutation."""

from __future__ import annotations

from collections.abc import Iterator

import strawberry
from graphql import GraphQLError
from starlette.websockets import WebSocket
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from schema.comments import Comment
from schema.cost import CostLimit
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


class FreshLoadersPerOperation(SchemaExtension):
    """A WebSocket connection shares one context between its operations: each
    operation still starts from empty loader caches."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if getattr(context, "connection_params", None) is not None:
            context.fresh_loaders()
        if isinstance(getattr(context, "extras", None), dict):
            context.extras.clear()  # per-operation bookkeeping (see resolvers.accounts)
        yield


class OperationRules(SchemaExtension):
    """Rules about whole operations that validation cannot express."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        operation = self.execution_context.operation_type
        if operation is OperationType.SUBSCRIPTION and not isinstance(
            getattr(context, "request", None), WebSocket
        ):
            raise GraphQLError(
                "subscriptions are served over WebSocket (graphql-transport-ws)",
                extensions={"code": "BAD_USER_INPUT"},
            )
        yield


class AgoraSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors)


def build_schema(*, production: bool) -> strawberry.Schema:
    extensions: list[type[SchemaExtension]] = [
        ErrorPolicy,
        TokenLimit,
        DepthLimit,
        AliasLimit,
        CostLimit,
        FreshLoadersPerOperation,
        OperationRules,
    ]
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
