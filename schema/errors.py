"""UserError (payload errors) and the error policy for top-level errors.

Top-level errors get `extensions.code`. Anything unexpected is logged with the
request id and reaches the client as INTERNAL_SERVER_ERROR with that id only.
"""

from __future__ import annotations

from collections.abc import Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from logs import get_logger
from resolvers.errors import AppError, FieldError
from resolvers.errors import UserErrorCode as UserErrorCodeValues

log = get_logger("agora.errors")

UserErrorCode = strawberry.enum(
    UserErrorCodeValues, name="UserErrorCode", description="What was wrong with the input."
)

COMPLEXITY_HINTS = ("exceeds maximum operation depth", "max tokens", "aliases")


@strawberry.type(description="A problem with the input that the client can fix.")
class UserError:
    code: UserErrorCode  # type: ignore[valid-type]
    message: str
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "email"].'
    )

    @classmethod
    def from_field_error(cls, error: FieldError) -> UserError:
        return cls(
            code=error.code, message=error.message, field=list(error.field) if error.field else None
        )


def user_errors(errors: list[FieldError]) -> list[UserError]:
    return [UserError.from_field_error(e) for e in errors]


def is_unexpected(error: GraphQLError) -> bool:
    """An error we did not raise on purpose: a bug or a failing datastore."""
    original = error.original_error
    if isinstance(original, AppError | GraphQLError):
        return False
    # Errors before execution (syntax, validation, variable coercion) carry no
    # path: they describe the client's document, whatever raised them.
    return error.path is not None and original is not None


def _client_code(error: GraphQLError) -> str:
    message = error.message
    if message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if message.startswith("Variable ") or "cannot represent" in message:
        return "BAD_USER_INPUT"
    if any(hint in message for hint in COMPLEXITY_HINTS):
        return "QUERY_TOO_COMPLEX"
    return "GRAPHQL_VALIDATION_FAILED"


def present(error: GraphQLError, request_id: str) -> GraphQLError:
    """The error as the client sees it."""
    original = error.original_error
    if isinstance(original, AppError):
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
        extensions = {"code": (error.extensions or {}).get("code") or _client_code(error)}
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
    """Gives every top-level error a code and masks the unexpected ones."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            request_id = getattr(self.execution_context.context, "request_id", "")
            result.errors = [present(error, request_id) for error in result.errors]


def log_errors(errors: list[GraphQLError]) -> None:
    for error in errors:
        if is_unexpected(error):
            log.error(
                "unhandled error in resolver",
                path=".".join(str(p) for p in error.path or ()),
                exc_info=error.original_error,
            )
        else:
            log.debug("client error", message=error.message)
