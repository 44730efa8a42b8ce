"""The error policy for top-level errors (payload errors are in schema/payloads.py).

Top-level errors get `extensions.code`. Anything unexpected is logged with the
request id and reaches the client as INTERNAL_SERVER_ERROR with that id only.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from datasources.failures import Failure, classify
from datasources.relational.engine import UnstorableText
from logs import get_logger
from resolvers.errors import AppError

log = get_logger("agora.errors")

# What a client is told when a datastore failed it; neither is a bug.
FAILURES = {
    Failure.TIMEOUT: ("a datastore took too long to answer; try again", "TIMEOUT"),
    Failure.UNAVAILABLE: ("a datastore is unavailable; try again shortly", "SERVICE_UNAVAILABLE"),
}


def is_unexpected(error: GraphQLError) -> bool:
    """An error we did not raise on purpose: a bug or a failing datastore."""
    original = error.original_error
    if original is None or isinstance(original, AppError | GraphQLError | UnstorableText):
        return False
    if classify(original) is not None:
        return False
    # Variable coercion errors wrap whatever a scalar's parser raised; they
    # describe the client's input. Anything else raised is ours.
    return not (error.path is None and error.message.startswith("Variable "))


def _client_code(error: GraphQLError) -> str:
    message = error.message
    if message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if message.startswith("Variable ") or "cannot represent" in message:
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


def present(error: GraphQLError, request_id: str) -> GraphQLError:
    """The error as the client sees it."""
    original = error.original_error
    if isinstance(original, UnstorableText):
        return GraphQLError(
            str(original),
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "BAD_USER_INPUT"},
        )
    failure = classify(original) if original is not None else None
    extensions: dict[str, object]
    if failure is not None:
        message, code = FAILURES[failure]
        extensions = {"code": code, "requestId": request_id}
    elif isinstance(original, AppError):
        extensions = {**original.extensions, "code": original.code}
        message = original.message
    elif is_unexpected(error):
        return GraphQLError(
            "Internal server error",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )
    else:
        own = error.extensions or {}
        extensions = {**own, "code": own.get("code") or _client_code(error)}
        message = error.message
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


class ErrorPolicy(SchemaExtension):
    """Gives every top-level error a code and masks the unexpected ones, for single
    results and for every result of a subscription."""

    def _present_all(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            request_id = getattr(self.execution_context.context, "request_id", "")
            result.errors = [present(error, request_id) for error in errors]  # type: ignore[attr-defined]

    def on_operation(self) -> Iterator[None]:
        self._streamed = False
        yield
        if not self._streamed:
            self._present_all(self.execution_context.result)

    def on_stream_result(self, result: object) -> Iterator[None]:
        self._streamed = True
        self._present_all(result)
        yield None


def log_errors(errors: list[GraphQLError]) -> None:
    for error in errors:
        failure = classify(error.original_error) if error.original_error else None
        if failure is not None:
            log.warning(
                "datastore failure",
                failure=failure.value,
                path=".".join(str(p) for p in error.path or ()),
                error=type(error.original_error).__name__,
            )
        elif is_unexpected(error):
            log.error(
                "unhandled error in resolver",
                path=".".join(str(p) for p in error.path or ()),
                exc_info=error.original_error,
            )
        else:
            log.debug("client error", message=error.message)
