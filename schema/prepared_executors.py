"""graphql-core's `execute` for planned operations, the executor's fixed parts made once
per document and operation.

graphql-core builds its executor anew for every request: it looks the operation and
the fragments up in the document, reads the operation's directives, and sets some
thirty attributes through three constructors; about 9 µs, as much as running the plan
of `{ __typename }`. Frontend apps send the same few documents again and again, so the
first executor of a document and operation becomes a template, with nothing of its
request kept, and later requests copy it and give it their own state: their root and
context values, their coerced variables, and fresh containers for everything graphql-core
collects while it runs (as its `create_sub_executor` gives a sub-executor its own).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from graphql import DocumentNode, ExecutionResult, GraphQLError, GraphQLSchema, execute
from graphql.execution import ExperimentalIncrementalExecutionResults
from graphql.execution.execute import UNEXPECTED_MULTIPLE_PAYLOADS
from graphql.execution.executor import CollectedErrors
from graphql.execution.values import VariableValues, get_variable_values
from graphql.pyutils import RefMap
from graphql.type.definition import GraphQLResolveInfoHelpers

from schema.planned_executor import PlannedExecutor
from schema.while_alive import WhileAlive

# Templates kept per document: one per operation name (and schema) run.
TEMPLATES_PER_DOCUMENT = 16

# graphql-core's limit for variable coercion errors (its `execute` default).
MAX_COERCION_ERRORS = 50

# An operation name, the awaitable test executors use, and the schema (by identity).
_Templates = dict[tuple[str | None, Any, int], PlannedExecutor]

# What an executor holds of its request: cleared in a template.
_OF_THE_REQUEST = ("root_value", "context_value", "variable_values", "operation_extensions")


# What an executor collects while it runs: made anew for each run by `fresh_state`.
_OF_A_RUN = (
    "async_helpers",
    "collected_errors",
    "pending_incremental_futures",
    "background_futures",
    "async_work_finished_hook_task",
    "_relevant_sub_fields",
    "_stream_usages",
    "defer_usage_set",
    "groups",
    "tasks",
    "streams",
    "_initial_execution_plans",
    "_deferred_execution_plans",
)


def fresh_state(executor: PlannedExecutor) -> None:
    """Gives an executor new containers for what it collects while it runs, as
    `Executor.__init__` and `IncrementalExecutor.__init__` make them."""
    executor.async_helpers = GraphQLResolveInfoHelpers(
        gather=executor.gather_async_work, track=executor.track_async_work
    )
    executor.collected_errors = CollectedErrors()
    executor.pending_incremental_futures = set()
    executor.background_futures = set()
    executor.async_work_finished_hook_task = None
    executor._relevant_sub_fields = {}
    executor._stream_usages = RefMap()
    executor.defer_usage_set = None
    executor.groups = []
    executor.tasks = []
    executor.streams = []
    executor._initial_execution_plans = RefMap()
    executor._deferred_execution_plans = RefMap()


class PreparedExecutors:
    """Templates of executors by document and operation name, kept only while their
    document is alive (held by the document checks' cache or by a request;
    `schema.while_alive`): a new document at a freed address is never taken for an old
    one, and the templates cost no memory beyond the documents the cache bounds."""

    def __init__(self, per_document: int = TEMPLATES_PER_DOCUMENT) -> None:
        self.per_document = per_document
        self._by_document: WhileAlive[DocumentNode, _Templates] = WhileAlive()

    def __len__(self) -> int:
        return sum(len(templates) for templates in self._by_document.values())

    def execute(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *,
        is_awaitable: Callable[[Any], bool] | None = None,
        executor_class: type[Any] | None = None,
        operation_extensions: dict[str, Any] | None = None,
        **others: Any,
    ) -> ExecutionResult | Awaitable[ExecutionResult]:
        given = (schema, document, root_value, context_value, variable_values, operation_name)
        if executor_class is not PlannedExecutor or others:
            return _unplanned(given, is_awaitable, executor_class, operation_extensions, others)
        templates = self._by_document.get(document, dict)
        key = (operation_name, is_awaitable, id(schema))
        template = templates.get(key)
        if template is None or template.schema is not schema:
            # A schema's directives are fixed when it is made: one with @defer or
            # @stream never gets a template, so only a new template asks.
            if schema.get_directive("defer") or schema.get_directive("stream"):
                return _unplanned(given, is_awaitable, executor_class, operation_extensions, others)
            built = PlannedExecutor.build(
                *given,
                is_awaitable=is_awaitable,  # type: ignore[arg-type]
                operation_extensions=operation_extensions,
            )
            if isinstance(built, list):
                return ExecutionResult(None, errors=built)
            assert isinstance(built, PlannedExecutor)
            # Even the first run copies the template: one way to an executor.
            template = _template_of(built)
            if len(templates) < self.per_document:
                templates[key] = template
            coerced = built.variable_values
        elif not template.operation.variable_definitions:
            coerced = VariableValues({}, {})  # what coercion gives without definitions
        else:
            found = get_variable_values(
                schema,
                template.operation.variable_definitions,
                variable_values or {},
                max_errors=MAX_COERCION_ERRORS,
                hide_suggestions=template.hide_suggestions,
            )
            if isinstance(found, list):
                return ExecutionResult(None, errors=found)
            coerced = found
        executor = _again(template, root_value, context_value, coerced, operation_extensions)
        return _single(executor.execute_operation())


def _unplanned(
    given: tuple[GraphQLSchema, DocumentNode, Any, Any, dict[str, Any] | None, str | None],
    is_awaitable: Callable[[Any], bool] | None,
    executor_class: type[Any] | None,
    operation_extensions: dict[str, Any] | None,
    others: dict[str, Any],
) -> ExecutionResult | Awaitable[ExecutionResult]:
    """graphql-core's `execute`, as asked."""
    return execute(
        *given,
        is_awaitable=is_awaitable,  # type: ignore[arg-type]
        executor_class=executor_class,
        operation_extensions=operation_extensions,
        **others,
    )


