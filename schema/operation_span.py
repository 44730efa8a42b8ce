"""A span per GraphQL operation (only in the schema when tracing is on).

The span is current while the operation runs, so what the operation does (SQL
statements, MongoDB commands, Redis calls, including those of DataLoader batches,
which run in tasks that inherit the context) nests under it, and it nests under the
request's span. One span per operation, not per resolved field: a page of posts
resolves thousands of fields. (Strawberry's OpenTelemetryExtension makes a span per
resolver call and does not make its operation span current, so it is not used.)

Attributes follow the GraphQL semantic conventions: `graphql.operation.type`,
`graphql.operation.name` and `graphql.document`, the document with its string
literals replaced by "***" (a password can be written inline) and cut to
`MAX_DOCUMENT_LENGTH` characters. Variables are never recorded. Every top-level
error is recorded as an exception event; faults (a bug, a failing datastore) also
set the span's status to ERROR, while client mistakes do not.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator

from graphql import DocumentNode, GraphQLError, StringValueNode, Visitor, print_ast, visit
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from strawberry.extensions import SchemaExtension

from datasources.failures import classify
from schema.errors import is_unexpected
from telemetry.tracing import tracer

SPAN_NAME = "GraphQL Operation"  # until the operation is known
MAX_DOCUMENT_LENGTH = 4096
MAX_RECORDED_ERRORS = 10
REDACTED_DOCUMENTS_KEPT = 256


class OperationSpan(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        with tracer().start_as_current_span(SPAN_NAME, kind=SpanKind.INTERNAL) as span:
            try:
                yield
            finally:  # also when cancelled: a subscription ends that way
                if span.is_recording():
                    self._describe(span)

    def _describe(self, span: Span) -> None:
        context = self.execution_context
        name = context.operation_name
        try:
            kind: str | None = context.operation_type.value
        except Exception:  # no document, or no operation of that name in it
            kind = None
        if kind is not None:
            span.update_name(f"{kind} {name}" if name else kind)
            span.set_attribute("graphql.operation.type", kind)
        if name:
            span.set_attribute("graphql.operation.name", name)
        if context.query and context.graphql_document is not None:
            span.set_attribute(
                "graphql.document", redacted_document(context.query, context.graphql_document)
            )
        result = context.result
        errors: list[GraphQLError] = list(
            (result.errors if result is not None else None) or context.pre_execution_errors or ()
        )
        for error in errors[:MAX_RECORDED_ERRORS]:
            original = error.original_error
            span.record_exception(original if original is not None else error)
        faults = [e for e in errors if is_unexpected(e) or _failed_datastore(e)]
        if faults:
            span.set_status(Status(StatusCode.ERROR, faults[0].message[:200]))


def _failed_datastore(error: GraphQLError) -> bool:
    return error.original_error is not None and classify(error.original_error) is not None


class _HideStrings(Visitor):
    def enter_string_value(self, node: StringValueNode, *_: object) -> StringValueNode:
        return StringValueNode(value="***", block=False)


_redacted: OrderedDict[bytes, str] = OrderedDict()


def redacted_document(text: str, tree: DocumentNode) -> str:
    """The document (`text`, parsed as `tree`) with every string literal replaced by
    "***", at most MAX_DOCUMENT_LENGTH characters. The last few are remembered, by
    a digest of their text: clients send the same documents again and again."""
    key = hashlib.blake2b(text.encode(), digest_size=16).digest()
    found = _redacted.get(key)
    if found is not None:
        _redacted.move_to_end(key)
        return found
    found = print_ast(visit(tree, _HideStrings()))
    if len(found) > MAX_DOCUMENT_LENGTH:
        found = found[: MAX_DOCUMENT_LENGTH - 1] + "…"
    _redacted[key] = found
    if len(_redacted) > REDACTED_DOCUMENTS_KEPT:
        _redacted.popitem(last=False)
    return found
