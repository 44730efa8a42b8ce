"""Operation metrics: what each GraphQL operation was, how it ended and how many round
trips it made, recorded through `telemetry.metrics`.

Over HTTP the web layer counts the request once its response is ready
(`web.metrics.RequestCount`): this extension tells it the operation's type and
(validated) name and, when the operation ran to its end here, the codes of its errors.
Over WebSocket the extension counts each operation itself: a query or mutation when its
result is sent, a subscription when it starts (then it is active until it ends) or when
it is refused. The SQL statements and MongoDB commands of every executed query and
mutation come from the `QueryStats` that `schema.query_stats` binds to the operation.

It must come right after ErrorPolicy in the schema's extensions: every error it reads
has been given its code by then.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension

from datasources.instrumentation import QueryStats, current_stats
from schema.admission import current_admission
from telemetry import metrics

TRANSPORT = "websocket"


def codes_of(result: Any) -> list[object]:
    """The `extensions.code` of each error of a result (None where there is none)."""
    return [(error.extensions or {}).get("code") for error in getattr(result, "errors", None) or ()]


def _executed() -> bool:
    """The operation passed admission and ran (False: refused before execution)."""
    admission = current_admission()
    return admission is not None and admission.executed


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        self._started_at = time.perf_counter()
        self._type = metrics.NONE
        self._name = metrics.NONE
        self._stats: QueryStats | None = None
        self._counted = False  # WebSocket: the request has been counted
        self._subscribed = False  # a subscription started and is active
        request = getattr(self.execution_context.context, "request", None)
        self._websocket = isinstance(request, WebSocket)
        self._record = None if self._websocket else metrics.current_request()
        completed = False
        try:
            yield
            completed = True
        finally:
            self._finish(completed)

    def on_validate(self) -> Iterator[None]:
        yield
        context = self.execution_context
        try:
            self._type = metrics.operation_type_label(context.operation_type.value)
        except RuntimeError:  # not reached: strawberry refuses such documents first
            return
        if not context.pre_execution_errors:
            self._name = metrics.OPERATION_NAMES.label(context.operation_name)
        if self._record is not None:
            self._record.operation_type = self._type
            self._record.operation_name = self._name

    def on_execute(self) -> Iterator[None]:
        self._stats = current_stats()
        yield
        # A cohort's operation (web.cohorts) counts its members itself.
        shared = getattr(self.execution_context.context, "audience", None) is not None
        if self._type == "subscription" and _executed():
            self._subscribed = not shared
            if not shared:
                metrics.subscription_started()
            if self._websocket:
                self._counted = True
                metrics.record_request(TRANSPORT, self._type, self._name, "ok")

    def on_stream_result(self, result: Any) -> Iterator[None]:
        # Recorded before the result is sent: a client that has it sees it counted.
        if self._websocket:
            self._count_result(result)
        yield

    def _count_result(self, result: Any) -> None:
        codes = codes_of(result)
        if self._counted:  # a subscription's event (or a later frame)
            metrics.record_errors(TRANSPORT, codes)
            return
        self._counted = True
        outcome = ("errors" if codes else "ok") if _executed() else "refused"
        duration = None
        if self._type in {"query", "mutation"}:
            duration = time.perf_counter() - self._started_at
        metrics.record_request(TRANSPORT, self._type, self._name, outcome, codes, duration)

    def _finish(self, completed: bool) -> None:
        if self._subscribed:
            self._subscribed = False
            metrics.subscription_ended()
        if self._type in {"query", "mutation"} and self._stats is not None and _executed():
            metrics.record_round_trips(self._type, self._stats.sql, self._stats.mongo)
        if self._record is not None and completed:
            context = self.execution_context
            self._record.error_codes = lambda: codes_of(context.result)
