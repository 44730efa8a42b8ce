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
`MAX_DOCUMENT_LENGTH` characters. Variables are never recorded.

Top-level errors (the first `MAX_RECORDED_ERRORS`) are events, by what the client is
told (`graphql.error.code`). A bug (INTERNAL_SERVER_ERROR) is an `exception` event
with the exception's type, message and stack trace, as it is logged. Anything else
is a `graphql.error` event without a message: a client's mistake is described in
terms of what it sent (a variable that cannot be coerced quotes its value, which may
be a password), and a failing datastore is named by its driver's exception type
(`error.type`), as it is logged. Faults (a bug, a failing datastore) also set the
span's status to ERROR, while client mistakes do not.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator

from graphql import DocumentNode, GraphQLError, StringValueNode, Visitor, print_ast, visit
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from strawberry.extensions import SchemaExtension

from datasources.failures import classify
from schema.errors import is_unexpected, present
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
            _record(span, error)
        for error in errors:
            if is_unexpected(error):
                span.set_status(Status(StatusCode.ERROR, error.message[:200]))
                break
            if _failed_datastore(error):
                span.set_status(Status(StatusCode.ERROR, _code(error)))
                break


def _record(span: Span, error: GraphQLError) -> None:
    code = _code(error)
    original = error.original_error
    if original is not None and is_unexpected(error):
        span.record_exception(original, attributes={"graphql.error.code": code})
    elif original is not None and _failed_datastore(error):
        span.add_event(
            "graphql.error", {"graphql.error.code": code, "error.type": type(original).__name__}
        )
    else:
        span.add_event("graphql.error", {"graphql.error.code": code})


def _code(error: GraphQLError) -> str:
    """The `extensions.code` the client is told (the error is not presented yet)."""
    return str((present(error, "").extensions or {}).get("code", "INTERNAL_SERVER_ERROR"))


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
