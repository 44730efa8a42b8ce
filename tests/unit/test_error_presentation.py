"""How errors reach the client (schema/errors.py `present`): our own errors keep their
code, unexpected ones are masked, datastore failures say TIMEOUT or SERVICE_UNAVAILABLE."""

from __future__ import annotations

import sqlite3

import pytest
from graphql import GraphQLError, parse, validate
from pymongo.errors import ExecutionTimeout, ServerSelectionTimeoutError

from datasources.failures import StoreUnavailable
from datasources.relational.engine import UnstorableText
from resolvers.errors import (
    AppError,
    BadUserInput,
    CursorTooOld,
    Forbidden,
    RateLimited,
    TooSlow,
    Unauthenticated,
)
from schema import AgoraSchema
from schema.errors import present

REQUEST_ID = "req-1234"


def raised(error: Exception, path: list[str | int] | None = None) -> GraphQLError:
    """The GraphQLError graphql-core makes of what a resolver raised."""
    return GraphQLError(str(error), path=path or ["post"], original_error=error)


def caused(error: Exception, cause: BaseException) -> Exception:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (BadUserInput("`first` must be between 0 and 100", argument="first"), "BAD_USER_INPUT"),
        (Unauthenticated("authentication required"), "UNAUTHENTICATED"),
        (Forbidden("only the author may change this post"), "FORBIDDEN"),
        (RateLimited("slow down", retryAfter=30), "RATE_LIMITED"),
        (TooSlow("subscriber fell behind; resume with `since`"), "TOO_SLOW"),
        (CursorTooOld("`since` is older than the events kept"), "CURSOR_EXPIRED"),
    ],
)
def test_app_errors_keep_their_message_code_and_extensions(error: Exception, code: str) -> None:
    shown = present(raised(error, ["posts"]), REQUEST_ID)
    assert shown.message == str(error)
    assert shown.extensions == {**error.extensions, "code": code}  # type: ignore[attr-defined]
    assert shown.path == ["posts"]


def test_unexpected_errors_are_masked_with_the_request_id() -> None:
    bug = KeyError("password_hash of user 12 at postgres://admin:hunter2@db")
    shown = present(raised(bug, ["viewer", "email"]), REQUEST_ID)
    assert shown.message == "Internal server error"
    assert shown.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": REQUEST_ID}
    assert shown.path == ["viewer", "email"]
    formatted = str(shown.formatted)
    assert "hunter2" not in formatted and "password_hash" not in formatted


def test_a_sqlite_error_that_is_not_a_timeout_is_a_bug() -> None:
    shown = present(raised(sqlite3.OperationalError("no such table: posts")), REQUEST_ID)
    assert shown.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": REQUEST_ID}
    assert "posts" not in shown.message


def test_parse_errors_are_graphql_parse_failed() -> None:
    with pytest.raises(GraphQLError) as syntax:
        parse("{ viewer { id ")
    shown = present(syntax.value, REQUEST_ID)
    assert shown.extensions == {"code": "GRAPHQL_PARSE_FAILED"}
    assert shown.message.startswith("Syntax Error")


def test_validation_errors_are_graphql_validation_failed(schema: AgoraSchema) -> None:
    [error] = validate(schema._schema, parse("{ viewer { nope } }"))
    shown = present(error, REQUEST_ID)
    assert shown.extensions == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert "nope" in shown.message


def test_an_error_with_its_own_code_keeps_it() -> None:
    error = GraphQLError("too deep", extensions={"code": "QUERY_TOO_COMPLEX", "limit": 12})
    assert present(error, REQUEST_ID).extensions == {"code": "QUERY_TOO_COMPLEX", "limit": 12}


def test_variable_errors_are_bad_user_input() -> None:
    error = GraphQLError(
        "Variable '$first' got invalid value 'x'; Int cannot represent non-integer value: 'x'",
        original_error=ValueError("x"),
    )
    shown = present(error, REQUEST_ID)
    assert shown.extensions == {"code": "BAD_USER_INPUT"}
    assert shown.message == error.message


def test_unstorable_text_is_bad_user_input() -> None:
    shown = present(raised(UnstorableText()), REQUEST_ID)
    assert shown.extensions == {"code": "BAD_USER_INPUT"}
    assert "NUL" in shown.message


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (TimeoutError(), "TIMEOUT"),
        (sqlite3.OperationalError("interrupted"), "TIMEOUT"),
        (ExecutionTimeout("operation exceeded time limit", code=50), "TIMEOUT"),
        (caused(RuntimeError("query failed"), TimeoutError()), "TIMEOUT"),
        (ConnectionRefusedError(111, "Connection refused"), "SERVICE_UNAVAILABLE"),
        (ServerSelectionTimeoutError("no server"), "SERVICE_UNAVAILABLE"),
        (StoreUnavailable("circuit open"), "SERVICE_UNAVAILABLE"),
        (ExceptionGroup("both", [TimeoutError(), ConnectionResetError()]), "TIMEOUT"),
    ],
)
def test_datastore_failures_are_named_not_masked(failure: Exception, code: str) -> None:
    shown = present(raised(failure, ["posts"]), REQUEST_ID)
    assert shown.extensions == {"code": code, "requestId": REQUEST_ID}
    assert "datastore" in shown.message and "try again" in shown.message
    assert shown.path == ["posts"]


def test_a_group_with_a_bug_in_it_is_masked() -> None:
    group = ExceptionGroup("mixed", [TimeoutError(), ZeroDivisionError()])
    assert present(raised(group), REQUEST_ID).extensions == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": REQUEST_ID,
    }


def test_an_error_without_its_own_code_cannot_be_raised() -> None:
    """No failure gets a code by default (a slow subscriber is not told it sent bad input)."""
    with pytest.raises(TypeError, match="must define its error code"):
        AppError("something went wrong")
