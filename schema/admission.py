"""Admission: what an operation must pass before it runs, for HTTP and WebSocket alike.

1. The document is checked once (parse under a token limit, shape limits,
   validation) and the outcome cached by its text: `schema.document_checks`.
2. The operation is chosen (a document of several operations needs `operationName`),
   its variables coerced (defaults applied), and its requested cost computed from
   them: over the per-operation maximum it is refused with QUERY_TOO_COMPLEX.
3. A mutation may hold only so many root fields.
4. The cost is charged to the client's budget (the viewer, or the address when
   anonymous); an exhausted budget is RATE_LIMITED. After execution the part of
   the cost the response did not use is refunded, and `extensions.cost` reports it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.execution.values import get_variable_values
from strawberry.extensions import SchemaExtension

from datasources.rate_limits import Window
from schema.cost import Outline, actual_cost, outline_of, requested_cost
from schema.document_checks import CheckedDocument, DocumentChecks, frozen


@dataclass
class Admission:
    """One operation's passage: filled in by `AdmissionControl`, read by the HTTP
    layer (status codes and headers) and by the `rateLimit` field."""

    executed: bool = False  # False: refused before execution (a request error)
    requested: int | None = None
    actual: int | None = None
    budget: Window | None = None
    retry_after: int | None = None  # set when refused for a limit over time

    def cost_report(self) -> dict[str, Any] | None:
        if self.requested is None or self.budget is None:
            return None
        return {
            "requested": self.requested,
            "actual": self.actual,
            "limit": self.budget.limit,
            "remaining": self.budget.remaining,
            "resetAt": _iso(self.budget.reset_at),
        }


_current: ContextVar[Admission | None] = ContextVar("admission", default=None)


def begin_admission() -> Admission:
    """A fresh record for the operation about to run in this task."""
    admission = Admission()
    _current.set(admission)
    return admission


def current_admission() -> Admission | None:
    return _current.get()


def _iso(epoch: float) -> str:
    return _iso_second(round(epoch))


@lru_cache(maxsize=64)
def _iso_second(second: int) -> str:
    # Cached: the reset time of a budget's window is the same for every request in it.
    return datetime.fromtimestamp(second, UTC).isoformat().replace("+00:00", "Z")


def budget_key(context: Any) -> str:
    viewer = getattr(context, "viewer", None)
    if viewer is not None:
        return f"cost:user:{viewer.user_id}"
    return f"cost:address:{getattr(context, 'client_address', '') or 'unknown'}"


def _error(message: str, code: str, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extensions})


def choose_operation(
    checked: CheckedDocument, operation_name: str | None
) -> OperationDefinitionNode | GraphQLError:
    assert checked.document is not None
    operations = [d for d in checked.document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) == 1:
            return operations[0]
        return _error(
            "the document holds several operations: say which to run with operationName",
            "BAD_USER_INPUT",
        )
    for operation in operations:
        if operation.name is not None and operation.name.value == operation_name:
            return operation
    return _error(f"no operation named '{operation_name}' in the document", "BAD_USER_INPUT")


def root_field_count(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> int:
    """Root fields of an operation, fragments expanded (each fragment counted once
    per spread; the shape limits keep this small)."""
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += selection.name.value != "__typename"
        elif isinstance(selection, InlineFragmentNode):
            count += root_field_count(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                count += root_field_count(fragment.selection_set, fragments)
    return count


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


# Costs kept per document: one per distinct (operation, variables), at most this many.
COSTS_PER_DOCUMENT = 32


def _requested_cost(
    checked: CheckedDocument, operation: OperationDefinitionNode, variables: Mapping[str, Any]
) -> int:
    """`requested_cost`, worked out once per operation and variables of a document."""
    key = (id(operation), frozen(dict(variables)))
    cost = checked.costs.get(key)
    if cost is None:
        cost = requested_cost(operation, checked.fragments, variables)
        if len(checked.costs) < COSTS_PER_DOCUMENT:
            checked.costs[key] = cost
    return cost


class AdmissionControl(SchemaExtension):
    """Built per operation by the factory in `schema.build_schema`, bound to the
    schema's document checks."""

    def __init__(self, checks: DocumentChecks) -> None:
        self.checks = checks
        self.checked: CheckedDocument | None = None
        self.operation: OperationDefinitionNode | None = None
        self.admission = Admission()

    def on_operation(self) -> Iterator[None]:
        self.admission = current_admission() or begin_admission()
        yield

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        if query and self.execution_context.graphql_document is None:
            self.checked = self.checks.check(query)
            if self.checked.document is None:
                raise self.checked.errors[0]
            self.execution_context.graphql_document = self.checked.document
        yield

    def on_validate(self) -> Iterator[None]:
        if self.checked is not None:
            self.execution_context.pre_execution_errors = list(self.checked.errors)
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        refusal = await self._admit()
        if refusal:
            if self.execution_context.operation_type.value == "subscription":
                raise refusal[0]
            self.execution_context.result = GraphQLExecutionResult(data=None, errors=refusal)
            yield
            return
        self.admission.executed = True
        yield
        data = getattr(self.execution_context.result, "data", None)
        if self.admission.budget is not None and isinstance(data, dict):
            self.admission.actual = actual_cost(data, self._outline())
            await self._refund()

    async def _admit(self) -> list[GraphQLError]:
        """The errors that refuse the operation; none when it may run."""
        checked = self.checked
        if checked is None or checked.document is None:
            return []
        context = self.execution_context.context
        settings = context.settings
        # `operation_name` falls back to the first operation; the spec says to refuse.
        provided = self.execution_context._provided_operation_name
        operation = choose_operation(checked, provided)
        if isinstance(operation, GraphQLError):
            return [operation]
        self.operation = operation
        variables: dict[str, Any] = {}  # an operation without definitions takes none
        if operation.variable_definitions:
            coerced = get_variable_values(
                self.execution_context.schema._schema,
                operation.variable_definitions,
                self.execution_context.variables or {},
                max_errors=20,
                hide_suggestions=self.checks.hide_suggestions,
            )
            if isinstance(coerced, list):
                return [_error(e.message, "BAD_USER_INPUT") for e in coerced]
            variables = coerced.coerced
            if _holds_nul(variables):
                return [_error("text must not contain NUL characters", "BAD_USER_INPUT")]
        fragments = checked.fragments
        if operation.operation is OperationType.MUTATION:
            mutations = root_field_count(operation.selection_set, fragments)
            if mutations > settings.max_mutations_per_operation:
                return [
                    _error(
                        f"an operation may hold at most {settings.max_mutations_per_operation} "
                        f"mutations; this one holds {mutations}",
                        "QUERY_TOO_COMPLEX",
                    )
                ]
        cost = _requested_cost(checked, operation, variables)
        self.admission.requested = cost
        if cost > settings.max_operation_cost:
            return [
                _error(
                    f"the operation could return {cost} field values; the limit is "
                    f"{settings.max_operation_cost} (ask for smaller pages or less nesting)",
                    "QUERY_TOO_COMPLEX",
                    cost=cost,
                    limit=settings.max_operation_cost,
                )
            ]
        if operation.operation is OperationType.SUBSCRIPTION:
            # Subscriptions are bounded by the WebSocket caps, not the budget. Awaiting
            # the Redis limiter here left subscription tasks that would not finish
            # cancelling when their socket closed, so server shutdown hung (seen with
            # redis-py 8.1 in tests/test_subscriptions.py; cause not found).
            return []
        budget = await context.stores.limits.hit(
            budget_key(context),
            settings.cost_budget_points,
            settings.cost_budget_window_seconds,
            cost=cost,
        )
        self.admission.budget = budget
        if not budget.allowed:
            self.admission.retry_after = budget.retry_after
            return [
                _error(
                    f"cost budget exhausted: this operation costs {cost} and "
                    f"{budget.remaining} of {budget.limit} points are left until "
                    f"{_iso(budget.reset_at)}",
                    "RATE_LIMITED",
                    retryAfter=budget.retry_after,
                    cost=cost,
                )
            ]
        return []

    def _outline(self) -> Outline | None:
        """The operation's outline, worked out once per document and operation."""
        checked, operation = self.checked, self.operation
        if checked is None or operation is None:
            return None
        key = id(operation)  # the document, which holds the operation, holds this
        if key not in checked.outlines:
            checked.outlines[key] = outline_of(operation, checked.fragments)
        return checked.outlines[key]

    async def _refund(self) -> None:
        admission = self.admission
        assert admission.requested is not None and admission.actual is not None
        budget = admission.budget
        unused = admission.requested - admission.actual
        if budget is None or unused <= 0:
            return
        context = self.execution_context.context
        await context.stores.limits.refund(budget_key(context), unused)
        admission.budget = Window(
            budget.allowed, budget.limit, max(budget.used - unused, 0), budget.reset_at
        )

    def get_results(self) -> dict[str, Any]:
        report = self.admission.cost_report()
        return {"cost": report} if report else {}
