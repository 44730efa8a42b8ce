"""The Strawberry schema: types, inputs, enums and the root Query/Mutation."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from graphql import GraphQLError
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from schema.access_log import OperationForAccessLog
from schema.admission import AdmissionControl
from schema.comments import Comment
from schema.date_times import DATE_TIME
from schema.document_checks import DocumentChecks
from schema.errors import ErrorPolicy, log_errors
from schema.extension_chain import ChainRunningSchema, ExtensionChain
from schema.introspection import NoSchemaIntrospection, hide_types
from schema.mutation import Mutation
from schema.notifications import Notification
from schema.operation_metrics import OperationMetrics
from schema.planned_executor import PlannedExecutor
from schema.posts import Post
from schema.prepared_executors import PreparedExecutors
from schema.query import Query
from schema.query_stats import QueryStatsCounted, QueryStatsInResponse
from schema.subscription import Subscription
from schema.users import User
from telemetry.tracing import tracing_enabled


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


class OperationExecution(ExecutionContext):
    """Strawberry's execution context, which works out the operation's type once per
    document: Strawberry's walks the document for it on every read, four times an
    operation."""

    @property
    def operation_type(self) -> OperationType:
        document = self.graphql_document
        known = self.__dict__.get("_known_type")
        if known is not None and known[0] is document:
            return known[1]
        found = super().operation_type
        self.__dict__["_known_type"] = (document, found)
        return found


class AgoraSchema(ChainRunningSchema):
    # Set by build_schema once the GraphQL schema exists.
    document_checks: DocumentChecks
    prepared_executors: PreparedExecutors

    def _get_execute_function(self) -> Callable[..., Any]:
        return self.prepared_executors.execute

    def _create_execution_context(
        self,
        query: str | None,
        allowed_operation_types: Iterable[OperationType],
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionContext:
        return OperationExecution(
            query=query,
            schema=self,
            allowed_operations=allowed_operation_types,
            context=context_value,
            root_value=root_value,
            variables=variable_values,
            provided_operation_name=operation_name,
            operation_extensions=operation_extensions,
        )

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors)


def build_schema(*, production: bool, planned: bool = True) -> AgoraSchema:
    """Extensions are built per operation (classes or factories), so no state is shared
    between operations; they run as one `ExtensionChain`, in the order listed.
    Production hides introspection and "Did you mean …?" suggestions. Queries run by
    their plans (`schema.planned_executor`) unless `planned` is False: then graphql-core
    runs every operation, which the differential tests compare with."""

    def admission() -> AdmissionControl:
        return AdmissionControl(schema.document_checks)

    extensions: list[Callable[[], SchemaExtension]] = [
        ErrorPolicy,
        OperationMetrics,  # right after ErrorPolicy: sees the errors with their codes
        admission,
        FreshLoadersPerOperation,
        OperationRules,
        QueryStatsCounted if production else QueryStatsInResponse,
        OperationForAccessLog,
    ]
    if tracing_enabled():
        from schema.operation_span import OperationSpan  # imported only when tracing

        # Last, so innermost: it sees the errors before ErrorPolicy presents them.
        extensions.append(OperationSpan)

    def chain() -> ExtensionChain:
        return ExtensionChain([extension() for extension in extensions])

    schema = AgoraSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[User, Post, Comment, Notification],
        extensions=[chain],
        execution_context_class=PlannedExecutor if planned else None,
        scalar_overrides={datetime: DATE_TIME},
    )
    if production:
        hide_types(schema._schema)
    schema.prepared_executors = PreparedExecutors()
    schema.document_checks = DocumentChecks(
        schema._schema,
        hide_suggestions=production,
        extra_rules=(NoSchemaIntrospection,) if production else (),
    )
    return schema


def schema_sdl() -> str:
    return build_schema(production=False).as_str()


__all__ = ["build_schema", "schema_sdl"]