def _template_of(built: PlannedExecutor) -> PlannedExecutor:
    """The built executor's fixed parts, nothing of its request. The built executor is
    left unable to reach its request through its helpers (bound methods of it: a cycle
    that would keep the request until the collector found it)."""
    template = PlannedExecutor.__new__(PlannedExecutor)
    template.__dict__.update(built.__dict__)
    for name in _OF_THE_REQUEST:
        setattr(template, name, None)
    # Each run gets its own (`fresh_state`): a template keeps none, 2,000 templates'
    # worth of empty containers was about 10 MB.
    for name in _OF_A_RUN:
        setattr(template, name, None)
    built.async_helpers = None  # type: ignore[assignment]
    return template


def _again(
    template: PlannedExecutor,
    root_value: Any,
    context_value: Any,
    variable_values: VariableValues,
    operation_extensions: dict[str, Any] | None,
) -> PlannedExecutor:
    executor = PlannedExecutor.__new__(PlannedExecutor)
    executor.__dict__.update(template.__dict__)
    executor.root_value = root_value
    executor.context_value = context_value
    executor.variable_values = variable_values
    executor.operation_extensions = operation_extensions
    fresh_state(executor)
    return executor


def _single(result: Any) -> Any:
    """What graphql-core's `execute` answers for what `execute_operation` gave."""
    if isinstance(result, ExecutionResult):
        return result
    if isinstance(result, ExperimentalIncrementalExecutionResults):
        raise GraphQLError(UNEXPECTED_MULTIPLE_PAYLOADS)

    async def awaited() -> ExecutionResult:
        value = await result
        if isinstance(value, ExecutionResult):
            return value
        raise GraphQLError(UNEXPECTED_MULTIPLE_PAYLOADS)

    return awaited()
